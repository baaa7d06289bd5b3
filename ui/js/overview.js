// ui/js/overview.js: the Overview page.  For a period (week, month,
// quarter, year): four cards from analytics.summary (cost, runs, success
// rate, average latency, each with its change against the period before),
// cost by operation (analytics.breakdown) and the daily cost
// (analytics.trends) as charts, the model comparison (analytics.models),
// the month's budget pace (analytics.pace) and the recommendations
// (analytics.recommendations), each with an Apply button when the API
// gives the call that applies it (its apply: {method, params}), made
// after a confirmation that says what changes; the recommendations are
// then read again.  It shows the figures as the API gives them and
// computes none.

import { el, money, signedMoney, pct, pts, ms, signedMs, signed, dateTime,
  table, empty } from "./format.js";
import { loadChart, chartColors } from "./chart.js";

const PERIODS = [["week", "Week"], ["month", "Month"], ["quarter", "Quarter"],
  ["year", "Year"]];
let period = "month";
let charts = [];

export async function render(root, ctx) {
  const periodBar = el("div", { class: "segmented", role: "group",
    "aria-label": "Period" });
  for (const [value, label] of PERIODS) {
    const b = el("button", { type: "button", "data-period": value,
      "aria-pressed": String(value === period) }, label);
    b.addEventListener("click", () => {
      period = value;
      render(root, ctx);
    });
    periodBar.append(b);
  }
  const body = el("div", { class: "overview", "aria-busy": "true" });
  root.replaceChildren(el("div", { class: "page-head" },
    el("h1", {}, "Overview"), periodBar), body);
  for (const c of charts)
    c.destroy();
  charts = [];
  await fill(body, ctx);
  body.setAttribute("aria-busy", "false");
  body.dataset.loaded = period;
  performance.mark("chime-overview-loaded");
}

function scope(ctx, extra = {}) {
  return ctx.account ? { account: ctx.account, ...extra } : extra;
}

// Every call at once, and Chart.js loading meanwhile.
async function fill(body, ctx) {
  const p = scope(ctx, { period });
  const one = ctx.account ? scope(ctx) : null;
  loadChart().catch(() => {});
  const [summary, breakdown, trends, models, pace, recs] = await Promise.all([
    ctx.api.call("analytics.summary", p),
    ctx.api.call("analytics.breakdown", { ...p, by: "operation" }),
    ctx.api.call("analytics.trends", { ...p, metric: "cost",
      granularity: "day" }),
    ctx.api.call("analytics.models", p),
    one && ctx.api.call("analytics.pace", one),
    one && ctx.api.call("analytics.recommendations", one),
  ]);
  body.append(periodLine(summary), cards(summary));
  const chartsRow = el("div", { class: "row" });
  body.append(chartsRow);
  chartsRow.append(await byOperation(breakdown), await dailyCost(trends));
  body.append(modelTable(models));
  if (!one) {
    body.append(el("section", { class: "card", "aria-labelledby": "pace-h" },
      el("h2", { id: "pace-h" }, "Budget pace"),
      empty("Choose an account above to see its budget pace and " +
        "recommendations: caps belong to one account.")));
    return;
  }
  body.append(paceBars(pace), recommendations(recs, ctx));
}

function periodLine(s) {
  return el("p", { class: "muted period" },
    `${s.from} to ${s.to} (${s.days} days), against ` +
    `${s.previous_period.from} to ${s.previous_period.to}` +
    (s.account ? ` — account ${s.account}` : " — every account"));
}

function card(id, title, value, raw, change) {
  return el("section", { class: "card figure", "data-figure": id,
    "aria-labelledby": `card-${id}` },
    el("h2", { id: `card-${id}` }, title),
    el("p", { class: "value", "data-value": raw === null ? "" : String(raw) },
      value),
    el("p", { class: "change" }, change));
}

function cards(s) {
  const c = s.current, d = s.change;
  const none = "no figure for the period before";
  const costPct = d.cost_pct === null ? " (no cost before)" :
    ` (${signed(d.cost_pct.toFixed(1))} %)`;
  const grid = el("div", { class: "cards" },
    card("cost", "Cost", money(c.cost_usd), c.cost_usd,
      signedMoney(d.cost_usd) + costPct),
    card("runs", "Runs", String(c.runs), c.runs,
      `${signed(d.runs)} runs; ${c.success} succeeded, ${c.failed} failed, ` +
      `${c.skipped} skipped`),
    card("success_rate", "Success rate", pct(c.success_rate),
      c.success_rate, d.success_rate === null ? none : pts(d.success_rate)),
    card("latency", "Average latency", ms(c.latency_avg_ms),
      c.latency_avg_ms, d.latency_avg_ms === null ? none :
        signedMs(d.latency_avg_ms)));
  const out = el("div", {}, grid);
  if (c.runs === 0 && c.skipped === 0 && c.missed === 0)
    out.append(empty("No runs in this period: the figures appear once " +
      "schedules or batches have run."));
  return out;
}

async function chartCard(id, title, labels, values, kind, label, emptyText) {
  const sec = el("section", { class: "card chart", "aria-labelledby": id },
    el("h2", { id }, title));
  if (labels.length === 0) {
    sec.append(empty(emptyText));
    return sec;
  }
  const canvas = el("canvas", { role: "img", "aria-label": `${title}: ` +
    labels.map((l, i) => `${l} ${money(values[i])}`).join(", ") });
  sec.append(el("div", { class: "canvas-box" }, canvas),
    el("details", {}, el("summary", {}, "As a table"),
      table([label, "Cost"], labels.map((l, i) => [l, money(values[i])]))));
  const Chart = await loadChart();
  const col = chartColors();
  charts.push(new Chart(canvas, {
    type: kind,
    data: { labels, datasets: [{ label: "Cost (USD)",
      data: values.map(Number), backgroundColor: col.accentSoft,
      borderColor: col.accent, borderWidth: 2, pointRadius: 0, fill: true }] },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { display: false } },
      scales: { x: { ticks: { color: col.muted }, grid: { color: col.grid } },
        y: { beginAtZero: true, ticks: { color: col.muted },
          grid: { color: col.grid } } } },
  }));
  return sec;
}

function byOperation(b) {
  const parts = b.parts;
  return chartCard("ops-h", "Cost by operation",
    parts.map((p) => p.operation), parts.map((p) => p.cost_usd), "bar",
    "Operation", "No runs in this period, so no cost by operation.");
}

function dailyCost(t) {
  const s = t.series;
  const any = s.some((p) => p.value !== "0.000000");
  return chartCard("daily-h", "Daily cost", any ? s.map((p) => p.start) : [],
    s.map((p) => p.value), "line", "Day",
    "No cost in this period: the daily series is all zero.");
}

function modelTable(m) {
  const sec = el("section", { class: "card", "aria-labelledby": "models-h" },
    el("h2", { id: "models-h" }, "Models compared"));
  if (m.models.length === 0) {
    sec.append(empty("No run with a model in this period: the comparison " +
      "rests on measured runs only."));
    return sec;
  }
  sec.append(el("div", { class: "scroll" }, table(
    ["Operation", "Model", "Runs", "Success rate", "Cost per run",
      "Average latency", "p95 latency"],
    m.models.map((r) => [r.operation, r.model, String(r.runs),
      pct(r.success_rate), money(r.cost_per_run_usd), ms(r.latency_avg_ms),
      ms(r.latency_p95_ms)]))));
  return sec;
}

const CAP_WORDS = {
  account_monthly_budget: "Account's monthly budget",
  operation_monthly_budget: "Operation's monthly budget",
  schedule_max_cost_month: "Schedule's monthly cap",
};

function paceBars(p) {
  const sec = el("section", { class: "card", "aria-labelledby": "pace-h" },
    el("h2", { id: "pace-h" }, "Budget pace"),
    el("p", { class: "muted" }, `${p.month} (${p.tz}): ` +
      `${money(p.spent_usd)} spent, ${money(p.reserved_usd)} reserved`));
  if (p.caps.length === 0) {
    sec.append(empty("No budget caps for this account: set one with " +
      "chimectl account update --monthly-budget, prefs set " +
      "--monthly-budget or schedule update --max-cost-month."));
    return sec;
  }
  const list = el("ul", { class: "pace" });
  for (const c of p.caps) {
    const when = c.exceeded ? "over the cap" :
      c.reaches_cap_at ? `reaches the cap ${dateTime(c.reaches_cap_at)}` :
        "stays under the cap at this pace";
    const id = `cap-${c.kind}-${c.name}`;
    list.append(el("li", { class: c.exceeded || c.reaches_cap_at ? "warn" : "" },
      el("span", { id, class: "cap-name" },
        `${CAP_WORDS[c.kind] || c.kind}: ${c.name}`),
      el("meter", { min: "0", max: c.budget_usd, value: c.spent_usd,
        high: c.budget_usd, "aria-labelledby": id }),
      el("span", { class: "muted" }, `${money(c.spent_usd)} of ` +
        `${money(c.budget_usd)}; projected ${money(c.projected_usd)} at ` +
        `${money(c.pace_usd_per_day)} a day; ${when}`)));
  }
  sec.append(list);
  return sec;
}

const REC_WORDS = {
  cheaper_model: "A cheaper model",
  failing_schedule: "A failing schedule",
  skipped_by_cap: "Runs skipped by a cap",
  budget_runs_out: "A budget runs out",
  estimate_drift: "Estimates drift",
};

function target(t) {
  if (t === null || typeof t !== "object")
    return String(t);
  return Object.entries(t).map(([k, v]) => `${k} ${v}`).join(", ");
}

function recommendations(r, ctx) {
  const sec = el("section", { id: "recs", class: "card",
    "aria-labelledby": "recs-h", "data-gen": "1" },
  el("h2", { id: "recs-h", tabindex: "-1" }, "Recommendations"));
  const status = el("p", { id: "recs-status", class: "status",
    role: "status", "aria-live": "polite" });
  const error = el("p", { id: "recs-error", class: "error", role: "alert" });
  const dialog = applyDialog();
  const box = el("div", {});
  const page = { ctx, sec, box, status, error, dialog };
  sec.append(box, status, error, dialog.el);
  recList(page, r);
  return sec;
}

// May this session make CALL (the API's apply)?  A read-only one makes
// none; an account's own budget is the admin's (account.update).
function mayApply(ctx, call) {
  return call != null && ctx.session.scope === "write" &&
    (call.method !== "account.update" || ctx.session.admin);
}

function recList(page, r) {
  if (r.recommendations.length === 0) {
    page.box.replaceChildren(empty(`Nothing to recommend from the last ` +
      `${r.days} days: recommendations need enough runs to rest on.`));
    return;
  }
  const list = el("ul", { class: "recs" });
  for (const x of r.recommendations) {
    const money_ = x.monthly_saving_usd != null ?
      `saves ${money(x.monthly_saving_usd)} a month` :
      x.monthly_risk_usd != null ? `risks ${money(x.monthly_risk_usd)} a month`
        : "";
    const li = el("li", { "data-kind": x.kind, "data-target": x.target },
      el("strong", {}, REC_WORDS[x.kind] || x.kind),
      el("span", {}, ` — ${target(x.target)}; ${money_} (${x.runs} runs)`),
      el("code", { class: "command" }, x.command));
    if (mayApply(page.ctx, x.apply)) {
      const b = el("button", { type: "button", class: "apply",
        "aria-label": `Apply: ${REC_WORDS[x.kind] || x.kind}, ` +
          target(x.target) }, "Apply…");
      b.addEventListener("click", () => askApply(page, x, b));
      li.append(b);
    }
    list.append(li);
  }
  page.box.replaceChildren(list);
}

// What CALL (a recommendation's apply) changes, in words.
function change(x) {
  const p = x.apply.params;
  switch (x.apply.method) {
  case "prefs.set":
    if (p.preferred_model !== undefined)
      return `The preferred model of operation ${p.operation} in account ` +
        `${p.account} becomes ${p.preferred_model}: its runs use it when ` +
        "their schedule names no model.";
    if (p.monthly_budget !== undefined)
      return `The monthly budget of operation ${p.operation} in account ` +
        `${p.account} becomes ${money(p.monthly_budget)}.`;
    break;
  case "schedule.pause":
    return `Schedule ${x.target} (${p.id}) in account ${p.account} is ` +
      `paused, with the note “${p.note}”: it does not fire until it is ` +
      "resumed.";
  case "schedule.update":
    return `The monthly cap (max_cost_month) of schedule ${x.target} in ` +
      `account ${p.account} becomes ${money(p.max_cost_month)}.`;
  case "account.update":
    return `The monthly budget of account ${p.name} becomes ` +
      `${money(p.monthly_budget)}.`;
  }
  return `${x.apply.method} is called with ${JSON.stringify(p)}.`;
}

function applyDialog() {
  const what = el("p", { id: "apply-what" });
  const cmd = el("code", { id: "apply-command", class: "command" });
  const d = el("dialog", { id: "apply-dialog",
    "aria-labelledby": "apply-title", "aria-describedby": "apply-what" },
  el("form", { method: "dialog", class: "dialog-form" },
    el("h2", { id: "apply-title" }, "Apply this recommendation?"),
    what,
    el("p", { class: "muted" }, "The same as the command: ", cmd),
    el("div", { class: "buttons" },
      el("button", { type: "submit", value: "ok", id: "apply-ok" }, "Apply"),
      el("button", { type: "submit", value: "cancel", id: "apply-cancel",
        autofocus: "" }, "Cancel"))));
  return { el: d, what, cmd };
}

function askApply(page, x, btn) {
  const d = page.dialog;
  d.what.textContent = change(x);
  d.cmd.textContent = x.command;
  d.el.returnValue = "";
  d.el.addEventListener("close", () => {
    if (d.el.returnValue === "ok")
      apply(page, x, btn);
    else
      btn.focus();
  }, { once: true });
  d.el.showModal();
}

async function apply(page, x, btn) {
  const ctx = page.ctx;
  page.status.textContent = "";
  page.error.textContent = "";
  btn.disabled = true;
  try {
    await ctx.api.call(x.apply.method, x.apply.params);
    page.status.textContent = "Applied: " + change(x);
  } catch (e) {
    btn.disabled = false;
    if (e.status !== 401)
      page.error.textContent = "Not applied: " + e.message;
    bump(page);
    return;
  }
  try {
    recList(page, await ctx.api.call("analytics.recommendations",
      { account: ctx.account }));
  } catch (e) {
    page.error.textContent = "The recommendations could not be read " +
      "again: " + e.message;
  }
  page.sec.querySelector("#recs-h").focus();
  bump(page);
}

function bump(page) {
  page.sec.dataset.gen = String(Number(page.sec.dataset.gen) + 1);
}
