// ui/js/subscriptions.js: the Subscriptions page.  #/subscriptions lists
// subscription.list (url, kinds, state, last delivery and failure,
// counts, lag), with a form that calls subscription.create (a generated
// secret, which the answer shows once, is shown once here too and kept
// nowhere).  #/subscriptions/ID shows subscription.get and the last
// attempts of subscription.deliveries, read again when the journal says
// the subscription delivered, failed or was changed (an EventSource on
// GET /v1/events for its subscription.* records, closed when the page is
// left).  A token that may write gets Pause or Resume, Test and Delete
// (confirmed in a dialog); each is one call, its answer shown.  Nothing
// shown is computed here.

import { el, empty } from "./format.js";

function canWrite(ctx) {
  return ctx.session && ctx.session.scope === "write";
}

function idOf() {
  return (location.hash.match(/^#\/subscriptions\/(sub_[A-Za-z0-9]+)/) ||
    [])[1];
}

export async function render(root, ctx) {
  const page = { root, ctx, id: idOf(),
    status: el("p", { id: "subs-status", class: "status", role: "status",
      "aria-live": "polite" }),
    error: el("p", { id: "subs-error", class: "error", role: "alert" }),
    body: el("div", { class: "subs-body" }), dialog: confirmDialog() };
  page.sec = el("section", { class: "subscriptions",
    "data-state": "loading", "aria-busy": "true" });
  root.replaceChildren(page.sec);
  if (page.id)
    await detail(page);
  else
    await list(page);
}

function done(page, state) {
  page.sec.dataset.state = state;
  page.sec.setAttribute("aria-busy", "false");
  page.sec.dataset.gen = String(Number(page.sec.dataset.gen || 0) + 1);
}

// An instant in the browser's zone, the UTC instant on hover.
function when(iso, none = "never") {
  if (!iso)
    return el("span", { class: "muted" }, none);
  return el("time", { datetime: iso, title: iso + " (UTC)" },
    new Date(iso).toLocaleString(undefined, { dateStyle: "medium",
      timeStyle: "medium" }));
}

function kindsText(s) {
  return s.kinds.length === 0 ? "every kind" : s.kinds.join(", ");
}

const REASONS = {
  gone: "the receiver answered 410 Gone",
  failing: "attempts failed for 5 days",
};

function stateText(s) {
  if (s.state !== "disabled")
    return s.state;
  return "disabled: " + (REASONS[s.reason] || s.reason || "no reason");
}

function failureText(s) {
  if (!s.failing_since && !s.last_error)
    return el("span", { class: "muted" }, s.failed > 0 ?
      "none since the last delivery" : "none");
  const parts = [];
  if (s.last_status)
    parts.push(`status ${s.last_status}`);
  if (s.last_error)
    parts.push(s.last_error);
  const out = el("span", {}, parts.join(": ") || "failed");
  if (s.failing_since)
    out.append("; failing since ", when(s.failing_since));
  if (s.retry_at)
    out.append("; next attempt (", String(s.next_attempt), ") ",
      when(s.retry_at));
  return out;
}

// ---- the list ---------------------------------------------------------------

async function list(page) {
  const write = canWrite(page.ctx);
  page.secret = el("div", { id: "subs-secret", class: "card secret",
    hidden: "" });
  page.sec.append(el("div", { class: "page-head" },
    el("h1", {}, "Subscriptions")),
  el("p", { class: "muted" }, "Each subscription POSTs the account's " +
    "events to a URL, signed, in seq order, with retries (doc/events.md)."),
  write ? createForm(page) : el("p", { class: "muted", id: "subs-readonly" },
    "This session may only read: it cannot create or change " +
    "subscriptions."),
  page.secret, el("div", { class: "messages" }, page.status, page.error),
  page.body, page.dialog);
  page.reload = () => load(page);
  await load(page);
}

async function load(page) {
  page.sec.dataset.state = "loading";
  page.sec.setAttribute("aria-busy", "true");
  let res;
  try {
    res = await page.ctx.api.call("subscription.list",
      page.ctx.account ? { account: page.ctx.account } : {});
  } catch (e) {
    if (e.status === 401)
      return;
    page.body.replaceChildren();
    page.error.textContent = "The subscriptions could not be listed: " +
      e.message;
    done(page, "error");
    return;
  }
  page.body.replaceChildren(table(page, res.subscriptions));
  done(page, "ready");
}

function table(page, subs) {
  if (subs.length === 0)
    return empty(canWrite(page.ctx) ? "No subscriptions yet: create one " +
      "above (or with chimectl subscription create URL)." :
      "No subscriptions yet.");
  const head = ["ID", "URL", "Kinds", "State", "Last delivery",
    "Last failure", "Delivered", "Lag"];
  if (!page.ctx.account)
    head.splice(1, 0, "Account");
  if (canWrite(page.ctx))
    head.push("Actions");
  const tbody = el("tbody", {});
  for (const s of subs)
    tbody.append(row(page, s));
  return el("div", { class: "scroll", tabindex: "0",
    "aria-label": "Subscriptions" },
  el("table", { class: "subs-table" },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th",
      { scope: "col" }, h)))), tbody));
}

function counts(s) {
  return `${s.delivered} events in ${s.deliveries} POSTs` +
    (s.failed ? `, ${s.failed} failed attempts` : "");
}

function lag(s) {
  return s.lag_records === 0 ? "none" :
    `${s.lag_records} records, ${s.lag_seconds} s`;
}

function row(page, s) {
  const tr = el("tr", { "data-id": s.id, "data-state": s.state,
    "data-account": s.account });
  const cells = [
    el("th", { scope: "row" }, el("a", { href: `#/subscriptions/${s.id}` },
      s.id)),
    el("td", { class: "url" }, s.url),
    el("td", { class: "kinds" }, kindsText(s)),
    el("td", { class: "state" }, stateText(s)),
    el("td", {}, when(s.last_delivered)),
    el("td", { class: "failure" }, failureText(s)),
    el("td", { class: "delivered" }, counts(s)),
    el("td", {}, lag(s))];
  if (!page.ctx.account)
    cells.splice(1, 0, el("td", {}, s.account +
      (s.all_accounts ? " (all accounts)" : "")));
  tr.append(...cells);
  if (canWrite(page.ctx))
    tr.append(el("td", { class: "actions" }, actions(page, s, tr)));
  return tr;
}

// ---- create -----------------------------------------------------------------

function field(id, label, input, help) {
  input.id = id;
  if (help)
    input.setAttribute("aria-describedby", id + "-help");
  return el("div", { class: "field" }, el("label", { for: id }, label),
    input, help ? el("p", { id: id + "-help", class: "muted help" }, help) :
      "");
}

function createForm(page) {
  const admin = page.ctx.session.admin;
  const url = el("input", { name: "url", type: "url", required: "",
    maxlength: "2048", spellcheck: "false", autocomplete: "off",
    placeholder: "https://hooks.example/chime" });
  const kinds = el("input", { name: "kinds", type: "text",
    maxlength: "4096", spellcheck: "false", autocomplete: "off",
    placeholder: "run.*,budget.threshold" });
  const batch = el("input", { name: "batch", type: "number", min: "1",
    max: "100", step: "1", inputmode: "numeric", placeholder: "1" });
  const from = el("input", { name: "from_seq", type: "number", min: "1",
    step: "1", inputmode: "numeric" });
  const parts = [
    field("sub-url", "URL", url, "http or https; the daemon's address " +
      "filter applies (chimed --http-allow). Put no secret in it."),
    field("sub-kinds", "Kinds", kinds, "Comma-separated: exact kinds " +
      "(run.finished), prefixes ending .* (run.*), or * ; empty: every " +
      "kind. subscription.* is never sent."),
    field("sub-batch", "Events per POST", batch, "1 (empty): one event " +
      "object per POST; 2 to 100: a JSON array."),
    field("sub-from", "From seq", from, "The first seq it may be sent; " +
      "empty: the next record written; 1: the whole history.")];
  let secret = null;
  let all = null;
  if (admin) {
    secret = el("input", { name: "secret", type: "text", maxlength: "4096",
      spellcheck: "false", autocomplete: "off", placeholder: "generated" });
    parts.push(field("sub-secret-ref", "Secret", secret, "Empty: a new " +
      "generated secret, shown once. Or a reference holding one: " +
      "env:NAME, file:PATH, exec:COMMAND."));
  }
  if (admin && !page.ctx.account) {
    all = el("input", { id: "sub-all", name: "all_accounts",
      type: "checkbox" });
    parts.push(el("div", { class: "field check" }, all,
      el("label", { for: "sub-all" }, "Every account's records and the " +
        "daemon's (all accounts)")));
  }
  const submit = el("button", { type: "submit", id: "sub-create" },
    "Create");
  const form = el("form", { class: "card sub-create", id: "sub-form",
    "aria-labelledby": "sub-form-title", novalidate: "" },
  el("h2", { id: "sub-form-title" }, "New subscription"),
  el("p", { class: "muted" }, page.ctx.account ? `For the account ` +
    `${page.ctx.account}.` : "Under All accounts: tick all accounts, or " +
    "choose an account in the switcher."),
  el("div", { class: "filters" }, ...parts), submit);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    create(page, { form, url, kinds, batch, from, secret, all, submit });
  });
  return form;
}

async function create(page, f) {
  page.error.textContent = "";
  page.status.textContent = "";
  const p = { url: f.url.value.trim() };
  if (p.url === "") {
    page.error.textContent = "Give the URL to send the events to.";
    f.url.focus();
    return;
  }
  const kinds = f.kinds.value.replace(/\s+/g, "");
  if (kinds)
    p.kinds = kinds;
  if (f.batch.value.trim())
    p.batch = Number(f.batch.value);
  if (f.from.value.trim())
    p.from_seq = Number(f.from.value);
  if (f.secret && f.secret.value.trim())
    p.secret = f.secret.value.trim();
  if (page.ctx.account)
    p.account = page.ctx.account;
  else if (f.all && f.all.checked)
    p.all_accounts = true;
  else {
    page.error.textContent = "Choose an account in the switcher, or tick " +
      "all accounts.";
    (f.all || f.url).focus();
    return;
  }
  f.submit.disabled = true;
  try {
    const s = await page.ctx.api.call("subscription.create", p);
    f.form.reset();
    showSecret(page, s);
    page.status.textContent = `${s.id} is created: it sends ` +
      `${kindsText(s)} to ${s.url}.`;
    await load(page);
  } catch (e) {
    if (e.status !== 401)
      page.error.textContent = "The subscription was not created: " +
        e.message;
  } finally {
    f.submit.disabled = false;
  }
}

// A generated secret, as the answer gave it: shown this once.
function showSecret(page, s) {
  if (!s.secret) {
    page.secret.hidden = true;
    page.secret.replaceChildren();
    return;
  }
  const close = el("button", { type: "button", id: "subs-secret-done" },
    "I have kept it");
  close.addEventListener("click", () => {
    page.secret.replaceChildren();
    page.secret.hidden = true;
    document.getElementById("sub-url")?.focus();
  });
  page.secret.replaceChildren(
    el("h2", {}, `The signing secret of ${s.id}`),
    el("p", {}, "Shown this once: keep it now in the receiver, which " +
      "checks each delivery's signature with it. chime shows only its " +
      "fingerprint from now on, and this page keeps it nowhere."),
    el("code", { id: "subs-secret-value", class: "secret-value" }, s.secret),
    el("p", { class: "muted" }, "Fingerprint (SHA-256): " +
      s.secret_fingerprint), close);
  page.secret.hidden = false;
  close.focus();
}

// ---- actions ----------------------------------------------------------------

function button(action, text, label, fn) {
  const b = el("button", { type: "button", "data-action": action,
    "aria-label": label }, text);
  b.addEventListener("click", () => fn(b));
  return b;
}

function actions(page, s, tr) {
  const out = [];
  if (s.state === "active")
    out.push(button("pause", "Pause", `Pause ${s.id}`, (b) => act(page, b,
      tr, () => change(page, "subscription.pause", s, "is paused"))));
  else
    out.push(button("resume", "Resume", `Resume ${s.id}`, (b) => act(page,
      b, tr, () => change(page, "subscription.resume", s, "is resumed"))));
  out.push(button("test", "Test", `Send a test message to ${s.id}`,
    (b) => act(page, b, tr, () => test(page, s))));
  out.push(button("delete", "Delete", `Delete ${s.id}`,
    (b) => askDelete(page, s, tr, b)));
  return el("div", { class: "buttons" }, ...out);
}

// One action: the buttons off while it runs, then the API's answer (or
// the error, in words); the page is read again.
async function act(page, btn, tr, fn) {
  const all = tr.querySelectorAll("button");
  for (const b of all)
    b.disabled = true;
  page.error.textContent = "";
  page.status.textContent = "";
  const which = btn.dataset.action;
  try {
    const said = await fn();
    await page.reload();
    page.status.textContent = said;
    const again = page.sec.querySelector(`[data-id="${tr.dataset.id}"] ` +
      `[data-action="${which}"]`) || page.sec.querySelector(`[data-id="` +
      `${tr.dataset.id}"] button`);
    if (again)
      again.focus();
    else	/* it is gone: focus goes to the form */
      document.getElementById("sub-url")?.focus();
  } catch (e) {
    for (const b of all)
      b.disabled = false;
    if (e.status !== 401)
      page.error.textContent = `${btn.textContent} ${tr.dataset.id} ` +
        `failed: ${e.message}`;
    btn.focus();
  }
}

async function change(page, method, s, said) {
  await page.ctx.api.call(method, { id: s.id });
  return `${s.id} ${said}.`;
}

async function test(page, s) {
  const r = await page.ctx.api.call("subscription.test", { id: s.id });
  const t = r.test;
  return t.ok ? `Test of ${s.id}: the receiver answered ${t.status} in ` +
    `${t.latency_ms} ms.` : `Test of ${s.id} failed: ` + (t.error ||
    `the receiver answered ${t.status}`) + ` (${t.latency_ms} ms).`;
}

function confirmDialog() {
  return el("dialog", { id: "sub-delete-dialog",
    "aria-labelledby": "sub-delete-title",
    "aria-describedby": "sub-delete-what" },
  el("form", { method: "dialog", class: "dialog-form" },
    el("h2", { id: "sub-delete-title" }, "Delete"),
    el("p", { id: "sub-delete-what" }, ""),
    el("div", { class: "buttons" },
      el("button", { type: "submit", value: "ok", id: "sub-delete-ok",
        class: "danger" }, "Delete"),
      el("button", { type: "submit", value: "cancel",
        id: "sub-delete-cancel", autofocus: "" }, "Cancel"))));
}

function askDelete(page, s, tr, btn) {
  const d = page.dialog;
  d.querySelector("#sub-delete-title").textContent = `Delete ${s.id}?`;
  d.querySelector("#sub-delete-what").textContent = `The subscription ` +
    `${s.id} (account ${s.account}, to ${s.url}) stops at once; its ` +
    "generated secret and its record of attempts are removed. This " +
    "cannot be undone.";
  d.returnValue = "";
  d.addEventListener("close", () => {
    if (d.returnValue !== "ok") {
      btn.focus();
      return;
    }
    act(page, btn, tr, async () => {
      await page.ctx.api.call("subscription.delete", { id: s.id });
      if (page.id)
        location.hash = "#/subscriptions";
      return `${s.id} is deleted.`;
    });
  }, { once: true });
  d.showModal();
}

// ---- one subscription -------------------------------------------------------

async function detail(page) {
  page.sec.append(el("p", {}, el("a", { href: "#/subscriptions" },
    "← All subscriptions")),
  el("div", { class: "page-head" }, el("h1", {}, `Subscription ${page.id}`)),
  el("div", { class: "messages" }, page.status, page.error), page.body,
  page.dialog);
  page.reload = () => loadOne(page);
  await loadOne(page);
  if (page.sub)
    follow(page);
}

async function loadOne(page) {
  let s, d;
  try {
    [s, d] = await Promise.all([
      page.ctx.api.call("subscription.get", { id: page.id }),
      page.ctx.api.call("subscription.deliveries", { id: page.id,
        limit: 100 })]);
  } catch (e) {
    if (e.status === 401)
      return;
    if (!page.sub)
      page.body.replaceChildren();
    page.error.textContent = `The subscription ${page.id} could not be ` +
      `read: ${e.message}`;
    done(page, "error");
    return;
  }
  page.sub = s;
  const tr = el("div", { class: "sub-one", "data-id": s.id,
    "data-state": s.state });
  tr.append(facts(s));
  if (canWrite(page.ctx))
    tr.append(el("div", { class: "actions" }, actions(page, s, tr)));
  page.body.replaceChildren(tr, deliveries(d.deliveries));
  done(page, "ready");
}

function facts(s) {
  const rows = [
    ["Account", s.account + (s.all_accounts ? " (all accounts' records)" :
      "")],
    ["URL", s.url], ["Kinds", kindsText(s)],
    ["Events per POST", String(s.batch)], ["State", stateText(s)],
    ["Secret", `${s.secret}, fingerprint ${s.secret_fingerprint}`],
    ["Cursor", `seq ${s.cursor} acknowledged or passed`],
    ["Delivered", counts(s)], ["Lag", lag(s)],
    ["Last delivery", when(s.last_delivered)],
    ["Last failure", failureText(s)],
    ["Created", when(s.created)], ["Updated", when(s.updated)]];
  return el("dl", { class: "facts" }, ...rows.flatMap(([k, v]) => [
    el("dt", {}, k), el("dd", { "data-fact": k.toLowerCase() }, v)]));
}

function deliveries(list) {
  const h = el("h2", { id: "sub-deliveries-title" }, "Deliveries");
  if (list.length === 0)
    return el("div", {}, h, empty("No attempts yet: they appear here as " +
      "the events are sent (the page follows them)."));
  const head = ["At", "Outcome", "Seqs", "Events", "Attempt", "Status",
    "Latency", "Error"];
  const tbody = el("tbody", {});
  for (const a of list)
    tbody.append(el("tr", { "data-serial": String(a.serial),
      "data-outcome": a.outcome, "data-first": String(a.first_seq),
      "data-last": String(a.last_seq) },
    el("td", {}, when(a.at)),
    el("td", { class: `outcome outcome-${a.outcome}` }, a.outcome),
    el("td", {}, a.first_seq === a.last_seq ? String(a.first_seq) :
      `${a.first_seq}–${a.last_seq}`),
    el("td", {}, String(a.events)), el("td", {}, String(a.attempt)),
    el("td", {}, a.status ? String(a.status) : "none"),
    el("td", {}, `${a.latency_ms} ms`),
    el("td", {}, a.error || "")));
  return el("div", {}, h, el("p", { class: "muted" }, "The last attempts, " +
    "newest first (the daemon keeps 100)."),
  el("div", { class: "scroll", tabindex: "0",
    "aria-labelledby": "sub-deliveries-title" },
  el("table", { class: "subs-table" }, el("thead", {}, el("tr", {},
    ...head.map((x) => el("th", { scope: "col" }, x)))), tbody)));
}

// Read the subscription again when the journal has a subscription.*
// record of it; the stream is closed when the page is left.
function follow(page) {
  const q = new URLSearchParams({ kinds: "subscription.*",
    account: page.sub.account });
  const es = new EventSource("/v1/events?" + q);
  let pending = null;
  let again = false;
  const reread = () => {
    again = false;
    pending = loadOne(page).finally(() => {
      pending = null;
      if (again)
        reread();
    });
  };
  es.addEventListener("event", (e) => {
    const ev = JSON.parse(e.data);
    if (!ev.body || ev.body.subscription !== page.id)
      return;
    if (pending)
      again = true;
    else
      reread();
  });
  es.addEventListener("end", () => es.close());
  const host = page.root.parentNode;
  const mo = new MutationObserver(() => {
    if (!page.root.isConnected) {
      mo.disconnect();
      es.close();
    }
  });
  if (host)
    mo.observe(host, { childList: true });
}
