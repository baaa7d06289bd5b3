// ui/js/format.js: how the dashboard writes the API's figures (money as
// the API's decimal string, shares as percentages, milliseconds), and
// the few DOM helpers its pages build with.  Formatting only: no figure
// is computed here.

// An element TAG with attributes ATTRS and children (strings or nodes).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null)
      e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

const DASH = "—";

export function money(s) {
  if (s === null || s === undefined)
    return DASH;
  return s.startsWith("-") ? "−$" + s.slice(1) : "$" + s;
}

export function signedMoney(s) {
  return s.startsWith("-") ? money(s) : "+" + money(s);
}

export function signed(n) {
  const s = String(n);
  return s.startsWith("-") ? "−" + s.slice(1) : (Number(n) > 0 ? "+" : "±") + s;
}

// A share (0..1) as a percentage.
export function pct(r) {
  return r === null || r === undefined ? DASH : (r * 100).toFixed(1) + " %";
}

// A change of a share, in percentage points.
export function pts(d) {
  return signed((d * 100).toFixed(1)) + " points";
}

export function ms(v) {
  return v === null || v === undefined ? DASH : v.toFixed(1) + " ms";
}

export function signedMs(v) {
  return signed(v.toFixed(1)) + " ms";
}

// An RFC 3339 instant in the browser's zone, the UTC instant on hover.
export function dateTime(iso) {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium",
    timeStyle: "short" }) + ` (${iso})`;
}

export function table(head, rows) {
  return el("table", {},
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th",
      { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {},
      ...r.map((c) => el("td", {}, c))))));
}

// An empty state, said in words.
export function empty(text) {
  return el("p", { class: "empty" }, text);
}
