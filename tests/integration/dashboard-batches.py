#!/usr/bin/python3
"""tests/integration/dashboard-batches.py: the Batches page in headless
chromium, run by dashboard-batches.sh against its chimed.

Environment: CHIME_URL, CHIME_SHOTS, CHIMECTL (dashboard_lib);
CHIME_TOKEN_FILE (acme, write), CHIME_READ_FILE (acme, read),
CHIME_OTHER_FILE (other, write), CHIME_ADMIN_FILE (an admin, read):
token.create's answers; CHIME_FILES (a
folder for the JSON files the page uploads, where the catalog's gate
operation also looks for its release file).  Prints PASS:/FAIL: lines;
exits 1 if a check failed, 77 if the browser cannot start.  Waits on
conditions, never sleeps.
"""
import json
import os
import re
import urllib.request

from dashboard_lib import (STALE, URL, WAIT, awaited, check, ctl,
                           phone_fits, run, shot, sign_out, signed_in,
                           token, until)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

TOKEN = token("CHIME_TOKEN_FILE")
READ = token("CHIME_READ_FILE")
OTHER = token("CHIME_OTHER_FILE")
ADMIN = token("CHIME_ADMIN_FILE")
FILES = os.environ["CHIME_FILES"]
PAGE = "#page section.batches"
COUNTS = ("total", "pending", "running", "completed", "failed", "skipped",
          "cancelled")


def sec(d):
    return d.find_element(By.CSS_SELECTOR, PAGE)


def gen(d):
    try:
        return sec(d).get_attribute("data-gen")
    except STALE:
        return None


def loaded(d, cls, before=None):
    """Await the page of class CLS drawn (another time than BEFORE)."""
    until(d, lambda: d.find_element(
        By.CSS_SELECTOR, PAGE + "." + cls).get_attribute("data-state") in
        ("ready", "error") and gen(d) != before)


def go(d, frag, cls):
    d.get(URL + "/ui/" + frag)
    loaded(d, cls)


def shown(d, bid):
    """Go to the page of the batch BID by its address (a hashchange) and
    await it drawn."""
    d.execute_script("location.hash = arguments[0]", "#/batches/" + bid)
    until(d, lambda: sec(d).get_attribute("data-batch") == bid and
          sec(d).get_attribute("data-state") in ("ready", "error"))


def batches(account):
    return ctl("batch", "list", "--account", account)["batches"]


def batch(bid, account="acme"):
    return ctl("batch", "get", bid, "--account", account)


def watchers():
    """chime_watchers of the daemon's /metrics: streams open now."""
    text = urllib.request.urlopen(URL + "/metrics").read().decode()
    m = re.search(r"^chime_watchers (\d+)", text, re.M)
    return int(m.group(1)) if m else -1


def page_counts(d):
    return {li.get_attribute("data-count"):
            int(li.find_element(By.CLASS_NAME, "count").text)
            for li in d.find_elements(By.CSS_SELECTOR,
                                      "#batch-counts li")}


def api_counts(b):
    return {k: b[k] for k in COUNTS}


def page_id(d):
    m = re.search(r"#/batches/(b_[a-z0-9]+)$", d.current_url)
    return m.group(1) if m else None


def list_page(d, w):
    go(d, "#/batches", "batch-list")
    shot(d, "batches-01-list")
    rows = d.find_elements(By.CSS_SELECTOR, PAGE + " tbody tr")
    want = list(reversed(batches("acme")))
    check("the list holds batch.list's batches, newest first",
          [r.get_attribute("data-id") for r in rows] ==
          [b["id"] for b in want],
          "page %s" % [r.get_attribute("data-id") for r in rows])
    ok = True
    for r, b in zip(rows, want):
        cells = r.find_elements(By.CSS_SELECTOR, "th, td")
        bar = r.find_element(By.TAG_NAME, "progress")
        got = (cells[0].text, cells[1].text, cells[2].text,
               r.find_element(By.CLASS_NAME, "progress-line").text,
               cells[4].text, bar.get_attribute("value"),
               bar.get_attribute("max"))
        exp = (b["name"], b["type"], "%s; outcome: %s" % (b["state"], b["outcome"]),
               b["progress"], "$" + b["spent_usd"],
               str(b["total"] - b["running"] - b["pending"]),
               str(b["total"]))
        if got != exp:
            ok = False
            print("  row %s: page %r, API %r" % (b["id"], got, exp))
    check("each row: name, type, state and outcome, progress line and "
          "bar, spent as batch.list says", ok and len(rows) == 2)
    t = rows[0].find_element(By.TAG_NAME, "time")
    check("the created time has the UTC instant on hover",
          t.get_attribute("title") == want[0]["created"] + " (UTC)",
          t.get_attribute("title"))
    phone_fits(d, "the list fits a phone-width window",
               "batches-02-list-phone")


def form_create(d, w):
    go(d, "#/batches", "batch-list")
    d.find_element(By.ID, "batch-new").click()
    loaded(d, "batch-create")
    shot(d, "batches-03-create")
    n = len(batches("acme"))
    d.find_element(By.ID, "bf-name").send_keys("form-made")
    d.find_element(By.ID, "bf-operation").send_keys("no-such-op")
    d.find_element(By.ID, "bf-create").click()
    err = until(d, lambda: d.find_element(By.ID, "bf-error").text)
    check("an unknown operation is refused in the API's words",
          "not created" in err and "no-such-op" in err, err)
    check("... and nothing is created", len(batches("acme")) == n)
    shot(d, "batches-04-create-refused")

    op = d.find_element(By.ID, "bf-operation")
    op.clear()
    op.send_keys("quick")
    count = d.find_element(By.ID, "bf-count")
    count.clear()
    count.send_keys("3")
    d.find_element(By.ID, "bf-parameters").send_keys(
        "folder=inbox\nlimit=2")
    Select(d.find_element(By.ID, "bf-type")).select_by_value("sequential")
    d.find_element(By.ID, "bf-priority").send_keys("7")
    d.find_element(By.ID, "bf-max-cost").send_keys("1.50")
    d.find_element(By.ID, "bf-create").click()
    until(d, lambda: page_id(d) is not None)
    loaded(d, "batch-page")
    bid = page_id(d)
    b = batch(bid)
    check("the form's batch is seen with chimectl batch get",
          b is not None and b["name"] == "form-made" and
          b["type"] == "sequential" and b["priority"] == 7 and
          b["total"] == 3 and b["max_cost_usd"] == "1.500000", str(b))
    r = ctl("run", "get", bid + ":1")
    check("... its operations have the form's parameters",
          r is not None and r.get("parameters") == {"folder": "inbox",
                                                    "limit": 2},
          str(r and r.get("parameters")))
    awaited(d, "... and its page follows it to its end",
            lambda: sec(d).get_attribute("data-batch-state") ==
            "completed" and d.find_element(By.ID, "batch-live")
            .get_attribute("data-live") == "ended")


def write(name, obj):
    path = os.path.join(FILES, name)
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def upload(d, path):
    f = d.find_element(By.ID, "batch-file")
    f.clear()
    f.send_keys(path)
    d.find_element(By.ID, "batch-file-create").click()


def file_create(d, w):
    go(d, "#/batches/new", "batch-create")
    n = len(batches("acme"))
    upload(d, write("broken.json", "{\"name\": \"x\", "))
    err = until(d, lambda: d.find_element(By.ID, "batch-file-error").text)
    check("a file that is not JSON is said so", "broken.json is not JSON"
          in err, err)
    bad = {"name": "graph", "type": "conditional", "operations": [
        {"id": "a", "operation": "quick"},
        {"id": "b", "operation": "quick", "depends_on": ["nope"]}]}
    upload(d, write("bad.json", bad))
    until(d, lambda: "operations[1].depends_on" in d.find_element(
        By.ID, "batch-file-error").text)
    err = d.find_element(By.ID, "batch-file-error").text
    check("a bad definition is refused naming the operation and why",
          "operations[1].depends_on" in err and "nope" in err, err)
    check("... and nothing is created", len(batches("acme")) == n)
    shot(d, "batches-05-file-refused")
    bad["operations"][1]["depends_on"] = ["a"]
    bad["name"] = "from-file"
    upload(d, write("good.json", bad))
    until(d, lambda: page_id(d) is not None)
    loaded(d, "batch-page")
    b = batch(page_id(d))
    check("the file's batch is seen with chimectl batch get",
          b is not None and b["name"] == "from-file" and
          b["type"] == "conditional" and b["total"] == 2, str(b))
    awaited(d, "... and its page shows it completed",
            lambda: sec(d).get_attribute("data-batch-state") ==
            "completed")
    shot(d, "batches-06-file-made")


def live(d, w):
    """A sequential batch quick, gate, quick: the page is seen with the
    first completed and the gate running, then, once the gate is
    released, completed, without a reload."""
    defn = write("watched.json", {"name": "watched", "type": "sequential",
                                  "operations": [{"operation": "quick"},
                                                 {"operation": "gate"},
                                                 {"operation": "quick"}]})
    b = ctl("batch", "create", "--account", "acme", "-f", defn)
    bid = b["id"]
    go(d, "#/batches/" + bid, "batch-page")
    awaited(d, "the page shows the batch at an intermediate state "
            "(1 completed, the gate running)",
            lambda: page_counts(d).get("completed") == 1 and
            page_counts(d).get("running") == 1)
    awaited(d, "... its stream is open",
            lambda: d.find_element(By.ID, "batch-live")
            .get_attribute("data-live") == "open")
    shot(d, "batches-07-live-running")
    check("... one event stream is open (chime_watchers)", watchers() == 1,
          str(watchers()))
    rows = d.find_elements(By.CSS_SELECTOR, ".ops-table tbody tr")
    check("... the operations table shows the gate running",
          [r.get_attribute("data-status") for r in rows] ==
          ["completed", "running", "pending"],
          str([r.get_attribute("data-status") for r in rows]))
    html = d.find_element(By.TAG_NAME, "html")
    d.execute_script("arguments[0].dataset.mark = 'same-load'", html)
    open(os.path.join(FILES, "release"), "w").close()
    awaited(d, "the page advances to completed by itself",
            lambda: sec(d).get_attribute("data-batch-state") ==
            "completed" and page_counts(d).get("completed") == 3)
    check("... in the same page load (no reload)",
          html.get_attribute("data-mark") == "same-load")
    b = batch(bid)
    check("... its counts equal batch.get's",
          page_counts(d) == api_counts(b),
          "page %s, API %s" % (page_counts(d), api_counts(b)))
    spent = d.find_element(By.CSS_SELECTOR, '[data-key="spent"] dd').text
    check("... and its cost so far is batch.get's spent_usd",
          spent == "$" + b["spent_usd"], spent)
    ok = True
    for r, o in zip(d.find_elements(By.CSS_SELECTOR,
                                    ".ops-table tbody tr"),
                    b["operations"]):
        tds = r.find_elements(By.CSS_SELECTOR, "td, th")
        got = (tds[0].text, tds[1].text, tds[2].text, tds[3].text,
               tds[4].text, tds[6].text)
        exp = (str(o["n"]), o["id"], o["operation"], o["status"],
               o["model"] or "—", "$" + o["cost_usd"])
        if got != exp:
            ok = False
            print("  op %s: page %r, API %r" % (o["n"], got, exp))
    check("... and each operation's status, model and cost are "
          "batch.get's", ok and len(b["operations"]) == 3)
    awaited(d, "... and the page stops following an ended batch",
            lambda: d.find_element(By.ID, "batch-live")
            .get_attribute("data-live") == "ended" and watchers() == 0)
    shot(d, "batches-08-live-completed")
    return bid


def no_leak(d, w, done_id):
    """Going from a running batch's page to another and to the list
    leaves no stream open."""
    run1 = ctl("batch", "create", "--account", "acme", "--name", "long1",
               "--op", "sleeper", "--count", "1")["id"]
    go(d, "#/batches/" + run1, "batch-page")
    until(d, lambda: d.find_element(By.ID, "batch-live")
          .get_attribute("data-live") == "open")
    shown(d, done_id)
    awaited(d, "leaving a running batch's page for another closes its "
            "stream", lambda: watchers() == 0)
    shown(d, run1)
    until(d, lambda: d.find_element(By.ID, "batch-live")
          .get_attribute("data-live") == "open" and watchers() == 1)
    d.execute_script("location.hash = '#/batches'")
    loaded(d, "batch-list")
    awaited(d, "... and so does going back to the list",
            lambda: watchers() == 0)
    shown(d, run1)
    until(d, lambda: d.find_element(By.ID, "batch-live")
          .get_attribute("data-live") == "open" and watchers() == 1)
    d.find_element(By.CSS_SELECTOR, '#nav a[data-page="schedules"]').click()
    until(d, lambda: d.find_elements(By.CSS_SELECTOR,
                                     "#page section.schedules"))
    awaited(d, "... and so does going to another page (Schedules)",
            lambda: watchers() == 0)
    return run1


def cancel(d, w, bid):
    go(d, "#/batches/" + bid, "batch-page")
    until(d, lambda: d.find_element(By.ID, "batch-live")
          .get_attribute("data-live") == "open")
    btn = d.find_element(By.ID, "batch-cancel")
    btn.click()
    dlg = d.find_element(By.ID, "cancel-dialog")
    until(d, lambda: dlg.get_attribute("open") is not None)
    shot(d, "batches-09-cancel-dialog")
    check("the dialog opens with the focus on Keep it running",
          d.switch_to.active_element.get_attribute("id") == "cancel-keep")
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    until(d, lambda: dlg.get_attribute("open") is None)
    check("Escape closes it, the focus back on Cancel batch, nothing "
          "cancelled", d.switch_to.active_element.get_attribute("id") ==
          "batch-cancel" and batch(bid)["state"] == "running")
    d.find_element(By.ID, "batch-cancel").click()
    until(d, lambda: dlg.get_attribute("open") is not None)
    d.find_element(By.ID, "cancel-keep").click()
    until(d, lambda: dlg.get_attribute("open") is None)
    check("Keep it running cancels nothing",
          batch(bid)["state"] == "running")
    d.find_element(By.ID, "batch-cancel").click()
    until(d, lambda: dlg.get_attribute("open") is not None)
    d.find_element(By.ID, "cancel-reason").send_keys("wrong input")
    d.find_element(By.ID, "cancel-abort").click()
    d.find_element(By.ID, "cancel-ok").click()
    awaited(d, "the page shows the batch cancelled",
            lambda: sec(d).get_attribute("data-batch-state") ==
            "cancelled")
    awaited(d, "... the focus on the page's title (its button is gone)",
            lambda: d.switch_to.active_element.tag_name == "h1")
    b = batch(bid)
    check("... and chimectl sees it cancelled with the reason",
          b["state"] == "cancelled" and b["reason"] == "wrong input",
          str((b["state"], b["reason"])))
    awaited(d, "... its aborted operation ends and the stream closes",
            lambda: page_counts(d).get("running") == 0 and
            watchers() == 0)
    b = batch(bid)
    check("... with the counts of batch.get",
          page_counts(d) == api_counts(b),
          "page %s, API %s" % (page_counts(d), api_counts(b)))
    check("... and no Cancel for an ended batch",
          not d.find_elements(By.ID, "batch-cancel"))
    shot(d, "batches-10-cancelled")
    phone_fits(d, "a batch's page fits a phone-width window",
               "batches-11-batch-phone")


def other_account(d, w, acme_id):
    sign_out(d, w)
    signed_in(d, w, OTHER)
    go(d, "#/batches", "batch-list")
    names = [r.get_attribute("data-name") for r in
             d.find_elements(By.CSS_SELECTOR, PAGE + " tbody tr")]
    check("another account's token lists only its own batches",
          names == ["theirs"], str(names))
    shot(d, "batches-12-other-account")
    go(d, "#/batches/" + acme_id, "batch-page")
    err = d.find_element(By.CSS_SELECTOR, PAGE + " .error").text
    check("... and cannot open one of the first's by its id",
          sec(d).get_attribute("data-state") == "error" and
          "could not be read" in err and
          not d.find_elements(By.ID, "batch-counts"), err)
    check("... nor has a stream open for it", watchers() == 0)
    shot(d, "batches-13-other-denied")


def read_only(d, w, running_id):
    sign_out(d, w)
    signed_in(d, w, READ)
    go(d, "#/batches", "batch-list")
    rows = d.find_elements(By.CSS_SELECTOR, PAGE + " tbody tr")
    check("a read-only session lists the batches", len(rows) >= 5,
          str(len(rows)))
    check("... with no New batch", not d.find_elements(By.ID, "batch-new"))
    shot(d, "batches-14-read-only")
    go(d, "#/batches/" + running_id, "batch-page")
    check("... no Cancel on a running batch's page",
          batch(running_id)["state"] == "running" and
          not d.find_elements(By.ID, "batch-cancel"))
    go(d, "#/batches/new", "batch-create")
    check("... and no create form, said in words",
          not d.find_elements(By.ID, "batch-form") and
          "only read" in sec(d).text)
    shown(d, running_id)
    until(d, lambda: d.find_element(By.ID, "batch-live")
          .get_attribute("data-live") == "open" and watchers() == 1)
    sign_out(d, w)
    awaited(d, "signing out on a running batch's page closes its stream",
            lambda: watchers() == 0)


def admin_all(d, w):
    signed_in(d, w, ADMIN)
    go(d, "#/batches", "batch-list")
    rows = d.find_elements(By.CSS_SELECTOR, PAGE + " tbody tr")
    want = batches("acme") + batches("other")
    got = [(r.get_attribute("data-id"),
            r.find_elements(By.TAG_NAME, "td")[0].text) for r in rows]
    check("an admin's All accounts lists every account's batches with an "
          "Account column",
          sorted(got) == sorted((b["id"], b["account"]) for b in want) and
          "Account" in [h.text for h in d.find_elements(
              By.CSS_SELECTOR, PAGE + " thead th")], str(got))
    shot(d, "batches-15-admin-all")
    go(d, "#/batches/new", "batch-create")
    check("... and is told creating one needs one account (and may not "
          "write)", not d.find_elements(By.ID, "batch-form"))


def main(d, w):
    signed_in(d, w, TOKEN)
    list_page(d, w)
    form_create(d, w)
    file_create(d, w)
    done_id = live(d, w)
    running = no_leak(d, w, done_id)
    cancel(d, w, running)
    other_account(d, w, done_id)
    long2 = ctl("batch", "create", "--account", "acme", "--name", "long2",
                "--op", "sleeper", "--count", "1")["id"]
    read_only(d, w, long2)
    admin_all(d, w)
    ctl("batch", "cancel", long2, "--account", "acme", "--abort")


run(main)
