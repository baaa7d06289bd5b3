// ui/js/theme.js: the dashboard's look as the account's UI preferences
// (prefs.get's ui: color_scheme, accent_color, compact_mode) say it:
// the scheme as <html data-theme>, the accent colour as the CSS custom
// properties --accent and --accent-soft on <html>, compact mode as the
// class "compact" on <html>.  What is applied is kept in the browser too
// (localStorage), so that the next load starts with it before the
// account's preferences are read.  The header's theme select follows.

const SCHEMES = ["light", "dark", "auto"];
const HEX = /^#[0-9a-fA-F]{6}$/;
const KEY = { scheme: "chime.theme", accent: "chime.accent",
  compact: "chime.compact" };

// The look applied now: {color_scheme, accent_color (null: the theme's
// own), compact_mode}.
export function current() {
  const root = document.documentElement;
  return { color_scheme: root.dataset.theme || "auto",
    accent_color: root.dataset.accent || null,
    compact_mode: root.classList.contains("compact") };
}

export function applyScheme(scheme) {
  const s = SCHEMES.includes(scheme) ? scheme : "auto";
  document.documentElement.dataset.theme = s;
  const sel = document.getElementById("theme-select");
  if (sel)
    sel.value = s;
  localStorage.setItem(KEY.scheme, s);
}

// A dark or light text on the accent, whichever reads better on it.
function onAccent(hex) {
  const n = parseInt(hex.slice(1), 16);
  const lum = 0.2126 * (n >> 16) + 0.7152 * ((n >> 8) & 255) +
    0.0722 * (n & 255);
  return lum > 150 ? "#0b0d12" : "#ffffff";
}

// COLOR "#rrggbb", or null for the theme's own accent.
export function applyAccent(color) {
  const root = document.documentElement;
  if (typeof color === "string" && HEX.test(color)) {
    const c = color.toLowerCase();
    root.style.setProperty("--accent", c);
    root.style.setProperty("--accent-soft", c + "40");
    root.style.setProperty("--accent-fg", onAccent(c));
    root.dataset.accent = c;
    localStorage.setItem(KEY.accent, c);
  } else {
    for (const p of ["--accent", "--accent-soft", "--accent-fg"])
      root.style.removeProperty(p);
    delete root.dataset.accent;
    localStorage.removeItem(KEY.accent);
  }
}

export function applyCompact(on) {
  document.documentElement.classList.toggle("compact", on === true);
  localStorage.setItem(KEY.compact, on === true ? "1" : "0");
}

// The UI document's look (prefs.get's ui): a key it lacks is the
// default, but a document with none of the three (never set, or set by a
// program for other keys) leaves the browser's own choice.  True when the
// colours changed (charts take them when drawn).
export function applyUi(ui) {
  if (!["color_scheme", "accent_color", "compact_mode"].some((k) => k in ui))
    return false;
  const before = current();
  applyScheme(ui.color_scheme || "auto");
  applyAccent(ui.accent_color || null);
  applyCompact(ui.compact_mode === true);
  const after = current();
  return before.color_scheme !== after.color_scheme ||
    before.accent_color !== after.accent_color;
}

// What this browser kept from the last time.
export function applyStored() {
  applyScheme(localStorage.getItem(KEY.scheme) || "auto");
  applyAccent(localStorage.getItem(KEY.accent));
  applyCompact(localStorage.getItem(KEY.compact) === "1");
}
