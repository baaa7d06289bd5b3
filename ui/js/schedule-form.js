// ui/js/schedule-form.js: the form that creates a schedule (#/schedules/new)
// or changes one (#/schedules/ID/edit), for a token that may write.  The
// choices come from the API (daemon.status: the catalog's operations and
// models); each trigger kind shows the fields it needs.  While one types,
// a preview (debounced) shows the next fires in the schedule's zone
// (schedule.next with the form's parameters: local wall time, UTC on
// hover, DST-shifted and coalesced ones marked) and the cost
// (schedule.estimate: one run low / mid / high, the month's projection),
// or the API's refusal in words.  Save calls schedule.create or
// schedule.update (only what changed); a refusal is put next to the field
// the API names (data.field), else the page goes to the schedule's page.
// Nothing shown is computed here.

import { el, money, empty } from "./format.js";
import { canWrite, href, ask } from "./schedules.js";

const KINDS = [
  ["cron", "Cron expression"], ["weekly", "Weekly"], ["monthly", "Monthly"],
  ["interval", "Every (interval)"], ["at", "Once, at an instant"],
  ["manual", "By hand only"], ["webhook", "Signed webhook"]];
const TRIGGERS = KINDS.map((k) => k[0]);
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const DAY_NAMES = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday",
  "Friday", "Saturday"];
const DST_WORDS = {
  shifted: "shifted: this local time does not exist that day (clocks " +
    "jump); it fires at the end of the gap",
  coalesced: "coalesced: several times of one gap fire once",
};
const DEBOUNCE_MS = 350;

function scope(ctx, extra = {}) {
  return ctx.account ? { account: ctx.account, ...extra } : extra;
}

// ID null: a new schedule.
export async function render(root, ctx, id) {
  const sec = el("section", { class: "schedule-form", "data-state": "loading",
    "aria-busy": "true" });
  root.replaceChildren(sec);
  const title = id ? "Edit schedule" : "New schedule";
  const back = el("a", { href: id ? `#/schedules/${encodeURIComponent(id)}` :
    "#/schedules" }, id ? "Back to the schedule" : "Back to the list");
  sec.append(el("div", { class: "page-head" }, el("h1", {}, title), back));
  const fail = (text) => {
    sec.append(el("p", { id: "sf-error", class: "error", role: "alert" },
      text));
    sec.dataset.state = "error";
    sec.setAttribute("aria-busy", "false");
  };
  if (!canWrite(ctx))
    return fail("This token may only read: changing schedules needs a " +
      "token of scope write.");
  if (!id && !ctx.account)
    return fail("Choose one account (at the top) to create a schedule in.");
  let status, s = null;
  try {
    [status, s] = await Promise.all([ctx.api.call("daemon.status"),
      id ? ctx.api.call("schedule.get", scope(ctx, { id })) : null]);
  } catch (e) {
    if (e.status !== 401)
      fail((id ? "This schedule could not be read: " :
        "The catalog could not be read: ") + e.message);
    return;
  }
  if (s && s.batch) {
    fail("This schedule's target is a batch: change it with chimectl " +
      "schedule update --batch.");
    return;
  }
  const f = build(ctx, status, s);
  sec.append(f.form, f.preview.sec, f.secret);
  sec.dataset.state = "ready";
  sec.setAttribute("aria-busy", "false");
  if (s)
    fill(f, s);
  f.initial = s ? collect(f).params : null;
  showKind(f);
  f.fields.name.control.focus();
  schedulePreview(f, 0);
}

// A labelled field FIELD (the API's data.field) holding CONTROLS, with
// an optional HELP line and the place for the API's refusal.
function field(f, name, label, controls, help) {
  const id = controls[0].id;
  const err = el("p", { id: `${id}-error`, class: "field-error",
    role: "alert" });
  const helpEl = help ? el("p", { id: `${id}-help`, class: "muted help" },
    help) : null;
  for (const c of controls)
    c.setAttribute("aria-describedby", `${id}-error` +
      (helpEl ? ` ${id}-help` : ""));
  const wrap = el("div", { class: "field", "data-field": name },
    el("label", { for: id }, label), ...controls, helpEl || "", err);
  f.fields[name] = { wrap, control: controls[0], err, label };
  return wrap;
}

function input(id, attrs = {}) {
  return el("input", { id, name: id, type: "text", autocomplete: "off",
    spellcheck: "false", ...attrs });
}

function select(id, options) {
  return el("select", { id, name: id },
    ...options.map(([v, t]) => new Option(t, v)));
}

function build(ctx, status, s) {
  const f = { ctx, s, fields: {}, timer: 0, gen: 0, account: s ? s.account :
    ctx.account };
  const c = f.c = {
    name: input("sf-name", { maxlength: "64", required: "" }),
    operation: select("sf-operation", status.operations.map((o) =>
      [o.id, o.description ? `${o.id} — ${o.description}` : o.id])),
    model: select("sf-model", [["", "the operation's default"],
      ...status.models.map((m) => [m.id, m.description ?
        `${m.id} — ${m.description}` : m.id])]),
    kind: select("sf-kind", KINDS),
    cron: input("sf-cron", { placeholder: "0 7 * * 1-5" }),
    weeklyDay: select("sf-weekly-day", DAYS.map((d, i) => [d,
      DAY_NAMES[i]])),
    weeklyTime: input("sf-weekly-time", { type: "time", value: "09:00" }),
    monthlyDay: select("sf-monthly-day", [...Array(31).keys()].map((i) =>
      [String(i + 1), String(i + 1)]).concat([["last", "last day"]])),
    monthlyTime: input("sf-monthly-time", { type: "time", value: "09:00" }),
    interval: input("sf-interval", { placeholder: "10m" }),
    at: input("sf-at", { placeholder: "2027-01-01T09:00:00+01:00" }),
    style: select("sf-webhook-style", [["standard", "standard (Standard " +
      "Webhooks)"], ["github", "github"], ["stripe", "stripe"]]),
    tz: input("sf-tz", { list: "sf-tz-list", value: "UTC" }),
    parameters: el("textarea", { id: "sf-parameters", name: "sf-parameters",
      rows: "3", spellcheck: "false" }, "{}"),
    maxCost: input("sf-max-cost", { inputmode: "decimal",
      placeholder: "none" }),
    overlap: select("sf-overlap", ["skip", "queue_one", "allow",
      "cancel_previous"].map((v) => [v, v])),
    overlapLimit: input("sf-overlap-limit", { type: "number", min: "1",
      max: "64", value: "1" }),
    catchup: select("sf-catchup", ["latest", "skip", "all"].map((v) =>
      [v, v])),
    catchupWindow: input("sf-catchup-window", { value: "1h" }),
    note: input("sf-note", { maxlength: "500" }),
  };
  const zones = typeof Intl.supportedValuesOf === "function" ?
    Intl.supportedValuesOf("timeZone") : [];
  const save = el("button", { id: "sf-save", type: "submit" },
    s ? "Save changes" : "Create");
  f.status = el("p", { id: "sf-status", class: "status", role: "status" });
  f.error = el("p", { id: "sf-error", class: "error", role: "alert" });
  const trig = el("fieldset", { class: "sf-trigger" }, el("legend", {},
    "Trigger"),
  field(f, "kind", "Kind", [c.kind]),
  field(f, "cron", "Cron expression", [c.cron], "Minute hour day month " +
    "weekday (a sixth field first for seconds), or @daily…; MON#1 is the " +
    "first Monday, 5L the last Friday."),
  field(f, "weekly", "Day and local time", [c.weeklyDay, c.weeklyTime]),
  field(f, "monthly", "Day of the month and local time",
    [c.monthlyDay, c.monthlyTime], "A day the month does not have is " +
    "skipped; last is the last day of every month."),
  field(f, "interval", "Every", [c.interval], "Whole seconds: 30s, 5m, " +
    "1h30m. The grid starts when the schedule is created."),
  field(f, "at", "At (RFC 3339)", [c.at], "Once, at this instant."),
  field(f, "webhook_style", "Signature style", [c.style], s ? null :
    "A secret is generated and shown once, when the schedule is created."),
  field(f, "tz", "Zone", [c.tz, el("datalist", { id: "sf-tz-list" },
    ...zones.map((z) => new Option(z, z)))], "An IANA zone: the zone of " +
    "the trigger's local times and of the budget's month."));
  const form = el("form", { id: "sf-form", class: "sf-form", novalidate: "" },
    field(f, "name", "Name", [c.name], "1 to 64 of A-Z a-z 0-9 . _ -, " +
      "unique in the account."),
    field(f, "operation", "Operation", [c.operation]),
    field(f, "model", "Model", [c.model]),
    trig,
    field(f, "parameters", "Parameters (a JSON object)", [c.parameters]),
    field(f, "max_cost_month", "Monthly cost cap (USD)", [c.maxCost],
      "Empty: none. The schedule pauses before a run would pass it."),
    el("fieldset", {}, el("legend", {}, "Policies"),
      field(f, "overlap", "When a run is still going", [c.overlap]),
      field(f, "overlap_limit", "Runs at once (allow)", [c.overlapLimit]),
      field(f, "catchup", "Fires missed while the daemon was down",
        [c.catchup]),
      field(f, "catchup_window", "Catch up at most", [c.catchupWindow])),
    field(f, "note", "Note", [c.note]),
    el("div", { class: "messages" }, f.status, f.error),
    el("div", { class: "buttons" }, save));
  form.addEventListener("input", (ev) => {
    fieldChanged(f, ev.target);
    schedulePreview(f, DEBOUNCE_MS);
  });
  form.addEventListener("change", () => {
    showKind(f);
    schedulePreview(f, DEBOUNCE_MS);
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submit(f, save);
  });
  f.form = form;
  f.preview = preview();
  f.secret = secretDialog();
  return f;
}

// Only the fields of the trigger kind chosen (and overlap_limit with
// allow) are shown.
function showKind(f) {
  const kind = f.c.kind.value;
  for (const k of TRIGGERS) {
    if (f.fields[k])
      f.fields[k].wrap.hidden = k !== kind;
  }
  f.fields.webhook_style.wrap.hidden = kind !== "webhook";
  f.fields.overlap_limit.wrap.hidden = f.c.overlap.value !== "allow";
}

// The day of a weekly spec ("mon", "monday", "1", "7") as sun..sat.
function weekDay(d) {
  const x = d.toLowerCase();
  if (/^[0-7]$/.test(x))
    return DAYS[Number(x) % 7];
  return DAYS.find((n) => x.startsWith(n)) || "mon";
}

// The form holds schedule S.
function fill(f, s) {
  const c = f.c;
  c.name.value = s.name;
  c.operation.value = s.operation;
  c.model.value = s.model || "";
  c.kind.value = s.trigger;
  const [day, time] = (s.spec || "").split(/\s+/);
  if (s.trigger === "cron")
    c.cron.value = s.spec;
  else if (s.trigger === "weekly") {
    c.weeklyDay.value = weekDay(day);
    c.weeklyTime.value = time.padStart(5, "0");
  } else if (s.trigger === "monthly") {
    c.monthlyDay.value = day.toLowerCase();
    c.monthlyTime.value = time.padStart(5, "0");
  } else if (s.trigger === "interval")
    c.interval.value = s.spec;
  else if (s.trigger === "at")
    c.at.value = s.spec;
  if (s.webhook_style)
    c.style.value = s.webhook_style;
  c.tz.value = s.tz;
  c.parameters.value = JSON.stringify(s.parameters || {}, null, 2);
  c.maxCost.value = s.max_cost_month_usd || "";
  c.overlap.value = s.overlap;
  c.overlapLimit.value = String(s.overlap_limit);
  c.catchup.value = s.catchup;
  c.catchupWindow.value = `${s.catchup_window_s}s`;
  c.note.value = s.note || "";
}

// The parameters of schedule.create the form holds: {params} or
// {field, reason} for what cannot be sent as it is.
function collect(f) {
  const c = f.c;
  const p = { name: c.name.value.trim(), operation: c.operation.value,
    tz: c.tz.value.trim() || "UTC", overlap: c.overlap.value,
    catchup: c.catchup.value };
  if (c.model.value)
    p.model = c.model.value;
  const kind = c.kind.value;
  const value = {
    cron: () => c.cron.value.trim(),
    weekly: () => `${c.weeklyDay.value} ${c.weeklyTime.value}`,
    monthly: () => `${c.monthlyDay.value} ${c.monthlyTime.value}`,
    interval: () => c.interval.value.trim(),
    at: () => c.at.value.trim(),
    manual: () => true,
    webhook: () => true,
  }[kind]();
  p[kind] = value;
  if (kind === "webhook")
    p.webhook_style = c.style.value;
  let params;
  try {
    params = JSON.parse(c.parameters.value.trim() || "{}");
  } catch (e) {
    return { field: "parameters", reason: `is not JSON: ${e.message}` };
  }
  if (params === null || typeof params !== "object" || Array.isArray(params))
    return { field: "parameters", reason: "must be a JSON object, like " +
      "{\"folder\": \"inbox\"}" };
  p.parameters = params;
  if (c.maxCost.value.trim())
    p.max_cost_month = c.maxCost.value.trim();
  if (c.overlap.value === "allow")
    p.overlap_limit = Number(c.overlapLimit.value);
  if (c.catchupWindow.value.trim())
    p.catchup_window = c.catchupWindow.value.trim();
  if (c.note.value.trim())
    p.note = c.note.value.trim();
  return { params: p };
}

// ---- the preview -------------------------------------------------------

function preview() {
  const count = select("sf-count", ["5", "10", "25", "100"].map((n) =>
    [n, n]));
  count.value = "10";
  const p = {
    sec: el("section", { id: "sf-preview", class: "card sf-preview",
      "data-state": "idle", "aria-labelledby": "sf-preview-title" }),
    error: el("p", { id: "sf-preview-error", class: "error" }),
    fires: el("div", { id: "sf-fires" }),
    cost: el("div", { id: "sf-cost" }),
    count,
  };
  p.sec.append(el("h2", { id: "sf-preview-title" }, "Preview"),
    el("p", { class: "muted" }, "What the daemon would do with the form " +
      "as it is now (nothing is saved). Hover a time for its UTC instant."),
    p.error,
    el("div", { class: "field sf-count" }, el("label", { for: "sf-count" },
      "Next fires shown"), count),
    el("div", { role: "status", "aria-live": "polite" }, p.fires),
    p.cost);
  return p;
}

// A preview of the form as it is DELAY ms from now; any preview asked for
// before is dropped ("pending" until this one is shown).
function schedulePreview(f, delay) {
  clearTimeout(f.timer);
  if (!f.countWired) {
    f.countWired = true;
    f.preview.count.addEventListener("change", () => schedulePreview(f, 0));
  }
  const mine = ++f.gen;
  f.preview.sec.dataset.state = "pending";
  f.timer = setTimeout(() => runPreview(f, mine), delay);
}

async function runPreview(f, mine) {
  const p = f.preview;
  const got = collect(f);
  p.sec.dataset.state = "loading";
  if (got.reason)
    return previewDone(f, mine, null, null, { field: got.field,
      message: said(f, got.field, got.reason) });
  const params = { ...got.params, account: f.account };
  delete params.name;
  if (params.webhook)
    params.webhook_secret = "generated";
  let next, est;
  try {
    [next, est] = await Promise.all([
      f.ctx.api.call("schedule.next", { ...params,
        count: Number(p.count.value) }),
      f.ctx.api.call("schedule.estimate", params)]);
  } catch (e) {
    if (e.status === 401)
      return;
    return previewDone(f, mine, null, null, { field: e.data.field,
      message: e.data.reason ? said(f, e.data.field, e.data.reason) :
        e.message });
  }
  previewDone(f, mine, next, est, null);
}

// The preview shows NEXT and EST, or ERR ({field, message}), unless a
// later preview was asked for meanwhile.
function previewDone(f, mine, next, est, err) {
  if (mine !== f.gen)
    return;
  const p = f.preview;
  p.error.textContent = err ? "The daemon would refuse this: " +
    err.message : "";
  p.sec.dataset.field = err && err.field ? err.field : "";
  p.fires.replaceChildren(next ? fires(next) : "");
  p.cost.replaceChildren(est ? cost(est) : "");
  p.sec.dataset.state = err ? "error" : "ready";
  p.sec.dataset.gen = String(Number(p.sec.dataset.gen || 0) + 1);
}

// One fire: its local wall time in the zone, the UTC instant on hover,
// its DST tag in words when it has one.
export function fireItem(n, tz) {
  const li = el("li", { "data-utc": n.utc, "data-local": n.local,
    "data-dst": n.dst },
  el("time", { datetime: n.utc, title: `${n.utc} (UTC)` },
    `${n.local.replace("T", " ")} ${tz}`));
  if (n.dst !== "none")
    li.append(" ", el("span", { class: `dst-tag dst-${n.dst}` },
      DST_WORDS[n.dst] || n.dst));
  return li;
}

function fires(next) {
  if (next.next.length === 0)
    return empty("No timed fire: this trigger fires only by hand or by a " +
      "webhook delivery (or its instant is past).");
  return el("div", {}, el("h3", {}, `Next fires, in ${next.tz}`),
    el("ol", { class: "fires" }, ...next.next.map((n) =>
      fireItem(n, next.tz))));
}

function cost(est) {
  const e = est.estimate_usd;
  const dl = el("dl", { class: "sf-estimate" },
    el("dt", {}, "One run (low · mid · high)"),
    el("dd", { id: "sf-run-cost", "data-low": e.low, "data-mid": e.mid,
      "data-high": e.high },
    `${money(e.low)} · ${money(e.mid)} · ${money(e.high)}`),
    el("dt", {}, "Estimated from"),
    el("dd", {}, est.estimate_source === "observed" ?
      `the last ${est.estimate_samples} runs' usage` :
      "the catalog's token ranges"),
    el("dt", {}, `Fires left this month (${est.tz})`),
    el("dd", { id: "sf-fires-left" }, String(est.fires_left_this_month) +
      (est.fires_left_is_lower_bound ? " or more" : "")),
    el("dt", {}, "This month's projection"),
    el("dd", { id: "sf-projection", "data-usd": est.projected_month_usd },
      money(est.projected_month_usd)));
  if (est.max_cost_month_usd)
    dl.append(el("dt", {}, "Cap"), el("dd", {}, money(est.max_cost_month_usd) +
      (est.cap_reached ? `, reached at the fire of ${est.cap_reached}` :
        ", not reached this month")));
  const out = el("div", {}, el("h3", {}, `Cost (${est.operation} on ` +
    `${est.model})`), dl);
  if (est.warnings && est.warnings.length)
    out.append(el("ul", { class: "warnings" }, ...est.warnings.map((w) =>
      el("li", {}, w))));
  return out;
}

// ---- saving ------------------------------------------------------------

// A field typed into loses the refusal shown next to it.
function fieldChanged(f, control) {
  const wrap = control.closest(".field");
  const x = wrap && f.fields[wrap.dataset.field];
  if (x) {
    x.err.textContent = "";
    x.control.removeAttribute("aria-invalid");
  }
}

// The field the API names (data.field), as the form calls it.
function fieldKey(f, name) {
  if (TRIGGERS.includes(name))
    return f.c.kind.value;
  return name === "webhook_secret" ? "kind" : name;
}

// REASON of FIELD in words: "Cron expression: bad minute field …".
function said(f, name, reason) {
  const x = name && f.fields[fieldKey(f, name)];
  return x ? `${x.label}: ${reason}` : name ? `${name} ${reason}` : reason;
}

function clearErrors(f) {
  for (const x of Object.values(f.fields)) {
    x.err.textContent = "";
    x.control.removeAttribute("aria-invalid");
  }
  f.error.textContent = "";
  f.status.textContent = "";
}

// The API's refusal next to the field it names (a trigger's next to the
// trigger chosen), focused; else under the form.
function fieldError(f, name, message) {
  const x = name && f.fields[fieldKey(f, name)];
  if (!x || x.wrap.hidden) {
    f.error.textContent = message;
    return;
  }
  x.err.textContent = message;
  x.control.setAttribute("aria-invalid", "true");
  x.control.focus();
}

// What changed since the form was filled: schedule.update's parameters.
function changes(f, p) {
  const out = {};
  for (const [k, v] of Object.entries(p)) {
    if (JSON.stringify(v) !== JSON.stringify(f.initial[k]))
      out[k] = v;
  }
  if (f.initial.max_cost_month && !p.max_cost_month)
    out.max_cost_month = "0";	/* 0 removes the cap */
  if (f.initial.model && !p.model)
    out.model = null;		/* refused by the API, in words */
  return out;
}

async function submit(f, btn) {
  clearErrors(f);
  const got = collect(f);
  if (got.reason)
    return fieldError(f, got.field, `${said(f, got.field, got.reason)}.`);
  let params = got.params, method = "schedule.create";
  if (f.s) {
    params = changes(f, params);
    if (Object.keys(params).length === 0) {
      f.status.textContent = "Nothing to change: the form is as the " +
        "schedule is.";
      return;
    }
    method = "schedule.update";
    params.id = f.s.id;
  } else if (params.webhook)
    params.webhook_secret = "generated";
  params.account = f.account;
  btn.disabled = true;
  f.form.closest("section").dataset.state = "saving";
  let s;
  try {
    s = await f.ctx.api.call(method, params);
  } catch (e) {
    btn.disabled = false;
    f.form.closest("section").dataset.state = "ready";
    if (e.status === 401)
      return;
    const d = e.data || {};
    fieldError(f, d.field, d.field && d.reason ? `${d.reason}.` :
      `${f.s ? "Saving" : "Creating"} failed: ${e.message}`);
    if (d.field && d.reason)
      f.error.textContent = `Not saved: ${said(f, d.field, d.reason)}.`;
    return;
  }
  if (s.webhook_secret)
    return showSecret(f.secret, s.webhook_secret, `${s.name}'s webhook ` +
      "secret", () => { location.hash = href(s); });
  location.hash = href(s);
}

// ---- a secret shown once -----------------------------------------------

// The dialog that shows a new secret once, with a copy button; the secret
// is in the page only while it is open.
export function secretDialog() {
  return el("dialog", { id: "secret-dialog", "aria-labelledby":
    "secret-title" },
  el("form", { method: "dialog", class: "dialog-form" },
    el("h2", { id: "secret-title" }, "New secret"),
    el("p", {}, "Copy it now: it is shown this once, and neither the " +
      "daemon nor this page can show it again."),
    el("label", { for: "secret-value" }, "Secret"),
    el("input", { id: "secret-value", type: "text", readonly: "",
      spellcheck: "false", autocomplete: "off" }),
    el("p", { id: "secret-copied", class: "muted", role: "status" }),
    el("div", { class: "buttons" },
      el("button", { type: "button", id: "secret-copy" }, "Copy"),
      el("button", { type: "submit", value: "ok", id: "secret-done" },
        "Done"))));
}

// Show SECRET in DIALOG under TITLE; THEN() once it is closed, the
// secret gone from the page.
export function showSecret(dialog, secret, title, then) {
  const value = dialog.querySelector("#secret-value");
  const said = dialog.querySelector("#secret-copied");
  const copy = dialog.querySelector("#secret-copy");
  dialog.querySelector("#secret-title").textContent = title;
  value.value = secret;
  said.textContent = "";
  copy.onclick = async () => {
    value.select();
    try {
      await navigator.clipboard.writeText(value.value);
      said.textContent = "Copied.";
    } catch {
      said.textContent = "Select the secret and copy it (Ctrl+C).";
    }
  };
  ask(dialog, copy, () => {
    value.value = "";
    said.textContent = "";
    then();
  });
  value.focus();
  value.select();
}
