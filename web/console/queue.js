// The work queue's shared pieces: labels, SLA and age wording, the live event stream, and the queue
// actions panel (claim, release, reassign, history) that works for every kind of item.
import { ApiError, SseParser } from "../widget/api.js";
import { formatTime, h } from "../widget/dom.js";

export const ROLE_LABEL = {
  compliance_officer: "Compliance officer",
  supervisor: "Supervisor",
  auditor: "Auditor",
  underwriter: "Underwriter",
  aml_analyst: "AML analyst",
  service_agent: "Service agent",
};

function span(seconds) {
  const s = Math.abs(seconds);
  if (s < 90) return `${Math.round(s)} s`;
  const minutes = Math.round(s / 60); // round once, then split: never "3 h 60 min"
  if (minutes < 90) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  const hours = Math.round(minutes / 60);
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function capitalised(text) {
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
}

/** "SLA in 3 h 10 min" or "SLA overdue by 20 min", against the server's clock. */
export function dueText(dueIso, nowMs) {
  const left = (Date.parse(dueIso) - nowMs) / 1000;
  return left >= 0 ? `SLA in ${span(left)}` : `SLA overdue by ${span(left)}`;
}

export function ageText(seconds) {
  return span(seconds);
}

const EVENT_LABEL = {
  queued: "queued",
  claimed: "claimed",
  released: "released",
  reassigned: "reassigned",
  escalated: "escalated to supervisors (SLA passed)",
  claim_lapsed: "claim lapsed",
  approve: "approved (more approvals needed)",
  approved: "approved",
  rejected: "rejected",
};

/** Live queue changes over SSE (fetch, so the bearer token goes in a header). Reconnects with the last
 * event id; every (re)connect calls onConnected so the page re-lists and misses nothing. */
export class LiveQueue {
  constructor({ api, onConnected, onChange, onState, onUnauthorized }) {
    Object.assign(this, { api, onConnected, onChange, onState, onUnauthorized });
    this.cursor = null;
    this.abort = null;
    this.running = false;
  }

  start() {
    this.stop();
    this.running = true;
    this.loop();
  }

  stop() {
    this.running = false;
    this.abort?.abort();
    this.abort = null;
    this.cursor = null;
    this.onState("off");
  }

  async loop() {
    let delay = 1000;
    while (this.running) {
      this.abort = new AbortController();
      this.onState("connecting");
      try {
        const query = this.cursor === null ? "" : `?after=${this.cursor}`;
        const response = await fetch(this.api.url(`api/queue/events${query}`), {
          headers: this.api.headers({ Accept: "text/event-stream" }),
          signal: this.abort.signal,
        });
        if (response.status === 401) {
          this.running = false;
          this.onUnauthorized();
          return;
        }
        if (!response.ok || !response.body) throw new ApiError(`HTTP ${response.status}`, { status: response.status });
        const parser = new SseParser((name, data) => {
          if (name === "ready") {
            this.cursor = data.cursor;
            this.onState("live");
            this.onConnected();
            delay = 1000;
          } else if (name === "queue") {
            this.cursor = data.event_id;
            this.onChange(data);
          }
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.feed(value);
        }
        parser.flush();
      } catch (err) {
        if (err && err.name === "AbortError") return;
        this.onState("off");
        delay = Math.min(delay * 2, 15000);
      }
      if (this.running) await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** The panel above an item: where it stands in the queue, claim/release, a supervisor's reassign, and
 * its history. */
export class QueueOps {
  constructor(el, { api, me, onChanged, onUnauthorized }) {
    Object.assign(this, { el, api, me, onChanged, onUnauthorized });
    this.item = null;
    this.staff = [];
    this.message = null;
    this.historyOpen = false; // kept when a live update re-renders the panel
  }

  clear() {
    this.item = null;
    this.el.hidden = true;
    this.el.replaceChildren();
  }

  async show(id) {
    this.message = null;
    this.historyOpen = false;
    await this.load(id);
  }

  async refresh() {
    if (!this.item || this.el.contains(document.activeElement)) return;
    await this.load(this.item.id);
  }

  async load(id) {
    try {
      this.item = await this.api.get(`api/queue/${id}`);
      if (this.me()?.role === "supervisor") {
        this.staff = await this.api.get(`api/queue/staff?role=${encodeURIComponent(this.item.role)}`);
      }
      this.render();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return this.onUnauthorized();
      this.el.hidden = false;
      this.el.replaceChildren(h("p", { class: "cc-alert cc-alert--error", role: "alert" }, `Could not load item #${id}: ${err.message}`));
    }
  }

  async act(path, body, success) {
    try {
      await this.api.post(`api/queue/${this.item.id}/${path}`, body);
      this.message = { ok: true, text: success };
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return this.onUnauthorized();
      this.message = { ok: false, text: `${err.status === 409 ? "Conflict" : "Not done"}: ${err.message}.` };
    }
    await this.load(this.item.id);
    this.onChanged();
  }

  render() {
    const item = this.item;
    const me = this.me();
    const mine = item.claimed_by === me?.subject;
    const canWork = me && (me.role === item.role || me.role === "supervisor");
    const open = item.status === "pending";
    const facts = [
      ["Queue", ROLE_LABEL[item.role] || item.role],
      ["Priority", item.priority_label],
      ["SLA due", formatTime(item.sla_due_at, true)],
      ["Received", formatTime(item.created_at, true)],
      ["Expires", item.expires_at ? formatTime(item.expires_at, true) : "never"],
      ["Claim", item.claimed_by ? `${mine ? "you" : item.claimed_by} until ${formatTime(item.claim_expires_at, true)}` : "unclaimed"],
    ];
    const buttons = [];
    // Approvals are claimed in the decision panel below, next to the decision they are claimed for.
    if (open && canWork && item.kind !== "approval") {
      buttons.push(
        mine
          ? h("button", { type: "button", class: "cc-btn", onclick: () => this.act("release", {}, "Claim released.") }, "Release")
          : h("button", { type: "button", class: "cc-btn cc-btn--primary", onclick: () => this.act("claim", {}, "Claimed.") }, "Claim"),
      );
    }
    let reassign = null;
    if (open && me?.role === "supervisor") {
      const who = h(
        "select",
        { id: "reassign-to", "aria-label": "Reassign to" },
        h("option", { value: "" }, "Reassign to…"),
        this.staff.map((s) => h("option", { value: s.subject }, `${s.display_name}`)),
      );
      const note = h("input", { id: "reassign-note", maxlength: "2000", placeholder: "Why (kept in the history)", "aria-label": "Reason for reassigning" });
      const go = h("button", {
        type: "button",
        class: "cc-btn cc-btn--primary",
        id: "reassign-submit",
        onclick: () => {
          if (!who.value || !note.value.trim()) {
            this.message = { ok: false, text: "Choose a colleague and say why." };
            return this.render();
          }
          this.act("reassign", { to_user: who.value, note: note.value.trim() }, `Reassigned to ${who.selectedOptions[0].textContent}.`);
        },
      }, "Reassign");
      reassign = h("div", { class: "cc-reassign" }, who, note, go);
    }
    this.el.hidden = false;
    this.el.dataset.itemId = String(item.id);
    // Through h(): the DOM's own replaceChildren would print a skipped (null) part as "null".
    const panel = h(
      "div",
      { class: "cc-ops-body" },
      h(
        "div",
        { class: "cc-ops-head" },
        h("strong", {}, `#${item.id} · ${capitalised(item.title)}`),
        item.escalated ? h("span", { class: "cc-escalated" }, "Escalated") : null,
        item.sla_breached ? h("span", { class: "cc-due cc-due--late" }, "SLA passed") : null,
        ...buttons,
      ),
      this.message ? h("p", { class: `cc-alert ${this.message.ok ? "cc-alert--ok" : "cc-alert--error"}`, role: "status" }, this.message.text) : null,
      h("dl", { class: "cc-ops-facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      reassign,
      h(
        "details",
        { class: "cc-history", open: this.historyOpen || null, ontoggle: (e) => (this.historyOpen = e.target.open) },
        h("summary", {}, `History (${item.history.length})`),
        h(
          "ol",
          {},
          item.history.map((e) =>
            h(
              "li",
              { dataset: { event: e.event } },
              h("time", { datetime: e.at }, formatTime(e.at, true)),
              ` ${e.actor} ${EVENT_LABEL[e.event] || e.event}`,
              e.event === "reassigned" ? ` to ${e.detail.to}: “${e.detail.note}”` : "",
              e.detail.reason_code ? ` (${e.detail.reason_code})` : "",
            ),
          ),
        ),
      ),
    );
    this.el.replaceChildren(panel);
  }
}
