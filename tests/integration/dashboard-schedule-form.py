#!/usr/bin/python3
"""tests/integration/dashboard-schedule-form.py: the schedule form and a
schedule's page in headless chromium, run by dashboard-schedule-form.sh
against its chimed.

Environment: CHIME_URL, CHIME_SHOTS, CHIMECTL (dashboard_lib), and
CHIME_TOKEN_FILE, CHIME_OTHER_FILE and CHIME_READER_FILE (token.create's
answers: a write token of the account acme, one of the account other, a
read token of acme).  Prints PASS:/FAIL:
lines; waits on conditions, never sleeps.
"""
from dashboard_lib import (STALE, URL, awaited, check, ctl, phone_fits, run,
                           shot, sign_out, signed_in, token, until)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

TOKEN = token("CHIME_TOKEN_FILE")
OTHER = token("CHIME_OTHER_FILE")
READER = token("CHIME_READER_FILE")
FORM = "#page section.schedule-form"
PAGE = "#page section.schedule-page"
CRON = "30 2 * 3 0"		# Sundays of March at 02:30: one is in the gap
ZONE = "America/New_York"


def attr(d, css, name):
    try:
        return d.find_element(By.CSS_SELECTOR, css).get_attribute(name)
    except STALE:
        return None


def preview_after(d, gen):
    """Await a preview other than GEN's; its state."""
    until(d, lambda: attr(d, "#sf-preview", "data-gen") != gen and
          attr(d, "#sf-preview", "data-state") in ("ready", "error"))
    return attr(d, "#sf-preview", "data-state")


def typed(d, id_, text):
    """Replace the text of field ID_ with TEXT; the preview's generation
    before it."""
    gen = attr(d, "#sf-preview", "data-gen")
    f = d.find_element(By.ID, id_)
    f.send_keys(Keys.CONTROL, "a")
    f.send_keys(Keys.DELETE)
    f.send_keys(text)
    return gen


def page_loaded(d, before=None):
    until(d, lambda: attr(d, PAGE, "data-state") in ("ready", "error") and
          attr(d, PAGE, "data-gen") != before)


def fires_shown(d):
    return [(li.get_attribute("data-utc"), li.get_attribute("data-local"),
             li.get_attribute("data-dst"))
            for li in d.find_elements(By.CSS_SELECTOR, "#sf-fires li")]


def new_form(d, w):
    d.get(URL + "/ui/#/schedules")
    w.until(EC.element_to_be_clickable((By.ID, "sched-new"))).click()
    until(d, lambda: attr(d, FORM, "data-state") == "ready")
    check("New schedule opens the form", "#/schedules/new" in d.current_url)
    until(d, lambda: attr(d, "#sf-preview", "data-gen") is not None)


def bad_cron(d, w):
    Select(d.find_element(By.ID, "sf-operation")).select_by_value("quick")
    typed(d, "sf-name", "dst-probe")
    gen = typed(d, "sf-cron", "61 2 * 3 0")
    state = preview_after(d, gen)
    err = d.find_element(By.ID, "sf-preview-error").text
    check("a bad cron: the preview says the API's reason in words",
          state == "error" and "bad minute field" in err, err)
    d.find_element(By.ID, "sf-save").click()
    awaited(d, "Create with it: the reason next to the cron field",
            lambda: "bad minute field" in
            d.find_element(By.ID, "sf-cron-error").text)
    check("... the field marked and focused",
          d.switch_to.active_element.get_attribute("id") == "sf-cron" and
          d.find_element(By.ID, "sf-cron").get_attribute("aria-invalid") ==
          "true")
    shot(d, "schedform-01-bad-cron")
    check("... and nothing was created",
          ctl("schedule", "get", "dst-probe", "--account", "acme") is None)
    gen = typed(d, "sf-tz", "Mars/Base")
    typed(d, "sf-cron", CRON)
    preview_after(d, gen)
    awaited(d, "an unknown zone: the preview names it",
            lambda: "Mars/Base" in
            d.find_element(By.ID, "sf-preview-error").text)


def preview(d, w):
    gen = typed(d, "sf-tz", ZONE + Keys.TAB)	# past the zones' list
    check("the preview is ready for a good cron and zone",
          preview_after(d, gen) == "ready",
          d.find_element(By.ID, "sf-preview-error").text)
    Select(d.find_element(By.ID, "sf-count")).select_by_value("10")
    got = fires_shown(d)
    want = ctl("schedule", "next", "--account", "acme", "--op", "quick",
               "--cron", CRON, "--tz", ZONE, "--count", "10")["next"]
    check("the preview's fires are chimectl schedule next's",
          got == [(n["utc"], n["local"], n["dst"]) for n in want],
          "%s / %s" % (got[:3], want[:3]))
    shifted = d.find_elements(By.CSS_SELECTOR,
                              '#sf-fires li[data-dst="shifted"]')
    check("a DST-shifted fire is marked, in words",
          len(shifted) >= 1 and "does not exist" in shifted[0].text,
          str([s.text for s in shifted]))
    t = shifted[0].find_element(By.TAG_NAME, "time") if shifted else None
    check("... in the zone's wall time, UTC on hover",
          t is not None and ZONE in t.text and
          t.get_attribute("title").startswith(
              shifted[0].get_attribute("data-utc")))
    dry = ctl("schedule", "create", "--account", "acme", "--name",
              "dst-probe", "--op", "quick", "--cron", CRON, "--tz", ZONE,
              "--dry-run")
    e = d.find_element(By.ID, "sf-run-cost")
    check("the preview's estimate is schedule create --dry-run's",
          dry is not None and
          [e.get_attribute("data-" + k) for k in ("low", "mid", "high")] ==
          [dry["estimate_usd"][k] for k in ("low", "mid", "high")] and
          d.find_element(By.ID, "sf-projection").get_attribute(
              "data-usd") == dry["projected_month_usd"],
          "%s / %s" % (e.text, dry))
    shot(d, "schedform-02-preview")


def create(d, w):
    d.find_element(By.ID, "sf-save").click()
    until(d, lambda: attr(d, PAGE, "data-state") == "ready")
    got = ctl("schedule", "get", "dst-probe", "--account", "acme")
    check("Create: chimectl schedule get finds it as the form said",
          got is not None and got["trigger"] == "cron" and
          got["spec"] == CRON and got["tz"] == ZONE and
          got["operation"] == "quick", str(got))
    check("... and the page is the schedule's",
          got is not None and d.current_url.endswith(
              "#/schedules/" + got["id"]) and
          d.find_element(By.CSS_SELECTOR, PAGE + " h1").text == "dst-probe")
    shot(d, "schedform-03-created")
    return got["id"] if got else ""


def edit(d, w, sid):
    d.find_element(By.CSS_SELECTOR, PAGE + ' [data-action="edit"]').click()
    until(d, lambda: attr(d, FORM, "data-state") == "ready")
    check("Edit: the form holds the schedule",
          d.find_element(By.ID, "sf-cron").get_attribute("value") == CRON
          and d.find_element(By.ID, "sf-tz").get_attribute("value") == ZONE)
    typed(d, "sf-cron", "0 3 * 3 0")
    typed(d, "sf-max-cost", "2.5")
    d.find_element(By.ID, "sf-save").click()
    until(d, lambda: attr(d, PAGE, "data-state") == "ready")
    got = ctl("schedule", "get", sid, "--account", "acme")
    check("Save: chimectl sees the new cron and cap, the same zone",
          got["spec"] == "0 3 * 3 0" and
          got["max_cost_month_usd"] == "2.500000" and got["tz"] == ZONE,
          str(got))
    check("... and the page says the cap",
          d.find_element(By.CSS_SELECTOR,
                         '#sp-settings [data-key="max_cost_month_usd"]')
          .text == "$2.500000")


def runs(d, w):
    sid = ctl("schedule", "get", "ran", "--account", "acme")["id"]
    d.get(URL + "/ui/#/schedules/" + sid)
    page_loaded(d)
    want = ctl("schedule", "runs", "ran", "--account", "acme",
               "--limit", "50")["runs"]
    rows = d.find_elements(By.CSS_SELECTOR, "#sp-runs tbody tr")
    got = [(r.get_attribute("data-run"), r.get_attribute("data-status"))
           for r in rows]
    check("a schedule's page lists chimectl schedule runs's runs",
          got == [(r["run_id"], r["status"]) for r in want] and got,
          "%s / %s" % (got, want))
    cost = rows[0].find_element(By.CSS_SELECTOR, ".cost").text if rows else ""
    t = rows[0].find_element(By.CSS_SELECTOR, ".scheduled time") \
        if rows else None
    check("... with the cost and the time in the zone, UTC on hover",
          cost == "$" + want[0]["cost_usd"] and t is not None and
          t.get_attribute("datetime") == want[0]["scheduled_for"],
          cost)
    shot(d, "schedform-04-runs")
    phone_fits(d, "a schedule's page is no wider than a phone's window",
               "schedform-08-page-phone")


def holds(d, secret):
    """Whether the page holds SECRET anywhere: markup, text, or the value
    of a field."""
    return d.execute_script(
        "const s = arguments[0];"
        "return document.documentElement.outerHTML.includes(s) ||"
        " document.body.innerText.includes(s) ||"
        " [...document.querySelectorAll('input, textarea')]"
        ".some((e) => e.value.includes(s));", secret)


def fingerprints(d):
    return [c.text for c in d.find_elements(By.CSS_SELECTOR,
                                            "#sp-secrets code.fingerprint")]


def webhook(d, w):
    sid = ctl("schedule", "get", "hook", "--account", "acme")["id"]
    d.get(URL + "/ui/#/schedules/" + sid)
    page_loaded(d)
    want = [s["fingerprint"] for s in
            ctl("webhook", "secrets", "hook", "--account", "acme")["secrets"]]
    check("a webhook schedule's page shows chimectl webhook secrets's "
          "fingerprints", fingerprints(d) == want and len(want) == 1,
          "%s / %s" % (fingerprints(d), want))
    events = ctl("webhook", "events", "hook", "--account", "acme")["events"]
    check("... and its event log",
          len(d.find_elements(By.CSS_SELECTOR, "#sp-events tbody tr")) ==
          len(events) == 1)
    rot = d.find_element(By.ID, "sp-rotate")
    rot.click()
    w.until(EC.visibility_of_element_located((By.ID, "rotate-dialog")))
    d.find_element(By.ID, "rotate-cancel").click()
    w.until(EC.invisibility_of_element_located((By.ID, "rotate-dialog")))
    check("Cancel rotates nothing", len(ctl("webhook", "secrets", "hook",
                                           "--account", "acme")
                                       ["secrets"]) == 1)
    before = attr(d, PAGE, "data-gen")
    d.find_element(By.ID, "sp-rotate").click()
    w.until(EC.visibility_of_element_located((By.ID, "rotate-dialog")))
    d.find_element(By.ID, "rotate-reason").send_keys("yearly rotation")
    d.find_element(By.ID, "rotate-ok").click()
    box = w.until(EC.visibility_of_element_located((By.ID, "secret-dialog")))
    secret = d.find_element(By.ID, "secret-value").get_attribute("value")
    check("the new secret is shown once, in a dialog with a copy button",
          secret.startswith("whsec_") and
          box.find_element(By.ID, "secret-copy").is_displayed())
    shot(d, "schedform-05-secret")
    box.find_element(By.ID, "secret-done").click()
    w.until(EC.invisibility_of_element_located((By.ID, "secret-dialog")))
    page_loaded(d, before)
    now = ctl("webhook", "secrets", "hook", "--account", "acme")["secrets"]
    check("chimectl webhook secrets then has two",
          len(now) == 2 and now[1]["fingerprint"] == want[0], str(now))
    check("the page shows both fingerprints",
          fingerprints(d) == [s["fingerprint"] for s in now])
    check("the secret is gone from the page once the dialog is closed",
          not holds(d, secret))
    d.refresh()
    page_loaded(d)
    check("... and after a reload", not holds(d, secret) and
          len(fingerprints(d)) == 2)
    phone_fits(d, "a webhook schedule's page is no wider than a phone's "
               "window", "schedform-09-webhook-phone")
    return sid


def stranger(d, w, sid):
    sign_out(d, w)
    signed_in(d, w, OTHER)
    d.get(URL + "/ui/#/schedules/" + sid)
    page_loaded(d)
    text = d.find_element(By.ID, "sp-error").text
    check("another account's token is told the schedule is not found",
          attr(d, PAGE, "data-state") == "error" and "not found" in text and
          "dst-probe" not in d.page_source, text)
    shot(d, "schedform-06-not-found")


def read_only(d, w, hook):
    sign_out(d, w)
    signed_in(d, w, READER)
    d.get(URL + "/ui/#/schedules/" + hook)
    page_loaded(d)
    check("a read-only token sees a schedule's page with no write action",
          d.find_element(By.CSS_SELECTOR, PAGE + " h1").text == "hook" and
          len(fingerprints(d)) == 2 and
          not d.find_elements(By.CSS_SELECTOR, PAGE + " [data-action]"))
    d.get(URL + "/ui/#/schedules")
    until(d, lambda: attr(d, "#page section.schedules", "data-state") ==
          "ready")
    check("... no New schedule on the list",
          not d.find_elements(By.ID, "sched-new"))
    d.get(URL + "/ui/#/schedules/new")
    until(d, lambda: attr(d, FORM, "data-state") == "error")
    check("... and the form says it needs a token that may write",
          "scope write" in d.find_element(By.ID, "sf-error").text and
          not d.find_elements(By.ID, "sf-save"))


def main(d, w):
    signed_in(d, w, TOKEN)
    new_form(d, w)
    bad_cron(d, w)
    preview(d, w)
    phone_fits(d, "the form is no wider than a phone's window",
               "schedform-07-phone")
    sid = create(d, w)
    edit(d, w, sid)
    runs(d, w)
    hook = webhook(d, w)
    read_only(d, w, hook)
    stranger(d, w, sid)


run(main)
