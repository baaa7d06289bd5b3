#!/usr/bin/python3
"""tests/integration/dashboard-settings.py: the Settings page and the
Overview's Apply buttons in headless chromium, run by dashboard-settings.sh
against its chimed.

Environment: CHIME_URL, CHIME_SHOTS, CHIMECTL (see dashboard_lib.py);
CHIME_TOKEN_FILE, CHIME_READ_FILE, CHIME_ADMIN_FILE (token.create's
answers: acme's write and read tokens, an admin's).  Prints PASS:/FAIL:
lines; exits 1 if a check failed, 77 if the browser cannot start.  Waits
on conditions, never sleeps.
"""
import json

from dashboard_lib import (URL, awaited, check, ctl, phone_fits, run, shot,
                           sign_out, signed_in, token, until)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

WRITE = token("CHIME_TOKEN_FILE")
READ = token("CHIME_READ_FILE")
ADMIN = token("CHIME_ADMIN_FILE")
ACCENT = "#c0392b"


def prefs(op=None):
    if op:
        return ctl("prefs", "get", "--account", "acme", "--op", op)
    return ctl("prefs", "get", "--account", "acme", "--all")


def gen(d, css):
    return int(d.find_element(By.CSS_SELECTOR, css).get_attribute("data-gen")
               or 0)


def settings_open(d, w, state="ready"):
    """Go to #/settings and await the page in STATE."""
    d.execute_script("location.hash = '#/overview'")
    d.execute_script("location.hash = '#/settings'")
    until(d, lambda: d.find_element(By.CSS_SELECTOR, "#page .settings")
          .get_attribute("data-state") == state)


def by_id(d, i):
    return d.find_element(By.ID, i)


def field(d, op, name):
    return by_id(d, "pref-%s-%s" % (op, name))


def error_of(d, op, name):
    return by_id(d, "pref-%s-%s-error" % (op, name)).text


def save(d):
    """Press Save and await the form's answer."""
    before = gen(d, "#page .settings")
    by_id(d, "prefs-save").click()
    until(d, lambda: gen(d, "#page .settings") > before)


def form_matches(d):
    """Every operation of the catalog in the form, as prefs.get --all has
    it; the models offered are the catalog's."""
    want = prefs()
    ops = [f.get_attribute("data-op") for f in
           d.find_elements(By.CSS_SELECTOR, "fieldset.op")]
    check("the form has every operation of the catalog (prefs.get --all)",
          ops == [o["operation"] for o in want["operations"]],
          "%s against %s" % (ops, [o["operation"] for o in
                                   want["operations"]]))
    bad = []
    for o in want["operations"]:
        op = o["operation"]
        shown = (field(d, op, "preferred_model").get_attribute("value"),
                 field(d, op, "enabled").is_selected(),
                 field(d, op, "monthly_budget").get_attribute("value"),
                 field(d, op, "default_parameters").get_attribute("value"))
        api = (o.get("preferred_model") or "", o["enabled"],
               o.get("monthly_budget_usd") or "",
               json.dumps(o["default_parameters"],
                                        separators=(",", ":")))
        if shown != api:
            bad.append("%s: %s != %s" % (op, shown, api))
    check("... each with the preferences chimectl prefs get shows",
          not bad, "; ".join(bad))
    models = [o.get_attribute("value") for o in
              Select(field(d, "quick", "preferred_model")).options]
    check("... and the catalog's models to choose from",
          models == [""] + [m["id"] for m in want["models"]], str(models))
    return want


def type_in(el, text):
    el.clear()
    el.send_keys(text)


def prefs_form(d, w):
    settings_open(d, w)
    shot(d, "settings-01-form")
    form_matches(d)
    # several operations changed, saved at once
    Select(field(d, "flaky", "preferred_model")).select_by_value(
        "cheap-model")
    type_in(field(d, "flaky", "monthly_budget"), "2.5")
    type_in(field(d, "flaky", "default_parameters"), '{"lang": "en"}')
    field(d, "gate", "enabled").click()
    before = prefs()
    save(d)
    status = by_id(d, "prefs-status").text
    check("Save answers in words", status.startswith("Saved: 2 operations"),
          status)
    f, g = prefs("flaky"), prefs("gate")
    check("the changes are seen with chimectl prefs get",
          f["preferred_model"] == "cheap-model" and
          f["monthly_budget_usd"] == "2.500000" and
          f["default_parameters"] == {"lang": "en"} and f["enabled"] and
          g["enabled"] is False, "%s %s" % (f, g))
    untouched = [o for o in prefs()["operations"]
                 if o["operation"] not in ("flaky", "gate")]
    check("... and nothing else changed",
          untouched == [o for o in before["operations"]
                        if o["operation"] not in ("flaky", "gate")])
    check("the form shows the API's answer",
          field(d, "flaky", "monthly_budget").get_attribute("value") ==
          "2.500000")
    # a negative budget: refused next to its field, nothing saved
    field(d, "gate", "enabled").click()
    type_in(field(d, "quick", "monthly_budget"), "-1")
    save(d)
    said = error_of(d, "quick", "monthly_budget")
    check("a negative budget is refused next to its field, in words",
          "USD" in said and field(d, "quick", "monthly_budget")
          .get_attribute("aria-invalid") == "true", repr(said))
    check("... the form says nothing is saved",
          by_id(d, "prefs-error").text.startswith("Nothing is saved"),
          by_id(d, "prefs-error").text)
    shot(d, "settings-02-refused")
    check("... and nothing is: gate still disabled, quick without budget",
          prefs("gate")["enabled"] is False and
          prefs("quick").get("monthly_budget_usd") is None)
    # a model the catalog does not have (the select offers none: one is
    # put in it)
    type_in(field(d, "quick", "monthly_budget"), "")
    d.execute_script("const s = arguments[0]; s.append(new Option('gpt-9'"
                     ", 'gpt-9')); s.value = 'gpt-9';",
                     field(d, "quick", "preferred_model"))
    save(d)
    said = error_of(d, "quick", "preferred_model")
    check("a model not of the catalog is refused next to its field",
          said == 'unknown model "gpt-9"', repr(said))
    check("... the budget's error is gone",
          error_of(d, "quick", "monthly_budget") == "")
    check("... and nothing is saved",
          prefs("gate")["enabled"] is False and
          prefs("quick").get("preferred_model") is None)
    # not JSON: said before anything is sent
    Select(field(d, "quick", "preferred_model")).select_by_value("")
    type_in(field(d, "quick", "default_parameters"), "{lang")
    save(d)
    check("default parameters that are not JSON are refused in words",
          "not JSON" in error_of(d, "quick", "default_parameters"))
    by_id(d, "prefs-reset").click()
    until(d, lambda: field(d, "quick", "default_parameters")
          .get_attribute("value") == "{}")
    check("Undo changes shows the saved settings again",
          field(d, "gate", "enabled").is_selected() is False)


def css_accent(d):
    return d.execute_script("return getComputedStyle(document"
                            ".documentElement).getPropertyValue('--accent')"
                            ".trim()")


def ui_of():
    return prefs()["ui"]


def look(d, w):
    settings_open(d, w)
    html = d.find_element(By.TAG_NAME, "html")
    Select(by_id(d, "settings-scheme")).select_by_value("dark")
    awaited(d, "the dark theme is applied at once",
            lambda: html.get_attribute("data-theme") == "dark")
    awaited(d, "... kept in the account's UI preferences (prefs get's ui)",
            lambda: ui_of().get("color_scheme") == "dark")
    check("... and the header's theme select follows",
          by_id(d, "theme-select").get_attribute("value") == "dark")
    d.execute_script("const a = arguments[0]; a.value = arguments[1];"
                     "a.dispatchEvent(new Event('change'));",
                     by_id(d, "settings-accent"), ACCENT)
    awaited(d, "the accent colour is applied at once (--accent)",
            lambda: css_accent(d) == ACCENT)
    awaited(d, "... and kept", lambda: ui_of().get("accent_color") == ACCENT)
    by_id(d, "settings-compact").click()
    awaited(d, "compact mode is applied at once",
            lambda: "compact" in (html.get_attribute("class") or "").split())
    awaited(d, "... and kept", lambda: ui_of().get("compact_mode") is True)
    shot(d, "settings-03-dark-accent-compact")
    # the header's select: the page's follows
    Select(by_id(d, "theme-select")).select_by_value("light")
    awaited(d, "the header's theme select moves the page's",
            lambda: by_id(d, "settings-scheme").get_attribute("value") ==
            "light" and ui_of().get("color_scheme") == "light")
    Select(by_id(d, "theme-select")).select_by_value("dark")
    awaited(d, "... both ways", lambda: ui_of().get("color_scheme") ==
            "dark" and by_id(d, "settings-scheme").get_attribute("value")
            == "dark")
    phone_fits(d, "the settings page fits a phone-width window",
               "settings-04-phone")


def fresh_browser(d, w):
    """A browser that kept nothing (no cookie, no localStorage): the look
    comes from the account's preferences at sign-in."""
    sign_out(d, w)
    d.execute_script("localStorage.clear()")
    d.delete_all_cookies()
    d.get(URL + "/")
    until(d, lambda: by_id(d, "signin-token").is_displayed())
    html = d.find_element(By.TAG_NAME, "html")
    check("a browser that kept nothing starts with the automatic theme",
          html.get_attribute("data-theme") == "auto" and
          css_accent(d) != ACCENT)
    signed_in(d, w, WRITE)

    def applied():
        html = d.find_element(By.TAG_NAME, "html")
        return (html.get_attribute("data-theme") == "dark" and
                css_accent(d) == ACCENT and
                "compact" in (html.get_attribute("class") or "").split())
    awaited(d, "at sign-in the account's theme, accent and compact mode "
            "are applied", applied)
    shot(d, "settings-05-fresh-sign-in")
    settings_open(d, w)
    check("... and the settings page shows them",
          by_id(d, "settings-scheme").get_attribute("value") == "dark" and
          by_id(d, "settings-accent").get_attribute("value") == ACCENT and
          by_id(d, "settings-compact").is_selected())


def overview_open(d, w):
    d.execute_script("location.hash = '#/overview'")
    until(d, lambda: d.find_element(By.CSS_SELECTOR, "#page .overview")
          .get_attribute("data-loaded"))
    until(d, lambda: d.find_element(By.ID, "recs"))


def recs_shown(d):
    return sorted((li.get_attribute("data-kind"),
                   li.get_attribute("data-target")) for li in
                  d.find_elements(By.CSS_SELECTOR, "#recs li"))


def recs_api():
    r = ctl("analytics", "recommendations", "--account", "acme")
    return sorted((x["kind"], x["target"]) for x in r["recommendations"])


def rec_item(d, kind, target):
    return d.find_element(By.CSS_SELECTOR, '#recs li[data-kind="%s"]'
                          '[data-target="%s"]' % (kind, target))


def apply_rec(d, kind, target, words):
    """Apply the recommendation KIND on TARGET after its confirmation,
    which must say WORDS; await the list read again."""
    before = gen(d, "#recs")
    rec_item(d, kind, target).find_element(By.CSS_SELECTOR,
                                           "button.apply").click()
    dlg = until(d, lambda: by_id(d, "apply-dialog"))
    until(d, lambda: dlg.get_attribute("open") is not None)
    what = by_id(d, "apply-what").text
    check("%s: the confirmation says what will change" % kind,
          all(x in what for x in words), repr(what))
    shot(d, "settings-06-apply-" + kind)
    by_id(d, "apply-ok").click()
    until(d, lambda: gen(d, "#recs") > before)
    check("%s: applied, said in words" % kind,
          by_id(d, "recs-status").text.startswith("Applied:"),
          by_id(d, "recs-status").text + by_id(d, "recs-error").text)


def recommendations(d, w):
    overview_open(d, w)
    check("the overview lists analytics.recommendations's",
          recs_shown(d) == recs_api(), "%s against %s" %
          (recs_shown(d), recs_api()))
    buttons = {li.get_attribute("data-kind"): bool(li.find_elements(
        By.CSS_SELECTOR, "button.apply")) for li in
        d.find_elements(By.CSS_SELECTOR, "#recs li")}
    check("an Apply button on each the account's token may apply, none on "
          "the account's budget (an admin's)",
          buttons.get("failing_schedule") and buttons.get("cheaper_model")
          and buttons.get("budget_runs_out") is False, str(buttons))
    drift = d.find_elements(By.CSS_SELECTOR, '#recs li[data-kind='
                            '"estimate_drift"] button.apply')
    check("... none where there is nothing to set (estimate_drift)",
          not drift)
    # from the keyboard: Escape, then Cancel, change nothing
    btn = rec_item(d, "failing_schedule", "bad").find_element(
        By.CSS_SELECTOR, "button.apply")
    d.execute_script("arguments[0].focus()", btn)
    btn.send_keys(Keys.ENTER)
    until(d, lambda: by_id(d, "apply-dialog").get_attribute("open")
          is not None)
    check("Enter opens the confirmation, its focus on Cancel",
          d.switch_to.active_element.get_attribute("id") == "apply-cancel")
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    until(d, lambda: by_id(d, "apply-dialog").get_attribute("open") is None)
    check("... Escape closes it, the focus back on its button",
          d.switch_to.active_element == btn)
    btn.click()
    until(d, lambda: by_id(d, "apply-dialog").get_attribute("open")
          is not None)
    by_id(d, "apply-cancel").click()
    until(d, lambda: by_id(d, "apply-dialog").get_attribute("open") is None)
    check("Escape and Cancel apply nothing",
          ctl("schedule", "get", "bad", "--account", "acme")["state"] ==
          "active")
    apply_rec(d, "failing_schedule", "bad", ["Schedule bad", "paused",
                                             "fails 3 of 3 runs"])
    s = ctl("schedule", "get", "bad", "--account", "acme")
    check("the failing schedule is paused, with the note (chimectl)",
          s["state"] == "paused" and s.get("pause_note") ==
          "fails 3 of 3 runs", str(s))
    check("... and the list read again: no longer recommended",
          ("failing_schedule", "bad") not in recs_shown(d) and
          recs_shown(d) == recs_api())
    apply_rec(d, "cheaper_model", "quick", ["operation quick",
                                            "becomes cheap-model"])
    check("the cheaper model is quick's preferred one (chimectl)",
          prefs("quick")["preferred_model"] == "cheap-model")
    shot(d, "settings-07-applied")


def read_only(d, w):
    sign_out(d, w)
    signed_in(d, w, READ)
    settings_open(d, w)
    check("read-only: the form is shown, disabled, with why",
          by_id(d, "settings-readonly").is_displayed() and
          not d.find_elements(By.ID, "prefs-save") and
          d.find_element(By.CSS_SELECTOR, "fieldset.ops")
          .get_attribute("disabled") is not None and
          by_id(d, "settings-scheme").is_enabled() is False)
    shot(d, "settings-08-read-only")
    overview_open(d, w)
    check("read-only: no Apply on the overview",
          d.find_elements(By.CSS_SELECTOR, "#recs li") and
          not d.find_elements(By.CSS_SELECTOR, "#recs button.apply"))


def admin(d, w):
    sign_out(d, w)
    signed_in(d, w, ADMIN)
    settings_open(d, w, "no-account")
    check("an admin under All accounts is asked to choose one",
          "choose one" in d.find_element(By.CSS_SELECTOR,
                                         "#page .settings").text)
    shot(d, "settings-09-admin-all")
    Select(by_id(d, "account-select")).select_by_value("acme")
    until(d, lambda: d.find_element(By.CSS_SELECTOR, "#page .settings")
          .get_attribute("data-state") == "ready")
    check("... and, one chosen, sees its form",
          len(d.find_elements(By.CSS_SELECTOR, "fieldset.op")) ==
          len(prefs()["operations"]))
    overview_open(d, w)
    apply_rec(d, "budget_runs_out", "acme", ["monthly budget of account "
                                             "acme"])
    a = ctl("account", "get", "acme")
    check("an admin applies the account's budget (chimectl account get)",
          a.get("monthly_budget_usd") not in (None, "0.000001"), str(a))


def main(d, w):
    signed_in(d, w, WRITE)
    prefs_form(d, w)
    look(d, w)
    fresh_browser(d, w)
    recommendations(d, w)
    read_only(d, w)
    admin(d, w)


run(main)
