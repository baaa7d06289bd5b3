// ui/js/runs.js: the Runs page.  A page of run.list: the runs of the
// account chosen (every account the token may act for under an admin's
// "All accounts", with an Account column) across its schedules and
// batches, newest first (the API's one order); its filters (status,
// operation, model), its cursor for the next page, the cursors seen kept
// for the page before.  Each run shows as the API gives it: its id
// (linked to its schedule's or batch's page), owner, operation, model,
// status, trigger, nominal time in the run's zone (UTC on hover), latency,
// cost, and its error or reason.  Read-only: nothing here changes
// anything, and nothing shown is computed here.

import { el, money, empty } from "./format.js";

const LIMITS = ["25", "50", "100"];
const STATUSES = ["pending", "running", "success", "failed", "skipped",
  "missed", "interrupted", "cancelled"];
// What the page keeps between visits: the filters, the page size, and the
// cursors of the pages seen (cursors[i] starts page i; null the first).
const view = { status: "", operation: "", model: "", limit: "50",
  cursors: [null], scope: undefined };

export async function render(root, ctx) {
  if (view.scope !== ctx.account) {
    view.scope = ctx.account;
    view.cursors = [null];
  }
  const page = { ctx, body: el("div", { class: "runs-body" }),
    error: el("p", { id: "runs-error", class: "error", role: "alert" }) };
  page.sec = el("section", { class: "runs", "data-state": "loading",
    "aria-busy": "true" },
  el("div", { class: "page-head" }, el("h1", {}, "Runs")),
  filters(page), el("div", { class: "messages" }, page.error), page.body);
  root.replaceChildren(page.sec);
  await load(page);
}

function field(id, label, control) {
  return el("div", { class: "field" }, el("label", { for: id }, label),
    control);
}

function text(id, name, value, placeholder) {
  const i = el("input", { id, name, type: "search", maxlength: "200",
    spellcheck: "false", autocomplete: "off", placeholder });
  i.value = value;
  return i;
}

// The filter form: run.list's status, operation and model, and the page
// size.
function filters(page) {
  const status = el("select", { id: "runs-status", name: "status" },
    new Option("Any", ""), ...STATUSES.map((s) => new Option(s, s)));
  status.value = view.status;
  const op = text("runs-operation", "operation", view.operation,
    "email-classify");
  const model = text("runs-model", "model", view.model, "a model id");
  const limit = el("select", { id: "runs-limit", name: "limit" },
    ...LIMITS.map((n) => new Option(n, n)));
  limit.value = view.limit;
  const form = el("form", { class: "filters", role: "search",
    "aria-label": "Filter runs" },
  field("runs-status", "Status", status),
  field("runs-operation", "Operation", op),
  field("runs-model", "Model", model),
  field("runs-limit", "Per page", limit),
  el("button", { id: "runs-apply", type: "submit" }, "Filter"),
  el("p", { class: "muted help" }, "Operation and model are matched " +
    "whole, as the catalog spells them; leave one empty for any."));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    view.status = status.value;
    view.operation = op.value.trim();
    view.model = model.value.trim();
    view.limit = limit.value;
    view.cursors = [null];
    load(page);
  });
  return form;
}

function listParams(page) {
  const p = { limit: Number(view.limit) };
  if (page.ctx.account)
    p.account = page.ctx.account;
  for (const k of ["status", "operation", "model"]) {
    if (view[k])
      p[k] = view[k];
  }
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
    res = await page.ctx.api.call("run.list", listParams(page));
  } catch (e) {
    if (e.status === 401)
      return;
    page.body.replaceChildren();
    page.error.textContent = "The runs could not be listed: " + e.message;
    done(page, "error");
    return;
  }
  page.body.replaceChildren(listing(page, res), pager(page, res));
  done(page, "ready");
}

function done(page, state) {
  page.sec.dataset.state = state;
  page.sec.setAttribute("aria-busy", "false");
  page.sec.dataset.gen = String(Number(page.sec.dataset.gen || 0) + 1);
}

function listing(page, res) {
  if (res.runs.length === 0)
    return empty(view.status || view.operation || view.model ?
      "No run passes these filters: change or clear them." :
      view.cursors.length > 1 ? "No more runs: go to the page before." :
        "No runs yet: a schedule's runs and a batch's operations show " +
        "here once they begin (chimectl schedule trigger runs one now).");
  const head = ["Run", "Schedule or batch", "Operation", "Model", "Status",
    "Triggered by", "Scheduled for", "Latency", "Cost", "Error or reason"];
  if (!page.ctx.account)
    head.splice(1, 0, "Account");
  const ths = head.map((h) => el("th", { scope: "col" }, h));
  /* run.list's one order, said to assistive technology and in words */
  ths[0].setAttribute("aria-sort", "descending");
  const tbody = el("tbody", {});
  for (const r of res.runs)
    tbody.append(row(page, r));
  return el("div", {}, el("p", { id: "runs-caption",
    class: "muted runs-caption" }, "Newest first, by when each run was " +
    "made: the order the API lists runs in."),
  el("div", { class: "scroll", tabindex: "0",
    "aria-labelledby": "runs-caption" },
  el("table", { class: "runs-table", "aria-labelledby": "runs-caption" },
    el("thead", {}, el("tr", {}, ...ths)), tbody)));
}

// The page of a run's schedule or batch.
function ownerHref(r) {
  return (r.owner === "batch" ? "#/batches/" : "#/schedules/") +
    encodeURIComponent(r.schedule);
}

function scheduledFor(r) {
  if (!r.scheduled_for)
    return el("span", { class: "muted" }, "—");
  return el("time", { datetime: r.scheduled_for,
    title: `${r.scheduled_for} (UTC)` },
  `${(r.nominal_local || r.scheduled_for).replace("T", " ")} ${r.tz}` +
    (r.dst && r.dst !== "none" ? ` (DST ${r.dst})` : ""));
}

function row(page, r) {
  const tr = el("tr", { "data-run": r.run_id, "data-status": r.status,
    "data-account": r.account });
  const owner = r.owner_name ? `${r.owner_name}` : r.schedule;
  const why = r.error || r.reason;
  const cells = [
    el("th", { scope: "row" }, el("a", { href: ownerHref(r),
      title: `the ${r.owner} ${owner}` }, r.run_id)),
    el("td", { class: "owner" }, `${owner} (${r.owner})`),
    el("td", {}, r.operation),
    el("td", {}, r.model || el("span", { class: "muted" }, "—")),
    el("td", { class: `status run-status run-${r.status}` }, r.status),
    el("td", {}, r.triggered_by),
    el("td", { class: "when" }, scheduledFor(r)),
    el("td", { class: "num" }, r.latency_ms === null ? "—" :
      `${r.latency_ms} ms`),
    el("td", { class: "num cost" }, money(r.cost_usd)),
    el("td", { class: "why" }, why || el("span", { class: "muted" }, "—"))];
  if (!page.ctx.account)
    cells.splice(1, 0, el("td", { class: "account" }, r.account));
  tr.append(...cells);
  return tr;
}

// Previous and Next over run.list's cursor.
function pager(page, res) {
  const n = view.cursors.length;
  const prev = el("button", { type: "button", id: "runs-prev" },
    "Previous");
  const next = el("button", { type: "button", id: "runs-next" }, "Next");
  prev.disabled = n === 1;
  next.disabled = !res.truncated;
  prev.addEventListener("click", () => {
    view.cursors.pop();
    load(page).then(() => focusPager("runs-prev"));
  });
  next.addEventListener("click", () => {
    view.cursors.push(res.next_cursor);
    load(page).then(() => focusPager("runs-next"));
  });
  return el("nav", { class: "pager", "aria-label": "Pages of runs" },
    prev, el("span", { id: "runs-page", class: "muted" }, `Page ${n}` +
      (res.truncated ? "" : " (the last)")), next);
}

function focusPager(id) {
  const b = document.getElementById(id);
  if (b && !b.disabled)
    b.focus();
  else if (b)
    b.parentElement.querySelector("button:not(:disabled)")?.focus();
}
