// The chat panel's behaviour: sending, streaming, confirming, polling held actions, restoring history.
import { ApiClient, ApiError } from "./api.js";
import { emptyState, messageView, streamingBubble } from "./render.js";
import { buildShell } from "./shell.js";

const ESCALATION_TEXT = "I would like to talk to a person, please.";

export class ChatWidget {
  constructor(config) {
    this.config = config;
    this.api = new ApiClient(config.api);
    this.subject = null;
    this.displayName = "";
    this.threadId = null;
    this.messages = [];
    this.busy = false;
    this.pollTimer = null;
    this.pollGeneration = 0;
    this.ui = buildShell(config, {
      onToggle: () => (this.isOpen() ? this.close() : this.open()),
      onClose: () => this.close(),
      onNew: () => this.newConversation(),
      onSubmit: () => this.submit(),
      onInput: () => this.updateCounter(),
      onSuggestion: (text) => this.send(text),
    });
    this.renderMessages();
    this.updateCounter();
  }

  // ----- public surface (wrapped by window.finagent) -----

  async setToken(token, { subject = null, displayName = "" } = {}) {
    this.stopPolling();
    this.api.token = token || null;
    this.subject = subject;
    this.displayName = displayName;
    this.messages = [];
    this.threadId = token ? localStorage.getItem(this.storageKey()) : null;
    this.setBanner(null);
    this.renderMessages();
    this.updateCounter();
    if (token && this.threadId) await this.restoreThread();
  }

  clearToken() {
    return this.setToken(null);
  }

  open() {
    this.ui.panel.hidden = false;
    this.ui.launcher.setAttribute("aria-expanded", "true");
    this.ui.launcher.classList.remove("fa-launcher--unread");
    this.scrollToEnd();
    this.ui.input.focus();
    emit("open");
  }

  close() {
    this.ui.panel.hidden = true;
    this.ui.launcher.setAttribute("aria-expanded", "false");
    this.ui.launcher.focus();
    emit("close");
  }

  isOpen() {
    return !this.ui.panel.hidden;
  }

  newConversation() {
    if (this.busy) return;
    this.stopPolling();
    this.threadId = null;
    localStorage.removeItem(this.storageKey());
    this.messages = [];
    this.setBanner(null);
    this.renderMessages();
    this.announce("Started a new conversation.");
    this.ui.input.focus();
  }

  /** Send `text` as the customer. Returns false when it was refused or failed. */
  async send(text) {
    const message = String(text ?? "").trim();
    if (!message || this.busy) return false;
    if (!this.api.token) {
      this.setBanner("Please sign in to chat with us.");
      return false;
    }
    if (charCount(message) > this.config.maxChars) {
      this.refuseTooLong(charCount(message));
      return false;
    }
    const pendingUser = { role: "user", content: message, created_at: new Date().toISOString(), local: true };
    this.messages.push(pendingUser);
    this.renderMessages();
    const draft = this.ui.input.value;
    this.ui.input.value = "";
    this.updateCounter();
    const ok = await this.runStream("api/chat", { thread_id: this.threadId, message });
    if (!ok) {
      // Never lose what the customer typed: it goes back into the box for a retry.
      if (!this.ui.input.value) this.ui.input.value = draft.trim() ? draft : message;
      this.updateCounter();
    }
    return ok;
  }

  // ----- internals -----

  storageKey() {
    return `finagent:thread:${new URL(this.config.api).host}:${this.subject || "customer"}`;
  }

  setThreadId(id) {
    this.threadId = id;
    if (id) localStorage.setItem(this.storageKey(), id);
  }

  submit() {
    const text = this.ui.input.value;
    if (charCount(text) > this.config.maxChars) {
      this.refuseTooLong(charCount(text));
      return;
    }
    this.send(text);
  }

  refuseTooLong(length) {
    const max = this.config.maxChars;
    const text =
      `Your message is ${length.toLocaleString("en-GB")} characters long. ` +
      `The limit is ${max.toLocaleString("en-GB")}: please shorten it by ` +
      `${(length - max).toLocaleString("en-GB")} characters. Your text is still in the box.`;
    this.setBanner(text, "warning");
    this.ui.input.focus();
  }

  updateCounter() {
    const length = charCount(this.ui.input.value);
    const max = this.config.maxChars;
    const { counter, input } = this.ui;
    counter.textContent = `${length.toLocaleString("en-GB")} / ${max.toLocaleString("en-GB")}`;
    counter.classList.toggle("fa-counter--warn", length > max * 0.9 && length <= max);
    counter.classList.toggle("fa-counter--over", length > max);
    input.setAttribute("aria-invalid", length > max ? "true" : "false");
    const signedIn = Boolean(this.api.token);
    input.disabled = !signedIn;
    input.readOnly = this.busy;
    this.ui.send.disabled = !signedIn || this.busy || length === 0;
    this.ui.newButton.disabled = !signedIn || this.busy;
    input.placeholder = signedIn ? "Type your message" : "Sign in to chat";
    // Grow with the text up to a few lines, then scroll.
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 140)}px`;
  }

  setBusy(busy) {
    this.busy = busy;
    this.ui.panel.setAttribute("aria-busy", busy ? "true" : "false");
    this.updateCounter();
  }

  setBanner(text, tone = "error") {
    const { banner } = this.ui;
    banner.hidden = !text;
    banner.className = `fa-banner fa-banner--${tone}`;
    banner.textContent = text || "";
  }

  announce(text) {
    this.ui.announcer.textContent = "";
    // A fresh text node after a tick makes screen readers announce repeated text too.
    setTimeout(() => (this.ui.announcer.textContent = text), 50);
  }

  scrollToEnd() {
    const list = this.ui.list;
    list.scrollTop = list.scrollHeight;
  }

  /** Show the last card of each action only; earlier mentions are history. */
  renderMessages() {
    const { list } = this.ui;
    const lastIndexOfAction = new Map();
    // Cards go under assistant messages; the customer's "Confirm" message carries the action too.
    this.messages.forEach((m, i) => m.action && m.role === "assistant" && lastIndexOfAction.set(m.action.action_id, i));
    const views = this.messages.map((m, i) =>
      messageView(m, {
        showAction: Boolean(m.action) && lastIndexOfAction.get(m.action.action_id) === i,
        onDecide: (action, confirm) => this.decide(action, confirm),
        onEscalate: i === this.messages.length - 1 ? () => this.send(ESCALATION_TEXT) : null,
        onChoice: i === this.messages.length - 1 ? (text) => this.send(text) : null,
        openReport: (url, download) => this.openReport(url, download),
        contact: this.config.contact,
      }),
    );
    list.replaceChildren(...(views.length ? views : [this.emptyState()]));
    this.scrollToEnd();
  }

  /** The suitability report is behind the session token: fetched, then shown or saved from a blob. */
  async openReport(url, download) {
    try {
      const html = await this.api.text(url.replace(/^\//, ""));
      const link = document.createElement("a");
      link.href = URL.createObjectURL(new Blob([html], { type: "text/html" }));
      if (download) link.download = "suitability-report.html";
      else link.target = "_blank";
      link.rel = "noopener";
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (err) {
      this.setBanner(`We could not open the report. ${err.message || ""}`);
    }
  }

  emptyState() {
    return emptyState({
      signedIn: Boolean(this.api.token),
      displayName: this.displayName,
      suggestions: this.config.suggestions,
      onSuggestion: (text) => this.send(text),
    });
  }

  /** POST a chat or confirm call and render its event stream. Returns true on a clean reply. */
  async runStream(path, body) {
    this.setBusy(true);
    this.setBanner(null);
    const bubble = streamingBubble();
    this.ui.list.append(bubble.el);
    this.scrollToEnd();
    let final = null;
    let failure = null;
    try {
      await this.api.stream(path, body, (event, data) => {
        if (event === "thread" && data.thread_id) this.setThreadId(data.thread_id);
        else if (event === "token") {
          const nearEnd = this.ui.list.scrollHeight - this.ui.list.scrollTop - this.ui.list.clientHeight < 80;
          bubble.append(data.text || "");
          if (nearEnd) this.scrollToEnd();
        } else if (event === "message") final = data;
        else if (event === "error") failure = data;
      });
      if (!final && !failure) failure = { message: "The reply was interrupted. Please try again." };
    } catch (err) {
      failure = this.handleApiError(err);
    } finally {
      bubble.el.remove();
      this.setBusy(false);
    }
    if (final) {
      this.messages = this.messages.filter((m) => !m.local);
      await this.reconcile(final);
      this.announce(`Assistant: ${final.content || ""}`);
      emit("message", final);
      if (!this.isOpen()) this.ui.launcher.classList.add("fa-launcher--unread");
    }
    if (failure) {
      // A message the server never recorded is not shown as sent; its text returns to the box.
      this.messages = this.messages.filter((m) => !m.local);
      this.renderMessages();
      this.setBanner(failure.message || "Something went wrong. Please try again.");
      this.announce(failure.message || "Something went wrong.");
      if (this.threadId && !(failure instanceof ApiError && failure.status === 401)) {
        // The server keeps the thread state on error: show what it recorded.
        await this.restoreThread({ quiet: true });
      }
    }
    this.syncPolling();
    if (this.isOpen()) this.ui.input.focus();
    return Boolean(final) && !failure;
  }

  /** Bring local history in line with the server after a reply (it holds user messages too). */
  async reconcile(final) {
    if (this.threadId) {
      const restored = await this.restoreThread({ quiet: true });
      if (restored) {
        // Answer buttons and the proposal's charts come with the live message only, not the stored one.
        const stored = this.messages.find((m) => m.id === final.id);
        if (stored && (final.choices?.length || final.advice)) {
          Object.assign(stored, { choices: final.choices, advice: final.advice });
          this.renderMessages();
        }
        return;
      }
    }
    this.messages.push(final);
    this.renderMessages();
  }

  handleApiError(err) {
    if (err instanceof ApiError) {
      if (err.status === 401) {
        this.api.token = null;
        emit("unauthorized", { message: err.message });
        return new ApiError("Your session has ended. Please sign in again.", { status: 401 });
      }
      return err;
    }
    return new ApiError("Something went wrong. Please try again.", { code: "unexpected" });
  }

  async decide(action, confirm) {
    if (this.busy) return;
    const card = this.ui.list.querySelector(`[data-action-id="${CSS.escape(action.action_id)}"]`);
    card?.querySelectorAll("button").forEach((b) => (b.disabled = true));
    // The server records the answer as the customer's message; show it at once.
    this.messages.push({ role: "user", content: confirm ? "Confirm" : "Cancel", local: true });
    this.renderMessages();
    await this.runStream("api/chat/confirm", {
      thread_id: this.threadId,
      action_id: action.action_id,
      confirm,
    });
  }

  /** Load the thread from the server. Returns true when it was shown. */
  async restoreThread({ quiet = false } = {}) {
    if (!this.threadId || !this.api.token) return false;
    try {
      const thread = await this.api.get(`api/threads/${encodeURIComponent(this.threadId)}`);
      this.applyThread(thread);
      return true;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 403)) {
        // Gone, or someone else's: start afresh rather than show an error forever.
        this.threadId = null;
        localStorage.removeItem(this.storageKey());
        this.messages = [];
        this.renderMessages();
        return false;
      }
      const failure = this.handleApiError(err);
      if (!quiet) this.setBanner(`We could not load your conversation. ${failure.message}`);
      return false;
    }
  }

  applyThread(thread) {
    const messages = Array.isArray(thread.messages) ? thread.messages : [];
    const pending = thread.pending_action;
    // pending_action is the freshest view of the action; show it on the messages that carry it.
    if (pending) {
      for (const m of messages) if (m.action && m.action.action_id === pending.action_id) m.action = pending;
    }
    this.messages = messages;
    this.renderMessages();
    this.syncPolling();
  }

  awaitingReview() {
    const pendingStates = ["pending_approval", "approved"];
    const latest = new Map();
    for (const m of this.messages) if (m.action) latest.set(m.action.action_id, m.action.status);
    return [...latest.values()].some((s) => pendingStates.includes(s));
  }

  syncPolling() {
    if (this.awaitingReview() && this.api.token && this.threadId) this.startPolling();
    else this.stopPolling();
  }

  startPolling() {
    if (this.pollTimer) return;
    const generation = ++this.pollGeneration;
    const tick = async () => {
      if (generation !== this.pollGeneration) return;
      if (!this.busy) {
        const before = signature(this.messages);
        const shown = await this.restoreThread({ quiet: true });
        if (shown && signature(this.messages) !== before) this.onThreadChanged();
      }
      if (generation === this.pollGeneration && this.awaitingReview()) {
        this.pollTimer = setTimeout(tick, this.config.pollMs);
      } else if (generation === this.pollGeneration) {
        this.pollTimer = null;
      }
    };
    this.pollTimer = setTimeout(tick, this.config.pollMs);
  }

  stopPolling() {
    this.pollGeneration++;
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }

  onThreadChanged() {
    const last = this.messages[this.messages.length - 1];
    if (last && last.role === "assistant") this.announce(`Update: ${last.content || ""}`);
    if (!this.isOpen()) this.ui.launcher.classList.add("fa-launcher--unread");
    emit("message", last);
  }
}

/** Characters as the server counts them (code points, after trimming), not UTF-16 units. */
function charCount(text) {
  return Array.from(String(text).trim()).length;
}

function signature(messages) {
  return messages.map((m) => `${m.id}:${m.status}:${m.action ? m.action.status : ""}`).join("|");
}

export function emit(name, detail = {}) {
  window.dispatchEvent(new CustomEvent(`finagent:${name}`, { detail }));
}

