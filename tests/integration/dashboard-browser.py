#!/usr/bin/python3
"""tests/integration/dashboard-browser.py: the dashboard in headless
chromium, run by dashboard-browser.sh against its chimed.

Environment: CHIME_URL (the daemon's origin), CHIME_TOKEN_FILE and
CHIME_ADMIN_FILE (token.create's answers), CHIME_SUMMARIES (a folder of
summary-PERIOD.json, chimectl's analytics.summary for each period),
CHIME_SHOTS (where screenshots go), CHIMECTL (to see what the pages did
through the daemon's own client).  Prints PASS:/FAIL: lines; exits 1 if
a check failed, 77 if the browser cannot start.  Waits on conditions
(WebDriverWait), never sleeps.
"""
import json
import os
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlsplit

from dashboard_lib import (STALE, URL, WAIT, awaited, check, ctl, foreign,
                           requested, run, shot, sign_in, sign_out, token)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from selenium.common.exceptions import TimeoutException

TOKEN = token("CHIME_TOKEN_FILE")
ADMIN = token("CHIME_ADMIN_FILE")


def fixed1(x):
    """JavaScript's x.toFixed(1) for x >= 0 (ties away from zero)."""
    return str(Decimal(x).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def expected_cards(s):
    """The four cards as overview.js writes analytics.summary's figures."""
    c = s["current"]
    rate = c["success_rate"]
    lat = c["latency_avg_ms"]
    return {
        "cost": (c["cost_usd"], "$" + c["cost_usd"]),
        "runs": (str(c["runs"]), str(c["runs"])),
        "success_rate": ("" if rate is None else repr_js(rate),
                         "—" if rate is None else fixed1(rate * 100) + " %"),
        "latency": ("" if lat is None else repr_js(lat),
                    "—" if lat is None else fixed1(lat) + " ms"),
    }


def repr_js(x):
    """String(x) in JavaScript for the numbers the API sends."""
    if float(x).is_integer():
        return str(int(x))
    return repr(float(x))


def ui_prefs(account):
    """The account's UI document, as chimectl prefs get shows it."""
    out = subprocess.run([os.environ["CHIMECTL"], "--json", "prefs", "get",
                          "--account", account], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out).get("ui", {})


def overview_loaded(d, w, period):
    w.until(lambda _: d.find_element(By.CSS_SELECTOR, "#page .overview")
            .get_attribute("data-loaded") == period)


def cards_match(d, period):
    s = json.load(open(os.path.join(os.environ["CHIME_SUMMARIES"],
                                    "summary-%s.json" % period)))
    want = expected_cards(s)
    for fig, (raw, text) in want.items():
        v = d.find_element(By.CSS_SELECTOR,
                           '[data-figure="%s"] .value' % fig)
        got_raw = v.get_attribute("data-value")
        check("%s: the %s card holds analytics.summary's figure" %
              (period, fig), got_raw == raw and v.text == text,
              "page %r / %r, API %r / %r" % (got_raw, v.text, raw, text))


def runs_of(name):
    return ctl("schedule", "runs", name, "--account", "acme")["runs"]


SCHED = "#page section.schedules"


def sched_gen(d):
    try:
        return d.find_element(By.CSS_SELECTOR, SCHED).get_attribute(
            "data-gen")
    except STALE:
        return None


def sched_loaded(d, w, before=None):
    """Await the Schedules page's next list (another than BEFORE's)."""
    WebDriverWait(d, WAIT, ignored_exceptions=STALE).until(
        lambda _: d.find_element(By.CSS_SELECTOR, SCHED).get_attribute(
            "data-state") in ("ready", "error") and sched_gen(d) != before)


def sched_names(d):
    return [r.get_attribute("data-name") for r in
            d.find_elements(By.CSS_SELECTOR, SCHED + " tbody tr")]


def sched_row(d, name):
    return d.find_element(By.CSS_SELECTOR,
                          SCHED + ' tbody tr[data-name="%s"]' % name)


def sched_filter(d, w, state="", name="", limit="25"):
    before = sched_gen(d)
    Select(d.find_element(By.ID, "sched-state")).select_by_value(state)
    field = d.find_element(By.ID, "sched-name")
    field.clear()
    if name:
        field.send_keys(name)
    Select(d.find_element(By.ID, "sched-limit")).select_by_value(limit)
    d.find_element(By.ID, "sched-apply").click()
    sched_loaded(d, w, before)


def row_state(d, name, state):
    try:
        return sched_row(d, name).get_attribute("data-state") == state
    except STALE:
        return False


def sched_list(d, w):
    """The list against chimectl's: order, zone, next fire, last run."""
    want = [s["name"] for s in ctl("schedule", "ls", "--account", "acme",
                                   "--limit", "25")["schedules"]]
    check("the Schedules page lists acme's schedules in the API's order",
          sched_names(d) == want, "%s / %s" % (sched_names(d), want))
    later = ctl("schedule", "get", "later", "--account", "acme")
    t = sched_row(d, "later").find_element(By.TAG_NAME, "time")
    check("a next fire shows in the schedule's zone, UTC on hover",
          t.text.startswith("2030-01-15 09:30:00 Europe/Paris") and
          later["next_fire"] in t.get_attribute("title"),
          "%r / %r, API %s" % (t.text, t.get_attribute("title"),
                               later["next_fire"]))
    last = sched_row(d, "ok").find_element(By.CSS_SELECTOR, ".last-run").text
    check("the last run's status is schedule.runs's",
          last == runs_of("ok")[0]["status"], last)
    check("a schedule never run says so",
          sched_row(d, "job1").find_element(By.CSS_SELECTOR,
                                            ".last-run").text == "no run yet")


def sched_sorts(d, w):
    """The column heads order the list as schedule.list's sort does."""
    for key, first, label in (("cost_month", "cost_month",
                               "the cost this month"),
                              ("next_fire", "next_fire", "the next fire")):
        for sort in (first, "-" + first):
            before = sched_gen(d)
            d.find_element(By.CSS_SELECTOR,
                           'button.sort[data-sort="%s"]' % key).click()
            sched_loaded(d, w, before)
            want = [x["name"] for x in ctl(
                "schedule", "ls", "--account", "acme", "--limit", "25",
                "--sort", sort)["schedules"]]
            head = d.find_element(By.CSS_SELECTOR,
                                  'button.sort[data-sort="%s"]' % key)
            th = head.find_element(By.XPATH, "..")
            check("ordered by %s (%s): the rows are schedule.list's" %
                  (label, sort), sched_names(d) == want,
                  "%s / %s" % (sched_names(d), want))
            check("... the head says so (aria-sort %s)" %
                  ("descending" if sort.startswith("-") else "ascending"),
                  th.get_attribute("aria-sort") ==
                  ("descending" if sort.startswith("-") else "ascending"))
            check("... and the focus stays on it",
                  d.switch_to.active_element == head)
    shot(d, "08b-schedules-sorted")
    before = sched_gen(d)
    d.find_element(By.CSS_SELECTOR, 'button.sort[data-sort="name"]').click()
    sched_loaded(d, w, before)
    words = ctl("schedule", "get", "later", "--account", "acme")
    cell = sched_row(d, "later").find_element(By.CSS_SELECTOR, "td.trigger")
    check("the trigger in words is the API's trigger_words",
          cell.text == words["trigger_words"] and
          words["spec"] in cell.get_attribute("title"),
          "%r / %r" % (cell.text, words["trigger_words"]))


def sched_filters(d, w):
    sched_filter(d, w, name="job*")
    names = sched_names(d)
    check("the name filter (a glob) lists only the names matching",
          len(names) == 8 and all(n.startswith("job") for n in names),
          str(names))
    sched_filter(d, w, name="nomatch*")
    check("an empty list is explained in words",
          "No schedule passes these filters" in
          d.find_element(By.CSS_SELECTOR, SCHED + " .empty").text)
    sched_filter(d, w, limit="10")
    first = sched_names(d)
    want = [s["name"] for s in ctl("schedule", "ls", "--account", "acme",
                                   "--limit", "25")["schedules"]]
    check("a page holds as many as asked", first == want[:10], str(first))
    before = sched_gen(d)
    d.find_element(By.ID, "sched-next").click()
    sched_loaded(d, w, before)
    check("Next shows the page after (schedule.list's cursor)",
          sched_names(d) == want[10:], str(sched_names(d)))
    check("... and it is the last", not d.find_element(
        By.ID, "sched-next").is_enabled())
    before = sched_gen(d)
    d.find_element(By.ID, "sched-prev").click()
    sched_loaded(d, w, before)
    check("Previous shows the first page again", sched_names(d) == first)
    sched_filter(d, w, state="paused")
    check("the state filter: no paused schedule yet", sched_names(d) == [])
    sched_filter(d, w)


def sched_pause_resume(d, w):
    note = "mailbox migration"
    pause = sched_row(d, "ok").find_element(By.CSS_SELECTOR,
                                             '[data-action="pause"]')
    pause.click()
    w.until(EC.visibility_of_element_located((By.ID, "pause-dialog")))
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    w.until(EC.invisibility_of_element_located((By.ID, "pause-dialog")))
    check("Escape closes the dialog, pauses nothing, focus back on Pause",
          ctl("schedule", "get", "ok", "--account", "acme")["state"] ==
          "active" and d.switch_to.active_element == pause)
    sched_row(d, "ok").find_element(
        By.CSS_SELECTOR, '[data-action="pause"]').click()
    dialog = w.until(EC.visibility_of_element_located(
        (By.ID, "pause-dialog")))
    check("Pause asks for a note in a dialog, the field focused",
          d.switch_to.active_element.get_attribute("id") == "pause-note")
    d.switch_to.active_element.send_keys(note)
    shot(d, "09-schedules-pause")
    dialog.find_element(By.ID, "pause-ok").click()
    awaited(d, "the row shows ok paused",
            lambda: row_state(d, "ok", "paused"))
    got = ctl("schedule", "get", "ok", "--account", "acme")
    check("chimectl schedule get: paused, with the note",
          got["state"] == "paused" and got.get("pause_note") == note,
          "%s / %r" % (got["state"], got.get("pause_note")))
    check("the row says the note", note in sched_row(d, "ok").find_element(
        By.CSS_SELECTOR, ".state").text)
    sched_filter(d, w, state="paused")
    check("the state filter lists the paused one", sched_names(d) == ["ok"],
          str(sched_names(d)))
    resume = sched_row(d, "ok").find_element(By.CSS_SELECTOR,
                                              '[data-action="resume"]')
    resume.send_keys(Keys.ENTER)	# the keyboard, not the mouse
    awaited(d, "Resume (Enter on the button) makes the row active",
            lambda: row_state(d, "ok", "active"))
    got = ctl("schedule", "get", "ok", "--account", "acme")
    check("chimectl schedule get: active again, no pause note",
          got["state"] == "active" and got.get("pause_note") is None,
          "%s / %r" % (got["state"], got.get("pause_note")))
    sched_filter(d, w)


def sched_trigger(d, w):
    before = len(runs_of("ok"))
    sched_row(d, "ok").find_element(
        By.CSS_SELECTOR, '[data-action="trigger"]').click()
    awaited(d, "Trigger now: chimectl schedule runs shows one more run",
            lambda: len(runs_of("ok")) == before + 1)
    run = runs_of("ok")[0]["run_id"]
    awaited(d, "... and the page names the run",
            lambda: run in d.find_element(By.ID, "sched-status").text)


def sched_delete(d, w):
    def ask():
        sched_row(d, "doomed").find_element(
            By.CSS_SELECTOR, '[data-action="delete"]').click()
        return w.until(EC.visibility_of_element_located(
            (By.ID, "delete-dialog")))
    dialog = ask()
    check("the confirmation starts on Cancel",
          d.switch_to.active_element.get_attribute("id") == "delete-cancel")
    dialog.find_element(By.ID, "delete-cancel").click()
    w.until(EC.invisibility_of_element_located((By.ID, "delete-dialog")))
    check("Cancel in the confirmation deletes nothing",
          ctl("schedule", "get", "doomed", "--account", "acme") is not None
          and "doomed" in sched_names(d))
    ask().find_element(By.ID, "delete-ok").click()
    awaited(d, "Delete, confirmed: the row goes",
            lambda: "doomed" not in sched_names(d))
    check("... and chimectl schedule get finds it no more",
          ctl("schedule", "get", "doomed", "--account", "acme") is None)
    # an error from the API, in words: job8 deleted behind the page's back
    ctl("schedule", "delete", "job8", "--account", "acme")
    sched_row(d, "job8").find_element(
        By.CSS_SELECTOR, '[data-action="pause"]').click()
    w.until(EC.visibility_of_element_located((By.ID, "pause-dialog")))
    d.find_element(By.ID, "pause-ok").click()
    awaited(d, "an action the API refuses says why in words",
            lambda: "no such schedule" in
            d.find_element(By.ID, "sched-error").text)


def schedules_page(d, w):
    d.find_element(By.CSS_SELECTOR, '#nav a[data-page="schedules"]').click()
    sched_loaded(d, w)
    shot(d, "08-schedules")
    sched_list(d, w)
    sched_sorts(d, w)
    sched_filters(d, w)
    sched_pause_resume(d, w)
    sched_trigger(d, w)
    sched_delete(d, w)
    d.set_window_size(390, 844)
    before = sched_gen(d)
    d.refresh()
    sched_loaded(d, w, before)
    wide = d.execute_script("return [document.documentElement"
                            ".scrollWidth, window.innerWidth]")
    shot(d, "10-schedules-phone")
    check("the Schedules page is no wider than a phone's window",
          wide[0] <= wide[1], "page %d px, window %d px" % tuple(wide))
    d.set_window_size(1280, 1000)


def schedules_read_only(d, w):
    d.get(URL + "/ui/#/schedules")
    sched_loaded(d, w)
    names = sched_names(d)
    check("a read-only admin's Schedules page lists every account's",
          "theirs" in names and "ok" in names, str(names))
    check("... and offers no write action",
          not d.find_elements(By.CSS_SELECTOR, SCHED + " [data-action]"))
    shot(d, "11-schedules-read-only")


def main(d, w):
    d.get(URL + "/")
    w.until(EC.visibility_of_element_located((By.ID, "signin-token")))
    shot(d, "01-signin")
    check("/ shows the sign-in form at /ui/",
          urlsplit(d.current_url).path == "/ui/")

    sign_in(d, w, "chime_not_a_real_token_000000000000")
    err = w.until(lambda _: d.find_element(By.ID, "signin-error").text)
    check("a bad token is refused in words", "Not signed in" in err, err)
    shot(d, "02-signin-refused")

    sign_in(d, w, TOKEN)
    w.until(EC.visibility_of_element_located((By.ID, "app")))
    overview_loaded(d, w, "month")
    shot(d, "03-overview-month")
    check("no token in the address", TOKEN not in d.current_url)
    cookies = {c["name"]: c for c in d.get_cookies()}
    sc = cookies.get("chime_session", {})
    check("the session cookie is HttpOnly and SameSite=Strict",
          sc.get("httpOnly") is True and sc.get("sameSite") == "Strict",
          str(sc))
    cards_match(d, "month")
    for period in ("week", "quarter", "year"):
        d.find_element(By.CSS_SELECTOR,
                       'button[data-period="%s"]' % period).click()
        overview_loaded(d, w, period)
        cards_match(d, period)
    shot(d, "04-overview-year")
    Select(d.find_element(By.ID, "theme-select")).select_by_value("dark")
    w.until(lambda _: d.find_element(By.TAG_NAME, "html")
            .get_attribute("data-theme") == "dark")
    overview_loaded(d, w, "year")
    try:
        WebDriverWait(d, WAIT, poll_frequency=0.1).until(
            lambda _: ui_prefs("acme").get("color_scheme") == "dark")
        check("the dark theme is applied and kept in prefs (set_ui)",
              True)
    except TimeoutException:
        check("the dark theme is applied and kept in prefs (set_ui)",
              False, str(ui_prefs("acme")))
    shot(d, "04b-overview-dark")
    w.until(EC.presence_of_element_located(
        (By.CSS_SELECTOR, "#page canvas")))
    check("the charts are drawn (Chart.js loaded from chimed)",
          d.execute_script("return typeof window.Chart") == "function")
    check("the model table lists the operations",
          "quick" in d.find_element(By.CSS_SELECTOR,
                                    '[aria-labelledby="models-h"] table')
          .text)
    check("the pace shows the account's cap",
          len(d.find_elements(By.CSS_SELECTOR, ".pace meter")) >= 1)

    d.set_window_size(390, 844)
    toggle = w.until(EC.visibility_of_element_located(
        (By.ID, "nav-toggle")))
    toggle.click()
    w.until(EC.visibility_of_element_located(
        (By.CSS_SELECTOR, '#nav a[data-page="overview"]')))
    shot(d, "05-overview-phone")
    check("at phone width the navigation opens from its button", True)
    wide = d.execute_script("return [document.documentElement"
                            ".scrollWidth, window.innerWidth]")
    check("... and nothing is wider than the window", wide[0] <= wide[1],
          "page %d px, window %d px" % tuple(wide))
    d.set_window_size(1280, 1000)

    schedules_page(d, w)

    csp = [e["message"] for e in d.get_log("browser")
           if "Content Security Policy" in e["message"]]
    check("nothing the page does breaks its Content-Security-Policy",
          not csp, "; ".join(csp[:3]))

    urls = requested(d)
    bad = foreign(urls)
    check("every request stays on the daemon's origin (%d seen)" %
          len(urls), len(urls) > 0 and not bad, ", ".join(bad[:5]))
    check("no request carries the token", not any(TOKEN in u
                                                 for u in urls))

    sign_out(d, w)
    shot(d, "06-signed-out")
    check("sign out forgets the cookie",
          d.get_cookie("chime_session") is None)
    d.refresh()
    w.until(EC.visibility_of_element_located((By.ID, "signin-token")))
    check("... and a reload asks to sign in again", True)

    sign_in(d, w, ADMIN)
    sel = w.until(EC.visibility_of_element_located(
        (By.ID, "account-select")))
    overview_loaded(d, w, "month")
    names = [o.get_attribute("value") for o in
             sel.find_elements(By.TAG_NAME, "option")]
    check("an admin's account switcher lists the accounts",
          "acme" in names and "other" in names, str(names))
    shot(d, "07-admin")
    schedules_read_only(d, w)
    bad = foreign(requested(d))
    check("... and still nothing from another origin", not bad,
          ", ".join(bad[:5]))


run(main)
