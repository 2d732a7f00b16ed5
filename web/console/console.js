// Compliance console: officer sign-in, the review queue, the item view and the audit trail.
import { ApiClient, ApiError } from "../widget/api.js";
import { formatTime, h } from "../widget/dom.js";
import { AuditView } from "./audit.js";
import { ItemView } from "./item.js";

const SESSION_KEY = "finagent-console-session";
const QUEUE_REFRESH_MS = 10000;
const $ = (id) => document.getElementById(id);

const api = new ApiClient(location.origin);
let session = null;
let selectedId = null;
let queueTimer = null;
let reasonCodes = [];

const itemView = new ItemView($("detail"), {
  api,
  me: () => session,
  reasonCodes: () => reasonCodes,
  onChanged: () => loadQueue(),
  onUnauthorized: () => signOut("Your session has ended. Please sign in again."),
});
const auditView = new AuditView({
  api,
  table: $("audit-table"),
  result: $("audit-result"),
  onUnauthorized: () => signOut("Your session has ended. Please sign in again."),
});

// ---------- session ----------

async function signIn(username, password) {
  const body = await api.post("api/auth/login", { username, password });
  if (body.role !== "officer") throw new ApiError("This console is for compliance officers only.", { status: 403 });
  return body;
}

function startSession(s) {
  session = s;
  api.token = s.token;
  $("officer-name").textContent = s.display_name;
  $("login").hidden = true;
  $("session").hidden = false;
  $("tabs").hidden = false;
  showView(location.hash === "#audit" ? "audit" : "queue");
  api
    .get("api/approvals/reason-codes")
    .then((codes) => (reasonCodes = codes))
    .catch(() => (reasonCodes = []));
}

function signOut(message = "") {
  session = null;
  api.token = null;
  sessionStorage.removeItem(SESSION_KEY);
  clearTimeout(queueTimer);
  selectedId = null;
  itemView.clear();
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
$("logout").addEventListener("click", () => signOut());

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
$("status-filter").addEventListener("change", () => loadQueue());

// ---------- queue ----------

const STATUS_LABEL = { pending: "Pending", approved: "Approved", rejected: "Rejected", executed: "Executed" };

function queueEntry(item) {
  const approvals = item.decisions.filter((d) => d.decision === "approve").length;
  const reasons = item.action?.verdict?.reasons || [];
  const selected = item.id === selectedId;
  return h(
    "li",
    {},
    h(
      "button",
      {
        type: "button",
        class: `cc-queue-item${selected ? " cc-queue-item--selected" : ""}`,
        "aria-current": selected ? "true" : null,
        dataset: { itemId: String(item.id), threadId: item.thread_id || "" },
        onclick: () => select(item.id),
      },
      h(
        "span",
        { class: "cc-queue-line" },
        h("span", { class: "cc-queue-id" }, `#${item.id}`),
        h("span", { class: `cc-status cc-status--${item.status}` }, STATUS_LABEL[item.status] || item.status),
      ),
      h("span", { class: "cc-queue-summary" }, item.action?.summary || "(no action)"),
      h(
        "span",
        { class: "cc-queue-meta" },
        `${item.customer_name || item.customer_id} · ${formatTime(item.created_at, true)}`,
      ),
      h(
        "span",
        { class: "cc-queue-meta" },
        `${reasons.length} rule hit${reasons.length === 1 ? "" : "s"} · approvals ${approvals} of ${item.approvals_needed}`,
        item.claimed_by ? ` · claimed by ${item.claimed_by === session?.subject ? "you" : item.claimed_by}` : "",
      ),
    ),
  );
}

async function loadQueue() {
  clearTimeout(queueTimer);
  if (!session || $("queue-view").hidden) return;
  const status = $("status-filter").value;
  const error = $("queue-error");
  try {
    const items = await api.get(`api/approvals?status=${encodeURIComponent(status)}`);
    // Newest first, whatever order the server chose.
    items.sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)) || b.id - a.id);
    const list = $("queue-list");
    list.replaceChildren(
      ...(items.length ? items.map(queueEntry) : [h("li", { class: "cc-empty" }, "Nothing in this view.")]),
    );
    error.hidden = true;
    $("queue-updated").textContent = `${items.length} item${items.length === 1 ? "" : "s"} · updated ${new Date().toLocaleTimeString("en-GB")}`;
    if (selectedId !== null) itemView.refresh(selectedId);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signOut("Your session has ended. Please sign in again.");
    error.textContent = `The queue could not be loaded: ${err.message}`;
    error.hidden = false;
  }
  queueTimer = setTimeout(loadQueue, QUEUE_REFRESH_MS);
}

function select(id) {
  selectedId = id;
  for (const button of document.querySelectorAll(".cc-queue-item")) {
    const on = button.dataset.itemId === String(id);
    button.classList.toggle("cc-queue-item--selected", on);
    if (on) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
  itemView.show(id);
}

// ---------- start ----------

const saved = sessionStorage.getItem(SESSION_KEY);
if (saved) startSession(JSON.parse(saved));
else $("username").focus();
