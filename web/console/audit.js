// The audit panel: the newest entries of the hash-chained trail and the "Verify chain" check.
import { ApiError } from "../widget/api.js";
import { formatTime, h } from "../widget/dom.js";

const LIMIT = 100;

function payloadSummary(payload) {
  const text = JSON.stringify(payload ?? {});
  if (text.length <= 120) return h("code", { class: "cc-payload" }, text);
  // Long payloads (message text, hit lists) fold away; the full JSON is one click away.
  return h(
    "details",
    {},
    h("summary", {}, h("code", { class: "cc-payload" }, `${text.slice(0, 100)}…`)),
    h("pre", { class: "cc-payload-full" }, JSON.stringify(payload, null, 2)),
  );
}

export class AuditView {
  constructor({ api, table, result, onUnauthorized }) {
    this.api = api;
    this.body = table.querySelector("tbody");
    this.result = result;
    this.onUnauthorized = onUnauthorized;
  }

  async load() {
    try {
      const entries = await this.api.get(`api/audit?limit=${LIMIT}`);
      this.body.replaceChildren(
        ...entries.map((e) =>
          h(
            "tr",
            { dataset: { seq: String(e.seq) } },
            h("td", { class: "cc-num" }, String(e.seq)),
            h("td", { class: "cc-nowrap" }, h("time", { datetime: e.at }, formatTime(e.at, true, true))),
            h("td", {}, e.actor),
            h("td", {}, h("span", { class: "cc-code" }, e.kind)),
            h("td", { class: "cc-subject" }, e.subject),
            h("td", {}, payloadSummary(e.payload)),
            h("td", {}, h("code", { title: e.hash }, String(e.hash || "").slice(0, 12))),
          ),
        ),
      );
      if (entries.length === 0) this.body.append(h("tr", {}, h("td", { colspan: "7", class: "cc-muted" }, "No entries yet.")));
    } catch (err) {
      this.fail(err, "The audit trail could not be loaded");
    }
  }

  async verify() {
    this.result.replaceChildren(h("p", { class: "cc-alert" }, "Verifying the chain…"));
    try {
      const report = await this.api.get("api/audit/verify");
      const checkedAt = new Date().toLocaleTimeString("en-GB");
      this.result.replaceChildren(
        report.ok
          ? h("p", { class: "cc-alert cc-alert--ok", dataset: { ok: "true" } }, `Chain intact: ${report.entries} entries verified at ${checkedAt}.`)
          : h(
              "p",
              { class: "cc-alert cc-alert--error", dataset: { ok: "false" } },
              `Chain broken at entry ${report.first_bad_seq ?? "?"}: ${report.problem || "hash mismatch"} ` +
                `(${report.entries} entries read, checked at ${checkedAt}). Escalate to security operations.`,
            ),
      );
    } catch (err) {
      this.fail(err, "Verification could not run");
    }
  }

  fail(err, what) {
    if (err instanceof ApiError && err.status === 401) return this.onUnauthorized();
    this.result.replaceChildren(h("p", { class: "cc-alert cc-alert--error", role: "alert" }, `${what}: ${err.message}`));
  }
}
