// ui/js/settings.js: the Settings page of one account.  Its look (theme,
// accent colour, compact mode), applied at once and kept with
// prefs.set_ui so that it follows the user to another browser; and the
// preferences of every operation of the catalog (prefs.get with all:
// preferred model, enabled, monthly budget, default parameters), edited
// in one form and saved at once with prefs.bulk_set: one call with the
// fields changed, all or nothing, a refusal shown next to the field its
// data.field names.  A read-only session sees the form disabled; an
// admin under "All accounts" is asked to choose an account.

import { el, empty, dateTime } from "./format.js";
import * as theme from "./theme.js";

const FIELDS = ["preferred_model", "enabled", "monthly_budget",
  "default_parameters"];
let shown = null;	// the page on screen, for onTheme

function canWrite(ctx) {
  return ctx.session && ctx.session.scope === "write";
}

export async function render(root, ctx) {
  const sec = el("section", { class: "settings", "data-state": "loading",
    "aria-busy": "true" }, el("div", { class: "page-head" },
    el("h1", {}, "Settings")));
  root.replaceChildren(sec);
  shown = null;
  if (!ctx.account) {
    sec.append(empty("Settings belong to one account: choose one in the " +
      "Account menu above to see and change its settings."));
    return done(sec, "no-account");
  }
  let prefs;
  try {
    prefs = await ctx.api.call("prefs.get", { account: ctx.account,
      all: true });
  } catch (e) {
    if (e.status === 401)
      return;
    sec.append(el("p", { class: "error", role: "alert" },
      "The settings could not be read: " + e.message));
    return done(sec, "error");
  }
  const page = { ctx, sec, prefs, write: canWrite(ctx) };
  if (!page.write)
    sec.append(el("p", { id: "settings-readonly", class: "notice" },
      "This session's token may only read (scope read): the settings " +
      "are shown but cannot be changed. Sign in with a token of scope " +
      "write to change them."));
  sec.append(el("p", { class: "muted" }, `Account ${prefs.account}.`),
    appearance(page), operations(page));
  shown = page;
  done(sec, "ready");
}

function done(sec, state) {
  sec.dataset.state = state;
  sec.setAttribute("aria-busy", "false");
  sec.dataset.gen = String(Number(sec.dataset.gen || 0) + 1);
}

// The header's theme select changed the look: the controls follow.
export function onTheme() {
  if (shown && shown.syncLook && shown.sec.isConnected)
    shown.syncLook();
}

// ---- the look ------------------------------------------------------------

function accentNow() {
  const c = theme.current().accent_color;
  if (c)
    return c;
  const v = getComputedStyle(document.documentElement)
    .getPropertyValue("--accent").trim();
  return /^#[0-9a-fA-F]{6}$/.test(v) ? v.toLowerCase() : "#2f5fd0";
}

function appearance(page) {
  const scheme = el("select", { id: "settings-scheme", name: "color_scheme" },
    new Option("Auto (as the system prefers)", "auto"),
    new Option("Light", "light"), new Option("Dark", "dark"));
  const accent = el("input", { id: "settings-accent", name: "accent_color",
    type: "color", "aria-describedby": "settings-accent-help" });
  const own = el("button", { id: "settings-accent-reset", type: "button" },
    "Use the theme's own");
  const compact = el("input", { id: "settings-compact", name: "compact_mode",
    type: "checkbox" });
  const status = el("p", { id: "look-status", class: "status",
    role: "status", "aria-live": "polite" });
  const error = el("p", { id: "look-error", class: "error", role: "alert" });
  page.syncLook = () => {
    const now = theme.current();
    scheme.value = now.color_scheme;
    accent.value = accentNow();
    compact.checked = now.compact_mode;
    own.disabled = !page.write || now.accent_color === null;
  };
  page.syncLook();
  const fs = el("fieldset", { class: "card look" },
    el("legend", {}, "Appearance"),
    el("p", { class: "muted" }, "Applied at once to this page and kept in " +
      "the account's UI preferences (prefs.set_ui), so that it follows " +
      "you to another browser."),
    el("div", { class: "look-fields" },
      el("div", { class: "field" },
        el("label", { for: "settings-scheme" }, "Theme"), scheme),
      el("div", { class: "field" },
        el("label", { for: "settings-accent" }, "Accent colour"),
        el("div", { class: "inline" }, accent, own),
        el("span", { id: "settings-accent-help", class: "muted help" },
          "Links, buttons and charts take it.")),
      el("div", { class: "field check" }, compact,
        el("label", { for: "settings-compact" },
          "Compact mode: smaller type and spacing"))),
    status, error);
  fs.disabled = !page.write;
  const save = (params, said) => saveLook(page, status, error, params, said);
  scheme.addEventListener("change", () => {
    theme.applyScheme(scheme.value);
    save({ color_scheme: scheme.value }, `The theme is ${scheme.value}.`);
  });
  accent.addEventListener("change", () => {
    theme.applyAccent(accent.value);
    own.disabled = false;
    save({ accent_color: accent.value },
      `The accent colour is ${accent.value}.`);
  });
  own.addEventListener("click", () => resetAccent(page, status, error));
  compact.addEventListener("change", () => {
    theme.applyCompact(compact.checked);
    save({ compact_mode: compact.checked }, "Compact mode is " +
      (compact.checked ? "on." : "off."));
  });
  return fs;
}

async function saveLook(page, status, error, params, said) {
  status.textContent = "";
  error.textContent = "";
  try {
    const r = await page.ctx.api.call("prefs.set_ui",
      { account: page.ctx.account, ...params });
    page.prefs.ui = r.ui;
    status.textContent = said + " Saved for account " + r.account + ".";
  } catch (e) {
    error.textContent = "Applied here, but not saved: " + e.message;
  }
  page.sec.dataset.gen = String(Number(page.sec.dataset.gen) + 1);
}

// The accent key leaves the UI document: the document is written again
// without it (prefs.set_ui with replace).
async function resetAccent(page, status, error) {
  theme.applyAccent(null);
  page.syncLook();
  const doc = { ...page.prefs.ui };
  delete doc.accent_color;
  await saveLook(page, status, error, { ...doc, replace: true },
    "The accent colour is the theme's own.");
}

// ---- the operations -------------------------------------------------------

function ctlId(op, field) {
  return `pref-${op}-${field}`;
}

function fieldBox(op, field, label, control, extraClass = "") {
  const err = el("p", { id: ctlId(op, field) + "-error", class: "error",
    role: "alert" });
  control.setAttribute("aria-describedby", err.id);
  return el("div", { class: "field " + extraClass },
    el("label", { for: control.id }, label), control, err);
}

function opFields(page, p) {
  const op = p.operation;
  const model = el("select", { id: ctlId(op, "preferred_model"),
    name: "preferred_model" },
  new Option(`The catalog's default (${p.default_model})`, ""));
  const ids = page.prefs.models.map((m) => m.id);
  for (const m of page.prefs.models)
    model.append(new Option(m.description ? `${m.id} — ${m.description}` :
      m.id, m.id));
  if (p.preferred_model && !ids.includes(p.preferred_model))
    model.append(new Option(`${p.preferred_model} (not in the catalog)`,
      p.preferred_model));
  const enabled = el("input", { id: ctlId(op, "enabled"), name: "enabled",
    type: "checkbox" });
  const budget = el("input", { id: ctlId(op, "monthly_budget"),
    name: "monthly_budget", type: "text", inputmode: "decimal",
    autocomplete: "off", spellcheck: "false", placeholder: "none" });
  const params = el("textarea", { id: ctlId(op, "default_parameters"),
    name: "default_parameters", rows: "2", spellcheck: "false" });
  const updated = p.updated ? el("span", { title: p.updated },
    "Changed " + dateTime(p.updated)) :
    el("span", {}, "Never changed: the defaults");
  const opErr = el("p", { id: `pref-${op}-error`, class: "error",
    role: "alert" });
  const fs = el("fieldset", { class: "card op", "data-op": op },
    el("legend", {}, op),
    el("p", { class: "muted" }, p.description ? p.description + ". " : "",
      updated),
    el("div", { class: "op-fields" },
      fieldBox(op, "preferred_model", "Preferred model", model),
      fieldBox(op, "monthly_budget", "Monthly budget (USD; empty: none)",
        budget),
      el("div", { class: "field check" }, enabled,
        el("label", { for: enabled.id }, "Enabled: its runs may start"),
        el("p", { id: ctlId(op, "enabled") + "-error", class: "error",
          role: "alert" })),
      fieldBox(op, "default_parameters",
        "Default parameters (a JSON object, under each schedule's)", params,
        "wide")),
    opErr);
  const c = { op, model, enabled, budget, params };
  fill(c, p);
  return { fs, c };
}

// The controls of C show P (an operation's preferences as the API gives
// them).
function fill(c, p) {
  c.base = p;
  c.model.value = p.preferred_model || "";
  c.enabled.checked = p.enabled;
  c.budget.value = p.monthly_budget_usd || "";
  c.params.value = JSON.stringify(p.default_parameters);
}

function operations(page) {
  const ops = page.prefs.operations;
  const status = el("p", { id: "prefs-status", class: "status",
    role: "status", "aria-live": "polite" });
  const error = el("p", { id: "prefs-error", class: "error", role: "alert" });
  const form = el("form", { id: "prefs-form", class: "prefs", novalidate: "",
    "aria-labelledby": "prefs-h" },
  el("h2", { id: "prefs-h" }, "Operations"),
  el("p", { class: "muted" }, "Each operation of the catalog in this " +
    "account: the model its runs use when the schedule names none, " +
    "whether its runs may start, what they may cost in a month, and the " +
    "parameters every run gets under the schedule's. Saved all at once: " +
    "if one value is refused, nothing is saved."));
  if (ops.length === 0) {
    form.append(empty("The catalog has no operations: nothing to set."));
    return form;
  }
  const body = el("fieldset", { class: "ops" });
  body.disabled = !page.write;
  page.controls = [];
  for (const p of ops) {
    const { fs, c } = opFields(page, p);
    body.append(fs);
    page.controls.push(c);
  }
  form.append(body);
  if (page.write) {
    form.append(el("div", { class: "buttons" },
      el("button", { id: "prefs-save", type: "submit" }, "Save"),
      el("button", { id: "prefs-reset", type: "reset" }, "Undo changes")),
    status, error);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      savePrefs(page, form, status, error);
    });
    form.addEventListener("reset", (ev) => {
      ev.preventDefault();
      for (const c of page.controls)
        fill(c, c.base);
      clearErrors(form);
      status.textContent = "The form shows the saved settings again.";
    });
  }
  return form;
}

function clearErrors(form) {
  for (const p of form.querySelectorAll(".op .error"))
    p.textContent = "";
  for (const c of form.querySelectorAll("[aria-invalid]"))
    c.removeAttribute("aria-invalid");
}

// What C's controls change of its preferences: an object of prefs.bulk_set
// fields (empty: nothing), or {bad: field, why} for a text not JSON.
function changes(c) {
  const out = {};
  const b = c.base;
  if (c.model.value !== (b.preferred_model || ""))
    out.preferred_model = c.model.value;
  if (c.enabled.checked !== b.enabled)
    out.enabled = c.enabled.checked;
  const budget = c.budget.value.trim();
  if (budget !== (b.monthly_budget_usd || ""))
    out.monthly_budget = budget === "" ? "0" : budget;
  const text = c.params.value.trim();
  if (text !== JSON.stringify(b.default_parameters)) {
    let v;
    try {
      v = JSON.parse(text === "" ? "{}" : text);
    } catch (e) {
      return { bad: "default_parameters", why: "is not JSON: " + e.message };
    }
    if (JSON.stringify(v) !== JSON.stringify(b.default_parameters))
      out.default_parameters = v;
  }
  return out;
}

function showError(form, op, field, reason) {
  const id = field ? ctlId(op, field) : null;
  const p = document.getElementById((id || `pref-${op}`) + "-error");
  if (p)
    p.textContent = reason;
  const ctl = id && document.getElementById(id);
  if (ctl) {
    ctl.setAttribute("aria-invalid", "true");
    ctl.focus();
  }
  return p !== null;
}

async function savePrefs(page, form, status, error) {
  clearErrors(form);
  status.textContent = "";
  error.textContent = "";
  const all = {};
  for (const c of page.controls) {
    const ch = changes(c);
    if (ch.bad) {
      showError(form, c.op, ch.bad, "Not saved: this " + ch.why);
      error.textContent = "Nothing is saved: correct the value marked " +
        `in ${c.op}.`;
      return finish(page);
    }
    if (Object.keys(ch).length > 0)
      all[c.op] = ch;
  }
  const n = Object.keys(all).length;
  if (n === 0) {
    status.textContent = "Nothing changed: nothing to save.";
    return finish(page);
  }
  const save = form.querySelector("#prefs-save");
  save.disabled = true;
  try {
    const r = await page.ctx.api.call("prefs.bulk_set",
      { account: page.ctx.account, operations: all });
    for (const p of r.operations) {
      const c = page.controls.find((x) => x.op === p.operation);
      if (c)
        fill(c, { ...c.base, ...p });
    }
    status.textContent = `Saved: ${n} operation${n === 1 ? "" : "s"} ` +
      `changed (${r.operations.map((p) => p.operation).join(", ")}).`;
  } catch (e) {
    if (e.status !== 401)
      refused(page, form, error, e);
  } finally {
    save.disabled = false;
  }
  finish(page);
}

// A refusal of prefs.bulk_set: next to the field its data.field names
// (operations.OP.FIELD, or operations.OP), else above the button.
function refused(page, form, error, e) {
  const f = e.field || "";
  let at = null;
  for (const c of page.controls) {
    const head = "operations." + c.op;
    if (f === head)
      at = { op: c.op, field: null };
    else if (f.startsWith(head + ".") &&
        FIELDS.includes(f.slice(head.length + 1)))
      at = { op: c.op, field: f.slice(head.length + 1) };
  }
  const placed = at !== null && showError(form, at.op, at.field,
    e.reason || e.message);
  error.textContent = "Nothing is saved: " + (placed ?
    `the value marked in ${at.op} is refused (${e.reason}).` : e.message);
}

function finish(page) {
  page.sec.dataset.gen = String(Number(page.sec.dataset.gen) + 1);
}
