// The widget's static structure: a launcher button and a chat panel inside a shadow root.
import { h } from "./dom.js";

const CHAT_ICON = `<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-4.5 3.6A.9.9 0 0 1 3 20.9V6a2 2 0 0 1 1-1.73V4Zm1 2v12.6L8.3 16H20V6H5Zm3 3h8v2H8V9Zm0 3h5v2H8v-2Z"/></svg>`;
const SEND_ICON = `<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false"><path fill="currentColor" d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z"/></svg>`;
const CLOSE_ICON = `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="currentColor" d="M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6 10.6 12 5 6.4z"/></svg>`;
const NEW_ICON = `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path fill="currentColor" d="M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6z"/></svg>`;

/** Static, trusted SVG markup from this file only (never server data). */
function icon(svg) {
  const span = h("span", { class: "fa-icon" });
  span.innerHTML = svg;
  return span;
}

/**
 * Build the widget inside a shadow root on a host element appended to <body>.
 * Returns the elements the widget drives.
 */
export function buildShell(config, handlers) {
  const host = h("div", { id: "finagent-widget", "data-finagent": "widget" });
  const root = host.attachShadow({ mode: "open" });
  const stylesheet = h("link", { rel: "stylesheet", href: new URL("widget.css", import.meta.url).href });
  const frame = h("div", { class: "fa-root", hidden: true });
  // Show nothing until the stylesheet is in, so the host never sees an unstyled flash.
  stylesheet.addEventListener("load", () => (frame.hidden = false));
  stylesheet.addEventListener("error", () => (frame.hidden = false));

  const launcher = h(
    "button",
    {
      type: "button",
      class: "fa-launcher",
      "aria-expanded": "false",
      "aria-controls": "fa-panel",
      onclick: handlers.onToggle,
    },
    icon(CHAT_ICON),
    h("span", { class: "fa-launcher-label" }, config.title),
    h("span", { class: "fa-unread-dot", "aria-hidden": "true" }),
  );

  const list = h("div", {
    class: "fa-messages",
    id: "fa-messages",
    role: "log",
    "aria-label": "Conversation",
    // Streaming tokens would flood a screen reader; completed messages go to the announcer.
    "aria-live": "off",
    tabindex: "0",
  });
  const banner = h("div", { class: "fa-banner", role: "alert", hidden: true });
  const input = h("textarea", {
    class: "fa-input",
    id: "fa-input",
    rows: "1",
    "aria-label": "Your message",
    "aria-describedby": "fa-counter fa-hint",
    oninput: handlers.onInput,
    onkeydown: (e) => {
      // Enter sends; Shift+Enter breaks the line; IME composition keeps its own Enter.
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        handlers.onSubmit();
      }
    },
  });
  const send = h("button", { type: "submit", class: "fa-send", "aria-label": "Send message" }, icon(SEND_ICON));
  const counter = h("span", { class: "fa-counter", id: "fa-counter", "aria-label": "Characters used" });
  const form = h(
    "form",
    {
      class: "fa-composer",
      onsubmit: (e) => {
        e.preventDefault();
        handlers.onSubmit();
      },
    },
    h("div", { class: "fa-input-row" }, input, send),
    h(
      "div",
      { class: "fa-meta" },
      h("span", { class: "fa-hint", id: "fa-hint" }, "Enter to send, Shift+Enter for a new line"),
      counter,
    ),
  );
  const newButton = h(
    "button",
    { type: "button", class: "fa-icon-btn", title: "New conversation", "aria-label": "New conversation", onclick: handlers.onNew },
    icon(NEW_ICON),
  );
  const closeButton = h(
    "button",
    { type: "button", class: "fa-icon-btn", title: "Close chat", "aria-label": "Close chat", onclick: handlers.onClose },
    icon(CLOSE_ICON),
  );
  const announcer = h("div", { class: "fa-sr-only", "aria-live": "polite", "aria-atomic": "true" });
  const panel = h(
    "section",
    {
      class: "fa-panel",
      id: "fa-panel",
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": "fa-title",
      hidden: true,
      onkeydown: (e) => {
        if (e.key === "Escape") {
          e.stopPropagation();
          handlers.onClose();
        }
      },
    },
    h(
      "header",
      { class: "fa-header" },
      h("div", { class: "fa-heading" }, h("h2", { class: "fa-title", id: "fa-title" }, config.title), h("p", { class: "fa-subtitle" }, config.brand)),
      h("div", { class: "fa-header-actions" }, newButton, closeButton),
    ),
    list,
    banner,
    form,
    h("p", { class: "fa-disclaimer" }, "Automated assistant. Actions need your confirmation; some are reviewed by our staff."),
    announcer,
  );

  frame.append(panel, launcher);
  root.append(stylesheet, frame);
  document.body.append(host);
  return { host, root, launcher, panel, list, banner, input, send, counter, newButton, announcer };
}
