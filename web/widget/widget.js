// finagent customer chat widget. Embed with one tag:
//   <script type="module" src="https://bank.example/widget/widget.js" data-api="https://bank.example/"></script>
// then hand it the customer's session token: window.finagent.setToken(token, { subject }).
// Everything lives in a shadow root, so the host page's CSS and the widget's never meet.
// docs/ui.md documents the attributes, the window.finagent API and its events.
import { ChatWidget, emit } from "./chat.js";

const VERSION = "0.1.0";

function findOwnScript() {
  const scripts = [...document.querySelectorAll("script[src]")];
  return (
    scripts.find((s) => new URL(s.src, location.href).href === import.meta.url) ||
    scripts.find((s) => /\/widget\.js(\?|$)/.test(s.src)) ||
    null
  );
}

function readConfig(script) {
  const d = (script && script.dataset) || {};
  const ownOrigin = new URL(import.meta.url).origin;
  return {
    api: new URL(d.api || "/", ownOrigin).toString(),
    title: d.title || "Chat with us",
    brand: d.brand || "Digital assistant",
    maxChars: Number.parseInt(d.maxChars || "2000", 10),
    pollMs: Number.parseInt(d.pollMs || "4000", 10),
    contact: d.contact || "",
    suggestions: (d.suggestions || "").split("|").map((s) => s.trim()).filter(Boolean),
    openOnLoad: d.open === "true",
  };
}

function install() {
  const preset = window.finagent && typeof window.finagent === "object" ? window.finagent : {};
  if (preset.__widget) return; // loaded twice: keep the first
  const widget = new ChatWidget(readConfig(findOwnScript()));
  const publicApi = {
    version: VERSION,
    __widget: true,
    setToken: (token, opts) => widget.setToken(token, opts),
    clearToken: () => widget.clearToken(),
    open: () => widget.open(),
    close: () => widget.close(),
    toggle: () => (widget.isOpen() ? widget.close() : widget.open()),
    newConversation: () => widget.newConversation(),
    send: (text) => widget.send(text),
    get threadId() {
      return widget.threadId;
    },
    on(name, handler) {
      const listener = (e) => handler(e.detail);
      window.addEventListener(`finagent:${name}`, listener);
      return () => window.removeEventListener(`finagent:${name}`, listener);
    },
  };
  window.finagent = publicApi;
  if (preset.token) widget.setToken(preset.token, { subject: preset.subject, displayName: preset.displayName });
  if (!findOwnScript()?.dataset.maxChars) {
    // The server's limit wins unless the page sets its own: the two must never disagree.
    fetch(new URL("api/config", widget.config.api))
      .then((r) => (r.ok ? r.json() : null))
      .then((cfg) => {
        if (cfg && Number.isInteger(cfg.max_message_chars)) widget.config.maxChars = cfg.max_message_chars;
      })
      .catch(() => {});
  }
  if (widget.config.openOnLoad) widget.open();
  emit("ready", { version: VERSION });
}

install();
