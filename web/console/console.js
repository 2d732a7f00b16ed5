// Staff console: sign-in for every staff role, the work queue (filters, claim, release, reassign, live
// updates), the approval item view and the audit trail.
import { ApiClient, ApiError } from "../widget/api.js";
import { formatTime, h } from "../widget/dom.js";
import { AuditView } from "./audit.js";
import { ItemView } from "./item.js";
import { LiveQueue, QueueOps, ROLE_LABEL, dueText, ageText } from "./queue.js";

const SESSION_KEY = "finagent-console-session";
const QUEUE_REFRESH_MS = 30000; // a fallback: live events re-list the queue as soon as it changes
const PAGE_SIZE = 50;
const STAFF_ROLES = Object.keys(ROLE_LABEL);
const READS_EVERY_QUEUE = ["supervisor", "auditor"];
const AUDIT_ROLES = ["compliance_officer", "supervisor", "auditor"];
const $ = (id) => document.getElementById(id);

const api = new ApiClient(location.origin);
let session = null;
let selectedId = null;
let selectedKind = null;
let queueTimer = null;
let reasonCodes = [];
let offset = 0;

const itemView = new ItemView($("detail"), {
  api,
  me: () => session,
  reasonCodes: () => reasonCodes,
  onChanged: () => {
    loadQueue();
    ops.refresh(); // a claim or a decision in the item view changes the queue panel above it too
  },
  onUnauthorized: () => signOut("Your session has ended. Please sign in again."),
});
const ops = new QueueOps($("item-ops"), {
  api,
  me: () => session,
  onChanged: () => {
    loadQueue();
    if (selectedId !== null && selectedKind === "approval") itemView.refresh(selectedId);
  },
  onUnauthorized: () => signOut("Your session has ended. Please sign in again."),
});
const live = new LiveQueue({
  api,
  onConnected: () => loadQueue(), // a reload or a reconnect re-lists: nothing missed while away
  onChange: () => scheduleReload(),
  onState: (state) => {
    $("live").dataset.state = state;
    $("live").textContent = state === "live" ? "live" : state === "connecting" ? "connecting" : "offline";
  },
  onUnauthorized: () => signOut("Your session has ended. Please sign in again."),
});
let reloadTimer = null;
function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => {
    loadQueue();
    if (selectedId !== null) {
      if (selectedKind === "approval") itemView.refresh(selectedId);
      ops.refresh();
    }
  }, 250);
}
const auditView = new AuditView({
  api,
  table: $("audit-table"),
  result: $("audit-result"),
  onUnauthorized: () => signOut("Your session has ended. Please sign in again."),
});

// ---------- session ----------

async function signIn(username, password) {
  const body = await api.post("api/auth/login", { username, password });
  if (!STAFF_ROLES.includes(body.role)) {
    // Not a staff session: revoke it at once rather than leave a customer token in this page.
    await api.request("POST", "api/auth/logout", undefined).catch(() => {});
    throw new ApiError("This console is for bank staff only.", { status: 403 });
  }
  return body;
}

function roleOptions(role) {
  const select = $("role-filter");
  const queues = ["compliance_officer", "aml_analyst", "underwriter", "service_agent"];
  const own = role === "supervisor" ? [["", "Escalated to supervisors"]] : [["", "All queues"]];
  select.replaceChildren(
    ...[...own, ...queues.map((r) => [r, `${ROLE_LABEL[r]} queue`])].map(([value, label]) => h("option", { value }, label)),
  );
  $("role-filter-label").hidden = !READS_EVERY_QUEUE.includes(role);
}

function startSession(s) {
  session = s;
  api.token = s.token;
  $("officer-name").textContent = s.display_name;
  $("role-name").textContent = ROLE_LABEL[s.role] || s.role;
  document.body.dataset.role = s.role;
  $("login").hidden = true;
  $("session").hidden = false;
  $("tabs").hidden = false;
  $("audit-tab").hidden = !AUDIT_ROLES.includes(s.role);
  roleOptions(s.role);
  offset = 0;
  showView(location.hash === "#audit" && AUDIT_ROLES.includes(s.role) ? "audit" : "queue");
  live.start();
  if (AUDIT_ROLES.includes(s.role)) {
    api
      .get("api/approvals/reason-codes")
      .then((codes) => (reasonCodes = codes))
      .catch(() => (reasonCodes = []));
  }
}

function signOut(message = "", { revoke = false } = {}) {
  if (revoke && api.token) api.request("POST", "api/auth/logout", undefined).catch(() => {});
  session = null;
  api.token = null;
  live.stop();
  sessionStorage.removeItem(SESSION_KEY);
  clearTimeout(queueTimer);
  selectedId = null;
  selectedKind = null;
  itemView.clear();
  ops.clear();
  $("queue-view").hidden = true;
  $("audit-view").hidden = true;
  $("tabs").hidden = true;
  $("session").hidden = true;
  $("login").hidden = false;
  const error = $("login-error");
  error.textContent = message;
  error.hidden = !message;
  $("username").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("login-error");
  error.hidden = true;
  $("login-submit").disabled = true;
  try {
    const s = await signIn($("username").value.trim(), $("password").value);
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
    $("password").value = "";
    startSession(s);
  } catch (err) {
    error.textContent = err instanceof ApiError && err.status === 401 ? "Wrong user name or password." : err.message;
    error.hidden = false;
  } finally {
    $("login-submit").disabled = false;
  }
});
$("logout").addEventListener("click", () => signOut("", { revoke: true }));

// ---------- views ----------

function showView(name) {
  $("queue-view").hidden = name !== "queue";
  $("audit-view").hidden = name !== "audit";
  for (const tab of document.querySelectorAll(".cc-tab")) {
    if (tab.dataset.view === name) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  history.replaceState(null, "", name === "audit" ? "#audit" : "#queue");
  if (name === "queue") loadQueue();
  else {
    clearTimeout(queueTimer);
    auditView.load();
  }
}

for (const tab of document.querySelectorAll(".cc-tab")) {
  tab.addEventListener("click", () => showView(tab.dataset.view));
}
$("audit-refresh").addEventListener("click", () => auditView.load());
$("audit-verify").addEventListener("click", () => auditView.verify());
for (const id of ["role-filter", "kind-filter", "status-filter", "priority-filter", "claimed-filter", "sort"]) {
  $(id).addEventListener("change", () => {
    offset = 0;
    loadQueue();
  });
}
let searchTimer = null;
$("q").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    offset = 0;
    loadQueue();
  }, 300);
});
$("filters").addEventListener("submit", (event) => event.preventDefault());
$("prev-page").addEventListener("click", () => {
  offset = Math.max(0, offset - PAGE_SIZE);
  loadQueue();
});
$("next-page").addEventListener("click", () => {
  offset += PAGE_SIZE;
  loadQueue();
});

// ---------- queue ----------

const STATUS_LABEL = { pending: "Open", approved: "Approved", rejected: "Rejected", executed: "Executed" };
const KIND_LABEL = {
  approval: "Approval",
  aml_alert: "AML alert",
  loan_referral: "Loan referral",
  handoff: "Hand-off",
  complaint: "Complaint",
};

function queueEntry(item, now) {
  const selected = item.id === selectedId;
  const p = item.payload || {};
  const claim = item.claimed_by ? `claimed by ${item.claimed_by === session?.subject ? "you" : item.claimed_by}` : "unclaimed";
  const facts = [];
  if (item.kind === "approval") {
    facts.push(`${p.rule_hits ?? 0} rule hit${p.rule_hits === 1 ? "" : "s"}`, `${item.approvals_needed} approver${item.approvals_needed === 1 ? "" : "s"}`);
  }
  return h(
    "li",
    {},
    h(
      "button",
      {
        type: "button",
        class: `cc-queue-item${selected ? " cc-queue-item--selected" : ""}${item.sla_breached ? " cc-queue-item--late" : ""}`,
        "aria-current": selected ? "true" : null,
        dataset: {
          itemId: String(item.id),
          threadId: item.thread_id || "",
          kind: item.kind,
          escalated: String(item.escalated),
          claimedBy: item.claimed_by || "",
        },
        onclick: () => select(item),
      },
      h(
        "span",
        { class: "cc-queue-line" },
        h("span", { class: "cc-queue-id" }, `#${item.id}`),
        h("span", { class: `cc-prio cc-prio--${item.priority_label}` }, item.priority_label),
        h("span", { class: "cc-kind" }, KIND_LABEL[item.kind] || item.kind),
        item.escalated ? h("span", { class: "cc-escalated" }, "Escalated") : null,
        h("span", { class: `cc-status cc-status--${item.status}` }, STATUS_LABEL[item.status] || item.status),
      ),
      h("span", { class: "cc-queue-summary" }, p.summary || item.title),
      h(
        "span",
        { class: "cc-queue-meta" },
        `${p.customer_name || item.customer_id || ""}`,
        item.status === "pending"
          ? h("span", { class: `cc-due${item.sla_breached ? " cc-due--late" : ""}`, title: `SLA due ${formatTime(item.sla_due_at, true)}` }, ` · ${dueText(item.sla_due_at, now)}`)
          : ` · ${STATUS_LABEL[item.status] || item.status} ${formatTime(item.decided_at, true)}`,
        h("span", { title: `received ${formatTime(item.created_at, true)}` }, ` · age ${ageText(item.age_s)}`),
      ),
      h("span", { class: "cc-queue-meta" }, [...facts, claim].join(" · ")),
    ),
  );
}

function queueQuery() {
  const params = new URLSearchParams();
  const fields = { role: "role-filter", kind: "kind-filter", status: "status-filter", priority: "priority-filter" };
  for (const [name, id] of Object.entries(fields)) if ($(id).value) params.set(name, $(id).value);
  params.set("claimed", $("claimed-filter").value);
  params.set("sort", $("sort").value);
  const q = $("q").value.trim();
  if (q) params.set("q", q);
  params.set("limit", String(PAGE_SIZE));
  params.set("offset", String(offset));
  return params.toString();
}

async function loadQueue() {
  clearTimeout(queueTimer);
  if (!session || $("queue-view").hidden) return;
  const error = $("queue-error");
  try {
    const page = await api.get(`api/queue?${queueQuery()}`);
    if (page.items.length === 0 && offset > 0 && page.total > 0) {
      offset = Math.max(0, Math.floor((page.total - 1) / PAGE_SIZE) * PAGE_SIZE);
      return loadQueue();
    }
    const now = Date.parse(page.now);
    const list = $("queue-list");
    list.replaceChildren(
      ...(page.items.length ? page.items.map((item) => queueEntry(item, now)) : [h("li", { class: "cc-empty" }, "Nothing in this view.")]),
    );
    error.hidden = true;
    const first = page.total ? offset + 1 : 0;
    $("page-label").textContent = `${first}–${offset + page.items.length} of ${page.total}`;
    $("prev-page").disabled = offset === 0;
    $("next-page").disabled = offset + page.items.length >= page.total;
    $("queue-updated").textContent = `${page.total} item${page.total === 1 ? "" : "s"} · updated ${new Date().toLocaleTimeString("en-GB")}`;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signOut("Your session has ended. Please sign in again.");
    error.textContent = `The queue could not be loaded: ${err.message}`;
    error.hidden = false;
  }
  queueTimer = setTimeout(loadQueue, QUEUE_REFRESH_MS);
}

function select(item) {
  selectedId = item.id;
  selectedKind = item.kind;
  for (const button of document.querySelectorAll(".cc-queue-item")) {
    const on = button.dataset.itemId === String(item.id);
    button.classList.toggle("cc-queue-item--selected", on);
    if (on) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
  ops.show(item.id);
  if (item.kind === "approval") itemView.show(item.id);
  else itemView.el.replaceChildren(h("div", { class: "cc-placeholder" }, `${KIND_LABEL[item.kind] || item.kind} #${item.id}: the history and actions are above.`));
}

// ---------- start ----------

const saved = sessionStorage.getItem(SESSION_KEY);
if (saved) startSession(JSON.parse(saved));
else $("username").focus();
