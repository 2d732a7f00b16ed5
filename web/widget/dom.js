// Tiny DOM helpers shared by the widget and the console.
// Server text is only ever placed with textContent, never innerHTML, so a reply that
// contains markup (or a prompt-injected <script>) renders as plain characters.

/**
 * Create an element: h("div", {class: "fa-x", onclick: fn}, child, "text", [more]).
 * Attributes starting with "on" become event listeners; null/false attributes are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "class") {
      el.className = value;
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

const MONEY_KEYS = /amount|limit|balance|value|price/i;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** Human label for an argument key: "payee_iban" -> "Payee IBAN". */
export function labelFor(key) {
  const words = String(key).replace(/[_-]+/g, " ").trim();
  return words
    .split(" ")
    .map((w) => (["iban", "bic", "id", "kyc", "aml", "eur"].includes(w.toLowerCase()) ? w.toUpperCase() : w))
    .join(" ")
    .replace(/^./, (c) => c.toUpperCase());
}

/** Render a scalar or small structure as readable text (numbers that look like money get grouping). */
export function formatValue(key, value) {
  if (value === null || value === undefined || value === "") return "—";
  // Amounts travel as decimal strings ("20000.00") so no float touches money; format for reading only.
  if (typeof value === "string" && MONEY_KEYS.test(key) && /^-?\d+(\.\d+)?$/.test(value)) value = Number(value);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") {
    return MONEY_KEYS.test(key)
      ? value.toLocaleString("en-GB", { minimumFractionDigits: 2, maximumFractionDigits: 2 })
      : value.toLocaleString("en-GB");
  }
  if (typeof value === "object") return JSON.stringify(value);
  if (ISO_DATETIME.test(String(value))) return formatTime(value, true);
  return String(value);
}

/**
 * Argument pairs for display. Money values carry the currency ("EUR 20,000.00") the way a customer
 * or officer would say it; IBANs are grouped in fours; `skipEmpty` drops unset optional fields.
 */
export function displayPairs(obj, { skipEmpty = false, currency = null } = {}) {
  const cur = (obj && typeof obj.currency === "string" && obj.currency) || currency;
  return Object.entries(obj || {})
    .filter(([k, v]) => !(cur && k === "currency" && v === cur))
    .filter(([, v]) => !(skipEmpty && (v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0))))
    .map(([k, v]) => {
      // An order's legs ([{product_id, amount}]) read as "EGBF EUR 3,000.00; BIF EUR 7,000.00".
      if (Array.isArray(v) && v.length && v.every((x) => x && typeof x === "object" && "product_id" in x && "amount" in x)) {
        const money = (a) => Number(a).toLocaleString("en-GB", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
        return [k, v.map((x) => `${x.product_id} ${cur ? `${cur} ` : ""}${money(x.amount)}`).join("; ")];
      }
      if (/iban/i.test(k) && typeof v === "string") return [k, v.replace(/\s+/g, "").replace(/(.{4})(?=.)/g, "$1 ")];
      const text = formatValue(k, v);
      const isMoney = MONEY_KEYS.test(k) && /^-?\d+(\.\d+)?$/.test(String(v));
      return [k, cur && isMoney ? `${cur} ${text}` : text];
    });
}

/** A definition list of key/value pairs. */
export function keyValueList(obj, className = "fa-kv", options = {}) {
  return h(
    "dl",
    { class: className },
    displayPairs(obj, options).map(([k, v]) => [h("dt", {}, labelFor(k)), h("dd", {}, v)]),
  );
}

/** Local date-time for an ISO timestamp; the raw value if it does not parse. */
export function formatTime(iso, withDate = false, withSeconds = false) {
  if (!iso) return "";
  // The server stores UTC; a timestamp without an offset is UTC, not the browser's zone.
  const text = String(iso);
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  if (Number.isNaN(d.getTime())) return String(iso);
  const opts = withDate
    ? { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit" }
    : { hour: "2-digit", minute: "2-digit" };
  if (withSeconds) opts.second = "2-digit";
  return d.toLocaleString("en-GB", opts);
}
