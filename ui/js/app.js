// ui/js/app.js: the dashboard's shell.  At load it asks who is signed in
// (GET /v1/session): nobody, the sign-in form; else the layout (the
// navigation, an admin's account switcher, the theme, sign out) and the
// page of the address's fragment (#/overview, #/schedules, #/batches,
// #/runs, #/events, #/subscriptions, #/settings).  The look (theme.js) is
// the account's UI preferences.  A page is a module with
// render(root, ctx); ctx holds the session, the account chosen (null: all
// an admin may see) and the API.  A page that holds something open (an
// event stream) exports leave(), called before any page is drawn.

import * as api from "./api.js";
import * as overview from "./overview.js";
import * as schedules from "./schedules.js";
import * as batches from "./batches.js";
import * as events from "./events.js";
import * as subscriptions from "./subscriptions.js";
import * as runs from "./runs.js";
import * as settings from "./settings.js";
import * as theme from "./theme.js";

const pages = { overview, schedules, batches, runs, events, subscriptions,
  settings };
const $ = (id) => document.getElementById(id);
const ctx = { session: null, account: null, api };
let rendering = 0;

function showSignIn(message) {
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  $("signin-token").value = "";
  $("signin-token").focus();
}

async function onSignIn(ev) {
  ev.preventDefault();
  const token = $("signin-token").value.trim();
  if (token === "") {
    $("signin-error").textContent = "Enter a token to sign in.";
    $("signin-token").focus();
    return;
  }
  $("signin-submit").disabled = true;
  $("signin-error").textContent = "";
  try {
    ctx.session = await api.signIn(token);
    $("signin-token").value = "";
    await start();
  } catch (e) {
    $("signin-error").textContent = e.message;
    $("signin-token").select();
  } finally {
    $("signin-submit").disabled = false;
  }
}

// A page that holds something open (an event stream) lets it go.
function leavePages() {
  for (const p of Object.values(pages))
    p.leave?.();
}

async function onSignOut() {
  leavePages();
  await api.signOut();
  ctx.session = null;
  ctx.account = null;
  $("page").replaceChildren();
  showSignIn("You are signed out.");
}

// An admin chooses the account; everyone else sees theirs.
async function fillAccounts() {
  const sel = $("account-select");
  sel.replaceChildren();
  if (!ctx.session.admin) {
    ctx.account = ctx.session.account;
    sel.hidden = $("account-label").hidden = true;
    return;
  }
  const all = new Option("All accounts", "");
  sel.append(all);
  const { accounts } = await api.call("account.list");
  for (const a of accounts)
    sel.append(new Option(a.name, a.name));
  sel.value = ctx.account || "";
  sel.hidden = $("account-label").hidden = false;
}

// The account's UI preferences for the look (theme, accent colour,
// compact mode), when it has an account (theme.js keeps them in the
// browser too, so that the next load starts with them).
async function loadTheme() {
  theme.applyStored();
  if (!ctx.account)
    return;
  try {
    const p = await api.call("prefs.get", { account: ctx.account });
    if (theme.applyUi(p.ui || {}))
      restyled();
  } catch {
    /* the local choice stays */
  }
}

// The colours changed: a page that follows them itself is told, the
// others are drawn again (the charts take the theme's colours).
function restyled() {
  const page = pages[route()];
  if (page.onTheme)
    page.onTheme();
  else
    render();
}

async function onTheme() {
  const scheme = $("theme-select").value;
  theme.applyScheme(scheme);
  restyled();
  if (ctx.account && ctx.session.scope === "write") {
    try {
      await api.call("prefs.set_ui", { account: ctx.account,
        color_scheme: scheme });
    } catch (e) {
      $("page-error").textContent = "The theme is not saved: " + e.message;
    }
  }
}

function route() {
  const name = (location.hash.match(/^#\/([a-z]+)/) || [])[1];
  return pages[name] ? name : "overview";
}

async function render() {
  const name = route();
  const mine = ++rendering;
  leavePages();
  for (const a of document.querySelectorAll("#nav a"))
    a.toggleAttribute("aria-current", a.dataset.page === name);
  $("page-error").textContent = "";
  const root = document.createElement("div");
  $("page").replaceChildren(root);
  try {
    await pages[name].render(root, ctx);
  } catch (e) {
    if (mine === rendering && e.status !== 401)
      $("page-error").textContent = "This page could not be loaded: " +
        e.message;
  }
}

async function start() {
  const s = ctx.session;
  $("signin").hidden = true;
  $("app").hidden = false;
  $("who").textContent = s.admin ? "admin (" + s.scope + ")" :
    s.account + " (" + s.scope + ")";
  await fillAccounts();
  loadTheme();		/* the page need not wait for it */
  await render();
  $("main").focus();
}

function wire() {
  $("signin-form").addEventListener("submit", onSignIn);
  $("signout").addEventListener("click", onSignOut);
  $("theme-select").addEventListener("change", onTheme);
  $("account-select").addEventListener("change", (ev) => {
    ctx.account = ev.target.value || null;
    loadTheme().then(render);
  });
  $("nav-toggle").addEventListener("click", () => {
    const open = $("nav-toggle").getAttribute("aria-expanded") !== "true";
    $("nav-toggle").setAttribute("aria-expanded", String(open));
    $("nav").classList.toggle("open", open);
  });
  window.addEventListener("hashchange", () => {
    $("nav-toggle").setAttribute("aria-expanded", "false");
    $("nav").classList.remove("open");
    if (ctx.session)
      render();
  });
  api.onSignedOut((e) => {
    leavePages();
    ctx.session = null;
    showSignIn(e.message);
  });
}

async function boot() {
  wire();
  theme.applyStored();
  try {
    ctx.session = await api.session();
  } catch (e) {
    showSignIn(e.message);
    return;
  }
  if (ctx.session === null)
    showSignIn("");
  else
    await start();
}

boot();
