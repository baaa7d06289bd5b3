// ui/js/batches.js: the Batches page.  #/batches lists batch.list
// (newest first: the API lists oldest first), each batch with its type,
// state, a progress bar from its counts and its progress line, what it
// has spent and when it was created.  #/batches/ID is one batch
// (batch.get, its operations by batch.ops), followed live through
// GET /v1/events (Server-Sent Events): every batch.* or op.* event of
// this batch reads it again, so the page shows the API's figures, never
// figures of its own.  #/batches/new creates a batch from a JSON file or
// a form (batch.create).  A token that may write gets Cancel (confirmed
// in a dialog), Start for a draft, and New batch.  The event stream is
// closed when the page is left (leave(), called by app.js).

import { el, money, empty } from "./format.js";

const OPS_LIMIT = 100;
const STATUSES = ["pending", "running", "completed", "failed", "skipped",
  "cancelled"];
// The batch page shown (its EventSource in .source), or null.
let live = null;

function canWrite(ctx) {
  return ctx.session && ctx.session.scope === "write";
}

function scope(ctx, extra = {}) {
  return ctx.account ? { account: ctx.account, ...extra } : extra;
}

// Close the event stream of the batch page, if one is open.
export function leave() {
  if (live) {
    live.left = true;
    if (live.source)
      live.source.close();
    live = null;
  }
}

export async function render(root, ctx) {
  leave();
  const sub = decodeURIComponent(location.hash.replace(/^#\/batches\/?/,
    ""));
  if (sub === "new")
    return create(root, ctx);
  if (sub !== "")
    return batchPage(root, ctx, sub);
  return list(root, ctx);
}

function section(cls, title, ...rest) {
  const status = el("p", { class: "status", role: "status",
    "aria-live": "polite" });
  const error = el("p", { class: "error", role: "alert" });
  const sec = el("section", { class: "batches " + cls, "data-state":
    "loading", "aria-busy": "true" }, el("div", { class: "page-head" },
    el("h1", { tabindex: "-1" }, title), ...rest),
  el("div", { class: "messages" }, status, error));
  return { sec, status, error };
}

function done(sec, state) {
  sec.dataset.state = state;
  sec.setAttribute("aria-busy", "false");
  sec.dataset.gen = String(Number(sec.dataset.gen || 0) + 1);
}

// A time as the browser's zone writes it, the UTC instant on hover.
function when(iso) {
  if (!iso)
    return el("span", { class: "muted" }, "—");
  const d = new Date(iso);
  return el("time", { datetime: iso, title: `${iso} (UTC)` },
    d.toLocaleString(undefined, { dateStyle: "medium",
      timeStyle: "medium" }));
}

// The state, its reason, and how an ended batch went (outcome).
function stateText(b) {
  let s = b.state;
  if (b.reason)
    s += ` (${b.reason})`;
  if (b.outcome)
    s += `; outcome: ${b.outcome}`;
  return s;
}

// The bar: the operations ended (total less running and pending) of the
// total, with the API's progress line beside it.
function progress(b, id) {
  const bar = el("progress", { max: String(Math.max(b.total, 1)),
    value: String(b.total - b.running - b.pending), "aria-labelledby": id });
  return el("div", { class: "batch-progress" }, bar,
    el("span", { id, class: "progress-line" }, b.progress));
}

// ---------------------------------------------------------------- list

async function list(root, ctx) {
  const head = [];
  if (canWrite(ctx))
    head.push(el("a", { href: "#/batches/new", class: "button",
      id: "batch-new" }, "New batch"));
  const p = section("batch-list", "Batches", ...head);
  const body = el("div", {});
  p.sec.append(body);
  root.replaceChildren(p.sec);
  let res;
  try {
    res = await ctx.api.call("batch.list", scope(ctx));
  } catch (e) {
    if (e.status === 401)
      return;
    p.error.textContent = "The batches could not be listed: " + e.message;
    done(p.sec, "error");
    return;
  }
  body.append(listing(ctx, res.batches.slice().reverse()));
  done(p.sec, "ready");
}

function listing(ctx, batches) {
  if (batches.length === 0)
    return empty("No batches yet" + (canWrite(ctx) ?
      ": New batch creates one, or chimectl batch create." :
      ": chimectl batch create makes one."));
  const head = ["Name", "Type", "State", "Progress", "Spent", "Created"];
  if (!ctx.account)
    head.splice(1, 0, "Account");
  const ths = head.map((h) => el("th", { scope: "col" }, h));
  ths[head.length - 1].setAttribute("aria-sort", "descending");
  const tbody = el("tbody", {});
  for (const b of batches)
    tbody.append(listRow(ctx, b));
  return el("div", {}, el("p", { id: "batch-caption",
    class: "muted caption" }, "Newest first (batch.list answers " +
    "oldest first; the page turns it round)."),
  el("div", { class: "scroll", tabindex: "0",
    "aria-labelledby": "batch-caption" },
  el("table", { class: "batch-table", "aria-labelledby": "batch-caption" },
    el("thead", {}, el("tr", {}, ...ths)), tbody)));
}

function listRow(ctx, b) {
  const cells = [el("th", { scope: "row" }, el("a",
    { href: `#/batches/${encodeURIComponent(b.id)}` }, b.name)),
  el("td", {}, b.type), el("td", { class: "state" }, stateText(b)),
  el("td", { class: "progress" }, progress(b, `prog-${b.id}`)),
  el("td", { class: "cost" }, money(b.spent_usd)),
  el("td", {}, when(b.created))];
  if (!ctx.account)
    cells.splice(1, 0, el("td", {}, b.account));
  return el("tr", { "data-id": b.id, "data-name": b.name,
    "data-state": b.state, "data-account": b.account }, ...cells);
}

// ---------------------------------------------------------- one batch

async function batchPage(root, ctx, id) {
  const p = section("batch-page", "Batch", el("a", { href: "#/batches" },
    "All batches"));
  const live_ = el("p", { id: "batch-live", class: "muted",
    "data-live": "connecting", role: "status" }, "Connecting to the " +
    "event stream…");
  const page = { ctx, id, sec: p.sec, status: p.status, error: p.error,
    live: live_, body: el("div", { class: "batch-body" }),
    ops: { status: "", offset: 0 }, account: null, b: null,
    dialog: cancelDialog(), source: null, left: false, busy: false,
    again: false };
  live = page;
  p.sec.dataset.batch = id;
  p.sec.append(live_, page.body, page.dialog.d);
  root.replaceChildren(p.sec);
  try {
    const b = await ctx.api.call("batch.get", scope(ctx, { id, limit: 0 }));
    page.account = b.account;
  } catch (e) {
    if (e.status === 401 || page.left)
      return;
    live_.remove();
    p.error.textContent = `The batch ${id} could not be read: ` + e.message;
    done(p.sec, "error");
    return;
  }
  if (!page.left)
    follow(page);
}

// The stream of this batch's account: its start (and each reconnection's)
// and every event of this batch read the batch again, so that nothing
// that happened between a read and the stream is missed.
function follow(page) {
  const q = new URLSearchParams({ kinds: "batch.*,op.*",
    account: page.account });
  const source = new EventSource("/v1/events?" + q);
  page.source = source;
  const mine = (ev) => {
    let e;
    try {
      e = JSON.parse(ev.data);
    } catch {
      return false;
    }
    const body = e.body || {};
    return e.kind.startsWith("op.") ? body.schedule === page.id :
      body.id === page.id;
  };
  source.addEventListener("start", () => {
    setLive(page, "open", "Live: following the batch's events.");
    refresh(page);
  });
  source.addEventListener("event", (ev) => {
    if (mine(ev))
      refresh(page);
  });
  source.addEventListener("end", (ev) => {
    let why = "";
    try {
      why = JSON.parse(ev.data).reason;
    } catch {
      /* none */
    }
    setLive(page, "reconnecting", `The daemon ended the stream (${why}); ` +
      "reconnecting…");
  });
  source.addEventListener("error", () => {
    if (page.left || page.source !== source)
      return;
    if (source.readyState === EventSource.CLOSED)
      setLive(page, "closed", "The event stream is closed: reload the " +
        "page to follow the batch again.");
    else
      setLive(page, "reconnecting", "The event stream was lost; " +
        "reconnecting…");
  });
}

function setLive(page, state, text) {
  page.live.dataset.live = state;
  page.live.textContent = text;
}

// Read the batch and the operations shown again; one read at a time, one
// more after it when events came meanwhile.
async function refresh(page) {
  if (page.busy) {
    page.again = true;
    return;
  }
  page.busy = true;
  try {
    do {
      page.again = false;
      await reread(page);
    } while (page.again && !page.left);
  } finally {
    page.busy = false;
  }
}

async function reread(page) {
  const ctx = page.ctx;
  const opsParams = { id: page.id, account: page.account,
    offset: page.ops.offset, limit: OPS_LIMIT };
  if (page.ops.status)
    opsParams.status = page.ops.status;
  let b, ops;
  try {
    [b, ops] = await Promise.all([
      ctx.api.call("batch.get", { id: page.id, account: page.account,
        limit: 0 }),
      ctx.api.call("batch.ops", opsParams)]);
  } catch (e) {
    if (page.left || e.status === 401)
      return;
    page.error.textContent = `The batch ${page.id} could not be read: ` +
      e.message;
    done(page.sec, "error");
    return;
  }
  if (page.left)
    return;
  page.b = b;
  draw(page, b, ops.operations);
  done(page.sec, "ready");
  if (page.source && ended(b) && b.running === 0) {
    page.source.close();
    page.source = null;
    setLive(page, "ended", `The batch has ended (${stateText(b)}): ` +
      "nothing more will change, the page stopped following it.");
  }
}

function ended(b) {
  return ["completed", "failed", "cancelled"].includes(b.state);
}

function draw(page, b, ops) {
  const focused = document.activeElement && document.activeElement.id;
  page.sec.querySelector("h1").textContent = `Batch ${b.name}`;
  page.sec.dataset.batchState = b.state;
  page.body.replaceChildren(summary(page, b), counts(b), cost(b),
    operations(page, b, ops));
  if (focused && page.body.querySelector("#" + focused))
    document.getElementById(focused).focus();
}

function dl(pairs) {
  const out = el("dl", { class: "facts" });
  for (const [k, v, key] of pairs)
    out.append(el("div", { "data-key": key || "" }, el("dt", {}, k),
      el("dd", {}, v)));
  return out;
}

function summary(page, b) {
  const acts = actions(page, b);
  return el("div", { class: "card batch-summary" },
    dl([["Id", b.id, "id"], ["Account", b.account, "account"],
      ["Type", b.type, "type"], ["State", stateText(b), "state"],
      ["Priority", String(b.priority), "priority"],
      ["At most at once", String(b.max_concurrent), "max_concurrent"],
      ["Created", when(b.created), "created"],
      ["Started", when(b.started), "started"],
      ["Finished", when(b.finished), "finished"]]),
    b.description ? el("p", {}, b.description) : "",
    progress(b, "batch-progress-line"), acts);
}

function counts(b) {
  const rows = [["total", b.total], ...STATUSES.map((s) => [s, b[s]])];
  return el("div", { class: "card" }, el("h2", {}, "Operations by state"),
    el("ul", { class: "counts", id: "batch-counts" },
      ...rows.map(([k, v]) => el("li", { "data-count": k },
        el("span", { class: "count" }, String(v)), " ", k))));
}

function cost(b) {
  const items = [["Spent so far", money(b.spent_usd), "spent"],
    ["Estimate (low – mid – high)", `${money(b.estimate_low_usd)} – ` +
      `${money(b.estimate_mid_usd)} – ${money(b.estimate_high_usd)}`,
    "estimate"],
    ["Most it may cost (max_cost)", b.max_cost_usd ?
      money(b.max_cost_usd) : "no limit", "max_cost"]];
  const out = el("div", { class: "card" }, el("h2", {}, "Cost"), dl(items));
  if (b.max_cost_usd) {
    out.append(el("label", { for: "batch-cost-meter" },
      "Spent of max_cost"), el("meter", { id: "batch-cost-meter",
      min: "0", max: b.max_cost_usd, value: b.spent_usd,
      high: b.max_cost_usd }));
  }
  return out;
}

function actions(page, b) {
  if (!canWrite(page.ctx) || ended(b))
    return "";
  const out = el("div", { class: "buttons" });
  if (b.state === "draft") {
    const start = el("button", { type: "button", id: "batch-start" },
      "Start");
    start.addEventListener("click", () => startDraft(page, start));
    out.append(start);
  }
  const cancel = el("button", { type: "button", id: "batch-cancel",
    class: "danger" }, "Cancel batch");
  cancel.addEventListener("click", () => askCancel(page, cancel));
  out.append(cancel);
  return out;
}

async function startDraft(page, btn) {
  btn.disabled = true;
  page.error.textContent = "";
  try {
    await page.ctx.api.call("batch.start", { id: page.id,
      account: page.account });
    page.status.textContent = "The batch is started.";
  } catch (e) {
    btn.disabled = false;
    if (e.status !== 401)
      page.error.textContent = "Start failed: " + e.message;
  }
}

function cancelDialog() {
  const reason = el("input", { id: "cancel-reason", name: "reason",
    type: "text", maxlength: "500", autocomplete: "off" });
  const abort = el("input", { id: "cancel-abort", name: "abort",
    type: "checkbox" });
  const d = el("dialog", { id: "cancel-dialog",
    "aria-labelledby": "cancel-title", "aria-describedby": "cancel-what" },
  el("form", { method: "dialog", class: "dialog-form" },
    el("h2", { id: "cancel-title" }, "Cancel the batch?"),
    el("p", { id: "cancel-what" }, "Operations not started are skipped " +
      "(reason cancelled); running ones finish unless stopped below. " +
      "This cannot be undone."),
    el("label", { for: "cancel-reason" }, "Reason (optional)"), reason,
    el("div", { class: "check" }, abort, el("label", { for: "cancel-abort" },
      "Stop the running operations now (abort)")),
    el("div", { class: "buttons" },
      el("button", { type: "submit", value: "ok", id: "cancel-ok",
        class: "danger" }, "Cancel batch"),
      el("button", { type: "submit", value: "cancel", id: "cancel-keep",
        autofocus: "" }, "Keep it running"))));
  return { d, reason, abort };
}

function askCancel(page, btn) {
  const { d, reason, abort } = page.dialog;
  reason.value = "";
  abort.checked = false;
  d.querySelector("#cancel-title").textContent =
    `Cancel the batch ${page.b.name}?`;
  d.returnValue = "";
  d.addEventListener("close", () => {
    if (d.returnValue !== "ok") {
      btn.focus();
      return;
    }
    const p = { id: page.id, account: page.account };
    if (reason.value.trim())
      p.reason = reason.value.trim();
    if (abort.checked)
      p.abort = true;
    cancel(page, btn, p);
  }, { once: true });
  d.showModal();
}

async function cancel(page, btn, params) {
  btn.disabled = true;
  page.error.textContent = "";
  try {
    const b = await page.ctx.api.call("batch.cancel", params);
    page.status.textContent = `The batch is cancelled: ${stateText(b)}.`;
    /* its button is gone: focus goes to the page's title */
    page.sec.querySelector("h1").focus();
    refresh(page);
  } catch (e) {
    btn.disabled = false;
    if (e.status !== 401)
      page.error.textContent = "Cancel failed: " + e.message;
    btn.focus();
  }
}

// The operations table: a page of batch.ops (OPS_LIMIT at a time), all
// or those of one status.
function operations(page, b, ops) {
  const sel = el("select", { id: "ops-status" }, new Option("All", ""),
    ...STATUSES.map((s) => new Option(s, s)));
  sel.value = page.ops.status;
  sel.addEventListener("change", () => {
    page.ops.status = sel.value;
    page.ops.offset = 0;
    refresh(page);
  });
  const of = page.ops.status ? b[page.ops.status] : b.total;
  const first = page.ops.offset + 1;
  const last = page.ops.offset + ops.length;
  const caption = ops.length === 0 ? "" :
    `Operations ${first} to ${last} of ${of}` +
    (page.ops.status ? ` ${page.ops.status}` : "") + ", by number.";
  const body = ops.length === 0 ? empty(page.ops.status ?
    `No operation is ${page.ops.status}.` : "No operations.") :
    el("div", { class: "scroll", tabindex: "0",
      "aria-labelledby": "ops-caption" },
    el("table", { class: "ops-table", "aria-labelledby": "ops-caption" },
      el("thead", {}, el("tr", {}, ...["#", "Id", "Operation", "Status",
        "Model", "Attempt", "Cost", "Error or reason"].map((h) =>
        el("th", { scope: "col" }, h)))),
      el("tbody", {}, ...ops.map(opRow))));
  return el("div", { class: "card ops" }, el("h2", {}, "Operations"),
    el("div", { class: "filters" }, el("div", { class: "field" },
      el("label", { for: "ops-status" }, "Status"), sel)),
    el("p", { id: "ops-caption", class: "muted caption" }, caption),
    body, opsPager(page, ops, last < of));
}

function opRow(o) {
  const why = o.error || o.reason || "";
  return el("tr", { "data-n": String(o.n), "data-status": o.status },
    el("td", {}, String(o.n)), el("th", { scope: "row" }, o.id),
    el("td", {}, o.operation),
    el("td", { class: `status op-${o.status}` }, o.status),
    el("td", {}, o.model || "—"),
    el("td", {}, o.attempt ? String(o.attempt) : "—"),
    el("td", { class: "cost" }, money(o.cost_usd)),
    el("td", { class: "why" }, why));
}

function opsPager(page, ops, more) {
  const prev = el("button", { type: "button", id: "ops-prev" }, "Previous");
  const next = el("button", { type: "button", id: "ops-next" }, "Next");
  prev.disabled = page.ops.offset === 0;
  next.disabled = !more;
  const go = (delta) => {
    page.ops.offset = Math.max(0, page.ops.offset + delta);
    refresh(page);
  };
  prev.addEventListener("click", () => go(-OPS_LIMIT));
  next.addEventListener("click", () => go(OPS_LIMIT));
  return el("nav", { class: "pager", "aria-label": "Pages of operations" },
    prev, next);
}

// --------------------------------------------------------------- create

async function create(root, ctx) {
  const p = section("batch-create", "New batch", el("a",
    { href: "#/batches" }, "All batches"));
  root.replaceChildren(p.sec);
  if (!canWrite(ctx)) {
    p.sec.append(empty("This session may only read: creating a batch " +
      "needs a token of scope write."));
    done(p.sec, "ready");
    return;
  }
  if (!ctx.account) {
    p.sec.append(empty("Choose one account in the account switcher: a " +
      "batch belongs to one account."));
    done(p.sec, "ready");
    return;
  }
  p.sec.append(fromFile(ctx, p), fromForm(ctx, p));
  done(p.sec, "ready");
}

// Send batch.create; on success go to the new batch's page, else say
// why in ERR, the form's own message beside its button.
async function submit(ctx, p, err, btn, params, what) {
  btn.disabled = true;
  err.textContent = "";
  p.status.textContent = "Creating…";
  try {
    const b = await ctx.api.call("batch.create", { account: ctx.account,
      ...params });
    p.status.textContent = "";
    location.hash = `#/batches/${encodeURIComponent(b.id)}`;
  } catch (e) {
    p.status.textContent = "";
    if (e.status !== 401)
      err.textContent = `The batch was not created (${what}): ` +
        e.message;
  } finally {
    btn.disabled = false;
  }
}

function fromFile(ctx, p) {
  const file = el("input", { id: "batch-file", type: "file",
    accept: "application/json,.json", required: "",
    "aria-describedby": "batch-file-help" });
  const draft = el("input", { id: "batch-file-draft", type: "checkbox" });
  const btn = el("button", { type: "submit", id: "batch-file-create" },
    "Create from the file");
  const err = el("p", { id: "batch-file-error", class: "error",
    role: "alert" });
  const form = el("form", { class: "card batch-form", id: "batch-file-form" },
    el("h2", {}, "From a JSON file"),
    el("p", { id: "batch-file-help", class: "muted help" }, "The batch's " +
      "definition, as chimectl batch create -f takes it: name, type, " +
      "operations and the rest (doc/protocol.md, batch.create)."),
    el("label", { for: "batch-file" }, "Definition file"), file,
    el("div", { class: "check" }, draft, el("label",
      { for: "batch-file-draft" }, "Draft: create it without starting")),
    err, el("div", { class: "buttons" }, btn));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    const f = file.files[0];
    if (!f) {
      err.textContent = "Choose a file first.";
      file.focus();
      return;
    }
    let batch;
    try {
      batch = JSON.parse(await f.text());
    } catch (e) {
      err.textContent = `${f.name} is not JSON: ${e.message}`;
      file.focus();
      return;
    }
    if (batch === null || typeof batch !== "object" || Array.isArray(batch)) {
      err.textContent = `${f.name} holds no JSON object: a batch is ` +
        "one object with name and operations.";
      file.focus();
      return;
    }
    const params = { batch };
    if (draft.checked)
      params.draft = true;
    submit(ctx, p, err, btn, params, f.name);
  });
  return form;
}

function field(id, label, input, help) {
  const f = el("div", { class: "field" }, el("label", { for: id }, label),
    input);
  if (help) {
    input.setAttribute("aria-describedby", id + "-help");
    f.append(el("p", { id: id + "-help", class: "muted help" }, help));
  }
  return f;
}

// KEY=VALUE lines (VALUE as JSON when it is JSON, else a string, as
// chimectl --param takes them) or one JSON object; null when empty.
function parameters(text) {
  const t = text.trim();
  if (t === "")
    return null;
  if (t.startsWith("{")) {
    const v = JSON.parse(t);
    if (v === null || typeof v !== "object" || Array.isArray(v))
      throw new Error("the parameters are not one JSON object");
    return v;
  }
  const out = {};
  for (const [i, line] of t.split("\n").entries()) {
    const l = line.trim();
    if (l === "")
      continue;
    const eq = l.indexOf("=");
    if (eq <= 0)
      throw new Error(`line ${i + 1} of the parameters is not key=value`);
    const v = l.slice(eq + 1);
    try {
      out[l.slice(0, eq)] = JSON.parse(v);
    } catch {
      out[l.slice(0, eq)] = v;
    }
  }
  return out;
}

function fromForm(ctx, p) {
  const f = {
    name: el("input", { id: "bf-name", type: "text", required: "",
      maxlength: "200", autocomplete: "off" }),
    operation: el("input", { id: "bf-operation", type: "text",
      required: "", autocomplete: "off", spellcheck: "false" }),
    count: el("input", { id: "bf-count", type: "number", min: "1",
      max: "100000", value: "1", required: "" }),
    parameters: el("textarea", { id: "bf-parameters", rows: "3",
      spellcheck: "false" }),
    type: el("select", { id: "bf-type" }, new Option("parallel",
      "parallel"), new Option("sequential", "sequential")),
    max_concurrent: el("input", { id: "bf-max-concurrent", type: "number",
      min: "1", max: "10000", placeholder: "5" }),
    priority: el("input", { id: "bf-priority", type: "number", min: "1",
      max: "10", placeholder: "5" }),
    max_cost: el("input", { id: "bf-max-cost", type: "text",
      inputmode: "decimal", autocomplete: "off", placeholder: "1.50" }),
    stop: el("input", { id: "bf-stop", type: "checkbox" }),
    draft: el("input", { id: "bf-draft", type: "checkbox" }),
  };
  const btn = el("button", { type: "submit", id: "bf-create" },
    "Create");
  const err = el("p", { id: "bf-error", class: "error", role: "alert" });
  const form = el("form", { class: "card batch-form", id: "batch-form" },
    el("h2", {}, "From a form: one operation, repeated"),
    field("bf-name", "Name", f.name),
    field("bf-operation", "Operation", f.operation, "An operation of the " +
      "daemon's catalog, by its id (the API has no method listing them)."),
    field("bf-count", "Count", f.count, "How many times (1 to 100000)."),
    field("bf-parameters", "Parameters (optional)", f.parameters,
      "key=value, one a line (a value that is JSON is taken as JSON), " +
      "or one JSON object."),
    field("bf-type", "Type", f.type),
    field("bf-max-concurrent", "At most at once (optional)",
      f.max_concurrent, "1 to 10000; default 5; sequential: 1."),
    field("bf-priority", "Priority (optional)", f.priority,
      "1 (low) to 10 (high); default 5."),
    field("bf-max-cost", "Most it may cost, USD (optional)", f.max_cost),
    el("div", { class: "check" }, f.stop, el("label", { for: "bf-stop" },
      "Stop on failure (sequential only)")),
    el("div", { class: "check" }, f.draft, el("label", { for: "bf-draft" },
      "Draft: create it without starting")),
    err, el("div", { class: "buttons" }, btn));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    err.textContent = "";
    let params;
    try {
      params = formParams(f);
    } catch (e) {
      err.textContent = "The batch was not created: " + e.message;
      f.parameters.focus();
      return;
    }
    submit(ctx, p, err, btn, params, "the form");
  });
  return form;
}

function formParams(f) {
  const out = { name: f.name.value.trim(),
    operation: f.operation.value.trim(), type: f.type.value };
  if (f.count.value !== "")
    out.count = Number(f.count.value);
  const params = parameters(f.parameters.value);
  if (params)
    out.parameters = params;
  if (f.max_concurrent.value !== "")
    out.max_concurrent = Number(f.max_concurrent.value);
  if (f.priority.value !== "")
    out.priority = Number(f.priority.value);
  if (f.max_cost.value.trim() !== "")
    out.max_cost = f.max_cost.value.trim();
  if (f.stop.checked)
    out.stop_on_failure = true;
  if (f.draft.checked)
    out.draft = true;
  return out;
}
