"""tests/integration/dashboard-runs.py: the Runs page (ui/js/runs.js)
against chimectl run list, driven by dashboard-runs.sh.

Environment: CHIME_TOKEN_FILE (acme's read-only token), CHIME_OTHER_FILE
(other's token), CHIME_ADMIN_FILE (a read-only admin token), CHIME_BATCH
(acme's batch of 30), and dashboard_lib's.
"""
import os

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from dashboard_lib import (URL, awaited, check, ctl, phone_fits, run, shot,
                           signed_in, sign_out, token, until)

TOKEN = token("CHIME_TOKEN_FILE")
OTHER = token("CHIME_OTHER_FILE")
ADMIN = token("CHIME_ADMIN_FILE")
BATCH = os.environ["CHIME_BATCH"]
RUNS = "#page section.runs"


def gen(d):
    return d.find_element(By.CSS_SELECTOR, RUNS).get_attribute("data-gen")


def loaded(d, before=None):
    """Await the page's next list (another than BEFORE's)."""
    until(d, lambda: d.find_element(By.CSS_SELECTOR, RUNS).get_attribute(
        "data-state") in ("ready", "error") and gen(d) != before)


def ids(d):
    return [r.get_attribute("data-run") for r in
            d.find_elements(By.CSS_SELECTOR, RUNS + " tbody tr")]


def api_ids(*args):
    out = ctl("run", "list", *args)
    return [r["run_id"] for r in out["runs"]], out


def open_runs(d):
    d.get(URL + "/ui/#/runs")
    loaded(d)


def apply(d, status="", op="", model="", limit="50"):
    before = gen(d)
    Select(d.find_element(By.ID, "runs-status")).select_by_value(status)
    for fid, v in (("runs-operation", op), ("runs-model", model)):
        f = d.find_element(By.ID, fid)
        f.clear()
        if v:
            f.send_keys(v)
    Select(d.find_element(By.ID, "runs-limit")).select_by_value(limit)
    d.find_element(By.ID, "runs-apply").click()
    loaded(d, before)


def same(d, name, *args):
    want, _ = api_ids(*args)
    got = ids(d)
    check(name, got == want and len(want) > 0 or (got == want == []),
          "page %s, API %s" % (got[:6], want[:6]))


def row(d, run_id):
    return d.find_element(By.CSS_SELECTOR,
                          RUNS + ' tbody tr[data-run="%s"]' % run_id)


def cells_match(d):
    """One schedule run's and one batch run's cells against the API."""
    runs = {r["run_id"]: r for r in
            ctl("run", "list", "--account", "acme")["runs"]}
    failed = next(r for r in runs.values() if r["status"] == "failed")
    tr = row(d, failed["run_id"])
    link = tr.find_element(By.CSS_SELECTOR, "th a")
    check("a schedule's run links to its schedule's page",
          link.get_attribute("href").endswith(
              "#/schedules/" + failed["schedule"]),
          link.get_attribute("href"))
    t = tr.find_element(By.TAG_NAME, "time")
    want = failed["nominal_local"].replace("T", " ") + " " + failed["tz"]
    check("scheduled for shows in the run's zone, UTC on hover",
          t.text == want and failed["scheduled_for"] in
          t.get_attribute("title"),
          "%r / %r, API %r" % (t.text, t.get_attribute("title"), want))
    texts = [c.text for c in tr.find_elements(By.TAG_NAME, "td")]
    check("its cells are the API's: owner, operation, model, status, "
          "trigger, cost, error",
          texts[0] == "bad (schedule)" and texts[1] == failed["operation"]
          and texts[2] == (failed["model"] or "—") and texts[3] == "failed" and
          texts[4] == failed["triggered_by"] and
          texts[7] == "$" + failed["cost_usd"] and
          texts[8] == (failed["error"] or failed["reason"] or "—"),
          str(texts))
    check("latency is the API's latency_ms",
          texts[6] == "%d ms" % failed["latency_ms"], texts[6])
    b = next(r for r in runs.values() if r["schedule"] == BATCH)
    link = row(d, b["run_id"]).find_element(By.CSS_SELECTOR, "th a")
    check("a batch's run links to its batch's page",
          link.get_attribute("href").endswith("#/batches/" + BATCH),
          link.get_attribute("href"))
    check("one account: no Account column",
          "Account" not in [h.text for h in d.find_elements(
              By.CSS_SELECTOR, RUNS + " thead th")])


def filters(d):
    apply(d, status="failed")
    same(d, "--status failed: the page's rows are run list's",
         "--account", "acme", "--status", "failed", "--limit", "50")
    check("... and only failed ones",
          {r.get_attribute("data-status") for r in d.find_elements(
              By.CSS_SELECTOR, RUNS + " tbody tr")} == {"failed"})
    apply(d, op="fail")
    same(d, "--op fail: the page's rows are run list's",
         "--account", "acme", "--op", "fail", "--limit", "50")
    apply(d, model="cheap-model")
    same(d, "--model cheap-model: the one run priced so",
         "--account", "acme", "--model", "cheap-model", "--limit", "50")
    check("... which is one", len(ids(d)) == 1, str(ids(d)))
    apply(d, model="test-model", status="success", limit="25")
    same(d, "--model with --status: the page's rows are run list's",
         "--account", "acme", "--model", "test-model", "--status",
         "success", "--limit", "25")
    apply(d, model="no-such-model")
    awaited(d, "a filter nothing passes is explained in words",
            lambda: "No run passes these filters" in d.find_element(
                By.CSS_SELECTOR, RUNS + " .empty").text)
    shot(d, "runs-02-filter-empty")
    apply(d)


def paging(d):
    apply(d, limit="25")
    want, first = api_ids("--account", "acme", "--limit", "25")
    check("a page of 25 is run list --limit 25", ids(d) == want,
          str(ids(d)[:4]))
    before = gen(d)
    d.find_element(By.ID, "runs-next").click()
    loaded(d, before)
    want2, second = api_ids("--account", "acme", "--limit", "25",
                            "--cursor", first["next_cursor"])
    check("Next is the page after (run.list's cursor)", ids(d) == want2,
          "%s / %s" % (ids(d)[:4], want2[:4]))
    check("... from the batch's runs into the schedules'",
          any(i.startswith(BATCH + ":") for i in ids(d)) and
          any(not i.startswith(BATCH + ":") for i in ids(d)), str(ids(d)))
    check("... and it is the last",
          not second["truncated"] and
          not d.find_element(By.ID, "runs-next").is_enabled())
    shot(d, "runs-03-page-2")
    before = gen(d)
    d.find_element(By.ID, "runs-prev").click()
    loaded(d, before)
    check("Previous shows the first page again", ids(d) == want)
    apply(d)


def admin_all(d, w):
    signed_in(d, w, ADMIN)
    open_runs(d)
    same(d, "an admin's All accounts: the rows are run list's (every "
         "account)", "--limit", "50")
    heads = [h.text for h in d.find_elements(By.CSS_SELECTOR,
                                             RUNS + " thead th")]
    accounts = {r.get_attribute("data-account") for r in
                d.find_elements(By.CSS_SELECTOR, RUNS + " tbody tr")}
    check("... with an Account column and both accounts' runs",
          heads[1] == "Account" and {"acme", "other"} <= accounts,
          "%s %s" % (heads[:3], accounts))
    rows = d.find_elements(By.CSS_SELECTOR, RUNS + " tbody tr")
    check("... each row's Account cell its run's account",
          all(r.find_element(By.CSS_SELECTOR, "td").text ==
              r.get_attribute("data-account") for r in rows))
    shot(d, "runs-04-admin")
    sign_out(d, w)


def other_sees_none(d, w):
    signed_in(d, w, OTHER)
    open_runs(d)
    theirs, _ = api_ids("--account", "other")
    check("another account's token sees only its own run",
          ids(d) == theirs and len(theirs) == 1, str(ids(d)))
    acme, _ = api_ids("--account", "acme", "--limit", "1000")
    check("... and none of acme's", not set(ids(d)) & set(acme))
    apply(d, status="failed")
    check("... not through a filter either", ids(d) == [])
    sign_out(d, w)


def main(d, w):
    signed_in(d, w, TOKEN)
    d.find_element(By.CSS_SELECTOR, '#nav a[data-page="runs"]').click()
    loaded(d)
    shot(d, "runs-01-list")
    same(d, "the Runs page's rows are run list's, newest first",
         "--account", "acme", "--limit", "50")
    cells_match(d)
    filters(d)
    paging(d)
    phone_fits(d, "the Runs page is no wider than a phone's window",
               "runs-05-phone")
    sign_out(d, w)
    admin_all(d, w)
    other_sees_none(d, w)


run(main)
