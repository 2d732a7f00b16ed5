// The item view: everything an officer needs to decide one held action, and the decision controls.
import { ApiError } from "../widget/api.js";
import { formatTime, formatValue, h, keyValueList, labelFor } from "../widget/dom.js";

const DECISION_TONE = { ALLOW: "ok", REQUIRE_APPROVAL: "warn", BLOCK: "bad" };

function section(title, ...body) {
  return h("section", { class: "cc-card" }, h("h3", {}, title), ...body);
}

function evidenceList(evidence) {
  if (!evidence || typeof evidence !== "object" || Object.keys(evidence).length === 0) {
    return h("span", { class: "cc-muted" }, "none recorded");
  }
  return h(
    "dl",
    { class: "cc-evidence" },
    Object.entries(evidence).map(([k, v]) => [h("dt", {}, k), h("dd", {}, formatValue(k, v))]),
  );
}

/** "sha256:abc (approvals@2025.06.1,kyc@...)" -> the digest, then one chip per pack version. */
function policyVersion(version) {
  const text = String(version || "unknown");
  const match = text.match(/^(\S+)\s+\((.*)\)$/);
  if (!match) return h("span", { class: "cc-policy" }, "Policy version ", h("code", {}, text));
  return h(
    "span",
    { class: "cc-policy", title: text },
    "Policy ",
    h("code", {}, match[1]),
    h("span", { class: "cc-packs" }, match[2].split(",").map((p) => h("code", { class: "cc-pack" }, p.trim()))),
  );
}

function ruleHits(verdict) {
  const reasons = verdict?.reasons || [];
  const head = h(
    "div",
    { class: "cc-verdict" },
    h("span", { class: `cc-decision cc-decision--${DECISION_TONE[verdict?.decision] || "warn"}` }, verdict?.decision || "no verdict"),
    h("span", {}, `Approvers required: ${verdict?.approvers_required ?? "?"}`),
    policyVersion(verdict?.policy_version),
  );
  if (reasons.length === 0) return [head, h("p", { class: "cc-muted" }, "No rules fired.")];
  const rows = reasons.map((r) =>
    h(
      "tr",
      {},
      h("td", {}, h("code", {}, r.rule_id)),
      h("td", {}, h("span", { class: "cc-code" }, r.reason_code)),
      h("td", {}, h("span", { class: `cc-sev cc-sev--${String(r.severity).toLowerCase()}` }, r.severity || "")),
      h("td", {}, r.explanation || ""),
      h("td", {}, evidenceList(r.evidence)),
    ),
  );
  return [
    head,
    h(
      "div",
      { class: "cc-table-wrap" },
      h(
        "table",
        { class: "cc-table cc-rules" },
        h(
          "thead",
          {},
          h("tr", {}, ["Rule", "Reason code", "Severity", "Explanation", "Evidence"].map((t) => h("th", { scope: "col" }, t))),
        ),
        h("tbody", {}, rows),
      ),
    ),
  ];
}

function conversation(messages) {
  if (!messages || messages.length === 0) return h("p", { class: "cc-muted" }, "No messages.");
  return h(
    "ol",
    { class: "cc-transcript" },
    messages.map((m) =>
      h(
        "li",
        { class: `cc-turn cc-turn--${m.role}` },
        h(
          "div",
          { class: "cc-turn-head" },
          h("strong", {}, m.role === "user" ? "Customer" : "Assistant"),
          m.status ? h("span", { class: "cc-muted" }, ` · ${m.status}`) : null,
          h("time", { datetime: m.created_at }, formatTime(m.created_at, true)),
        ),
        h("p", {}, m.content),
      ),
    ),
  );
}

function decisionsList(item, me) {
  const approvals = item.decisions.filter((d) => d.decision === "approve").length;
  return [
    h(
      "p",
      { class: "cc-progress" },
      h("strong", { dataset: { approvals: String(approvals) } }, `Approvals ${approvals} of ${item.approvals_needed}`),
      item.approvals_needed > 1 ? h("span", { class: "cc-muted" }, " · needs different officers") : null,
    ),
    item.decisions.length === 0
      ? h("p", { class: "cc-muted" }, "No decisions yet.")
      : h(
          "ul",
          { class: "cc-decisions" },
          item.decisions.map((d) =>
            h(
              "li",
              {},
              h("strong", {}, d.approver === me ? "You" : d.approver),
              ` ${d.decision === "approve" ? "approved" : "rejected"}`,
              d.reason_code ? [" with ", h("span", { class: "cc-code" }, d.reason_code)] : null,
              ` · ${formatTime(d.at, true)}`,
              d.note ? h("p", { class: "cc-note" }, d.note) : null,
            ),
          ),
        ),
  ];
}

export class ItemView {
  constructor(el, { api, me, reasonCodes, onChanged, onUnauthorized }) {
    this.el = el;
    this.api = api;
    this.me = me;
    this.reasonCodes = reasonCodes;
    this.onChanged = onChanged;
    this.onUnauthorized = onUnauthorized;
    this.item = null;
    this.error = "";
    this.flash = "";
    this.busy = false;
    this.draft = null; // the reason and note being written, kept when the view re-renders with an error
  }

  clear() {
    this.item = null;
    this.el.replaceChildren(h("div", { class: "cc-placeholder" }, "Select an item from the queue to review it."));
  }

  async show(id) {
    this.error = "";
    this.flash = "";
    await this.load(id);
    this.el.querySelector("h2")?.focus();
  }

  /** Background refresh: skipped while the officer is typing a note or choosing a reason. */
  async refresh(id) {
    const form = this.el.querySelector(".cc-decide");
    const dirty = form && (form.querySelector("textarea")?.value || form.querySelector("select")?.value);
    if (this.busy || dirty || document.activeElement?.closest?.(".cc-decide")) return;
    await this.load(id);
  }

  async load(id) {
    try {
      this.item = await this.api.get(`api/approvals/${id}`);
      this.render();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return this.onUnauthorized();
      this.el.replaceChildren(h("p", { class: "cc-alert cc-alert--error", role: "alert" }, `Could not load item #${id}: ${err.message}`));
    }
  }

  async act(path, body, success) {
    this.busy = true;
    this.error = "";
    this.flash = "";
    this.el.querySelectorAll(".cc-decide button").forEach((b) => (b.disabled = true));
    try {
      this.item = await this.api.post(`api/approvals/${this.item.id}/${path}`, body);
      this.flash = success;
      this.draft = null;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return this.onUnauthorized();
      this.error = describeError(err);
      // Show the server's current view next to the error, so "claimed by someone else" is visible.
      try {
        this.item = await this.api.get(`api/approvals/${this.item.id}`);
      } catch {
        // keep the previous view
      }
    } finally {
      this.busy = false;
    }
    this.render();
    this.onChanged();
  }

  render() {
    const item = this.item;
    const me = this.me()?.subject;
    const action = item.action || {};
    // The success note stays through background refreshes, until the officer's next step.
    const flash = this.flash;
    this.el.replaceChildren(
      h(
        "div",
        { class: "cc-item", dataset: { itemId: String(item.id), status: item.status } },
        h(
          "header",
          { class: "cc-item-head" },
          h("p", { class: "cc-eyebrow" }, `Item #${item.id} · ${labelFor(action.type || "action")} · received ${formatTime(item.created_at, true)}`),
          h("h2", { tabindex: "-1" }, action.summary || "Held action"),
          h(
            "p",
            { class: "cc-item-sub" },
            h("span", { class: `cc-status cc-status--${item.status}` }, item.status),
            ` Customer ${item.customer_name} (${item.customer_id}) · conversation `,
            h("code", {}, item.thread_id || "?"),
          ),
        ),
        this.error ? h("p", { class: "cc-alert cc-alert--error", role: "alert" }, this.error) : null,
        flash ? h("p", { class: "cc-alert cc-alert--ok", role: "status" }, flash) : null,
        this.controls(item, me),
        // Why it was held comes first: the rules that fired, then what was asked and by whom.
        section("Rule hits and verdict", ...ruleHits(action.verdict)),
        h(
          "div",
          { class: "cc-grid" },
          section(
            "Proposed action",
            keyValueList({ type: action.type, ...action.args }, "cc-kv"),
            h("p", { class: "cc-muted cc-small" }, `Action ${action.action_id} · status ${action.status}`),
          ),
          section(
            "Customer profile",
            item.customer_profile ? keyValueList(item.customer_profile, "cc-kv") : h("p", { class: "cc-muted" }, "No profile."),
          ),
        ),
        h(
          "div",
          { class: "cc-grid" },
          section("Agent's rationale", h("p", { class: "cc-rationale" }, item.rationale || "No rationale recorded.")),
          section("Approvals", ...decisionsList(item, me)),
        ),
        section("Conversation", conversation(item.conversation)),
      ),
    );
  }

  controls(item, me) {
    if (this.me()?.role === "auditor") {
      return h("div", { class: "cc-decide cc-decide--closed" }, h("p", {}, `Read-only: auditors see every item and its history, and never decide. This item is ${item.status}.`));
    }
    if (item.status !== "pending") {
      return h("div", { class: "cc-decide cc-decide--closed" }, h("p", {}, `This item is ${item.status}. No further decisions are possible.`));
    }
    const mine = item.claimed_by === me;
    const decidedByMe = item.decisions.some((d) => d.approver === me);
    const note = h("textarea", { id: "cc-note", rows: "1", maxlength: "2000", placeholder: "Visible to other officers and in the audit trail" });
    const codes = this.reasonCodes();
    const group = (decision, label) =>
      h(
        "optgroup",
        { label },
        codes
          .filter((c) => (c.applies_to || []).includes(decision))
          .map((c) => h("option", { value: c.code }, `${c.label} (${c.code})${c.note_required ? " - note needed" : ""}`)),
      );
    const reason = h(
      "select",
      { id: "cc-reason" },
      h("option", { value: "" }, "Choose a reason code (every decision needs one)"),
      group("approve", "To approve"),
      group("reject", "To reject"),
    );
    if (this.draft) {
      reason.value = this.draft.reason;
      note.value = this.draft.note;
    }
    const claimLine = item.claimed_by
      ? mine
        ? "You hold the claim on this item."
        : `Claimed by ${item.claimed_by}. Only they can decide it until they release it.`
      : "Unclaimed. Claim it to decide.";
    const refuse = (message, field) => {
      this.error = message;
      this.flash = "";
      this.render();
      this.el.querySelector(field)?.focus();
    };
    const decide = (decision) => {
      this.draft = { reason: reason.value, note: note.value };
      const verb = decision === "approve" ? "approving" : "rejecting";
      const chosen = codes.find((c) => c.code === reason.value);
      if (!chosen || !(chosen.applies_to || []).includes(decision)) {
        refuse(`Choose a reason code for ${verb}.`, "#cc-reason");
        return;
      }
      if (chosen.note_required && !note.value.trim()) {
        refuse(`The reason ${chosen.code} needs a note before ${verb}.`, "#cc-note");
        return;
      }
      const word = decision === "approve" ? "Approved" : "Rejected";
      this.act("decision", { decision, reason_code: reason.value, note: note.value.trim() }, `${word}. Recorded in the audit trail.`);
    };
    const claimButton = mine
      ? h("button", { type: "button", class: "cc-btn", onclick: () => this.act("release", {}, "Claim released.") }, "Release")
      : h("button", { type: "button", class: "cc-btn cc-btn--primary", onclick: () => this.act("claim", {}, "Claimed. You can now decide.") }, "Claim");
    return h(
      "div",
      { class: "cc-decide", role: "group", "aria-label": "Decision" },
      h(
        "div",
        { class: "cc-decide-head" },
        h(
          "div",
          {},
          h("p", { class: "cc-claim-line" }, claimLine),
          decidedByMe
            ? h("p", { class: "cc-muted" }, "You have already decided this item; a different officer must give the next approval.")
            : null,
        ),
        claimButton,
      ),
      h(
        "div",
        { class: "cc-decide-fields" },
        h("label", { class: "cc-field" }, h("span", {}, "Reason code"), reason),
        h("label", { class: "cc-field cc-field--wide" }, h("span", {}, "Note"), note),
        h(
          "div",
          { class: "cc-buttons" },
          h("button", { type: "button", class: "cc-btn cc-btn--approve", disabled: !mine, onclick: () => decide("approve") }, "Approve"),
          h("button", { type: "button", class: "cc-btn cc-btn--reject", disabled: !mine, onclick: () => decide("reject") }, "Reject"),
        ),
      ),
      !mine ? h("p", { class: "cc-muted cc-small" }, "Claim the item to approve or reject it.") : null,
    );
  }
}

function describeError(err) {
  if (!(err instanceof ApiError)) return `Something went wrong: ${err.message}`;
  if (err.status === 409) return `Conflict: ${err.message}. The view below shows the current state.`;
  if (err.status === 403) return `Not allowed: ${err.message}.`;
  if (err.status === 422) return `Not accepted: ${err.message}.`;
  return err.message;
}
