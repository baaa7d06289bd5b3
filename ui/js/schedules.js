// ui/js/schedules.js: the Schedules page.  A page of schedule.list (its
// own filters: state and a name glob; its own orders, chosen from the
// column heads: name, next fire, cost this month, state, each either way;
// its cursor for the next page, the cursors seen kept for the page
// before), each schedule with its trigger in words as the API gives it,
// its zone, its next fire in its zone (the UTC instant on hover), its
// latest run's status (schedule.list's last_run) and its state.  A token that may write
// gets Pause (a note asked in a dialog), Resume, Trigger now and Delete
// (confirmed in a dialog); each is one call to /v1/rpc and the row shows
// the API's answer.  Nothing shown is computed here.  A name links to the
// schedule's page (schedule-page.js, #/schedules/ID); a token that may
// write gets "New schedule" (schedule-form.js, #/schedules/new).  The
// dialogs, the trigger and state in words are exported for those pages.

import { el, money, empty } from "./format.js";
import * as form from "./schedule-form.js";
import * as one from "./schedule-page.js";

const LIMITS = ["10", "25", "100"];
// What the page keeps between visits: the filters, the page size, and the
// cursors of the pages seen (cursors[i] starts page i; null the first).
const view = { state: "", name: "", limit: "25", sort: "name",
  cursors: [null], scope: undefined };
// The columns schedule.list can order by: the head's text, the sort key,
// and the order said in words.
const SORTS = {
  Name: { key: "name", words: ["name, A to Z", "name, Z to A"] },
  "Next fire": { key: "next_fire",
    words: ["next fire, soonest first (none last)",
      "next fire, latest first (none first)"] },
  "Cost this month": { key: "cost_month",
    words: ["cost this month, least first", "cost this month, most first"] },
  State: { key: "state", words: ["state, A to Z", "state, Z to A"] },
};

function scope(ctx, extra = {}) {
  return ctx.account ? { account: ctx.account, ...extra } : extra;
}

export function canWrite(ctx) {
  return ctx.session && ctx.session.scope === "write";
}

// #/schedules/new, #/schedules/ID/edit and #/schedules/ID go to the form
// and the schedule's page; #/schedules is the list.
export async function render(root, ctx) {
  const sub = location.hash.match(/^#\/schedules\/([^/]+)(\/edit)?$/);
  if (sub) {
    const id = decodeURIComponent(sub[1]);
    if (id === "new" && !sub[2])
      return form.render(root, ctx, null);
    return sub[2] ? form.render(root, ctx, id) : one.render(root, ctx, id);
  }
  return list(root, ctx);
}

async function list(root, ctx) {
  if (view.scope !== ctx.account) {
    view.scope = ctx.account;
    view.cursors = [null];
  }
  const page = { root, ctx, body: el("div", { class: "sched-body" }),
    status: el("p", { id: "sched-status", class: "status", role: "status",
      "aria-live": "polite" }),
    error: el("p", { id: "sched-error", class: "error", role: "alert" }),
    dialogs: dialogs() };
  const sec = el("section", { class: "schedules", "data-state": "loading",
    "aria-busy": "true" },
  el("div", { class: "page-head" }, el("h1", {}, "Schedules"),
    canWrite(ctx) ? el("a", { id: "sched-new", class: "button",
      href: "#/schedules/new" }, "New schedule") : ""),
  filters(page), el("div", { class: "messages" }, page.status, page.error),
  page.body, page.dialogs.pause,
  page.dialogs.del);
  page.sec = sec;
  root.replaceChildren(sec);
  await load(page);
}

// The filter form: schedule.list's state and name, and the page size.
function filters(page) {
  const state = el("select", { id: "sched-state", name: "state" },
    new Option("Any", ""), new Option("Active", "active"),
    new Option("Paused", "paused"));
  state.value = view.state;
  const name = el("input", { id: "sched-name", name: "name", type: "search",
    maxlength: "200", spellcheck: "false", autocomplete: "off",
    placeholder: "nightly-*", "aria-describedby": "sched-name-help" });
  name.value = view.name;
  const limit = el("select", { id: "sched-limit", name: "limit" },
    ...LIMITS.map((n) => new Option(n, n)));
  limit.value = view.limit;
  const form = el("form", { class: "filters", role: "search",
    "aria-label": "Filter schedules" },
  el("div", { class: "field" }, el("label", { for: "sched-state" }, "State"),
    state),
  el("div", { class: "field" }, el("label", { for: "sched-name" }, "Name"),
    name),
  el("div", { class: "field" },
    el("label", { for: "sched-limit" }, "Per page"), limit),
  el("button", { id: "sched-apply", type: "submit" }, "Filter"),
  el("p", { id: "sched-name-help", class: "muted help" },
    "Name is a glob: * any characters, ? one, [abc] one of them; " +
    "case matters."));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    view.state = state.value;
    view.name = name.value.trim();
    view.limit = limit.value;
    view.cursors = [null];
    load(page);
  });
  return form;
}

function listParams(page) {
  const p = scope(page.ctx, { limit: Number(view.limit), last_run: true });
  if (view.sort !== "name")
    p.sort = view.sort;
  if (view.state)
    p.state = view.state;
  if (view.name)
    p.name = view.name;
  const cursor = view.cursors[view.cursors.length - 1];
  if (cursor)
    p.cursor = cursor;
  return p;
}


async function load(page) {
  page.sec.dataset.state = "loading";
  page.sec.setAttribute("aria-busy", "true");
  page.error.textContent = "";
  let res;
  try {
    res = await page.ctx.api.call("schedule.list", listParams(page));
  } catch (e) {
    if (e.status === 401)
      return;
    page.body.replaceChildren();
    page.error.textContent = "The schedules could not be listed: " +
      e.message;
    done(page, "error");
    return;
  }
  const runs = new Map(res.schedules.map((x) => [x.id, x.last_run]));
  page.body.replaceChildren(listing(page, res, runs), pager(page, res));
  done(page, "ready");
}

function done(page, state) {
  page.sec.dataset.state = state;
  page.sec.setAttribute("aria-busy", "false");
  page.sec.dataset.gen = String(Number(page.sec.dataset.gen || 0) + 1);
}

function listing(page, res, runs) {
  if (res.schedules.length === 0)
    return empty(view.state || view.name ?
      "No schedule passes these filters: change or clear them." :
      view.cursors.length > 1 ? "No more schedules: go to the page before." :
        "No schedules yet: create one with New schedule, or with " +
        "chimectl schedule create (--help says how).");
  const write = canWrite(page.ctx);
  const head = ["Name", "Trigger", "Zone", "Next fire", "Last run",
    "Cost this month", "State"];
  if (!page.ctx.account)
    head.splice(1, 0, "Account");
  if (write)
    head.push("Actions");
  const ths = head.map((h) => sortHead(page, h));
  const tbody = el("tbody", {});
  for (const s of res.schedules)
    tbody.append(row(page, s, runs.get(s.id)));
  return el("div", {}, el("p", { id: "sched-caption",
    class: "muted sched-caption" }, "By " + orderWords(page) +
    " (schedule.list's order: choose another with a column's head)."),
  el("div", { class: "scroll", tabindex: "0",
    "aria-labelledby": "sched-caption" },
  el("table", { class: "sched-table", "aria-labelledby": "sched-caption" },
    el("thead", {}, el("tr", {}, ...ths)), tbody)));
}

// The order in words: the sort's, then account and name for ties.
function orderWords(page) {
  const desc = view.sort.startsWith("-");
  const key = desc ? view.sort.slice(1) : view.sort;
  const col = Object.values(SORTS).find((c) => c.key === key);
  const ties = page.ctx.account ? "name" : "account, then name";
  return key === "name" ? (page.ctx.account ? "" : "account, then ") +
    col.words[desc ? 1 : 0] : col.words[desc ? 1 : 0] + "; " + ties +
    " among equals";
}

// A column's head: a button that orders by it (again: the other way)
// when schedule.list can, with aria-sort on the column ordered by.
function sortHead(page, h) {
  const th = el("th", { scope: "col" });
  const col = SORTS[h];
  if (!col) {
    th.append(h);
    return th;
  }
  const desc = view.sort === "-" + col.key;
  const on = desc || view.sort === col.key;
  if (on)
    th.setAttribute("aria-sort", desc ? "descending" : "ascending");
  const b = el("button", { type: "button", class: "sort",
    "data-sort": col.key, title: "Order by " + col.words[on && !desc ? 1 :
      0] },
  h, on ? (desc ? " ▼" : " ▲") : "");
  b.addEventListener("click", () => {
    view.sort = on && !desc ? "-" + col.key : col.key;
    view.cursors = [null];
    load(page).then(() => {
      const again = page.sec.querySelector(
        `button.sort[data-sort="${col.key}"]`);
      if (again)
        again.focus();
    });
  });
  th.append(b);
  return th;
}

// A schedule's address: its page, or its form with "/edit".
export function href(s, edit = false) {
  return `#/schedules/${encodeURIComponent(s.id)}${edit ? "/edit" : ""}`;
}

const TRIGGER_WORDS = {
  cron: (s) => `cron ${s}`,
  weekly: (s) => `weekly, ${s}`,
  monthly: (s) => `monthly, day ${s}`,
  interval: (s) => `every ${s}`,
  at: (s) => `once, at ${s}`,
  manual: () => "by hand only",
  webhook: () => "on a signed webhook delivery",
};

// The trigger in words: the API's trigger_words (the expression itself
// on hover, triggerSpec), else a kind and value.
export function triggerText(s) {
  if (s.trigger_words)
    return s.trigger_words;
  return triggerSpec(s);
}

export function triggerSpec(s) {
  const f = TRIGGER_WORDS[s.trigger];
  return f ? f(s.spec) : `${s.trigger} ${s.spec}`;
}

function nextFire(s) {
  if (!s.next_fire)
    return el("span", { class: "muted" }, s.state === "paused" ?
      "none while paused" : s.trigger === "manual" ||
        s.trigger === "webhook" ? "none (not timed)" : "none");
  const dst = s.next_fire_dst && s.next_fire_dst !== "none" ?
    ` (DST ${s.next_fire_dst})` : "";
  return el("time", { datetime: s.next_fire,
    title: `${s.next_fire} (UTC)` },
  `${s.next_fire_local.replace("T", " ")} ${s.tz}${dst}`);
}

function lastRun(run) {
  if (!run)
    return el("span", { class: "muted" }, "no run yet");
  if (run.failed)
    return el("span", { class: "muted", title: run.failed }, "not known");
  return el("span", { class: `run-status run-${run.status}`,
    title: run.run_id + (run.error ? `: ${run.error}` :
      run.reason ? `: ${run.reason}` : "") }, run.status);
}

export function stateText(s) {
  if (s.state !== "paused")
    return s.state;
  const why = { paused: "paused", "created paused": "created paused",
    budget_exceeded: "paused: budget exceeded" }[s.pause_reason] ||
    "paused";
  return s.pause_note ? `${why} — “${s.pause_note}”` : why;
}

function row(page, s, run) {
  const tr = el("tr", { "data-id": s.id, "data-name": s.name,
    "data-account": s.account, "data-state": s.state });
  const cells = [el("th", { scope: "row" }, el("a", { href: href(s) },
    s.name)),
    el("td", { class: "trigger", title: triggerSpec(s) }, triggerText(s)),
    el("td", {}, s.tz),
    el("td", {}, nextFire(s)), el("td", { class: "last-run" }, lastRun(run)),
    el("td", { class: "cost" }, money(s.month_spent_usd)),
    el("td", { class: "state" }, stateText(s))];
  if (!page.ctx.account)
    cells.splice(1, 0, el("td", {}, s.account));
  tr.append(...cells);
  if (canWrite(page.ctx))
    tr.append(el("td", { class: "actions" }, actions(page, s, run, tr)));
  return tr;
}

function button(action, text, label, fn) {
  const b = el("button", { type: "button", "data-action": action,
    "aria-label": label }, text);
  b.addEventListener("click", () => fn(b));
  return b;
}

function actions(page, s, run, tr) {
  const out = [];
  if (s.state === "active")
    out.push(button("pause", "Pause", `Pause ${s.name}`,
      (b) => askPause(page, s, run, tr, b)));
  else if (s.state === "paused")
    out.push(button("resume", "Resume", `Resume ${s.name}`,
      (b) => act(page, b, tr, `${s.name} is resumed.`,
        () => simple(page, "schedule.resume", s, run))));
  out.push(button("trigger", "Trigger now", `Trigger ${s.name} now`,
    (b) => act(page, b, tr, null, () => trigger(page, s))));
  out.push(button("delete", "Delete", `Delete ${s.name}`,
    (b) => askDelete(page, s, tr, b)));
  return el("div", { class: "buttons" }, ...out);
}

// One action: its buttons off while it runs, then the row the API's
// answer makes (or the error, in words).
async function act(page, btn, tr, said, fn) {
  const all = tr.querySelectorAll("button");
  for (const b of all)
    b.disabled = true;
  page.error.textContent = "";
  page.status.textContent = "";
  try {
    const out = await fn();
    if (out.row) {
      tr.replaceWith(out.row);
      const again = out.row.querySelector(`[data-action="${btn.dataset
        .action}"]`) || out.row.querySelector("button");
      if (again)
        again.focus();
    } else if (out.gone) {
      /* focus goes to the next row's (or the one before's) first button */
      const near = tr.nextElementSibling || tr.previousElementSibling;
      tr.remove();
      const b = near && near.querySelector("button");
      (b || document.getElementById("sched-name")).focus();
    }
    page.status.textContent = out.said || said || "";
    if (out.gone && !page.body.querySelector("tbody tr"))
      await load(page);
  } catch (e) {
    for (const b of all)
      b.disabled = false;
    if (e.status !== 401)
      page.error.textContent = `${btn.textContent} ` +
        `${tr.dataset.name} failed: ${e.message}`;
    btn.focus();
  }
}

async function simple(page, method, s, run, extra = {}) {
  const res = await page.ctx.api.call(method, { id: s.id,
    account: s.account, ...extra });
  return { row: row(page, res, run) };
}

async function trigger(page, s) {
  const t = await page.ctx.api.call("schedule.trigger", { id: s.id,
    account: s.account });
  const [fresh, runs] = await Promise.all([
    page.ctx.api.call("schedule.get", { id: s.id, account: s.account }),
    page.ctx.api.call("schedule.runs", { id: s.id, account: s.account,
      limit: 1 })]);
  return { row: row(page, fresh, runs.runs[0] || null),
    said: `${s.name} is triggered: run ${t.run_id}, ${t.status}.` };
}

// The two dialogs: a pause's optional note, a delete's confirmation
// ({pause, del, note}: append pause and del to the page).
export function dialogs() {
  const note = el("input", { id: "pause-note", name: "note", type: "text",
    maxlength: "500", autocomplete: "off" });
  const pause = el("dialog", { id: "pause-dialog",
    "aria-labelledby": "pause-title" },
  el("form", { method: "dialog", class: "dialog-form" },
    el("h2", { id: "pause-title" }, "Pause"),
    el("p", { class: "muted" }, "A paused schedule does not fire until it " +
      "is resumed; Trigger now still runs it."),
    el("label", { for: "pause-note" }, "Note (optional): why it is paused"),
    note,
    el("div", { class: "buttons" },
      el("button", { type: "submit", value: "ok", id: "pause-ok" },
        "Pause"),
      el("button", { type: "submit", value: "cancel", id: "pause-cancel",
        formnovalidate: "" }, "Cancel"))));
  const del = el("dialog", { id: "delete-dialog",
    "aria-labelledby": "delete-title", "aria-describedby": "delete-what" },
  el("form", { method: "dialog", class: "dialog-form" },
    el("h2", { id: "delete-title" }, "Delete"),
    el("p", { id: "delete-what" }, ""),
    el("div", { class: "buttons" },
      el("button", { type: "submit", value: "ok", id: "delete-ok",
        class: "danger" }, "Delete"),
      el("button", { type: "submit", value: "cancel", id: "delete-cancel",
        autofocus: "" }, "Cancel"))));
  return { pause, del, note };
}

// Open DIALOG; FN(true) once it is closed with its OK button (focus back
// on BTN otherwise).
export function ask(dialog, btn, fn) {
  dialog.returnValue = "";
  dialog.addEventListener("close", () => {
    const ok = dialog.returnValue === "ok";
    if (!ok)
      btn.focus();
    fn(ok);
  }, { once: true });
  dialog.showModal();
}

// Ask D's pause dialog about S from BTN: FN(note) once confirmed.
export function askPauseNote(d, s, btn, fn) {
  d.pause.querySelector("#pause-title").textContent = `Pause ${s.name}`;
  d.note.value = "";
  ask(d.pause, btn, (ok) => {
    if (ok)
      fn(d.note.value.trim());
  });
}

// Ask D's delete dialog about S from BTN: FN() once confirmed.
export function askDeleteOk(d, s, btn, fn) {
  d.del.querySelector("#delete-title").textContent = `Delete ${s.name}?`;
  d.del.querySelector("#delete-what").textContent = `The schedule ` +
    `${s.name} (${s.id}, account ${s.account}) and its kept runs are ` +
    "removed; runs not started yet are cancelled. This cannot be undone.";
  ask(d.del, btn, (ok) => {
    if (ok)
      fn();
  });
}

function askPause(page, s, run, tr, btn) {
  askPauseNote(page.dialogs, s, btn, (note) =>
    act(page, btn, tr, `${s.name} is paused.`, () =>
      simple(page, "schedule.pause", s, run, note ? { note } : {})));
}

function askDelete(page, s, tr, btn) {
  askDeleteOk(page.dialogs, s, btn, () =>
    act(page, btn, tr, null, async () => {
      await page.ctx.api.call("schedule.delete", { id: s.id,
        account: s.account });
      return { gone: true, said: `${s.name} is deleted.` };
    }));
}

// Previous and Next over schedule.list's cursor.
function pager(page, res) {
  const n = view.cursors.length;
  const prev = el("button", { type: "button", id: "sched-prev" },
    "Previous");
  const next = el("button", { type: "button", id: "sched-next" }, "Next");
  prev.disabled = n === 1;
  next.disabled = !res.truncated;
  prev.addEventListener("click", () => {
    view.cursors.pop();
    load(page).then(() => focusPager("sched-prev"));
  });
  next.addEventListener("click", () => {
    view.cursors.push(res.next_cursor);
    load(page).then(() => focusPager("sched-next"));
  });
  return el("nav", { class: "pager", "aria-label": "Pages of schedules" },
    prev, el("span", { id: "sched-page", class: "muted" }, `Page ${n}` +
      (res.truncated ? "" : " (the last)")), next);
}

function focusPager(id) {
  const b = document.getElementById(id);
  if (b && !b.disabled)
    b.focus();
  else if (b)
    b.parentElement.querySelector("button:not(:disabled)")?.focus();
}
