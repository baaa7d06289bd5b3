// ui/js/schedule-page.js: one schedule's page (#/schedules/ID).  Its
// settings (schedule.get: the trigger in words as the list says it, the
// zone, state and pause note, cost this month and cap), its next fires
// (schedule.next, in its zone, UTC on hover), its kept runs
// (schedule.runs), and for a schedule that takes webhooks its secrets by
// fingerprint (webhook.secrets) and its event log (webhook.events).  A
// token that may write gets Pause, Resume, Trigger now, Delete and Edit
// (the list's dialogs, from schedules.js) and the rotation of the webhook
// secret (webhook.rotate, confirmed in a dialog; a generated secret is
// shown once, in a dialog, and is gone from the page when it closes).
// Nothing shown is computed here.

import { el, money, empty, table } from "./format.js";
import { canWrite, href, triggerText, stateText, dialogs, ask,
  askPauseNote, askDeleteOk } from "./schedules.js";
import { fireItem, secretDialog, showSecret } from "./schedule-form.js";

const RUNS_LIMIT = 50;
const EVENTS_LIMIT = 50;

export async function render(root, ctx, id) {
  const page = { ctx, id, sec: el("section", { class: "schedule-page",
    "data-state": "loading", "aria-busy": "true" }),
  status: el("p", { id: "sp-status", class: "status", role: "status",
    "aria-live": "polite" }),
  error: el("p", { id: "sp-error", class: "error", role: "alert" }),
  body: el("div", { class: "sp-body" }), dialogs: dialogs(),
  rotate: rotateDialog(), secret: secretDialog() };
  page.sec.append(el("p", {}, el("a", { href: "#/schedules" },
    "All schedules")), el("div", { class: "messages" }, page.status,
    page.error), page.body, page.dialogs.pause, page.dialogs.del,
  page.rotate, page.secret);
  root.replaceChildren(page.sec);
  await load(page);
}

function done(page, state) {
  page.sec.dataset.state = state;
  page.sec.setAttribute("aria-busy", "false");
  page.sec.dataset.gen = String(Number(page.sec.dataset.gen || 0) + 1);
}

function idParams(page, extra = {}) {
  const p = { id: page.id, ...extra };
  if (page.ctx.account)
    p.account = page.ctx.account;
  else if (page.s)
    p.account = page.s.account;
  return p;
}

// Everything the page shows, read again.
async function load(page) {
  page.sec.dataset.state = "loading";
  let s;
  try {
    s = await page.ctx.api.call("schedule.get", idParams(page));
  } catch (e) {
    if (e.status === 401)
      return;
    page.body.replaceChildren(el("h1", {}, "Schedule"));
    page.error.textContent = e.code === -32001 ? "No such schedule: " +
      `${page.id} is not found in ${page.ctx.account ? "the account " +
        page.ctx.account : "the accounts this token may read"} ` +
      `(${e.message}).` : `This schedule could not be read: ${e.message}`;
    return done(page, "error");
  }
  page.s = s;
  page.id = s.id;
  const hooks = s.webhook_secret_ref !== undefined;
  const [next, runs, secrets, events] = await Promise.all([
    page.ctx.api.call("schedule.next", idParams(page, { count: 5 })),
    page.ctx.api.call("schedule.runs", idParams(page,
      { limit: RUNS_LIMIT })),
    hooks ? page.ctx.api.call("webhook.secrets", idParams(page)) : null,
    hooks ? page.ctx.api.call("webhook.events", idParams(page,
      { limit: EVENTS_LIMIT })) : null,
  ].map((p) => p && p.catch((e) => ({ failed: e.message }))));
  page.body.replaceChildren(el("div", { class: "page-head" },
    el("h1", {}, s.name), canWrite(page.ctx) ? actions(page) : ""),
  settings(s, next), runsPart(s, runs),
  hooks ? secretsPart(page, secrets) : "",
  hooks ? eventsPart(events) : "");
  done(page, "ready");
}

// A time in the schedule's zone (LOCAL, its wall time), UTC on hover.
function when(utc, local, tz) {
  if (!utc)
    return el("span", { class: "muted" }, "—");
  return el("time", { datetime: utc, title: `${utc} (UTC)` },
    `${local.replace("T", " ").replace(/\.\d+$/, "")} ${tz}`);
}

function settings(s, next) {
  const dl = el("dl", { id: "sp-settings", class: "sp-settings" });
  const add = (k, v, key) => dl.append(el("dt", {}, k),
    el("dd", key ? { "data-key": key } : {}, v));
  add("Id", s.id, "id");
  add("Account", s.account, "account");
  add("Operation", s.operation + (s.model ? ` on ${s.model}` :
    " (its default model)"), "operation");
  add("Trigger", triggerText(s), "trigger");
  add("Zone", s.tz, "tz");
  add("State", stateText(s), "state");
  add("Cost this month", money(s.month_spent_usd), "month_spent_usd");
  add("Monthly cap", s.max_cost_month_usd ? money(s.max_cost_month_usd) :
    "none", "max_cost_month_usd");
  if (s.estimate_usd)
    add("One run's estimate", `${money(s.estimate_usd.low)} · ` +
      `${money(s.estimate_usd.mid)} · ${money(s.estimate_usd.high)}`);
  add("Policies", `overlap ${s.overlap}, catch-up ${s.catchup}, ` +
    `priority ${s.priority}, ${s.history} runs kept`);
  if (s.note)
    add("Note", s.note, "note");
  const fires = next.failed ? el("p", { class: "error" },
    `The next fires could not be read: ${next.failed}`) :
    next.next.length === 0 ? empty(s.trigger === "manual" ||
      s.trigger === "webhook" ? "None: this trigger is not timed." :
      "None.") : el("ol", { id: "sp-next", class: "fires" },
      ...next.next.map((n) => fireItem(n, next.tz)));
  return el("section", { class: "card" }, el("h2", {}, "Settings"), dl,
    el("h3", {}, s.state === "paused" ? "Next fires once resumed" :
      "Next fires"), fires);
}

function runsPart(s, res) {
  const head = el("h2", { id: "sp-runs-title" }, "Runs");
  if (res.failed)
    return el("section", { class: "card" }, head, el("p", { class: "error" },
      `The runs could not be read: ${res.failed}`));
  if (res.runs.length === 0)
    return el("section", { class: "card" }, head, empty("No run yet."));
  const tbody = el("tbody", {});
  for (const r of res.runs) {
    tbody.append(el("tr", { "data-run": r.run_id, "data-status": r.status },
      el("th", { scope: "row" }, r.run_id),
      el("td", {}, el("span", { class: `run-status run-${r.status}` },
        r.status)),
      el("td", {}, r.triggered_by),
      el("td", { class: "scheduled" }, when(r.scheduled_for,
        r.nominal_local || r.scheduled_for, r.tz || s.tz)),
      el("td", { class: "dst" }, r.dst),
      el("td", { class: "cost" }, money(r.cost_usd)),
      el("td", { class: "latency" }, r.latency_ms === null ||
        r.latency_ms === undefined ? "—" : `${r.latency_ms} ms`),
      el("td", { class: "why" }, r.error || r.reason || "")));
  }
  const cols = ["Run", "Status", "By", "Scheduled for", "DST", "Cost",
    "Latency", "Error or reason"];
  return el("section", { class: "card" }, head,
    el("p", { class: "muted" }, `Newest first, at most ${RUNS_LIMIT} ` +
      `(the schedule keeps ${s.history}).`),
    el("div", { class: "scroll", tabindex: "0",
      "aria-labelledby": "sp-runs-title" },
    el("table", { id: "sp-runs", class: "sp-table" },
      el("thead", {}, el("tr", {}, ...cols.map((c) => el("th",
        { scope: "col" }, c)))), tbody)));
}

function secretsPart(page, res) {
  const head = el("h2", { id: "sp-secrets-title" }, "Webhook secrets");
  const sec = el("section", { class: "card", id: "sp-secrets" }, head);
  if (res.failed) {
    sec.append(el("p", { class: "error" },
      `The secrets could not be read: ${res.failed}`));
    return sec;
  }
  sec.append(el("p", { class: "muted" }, `Deliveries go to POST ` +
    `${page.s.webhook_url_path}, signed in the ${res.style} style. ` +
    "Secrets are shown by their SHA-256 fingerprint, never themselves."),
  el("div", { class: "scroll" }, table(["Fingerprint", "Primary", "Source",
    "Rotated", "Expires", "Valid"], res.secrets.map((x) => [
    el("code", { class: "fingerprint" }, x.fingerprint ||
      `unreadable: ${x.error}`), x.primary ? "primary" : "previous",
    x.source, x.rotated || "—", x.expires || "—",
    x.valid ? "yes" : "no (expired)"]))));
  if (canWrite(page.ctx)) {
    const b = el("button", { type: "button", id: "sp-rotate",
      "data-action": "rotate" }, "Rotate the secret");
    b.addEventListener("click", () => askRotate(page, b));
    sec.append(el("div", { class: "buttons" }, b));
  }
  return sec;
}

function eventsPart(res) {
  const head = el("h2", {}, "Webhook events");
  if (res.failed)
    return el("section", { class: "card" }, head, el("p", { class: "error" },
      `The events could not be read: ${res.failed}`));
  if (res.events.length === 0)
    return el("section", { class: "card", id: "sp-events" }, head,
      empty("No delivery yet."));
  return el("section", { class: "card", id: "sp-events" }, head,
    el("p", { class: "muted" }, `Newest first, at most ${EVENTS_LIMIT}.`),
    el("div", { class: "scroll" }, table(["At (UTC)", "Message id",
      "Verified", "Outcome", "Status", "Reason", "Run"],
    res.events.map((e) => [e.at, e.message_id || "—",
      e.verified ? "yes" : "no", e.outcome + (e.count > 1 ?
        ` (×${e.count} since ${e.first_at})` : ""), String(e.status),
      e.reason || "—", e.run_id || "—"]))));
}

// ---- actions -----------------------------------------------------------

function button(action, text, fn) {
  const b = el("button", { type: "button", "data-action": action }, text);
  b.addEventListener("click", () => fn(b));
  return b;
}

function actions(page) {
  const s = page.s;
  const out = [];
  if (s.state === "active")
    out.push(button("pause", "Pause", (b) => askPauseNote(page.dialogs, s,
      b, (note) => act(page, `${s.name} is paused.`, () =>
        page.ctx.api.call("schedule.pause", idParams(page,
          note ? { note } : {}))))));
  else if (s.state === "paused")
    out.push(button("resume", "Resume", () => act(page,
      `${s.name} is resumed.`, () => page.ctx.api.call("schedule.resume",
        idParams(page)))));
  out.push(button("trigger", "Trigger now", () => act(page, null,
    async () => {
      const t = await page.ctx.api.call("schedule.trigger", idParams(page));
      return `${s.name} is triggered: run ${t.run_id}, ${t.status}.`;
    })));
  out.push(el("a", { class: "button", href: href(s, true),
    "data-action": "edit" }, "Edit"));
  out.push(button("delete", "Delete", (b) => askDeleteOk(page.dialogs, s,
    b, () => act(page, null, async () => {
      await page.ctx.api.call("schedule.delete", idParams(page));
      location.hash = "#/schedules";
      return null;
    }))));
  return el("div", { class: "buttons" }, ...out);
}

// One action, then the page read again with what the API said.
async function act(page, said, fn) {
  page.error.textContent = "";
  page.status.textContent = "";
  for (const b of page.body.querySelectorAll("button"))
    b.disabled = true;
  try {
    const out = await fn();
    await load(page);
    page.status.textContent = typeof out === "string" ? out : said || "";
  } catch (e) {
    for (const b of page.body.querySelectorAll("button"))
      b.disabled = false;
    if (e.status !== 401)
      page.error.textContent = `${page.s.name}: ${e.message}`;
  }
}

// ---- rotation ----------------------------------------------------------

function rotateDialog() {
  return el("dialog", { id: "rotate-dialog", "aria-labelledby":
    "rotate-title" },
  el("form", { method: "dialog", class: "dialog-form" },
    el("h2", { id: "rotate-title" }, "Rotate the webhook secret?"),
    el("p", {}, "A new secret is generated and shown once. The current " +
      "one keeps working for the grace period, so that senders can " +
      "change over."),
    el("label", { for: "rotate-reason" }, "Why it changes (kept in the " +
      "journal)"),
    el("input", { id: "rotate-reason", type: "text", maxlength: "500",
      required: "", autocomplete: "off" }),
    el("label", { for: "rotate-grace" }, "Grace period of the current " +
      "secret"),
    el("input", { id: "rotate-grace", type: "text", value: "24h",
      autocomplete: "off", "aria-describedby": "rotate-grace-help" }),
    el("p", { id: "rotate-grace-help", class: "muted" }, "0 to 30d; 0 " +
      "ends it now."),
    el("div", { class: "buttons" },
      el("button", { type: "submit", value: "ok", id: "rotate-ok",
        class: "danger" }, "Rotate"),
      el("button", { type: "submit", value: "cancel", id: "rotate-cancel",
        formnovalidate: "" }, "Cancel"))));
}

function askRotate(page, btn) {
  const d = page.rotate;
  d.querySelector("#rotate-reason").value = "";
  d.querySelector("#rotate-grace").value = "24h";
  ask(d, btn, async (ok) => {
    if (!ok)
      return;
    const reason = d.querySelector("#rotate-reason").value.trim();
    const grace = d.querySelector("#rotate-grace").value.trim();
    let r;
    page.error.textContent = "";
    try {
      r = await page.ctx.api.call("webhook.rotate", idParams(page,
        { reason, ...(grace ? { grace } : {}) }));
    } catch (e) {
      if (e.status !== 401)
        page.error.textContent = `The secret is not rotated: ${e.message}`;
      btn.focus();
      return;
    }
    const said = `The secret is rotated: new fingerprint ${r.fingerprint}.`;
    if (r.webhook_secret)
      showSecret(page.secret, r.webhook_secret, "The new webhook secret",
        () => load(page).then(() => {
          page.status.textContent = said;
        }));
    else
      await load(page).then(() => {
        page.status.textContent = said;
      });
  });
}
