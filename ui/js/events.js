// ui/js/events.js: the Events page, the journal followed live.  An
// EventSource on GET /v1/events (the session cookie; kinds, account and
// from_seq in the query) writes each event at the top of a table: its
// seq, its time in the browser's zone (UTC on hover), kind, account, a
// line of its body and the whole body under a <details>.  The stream's
// "start" and "end" events are said in words.  The page reconnects by
// itself, from the seq after the last one it passed (the start's
// from_seq, each event's seq, an end's resume_from), so that nothing is
// missed and nothing shown twice.  Pause stops the table, not the
// stream: what arrives meanwhile is held (and counted) until Resume.  At
// most MAX_ROWS rows are kept, drawn once a frame (a backlog of thousands
// is one change of the table).  The stream is closed when the page is
// left (its root taken out of the document) or rendered again.

import { el, empty } from "./format.js";

export const MAX_ROWS = 500;
const RETRY_MS = [1000, 2000, 5000, 10000, 30000];
// The filter, kept while the page is shown and between visits, and where
// to start (kept while the page is shown: a later visit starts from the
// records written from then on).
const view = { kinds: "", from: "" };
let live = null;		// the stream of the page shown, if any

export async function render(root, ctx) {
  if (live)
    live.stop();
  const page = { root, ctx, es: null, next: null, started: false,
    paused: false, held: [], heldCount: 0, tries: 0, timer: null,
    stopped: false, shown: 0, queue: [], frame: 0 };
  page.stop = () => stop(page);
  page.status = el("p", { id: "events-status", class: "status",
    role: "status", "aria-live": "polite" });
  page.error = el("p", { id: "events-error", class: "error",
    role: "alert" });
  page.tbody = el("tbody", {});
  page.pause = el("button", { type: "button", id: "events-pause",
    "aria-describedby": "events-held" }, "Pause");
  page.pause.addEventListener("click", () => togglePause(page));
  page.heldText = el("span", { id: "events-held", class: "muted" }, "");
  page.emptyText = empty("No events yet: they appear here as they are " +
    "written to the journal.");
  page.sec = el("section", { class: "events", "data-state": "connecting",
    "data-held": "0" },
  el("div", { class: "page-head" }, el("h1", {}, "Events"),
    el("div", { class: "events-live" }, page.pause, page.heldText)),
  filters(page),
  el("div", { class: "messages" }, page.status, page.error),
  el("p", { class: "muted events-bound", id: "events-bound" },
    `Newest first; the page keeps the last ${MAX_ROWS} events it showed.`),
  page.emptyText,
  el("div", { class: "scroll", tabindex: "0",
    "aria-labelledby": "events-bound" },
  el("table", { class: "events-table", "aria-describedby": "events-bound" },
    el("thead", {}, el("tr", {}, ...head(ctx).map((h) => el("th",
      { scope: "col" }, h)))), page.tbody)));
  root.replaceChildren(page.sec);
  live = page;
  watchLeave(page);
  connect(page, view.from ? Number(view.from) : null);
}

function head(ctx) {
  const h = ["Seq", "Time", "Kind", "Event"];
  if (!ctx.account)
    h.splice(3, 0, "Account");
  return h;
}

// The page is left when its root leaves the document (another page, an
// account switched, sign-out): the stream is closed then.
function watchLeave(page) {
  const host = page.root.parentNode;
  if (!host)
    return;
  const mo = new MutationObserver(() => {
    if (!page.root.isConnected) {
      mo.disconnect();
      stop(page);
      view.from = "";
    }
  });
  mo.observe(host, { childList: true });
  page.observer = mo;
}

function stop(page) {
  page.stopped = true;
  clearTimeout(page.timer);
  cancelAnimationFrame(page.frame);
  if (page.es)
    page.es.close();
  page.es = null;
  if (page.observer)
    page.observer.disconnect();
  if (live === page)
    live = null;
}

// The filter: kinds (events.watch's patterns) and where to start.
function filters(page) {
  const kinds = el("input", { id: "events-kinds", name: "kinds",
    type: "text", maxlength: "1000", spellcheck: "false",
    autocomplete: "off", placeholder: "run.*,budget.threshold",
    "aria-describedby": "events-kinds-help" });
  kinds.value = view.kinds;
  const from = el("input", { id: "events-from", name: "from_seq",
    type: "number", min: "1", step: "1", inputmode: "numeric",
    "aria-describedby": "events-kinds-help" });
  from.value = view.from;
  const form = el("form", { class: "filters", role: "search",
    "aria-label": "Filter events" },
  el("div", { class: "field" }, el("label", { for: "events-kinds" }, "Kinds"),
    kinds),
  el("div", { class: "field" }, el("label", { for: "events-from" },
    "From seq"), from),
  el("button", { id: "events-apply", type: "submit" }, "Follow"),
  el("p", { id: "events-kinds-help", class: "muted help" },
    "Kinds: comma-separated, each an exact kind (run.finished) or a " +
    "prefix ending in * or . (run.*); empty: every kind. From seq: the " +
    "first event to show (1: the whole journal); empty: those written " +
    "from now on."));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    view.kinds = kinds.value.replace(/\s+/g, "");
    view.from = from.value.trim();
    render(page.root, page.ctx);
  });
  return form;
}

function url(page, from) {
  const q = new URLSearchParams();
  if (view.kinds)
    q.set("kinds", view.kinds);
  if (page.ctx.account)
    q.set("account", page.ctx.account);
  if (from)
    q.set("from_seq", String(from));
  const s = q.toString();
  return "/v1/events" + (s ? "?" + s : "");
}

function state(page, s, words) {
  page.sec.dataset.state = s;
  if (words !== undefined)
    page.status.textContent = words;
}

// Open the stream from seq FROM (null: from now on).
function connect(page, from) {
  if (page.stopped)
    return;
  const u = url(page, from);
  const es = new EventSource(u);
  page.es = es;
  page.started = false;
  es.addEventListener("start", (e) => onStart(page, JSON.parse(e.data)));
  es.addEventListener("event", (e) => onEvent(page, JSON.parse(e.data)));
  es.addEventListener("end", (e) => onEnd(page, es, JSON.parse(e.data)));
  es.addEventListener("error", () => onError(page, es, u));
}

function onStart(page, s) {
  page.started = true;
  page.tries = 0;
  page.error.textContent = "";
  if (page.next === null || s.from_seq > page.next)
    page.next = s.from_seq;
  page.sec.dataset.next = String(page.next);
  page.sec.dataset.head = String(s.head_seq);
  state(page, "open", s.from_seq_adjusted ?
    `Following the journal from seq ${s.from_seq}, its first record ` +
    "kept: those before it are archived." :
    s.from_seq <= s.head_seq ? `Following the journal from seq ` +
    `${s.from_seq} (seq ${s.head_seq} was the newest when it started).` :
      `Following the journal: events from seq ${s.from_seq} on appear ` +
      "as they are written.");
}

function onEvent(page, ev) {
  if (page.next !== null && ev.seq < page.next)
    return;		/* had already */
  page.next = ev.seq + 1;
  if (page.paused) {
    page.held.push(ev);
    if (page.held.length > 2 * MAX_ROWS)
      page.held.splice(0, page.held.length - MAX_ROWS);
    page.heldCount++;
  } else {
    page.queue.push(ev);
    if (page.queue.length > 2 * MAX_ROWS)
      page.queue.splice(0, page.queue.length - MAX_ROWS);
  }
  frame(page);
}

const END_WORDS = {
  draining: "the daemon is draining (stopping)",
  stalled: "the page read too slowly and the daemon ended the stream",
  pruned: "the next records were archived while the page lagged behind",
  closed: "the stream was closed",
};

function onEnd(page, es, end) {
  es.close();
  page.sec.dataset.end = end.reason;
  if (typeof end.resume_from === "number" &&
    (page.next === null || end.resume_from > page.next))
    page.next = end.resume_from;
  page.sec.dataset.next = String(page.next);
  if (end.reason === "bad_record" || end.reason === "read_error") {
    state(page, "ended", "");
    page.error.textContent = end.reason === "bad_record" ?
      `The stream stopped: record ${end.seq ?? page.next} cannot be ` +
      `decoded (${end.error || "no detail"}); chime-journal verify says ` +
      "more." : `The stream stopped: the journal could not be read ` +
      `(${end.error || "no detail"}).`;
    return;
  }
  retry(page, (END_WORDS[end.reason] || `the stream ended (${end.reason})`));
}

// Reconnect after a wait, from the seq after the last one passed.
function retry(page, why) {
  if (page.stopped)
    return;
  const ms = RETRY_MS[Math.min(page.tries, RETRY_MS.length - 1)];
  page.tries++;
  state(page, "reconnecting", `${cap(why)}; reconnecting` +
    (page.next ? ` from seq ${page.next}` : "") + ` in ${ms / 1000} s.`);
  clearTimeout(page.timer);
  page.timer = setTimeout(() => connect(page, page.next), ms);
}

function cap(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// The stream failed.  Once started, the connection was lost: reconnect
// (from our seq, not EventSource's own retry).  Before its start, the
// daemon refused it: ask again with fetch to read why.
async function onError(page, es, u) {
  es.close();
  if (page.stopped || page.es !== es)
    return;
  if (page.started) {
    retry(page, "the connection to the daemon was lost");
    return;
  }
  const why = await refusal(u);
  if (page.stopped || page.es !== es)
    return;
  if (why.retry) {
    retry(page, why.text);
    return;
  }
  state(page, "error", "");
  page.error.textContent = why.text;
}

// Why GET U is refused, in words ({text, retry}).
async function refusal(u) {
  const ac = new AbortController();
  let res;
  try {
    res = await fetch(u, { credentials: "same-origin", signal: ac.signal });
  } catch {
    return { text: "the daemon cannot be reached", retry: true };
  }
  if (res.ok) {
    ac.abort();
    return { text: "the stream broke off", retry: true };
  }
  let j = null;
  try {
    j = await res.json();
  } catch {
    /* no body in words */
  }
  if (res.status === 401)
    return { text: "Not signed in (" + ((j && j.reason) || "no session") +
      "): sign in again to follow the events.", retry: false };
  const d = (j && j.data) || {};
  const text = (j && j.message ? j.message : `the daemon answered ` +
    `${res.status}`) + (d.reason ? ": " + (d.field ? d.field + " " : "") +
    d.reason : "");
  if (res.status === 503)
    return { text, retry: true };
  return { text: "The events cannot be followed: " + text + ".",
    retry: false };
}

function togglePause(page) {
  page.paused = !page.paused;
  page.pause.textContent = page.paused ? "Resume" : "Pause";
  if (!page.paused) {
    page.queue = page.queue.concat(page.held);
    page.held = [];
    page.heldCount = 0;
    frame(page);
  }
  heldSaid(page);
}

function heldSaid(page) {
  page.sec.dataset.held = String(page.heldCount);
  page.sec.dataset.paused = String(page.paused);
  if (!page.paused) {
    page.heldText.textContent = "";
    return;
  }
  const n = page.heldCount;
  page.heldText.textContent = `Paused: ${n} event${n === 1 ? "" : "s"} ` +
    "held" + (n > MAX_ROWS ? ` (the newest ${MAX_ROWS} will be shown)` :
    "") + "; the stream goes on.";
}

// Add EVENTS (in seq order) at the top, at once; keep MAX_ROWS rows.
function show(page, events) {
  const last = events.slice(-MAX_ROWS);
  const frag = document.createDocumentFragment();
  for (let i = last.length - 1; i >= 0; i--)
    frag.append(row(page, last[i]));
  page.tbody.prepend(frag);
  while (page.tbody.rows.length > MAX_ROWS)
    page.tbody.lastElementChild.remove();
  page.shown += events.length;
  page.emptyText.hidden = page.tbody.rows.length > 0;
  page.sec.dataset.rows = String(page.tbody.rows.length);
  page.sec.dataset.shown = String(page.shown);
}

// What came since the last frame, drawn in one go: a backlog of
// thousands is one change of the page, not thousands.
function frame(page) {
  if (page.frame)
    return;
  page.frame = requestAnimationFrame(() => {
    page.frame = 0;
    const evs = page.queue;
    page.queue = [];
    if (evs.length > 0)
      show(page, evs);
    page.sec.dataset.next = String(page.next);
    heldSaid(page);
  });
}

function row(page, ev) {
  const tr = el("tr", { "data-seq": String(ev.seq), "data-kind": ev.kind,
    "data-account": ev.account ?? "" });
  const cells = [el("td", { class: "seq" }, String(ev.seq)),
    el("td", {}, when(ev.time)),
    el("td", { class: "kind" }, el("code", {}, ev.kind)),
    el("td", { class: "body" }, body(ev))];
  if (!page.ctx.account)
    cells.splice(3, 0, el("td", {}, ev.account === null ?
      el("span", { class: "muted" }, "(the daemon)") : ev.account));
  tr.append(...cells);
  return tr;
}

// The record's time in the browser's zone, the UTC instant on hover.
function when(iso) {
  const d = new Date(iso);
  return el("time", { datetime: iso, title: iso + " (UTC)" },
    d.toLocaleString(undefined, { dateStyle: "medium",
      timeStyle: "medium" }));
}

// The keys that say most about an event, in this order, then the rest
// (not the microsecond instants, nor by_pid: the whole body has them).
const FIRST = ["name", "run_id", "id", "schedule", "subscription", "status",
  "state", "outcome", "operation", "model", "cost_usd", "percent",
  "error", "reason"];

function summary(b) {
  if (b === null || typeof b !== "object")
    return JSON.stringify(b);
  const keys = Object.keys(b);
  const order = FIRST.filter((k) => k in b)
    .concat(keys.filter((k) => !FIRST.includes(k)));
  const parts = [];
  for (const k of order) {
    const v = b[k];
    if (v === null || typeof v === "object" || k.endsWith("_us") ||
      k === "by_pid")
      continue;
    parts.push(`${k} ${typeof v === "string" ? v : JSON.stringify(v)}`);
    if (parts.length === 5)
      break;
  }
  const s = parts.join(", ");
  return s.length > 160 ? s.slice(0, 159) + "…" : s || "(no details)";
}

function body(ev) {
  return el("details", {}, el("summary", {}, summary(ev.body)),
    el("pre", { class: "event-json" }, JSON.stringify(ev, null, 2)));
}
