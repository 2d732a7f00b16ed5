// Advisory pieces of a message: answer buttons for a questionnaire question, and the proposal's
// charts (allocation bars and a backtest line), drawn only from the numbers the allocation tool
// returned in `message.advice`. Nothing here computes or rounds a figure of its own.
import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#1f6f8b", "#99a84b", "#e29e21", "#b3475d", "#6b5ca5"];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** One button per answer; a tap sends the answer's words as the customer's message. */
export function choiceButtons(choices, onChoice) {
  if (!choices || choices.length === 0 || !onChoice) return null;
  return h(
    "div",
    { class: "fa-choices", role: "group", "aria-label": "Answers" },
    choices.map((c) =>
      h("button", { type: "button", class: "fa-choice", onclick: () => onChoice(c.value) }, c.label),
    ),
  );
}

function bar(weight, colour) {
  const el = h("span", { class: "fa-alloc-bar" });
  el.style.width = `${weight * 100}%`; // CSSOM, not a style attribute: the page's CSP forbids those
  el.style.background = colour;
  return el;
}

function allocationBars(weights) {
  return h(
    "div",
    { class: "fa-alloc", role: "img", "aria-label": "Allocation" },
    weights.map((w, i) =>
      h(
        "div",
        { class: "fa-alloc-row" },
        h("span", { class: "fa-alloc-name" }, w.name),
        h("span", { class: "fa-alloc-track" }, bar(w.weight, COLOURS[i % COLOURS.length])),
        h("span", { class: "fa-alloc-value" }, `${(w.weight * 100).toFixed(1)} %`),
      ),
    ),
  );
}

/** Year-end values of 1 invested, on a log scale (a century of compounding fits on one chart). */
function backtestLine(points, period) {
  if (!points || points.length < 2) return null;
  const width = 300;
  const height = 120;
  const pad = 4;
  const logs = points.map((p) => Math.log(p.value));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const x = (i) => pad + (i * (width - 2 * pad)) / (points.length - 1);
  const y = (v) => height - pad - ((v - lo) * (height - 2 * pad)) / (hi - lo || 1);
  const path = logs.map((v, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const svg = s(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, class: "fa-backtest", role: "img", "aria-label": `Backtest ${period}` },
    s("path", { d: path, fill: "none", stroke: "#1f6f8b", "stroke-width": 2 }),
  );
  return h(
    "figure",
    { class: "fa-chart" },
    svg,
    h("figcaption", {}, `Backtest, growth of 1 invested (log scale), ${points[0].month} to ${points.at(-1).month}`),
  );
}

/** The proposal's charts and its report links. `openReport(url, download)` fetches with the session. */
export function adviceView(advice, openReport) {
  if (!advice || !advice.weights) return null;
  return h(
    "section",
    { class: "fa-advice", "aria-label": "Portfolio proposal" },
    allocationBars(advice.weights),
    backtestLine(advice.backtest, advice.period),
    advice.report_url && openReport
      ? h(
          "div",
          { class: "fa-advice-links" },
          h("button", { type: "button", class: "fa-btn fa-btn--link", onclick: () => openReport(advice.report_url, false) }, "Read the suitability report"),
          h("button", { type: "button", class: "fa-btn fa-btn--link", onclick: () => openReport(advice.report_url, true) }, "Download (HTML)"),
        )
      : null,
  );
}
