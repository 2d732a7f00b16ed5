// Rendering of conversation messages, citations, status chips and action cards for the widget.
import { adviceView, choiceButtons } from "./advice.js";
import { formatTime, h, keyValueList, labelFor } from "./dom.js";

const ACTION_LABELS = {
  block_card: "Block card",
  unblock_card: "Unblock card",
  transfer: "Transfer",
  raise_limit: "Limit change",
  card_limit: "Limit change",
  investment_proposal: "Investment proposal",
  buy_product: "Investment order",
  rebalance_portfolio: "Rebalancing",
  loan_prequalification: "Loan pre-qualification",
};

/** Customer-facing words for each status; tone drives the chip colour. */
export const STATUS_INFO = {
  no_answer: { label: "No answer found", tone: "neutral" },
  pending_approval: { label: "Waiting for review", tone: "pending" },
  approved: { label: "Approved", tone: "pending" },
  executed: { label: "Done", tone: "success" },
  rejected: { label: "Declined", tone: "danger" },
  blocked: { label: "Not permitted", tone: "danger" },
  cancelled: { label: "Cancelled", tone: "neutral" },
  failed: { label: "Could not be completed", tone: "danger" },
  refused: { label: "Could not be completed", tone: "danger" },
  error: { label: "Something went wrong", tone: "danger" },
};

export function statusChip(status) {
  const info = STATUS_INFO[status];
  if (!info) return null;
  return h("span", { class: `fa-chip fa-chip--${info.tone}`, dataset: { status } }, info.label);
}

function citationList(citations) {
  if (!citations || citations.length === 0) return null;
  return h(
    "div",
    { class: "fa-sources" },
    h("span", { class: "fa-sources-label" }, "Sources"),
    h(
      "ol",
      { class: "fa-citations", "aria-label": "Sources for this answer" },
      citations.map((c, i) =>
        h(
          "li",
          { class: "fa-cite", title: c.doc_id ? `Document ${c.doc_id}` : null },
          h("span", { class: "fa-cite-n", "aria-hidden": "true" }, String(i + 1)),
          h("span", { class: "fa-cite-title" }, c.title || c.doc_id || "Source"),
          c.section ? h("span", { class: "fa-cite-section" }, c.section) : null,
        ),
      ),
    ),
  );
}

/** The arguments an officer sees are the same ones the customer confirms: no hidden fields. */
function argsList(args) {
  if (Object.keys(args || {}).length === 0) return null;
  return keyValueList(args, "fa-action-args", { skipEmpty: true });
}

function resultDetails(result, currency) {
  if (!result || typeof result !== "object") return null;
  const shown = Object.fromEntries(Object.entries(result).filter(([, v]) => v !== null && typeof v !== "object"));
  if (Object.keys(shown).length === 0) return null;
  return keyValueList(shown, "fa-action-args fa-action-result", { skipEmpty: true, currency });
}

function actionOutcome(action) {
  switch (action.status) {
    case "pending_approval":
    case "approved":
      return h(
        "div",
        { class: "fa-review", role: "status" },
        h("span", { class: "fa-pulse", "aria-hidden": "true" }),
        h(
          "div",
          {},
          h(
            "strong",
            {},
            action.status === "approved" ? "Approved, being carried out" : "Waiting for review by our compliance team",
          ),
          h("p", {}, "You can close this page. The outcome will appear in this conversation."),
        ),
      );
    case "executed":
      return h(
        "div",
        { class: "fa-outcome fa-outcome--success" },
        h("strong", {}, "Completed"),
        resultDetails(action.result, action.args?.currency),
      );
    case "rejected":
      // The reason is in the assistant's message: the neutral words the bank chose, nothing more.
      return h("div", { class: "fa-outcome fa-outcome--danger" }, h("strong", {}, "Declined after review"));
    case "blocked":
      return h(
        "div",
        { class: "fa-outcome fa-outcome--danger" },
        h("strong", {}, "This request is not permitted by the bank's policy"),
      );
    case "cancelled":
      return h("div", { class: "fa-outcome" }, h("strong", {}, "Cancelled. Nothing was done."));
    case "failed":
    case "refused":
      return h("div", { class: "fa-outcome fa-outcome--danger" }, h("strong", {}, "This could not be completed. Nothing was changed."));
    default:
      return null;
  }
}

/**
 * An action card. `onDecide(action, confirm)` is called by the Confirm / Cancel buttons,
 * which only exist while the action waits for the customer's yes/no.
 */
export function actionCard(action, onDecide) {
  const type = ACTION_LABELS[action.type] || labelFor(action.type || "action");
  const buttons =
    action.status === "confirm"
      ? h(
          "div",
          { class: "fa-action-buttons" },
          h(
            "button",
            { type: "button", class: "fa-btn fa-btn--primary", onclick: () => onDecide(action, true) },
            "Confirm",
          ),
          h("button", { type: "button", class: "fa-btn", onclick: () => onDecide(action, false) }, "Cancel"),
        )
      : null;
  return h(
    "section",
    {
      class: `fa-action fa-action--${action.status || "unknown"}`,
      "aria-label": `${type}: ${action.summary || ""}`,
      dataset: { actionId: action.action_id, status: action.status || "" },
    },
    h("div", { class: "fa-action-head" }, h("span", { class: "fa-action-type" }, type), statusChip(action.status)),
    h("p", { class: "fa-action-summary" }, action.summary || ""),
    argsList(action.args),
    action.status === "confirm"
      ? h("p", { class: "fa-action-note" }, "Please check the details. Nothing happens until you confirm.")
      : null,
    buttons,
    actionOutcome(action),
  );
}

/**
 * One message. `opts.showAction` is false for earlier messages about an action that a later
 * message shows again, so each action has one live card. `opts.onEscalate` adds the
 * "Talk to a person" offer under no_answer / blocked replies.
 */
export function messageView(message, opts = {}) {
  const isUser = message.role === "user";
  const chip = !isUser && !(message.action && opts.showAction) ? statusChip(message.status) : null;
  const escalate =
    !isUser && opts.onEscalate && ["no_answer", "blocked"].includes(message.status)
      ? h(
          "div",
          { class: "fa-escalate" },
          h("span", {}, "Would you like help from a member of our team?"),
          h("button", { type: "button", class: "fa-btn fa-btn--link", onclick: opts.onEscalate }, "Talk to a person"),
          opts.contact ? h("span", { class: "fa-escalate-contact" }, opts.contact) : null,
        )
      : null;
  return h(
    "article",
    {
      class: `fa-msg fa-msg--${isUser ? "user" : "assistant"}`,
      dataset: { messageId: message.id ?? "", status: message.status || "" },
    },
    h("span", { class: "fa-sr-only" }, isUser ? "You said:" : "Assistant:"),
    message.content ? h("div", { class: "fa-bubble" }, message.content) : null,
    chip ? h("div", { class: "fa-chips" }, chip) : null,
    isUser ? null : citationList(message.citations),
    isUser ? null : adviceView(message.advice, opts.openReport),
    isUser ? null : choiceButtons(message.choices, opts.onChoice),
    message.action && opts.showAction ? actionCard(message.action, opts.onDecide) : null,
    escalate,
    message.created_at ? h("time", { class: "fa-time", datetime: message.created_at }, formatTime(message.created_at)) : null,
  );
}

/** A bubble that grows as tokens arrive; returns {el, append(text), text()}. */
export function streamingBubble() {
  const bubble = h("div", { class: "fa-bubble" });
  const typing = h("span", { class: "fa-typing", "aria-hidden": "true" }, h("i"), h("i"), h("i"));
  bubble.append(typing);
  const el = h("article", { class: "fa-msg fa-msg--assistant fa-msg--streaming", "aria-busy": "true" }, bubble);
  let text = "";
  return {
    el,
    append(piece) {
      if (!text) typing.remove();
      text += piece;
      bubble.textContent = text;
    },
    text: () => text,
  };
}

/** The greeting in an empty conversation, with optional starter questions. */
export function emptyState({ signedIn, displayName, suggestions, onSuggestion }) {
  if (!signedIn) {
    return h(
      "div",
      { class: "fa-empty" },
      h("p", { class: "fa-empty-title" }, "Welcome"),
      h("p", {}, "Please sign in to chat with us."),
    );
  }
  const hello = displayName ? `Hello ${displayName.split(" ")[0]}` : "Hello";
  return h(
    "div",
    { class: "fa-empty" },
    h("p", { class: "fa-empty-title" }, `${hello}, how can we help?`),
    h(
      "p",
      {},
      "Ask about cards, payments, savings or loans. I can also act for you, for example block a card " +
        "or send a transfer. Nothing happens until you confirm it.",
    ),
    suggestions.length
      ? h(
          "div",
          { class: "fa-suggestions" },
          suggestions.map((s) => h("button", { type: "button", class: "fa-suggestion", onclick: () => onSuggestion(s) }, s)),
        )
      : null,
  );
}
