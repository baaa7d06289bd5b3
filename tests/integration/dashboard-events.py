#!/usr/bin/python3
"""tests/integration/dashboard-events.py: the Events and Subscriptions
pages in headless chromium, run by dashboard-events.sh against its chimed.

Environment: CHIME_URL, CHIME_SHOTS, CHIMECTL (dashboard_lib);
CHIME_TOKEN_FILE (acme, write), CHIME_READ_FILE (acme, read),
CHIME_OTHER_FILE (the account other), CHIME_ADMIN_FILE (an admin,
read), token.create's answers; CHIME_PID (chimed's, to make it drain);
CHIME_JOURNAL and CHIME_DATA (chime-journal export of the daemon's
journal: the events as they are written); CHIME_RECV_URL and
CHIME_RECV_DIR (the tests-only receiver of sub-receiver.py: where to send,
and its folder: its secrets file and its log).  Prints PASS:/FAIL: lines;
waits on conditions, never sleeps.

The browser reaches the daemon through a TCP relay of this script's own
(CHIME_URL is the relay's), which can cut every connection at once: a
connection lost, to see the page reconnect.
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import urllib.request
from urllib.parse import urlsplit


class Relay:
    """Accept on a loopback port, relay each connection to TARGET; cut()
    closes every connection relayed so far, and those accepted after it
    until resume()."""

    def __init__(self, target):
        self.target = target
        self.pairs = []
        self.held = False
        self.lock = threading.Lock()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            c, _ = self.ls.accept()
            if self.held:
                c.close()
                continue
            try:
                u = socket.create_connection(self.target)
            except OSError:
                c.close()	# the daemon is gone: so is the client
                continue
            with self.lock:
                self.pairs.append((c, u))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self.pump, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def resume(self):
        self.held = False

    def cut(self):
        with self.lock:
            self.held = True
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


_daemon = urlsplit(os.environ["CHIME_URL"])
RELAY = Relay((_daemon.hostname, _daemon.port))
os.environ["CHIME_URL"] = "http://127.0.0.1:%d" % RELAY.port

from dashboard_lib import (STALE, URL, WAIT, awaited, check, ctl, phone_fits,
                           run, shot, sign_out, signed_in, token, until)
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

TOKEN = token("CHIME_TOKEN_FILE")
READ = token("CHIME_READ_FILE")
OTHER = token("CHIME_OTHER_FILE")
ADMIN = token("CHIME_ADMIN_FILE")
RECV_URL = os.environ["CHIME_RECV_URL"]
RECV_DIR = os.environ["CHIME_RECV_DIR"]
EV = "#page section.events"
SUBS = "#page section.subscriptions"


def export():
    """Every record of the journal, as chime-journal export has it."""
    out = subprocess.run([os.environ["CHIME_JOURNAL"], "export",
                          os.environ["CHIME_DATA"]], capture_output=True,
                         text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def of_run(records, run_id):
    return [r for r in records if r["kind"].startswith("run.")
            and (r.get("body") or {}).get("run_id") == run_id]


def watchers():
    """chime_watchers in /metrics: the streams open now."""
    text = urllib.request.urlopen(URL + "/metrics").read().decode()
    m = re.search(r"^chime_watchers (\d+)$", text, re.M)
    return int(m.group(1)) if m else -1


def shown(d):
    """The events of the page's rows, top first, as the page holds them
    (the JSON under each row's <details>)."""
    texts = d.execute_script(
        "return [...document.querySelectorAll(arguments[0] + "
        "' tbody tr pre')].map((p) => p.textContent)", EV)
    return [json.loads(t) for t in texts]


def ev_attr(d, name):
    try:
        return d.find_element(By.CSS_SELECTOR, EV).get_attribute(name)
    except STALE:
        return None


def follow(d, w, kinds="", frm=""):
    """Fill the filter, press Follow, await the stream's start (or its
    refusal)."""
    for fid, v in (("events-kinds", kinds), ("events-from", frm)):
        f = d.find_element(By.ID, fid)
        f.clear()
        if v:
            f.send_keys(v)
    d.find_element(By.ID, "events-apply").click()
    until(d, lambda: ev_attr(d, "data-state") in ("open", "error"))


def trigger(name, account):
    return ctl("schedule", "trigger", name, "--account", account)["run_id"]


def finished_in_page(d, run_id):
    return any(e["kind"] == "run.finished" and
               e["body"].get("run_id") == run_id for e in shown(d))


def events_live(d, w):
    d.find_element(By.CSS_SELECTOR, '#nav a[data-page="events"]').click()
    until(d, lambda: ev_attr(d, "data-state") == "open")
    check("the Events page says it is following the journal",
          "Following the journal" in d.find_element(By.ID,
                                                    "events-status").text)
    awaited(d, "its stream is one watcher (chime_watchers 1)",
            lambda: watchers() == 1)
    shot(d, "events-01-empty")
    # another account's run, then one of acme's: the first must not show
    theirs = trigger("theirs", "other")
    until(d, lambda: any(r["kind"] == "run.finished"
                         for r in of_run(export(), theirs)))
    mine = trigger("ok", "acme")
    awaited(d, "a run triggered with chimectl shows its run.finished event",
            lambda: finished_in_page(d, mine))
    page = [e for e in shown(d) if e["body"].get("run_id") == mine]
    want = sorted(of_run(export(), mine), key=lambda r: r["seq"])
    check("its run.* events are the journal's, seq for seq and byte for "
          "byte (chime-journal export)",
          sorted(page, key=lambda e: e["seq"]) == want,
          "page %s, export %s" % ([e["seq"] for e in page],
                                  [r["seq"] for r in want]))
    ev = shown(d)
    check("the newest event is at the top",
          [e["seq"] for e in ev] == sorted((e["seq"] for e in ev),
                                           reverse=True))
    check("another account's events are not shown",
          all(e["account"] == "acme" for e in ev) and
          not any(e["body"].get("run_id") == theirs for e in ev))
    top = d.find_element(By.CSS_SELECTOR, EV + " tbody tr")
    t = top.find_element(By.TAG_NAME, "time")
    check("the time is in the browser's zone, the UTC instant on hover",
          t.get_attribute("title") == ev[0]["time"] + " (UTC)" and
          t.get_attribute("datetime") == ev[0]["time"],
          t.get_attribute("title"))
    summ = top.find_element(By.TAG_NAME, "summary")
    check("a row sums its body up in a line",
          mine in summ.text and ev[0]["kind"] == top.get_attribute(
              "data-kind"), summ.text)
    summ.click()
    awaited(d, "the whole body opens under it",
            lambda: top.find_element(By.TAG_NAME, "pre").is_displayed())
    shot(d, "events-02-live")


def events_filter(d, w):
    follow(d, w, kinds="run.finished", frm="1")
    want = [r["seq"] for r in export() if r["kind"] == "run.finished"
            and r["account"] == "acme"]
    awaited(d, "kinds run.finished from seq 1: the account's run.finished "
            "events, the journal's", lambda: sorted(
                e["seq"] for e in shown(d)) == want)
    check("... and nothing else",
          all(e["kind"] == "run.finished" for e in shown(d)))
    shot(d, "events-03-filter")
    follow(d, w, kinds="run.*x")
    err = d.find_element(By.ID, "events-error").text
    check("a filter the daemon refuses is said in words",
          ev_attr(d, "data-state") == "error" and "kinds" in err, err)
    follow(d, w)
    check("Follow again: one stream, the others closed",
          ev_attr(d, "data-state") == "open")
    awaited(d, "... chime_watchers is 1", lambda: watchers() == 1)


def events_pause(d, w):
    d.find_element(By.ID, "events-pause").click()
    before = len(shown(d))
    run_id = trigger("ok", "acme")
    until(d, lambda: any(r["kind"] == "run.finished"
                         for r in of_run(export(), run_id)))
    n = len(of_run(export(), run_id))
    awaited(d, "paused: the stream goes on, its %d events held" % n,
            lambda: ev_attr(d, "data-held") == str(n))
    check("... counted in words, and none shown",
          ("%d events held" % n) in d.find_element(By.ID,
                                                   "events-held").text and
          len(shown(d)) == before)
    shot(d, "events-04-paused")
    d.find_element(By.ID, "events-pause").click()
    awaited(d, "Resume shows them", lambda: finished_in_page(d, run_id) and
            ev_attr(d, "data-held") == "0")
    phone_fits(d, "the Events page fits a phone's width",
               "events-05-phone")


def events_reconnect(d, w):
    """The connection lost and back: the page reconnects from the seq
    after the last it had; nothing missed, nothing twice."""
    RELAY.cut()
    awaited(d, "a lost connection is said in words",
            lambda: ev_attr(d, "data-state") == "reconnecting" and
            "reconnecting from seq" in d.find_element(By.ID,
                                                      "events-status").text)
    shot(d, "events-05-reconnecting")
    run_id = trigger("ok", "acme")
    until(d, lambda: any(r["kind"] == "run.finished"
                         for r in of_run(export(), run_id)))
    check("... while cut off, the page has none of the run's events",
          not any(e["body"].get("run_id") == run_id for e in shown(d)))
    RELAY.resume()
    awaited(d, "once back, the events written meanwhile show",
            lambda: finished_in_page(d, run_id))
    got = [e["seq"] for e in shown(d)]
    want = [r["seq"] for r in export() if r["account"] == "acme" and
            min(got) <= r["seq"] <= max(got)]
    check("... none missed, none twice", sorted(got) == want and
          len(set(got)) == len(got), "page %s, export %s" % (got, want))
    awaited(d, "... on one stream (chime_watchers 1)",
            lambda: watchers() == 1)


def events_leave(d, w):
    d.find_element(By.CSS_SELECTOR, '#nav a[data-page="overview"]').click()
    awaited(d, "leaving the Events page ends its stream (chime_watchers 0)",
            lambda: watchers() == 0)


def sub_row(d, sid):
    return d.find_element(By.CSS_SELECTOR, SUBS +
                          ' tbody tr[data-id="%s"]' % sid)


def subs_gen(d):
    try:
        return d.find_element(By.CSS_SELECTOR, SUBS).get_attribute(
            "data-gen")
    except STALE:
        return None


def subs_loaded(d, before=None):
    until(d, lambda: d.find_element(By.CSS_SELECTOR, SUBS).get_attribute(
        "data-state") in ("ready", "error") and subs_gen(d) != before)


def subs_create(d, w):
    d.find_element(By.CSS_SELECTOR,
                   '#nav a[data-page="subscriptions"]').click()
    subs_loaded(d)
    check("no subscription yet, said in words", "No subscriptions yet" in
          d.find_element(By.CSS_SELECTOR, SUBS + " .empty").text)
    d.find_element(By.ID, "sub-url").send_keys("ftp://127.0.0.1/x")
    d.find_element(By.ID, "sub-create").click()
    awaited(d, "a URL the API refuses is said in words", lambda: "url" in
            d.find_element(By.ID, "subs-error").text)
    check("... and creates nothing",
          ctl("subscription", "list")["subscriptions"] == [])
    f = d.find_element(By.ID, "sub-url")
    f.clear()
    f.send_keys(RECV_URL)
    d.find_element(By.ID, "sub-kinds").send_keys("run.*")
    d.find_element(By.ID, "sub-create").click()
    box = w.until(EC.visibility_of_element_located((By.ID, "subs-secret")))
    secret = box.find_element(By.ID, "subs-secret-value").text
    with open(os.path.join(RECV_DIR, "secrets"), "w") as fh:
        fh.write(secret + "\n")
    subs = ctl("subscription", "list")["subscriptions"]
    s = subs[0] if len(subs) == 1 else {}
    check("created through the page: chimectl subscription list has it",
          s.get("url") == RECV_URL and s.get("kinds") == ["run.*"] and
          s.get("account") == "acme" and s.get("state") == "active",
          json.dumps(subs))
    check("its generated secret is shown once, never by chimectl",
          secret.startswith("whsec_") and secret not in json.dumps(
              ctl("subscription", "get", s.get("id", "x"))) and
          s.get("secret_fingerprint", "?") in box.text)
    shot(d, "subs-01-created")
    until(d, lambda: sub_row(d, s["id"]))
    r = sub_row(d, s["id"])
    check("the list shows it as chimectl does",
          r.find_element(By.CSS_SELECTOR, ".url").text == RECV_URL and
          r.find_element(By.CSS_SELECTOR, ".kinds").text == "run.*" and
          r.get_attribute("data-state") == "active")
    d.find_element(By.ID, "subs-secret-done").click()
    check("... and the secret goes once kept",
          not d.find_element(By.ID, "subs-secret").is_displayed() and
          secret not in d.find_element(By.TAG_NAME, "body").text)
    return s["id"]


def page_deliveries(d):
    return sorted((int(r.get_attribute("data-first")),
                   int(r.get_attribute("data-last")),
                   r.get_attribute("data-outcome"))
                  for r in d.find_elements(By.CSS_SELECTOR, SUBS +
                                           " tbody tr[data-serial]"))


def ctl_deliveries(sid):
    return sorted((a["first_seq"], a["last_seq"], a["outcome"]) for a in
                  ctl("subscription", "deliveries", sid)["deliveries"])


def received():
    try:
        lines = open(os.path.join(RECV_DIR, "log")).read().splitlines()
    except OSError:
        return []
    return [json.loads(x) for x in lines]


def subs_deliveries(d, w, sid):
    sub_row(d, sid).find_element(By.LINK_TEXT, sid).click()
    subs_loaded(d)
    check("its page says no attempt yet", "No attempts yet" in
          d.find_element(By.CSS_SELECTOR, SUBS + " .empty").text)
    awaited(d, "its page follows the journal (chime_watchers 1)",
            lambda: watchers() == 1)
    run_id = trigger("ok", "acme")
    until(d, lambda: any(r["kind"] == "run.finished"
                         for r in of_run(export(), run_id)))
    seqs = [r["seq"] for r in of_run(export(), run_id)]
    awaited(d, "the deliveries of a run's events appear in its page",
            lambda: {p[0] for p in page_deliveries(d)} >= set(seqs))
    check("... as subscription.deliveries has them",
          page_deliveries(d) == ctl_deliveries(sid),
          "%s / %s" % (page_deliveries(d), ctl_deliveries(sid)))
    check("... received and verified by the receiver",
          {e["body"]["seq"] for e in received() if e["verified"]} >=
          set(seqs))
    shot(d, "subs-02-deliveries")
    d.find_element(By.CSS_SELECTOR, '[data-action="test"]').click()
    awaited(d, "Test: the receiver's answer in words", lambda: "answered "
            "200" in d.find_element(By.ID, "subs-status").text)
    check("... and a test attempt in subscription.deliveries",
          any(o == "test" for _, _, o in ctl_deliveries(sid)))
    d.find_element(By.LINK_TEXT, "← All subscriptions").click()
    subs_loaded(d)
    awaited(d, "leaving its page ends its stream (chime_watchers 0)",
            lambda: watchers() == 0)


def subs_state(d, sid, state):
    try:
        return sub_row(d, sid).get_attribute("data-state") == state
    except STALE:
        return False


def subs_actions(d, w, sid):
    sub_row(d, sid).find_element(By.CSS_SELECTOR,
                                 '[data-action="pause"]').click()
    awaited(d, "Pause: the row says paused", lambda: subs_state(d, sid,
                                                                "paused"))
    check("... and chimectl subscription get too",
          ctl("subscription", "get", sid)["state"] == "paused")
    check("... focus stays on the row",
          d.switch_to.active_element.get_attribute("data-action") ==
          "resume")
    d.switch_to.active_element.click()
    awaited(d, "Resume: active again", lambda: subs_state(d, sid, "active"))
    check("... with chimectl", ctl("subscription", "get", sid)["state"] ==
          "active")
    phone_fits(d, "the Subscriptions page fits a phone's width",
               "subs-03-phone")

    def ask():
        sub_row(d, sid).find_element(By.CSS_SELECTOR,
                                     '[data-action="delete"]').click()
        return w.until(EC.visibility_of_element_located(
            (By.ID, "sub-delete-dialog")))
    ask().find_element(By.ID, "sub-delete-cancel").click()
    w.until(EC.invisibility_of_element_located((By.ID, "sub-delete-dialog")))
    check("Cancel in the confirmation deletes nothing",
          ctl("subscription", "get", sid) is not None)
    dialog = ask()
    shot(d, "subs-04-delete")
    dialog.find_element(By.ID, "sub-delete-ok").click()
    awaited(d, "Delete, confirmed: the list says none",
            lambda: d.find_elements(By.CSS_SELECTOR, SUBS + " .empty"))
    check("... and chimectl lists none",
          ctl("subscription", "list")["subscriptions"] == [])


def read_only(d, w):
    sid = ctl("subscription", "create", RECV_URL, "--account", "acme",
              "--kinds", "budget.*")["id"]
    signed_in(d, w, READ)
    d.find_element(By.CSS_SELECTOR,
                   '#nav a[data-page="subscriptions"]').click()
    subs_loaded(d)
    check("a read-only session lists the subscriptions",
          sub_row(d, sid).get_attribute("data-state") == "active")
    check("... with no write action and no create form",
          not d.find_elements(By.CSS_SELECTOR, SUBS + " [data-action]") and
          not d.find_elements(By.ID, "sub-form"))
    sub_row(d, sid).find_element(By.LINK_TEXT, sid).click()
    subs_loaded(d)
    check("... nor on the subscription's page",
          not d.find_elements(By.CSS_SELECTOR, SUBS + " [data-action]") and
          d.find_elements(By.CSS_SELECTOR, SUBS + " .facts"))
    shot(d, "subs-05-read-only")
    sign_out(d, w)


def other_account(d, w):
    signed_in(d, w, OTHER)
    d.find_element(By.CSS_SELECTOR, '#nav a[data-page="events"]').click()
    until(d, lambda: ev_attr(d, "data-state") == "open")
    follow(d, w, frm="1")
    run_id = trigger("theirs", "other")
    awaited(d, "another account's page, from seq 1: its own run shows",
            lambda: finished_in_page(d, run_id))
    got = sorted(e["seq"] for e in shown(d))
    want = [r["seq"] for r in export() if r["account"] == "other"
            and r["seq"] <= max(got)]
    check("... every one of its events and none of acme's",
          got == want and all(e["account"] == "other" for e in shown(d)),
          "page %s, export %s" % (got, want))
    shot(d, "events-06-other-account")
    sign_out(d, w)
    awaited(d, "signing out ends the stream (chime_watchers 0)",
            lambda: watchers() == 0)


def admin_and_drain(d, w):
    """An admin under All accounts sees every record, the daemon's too;
    then the daemon drains, and the page says so."""
    signed_in(d, w, ADMIN)
    d.find_element(By.CSS_SELECTOR,
                   '#nav a[data-page="subscriptions"]').click()
    subs_loaded(d)
    subs = ctl("subscription", "list")["subscriptions"]
    rows = d.find_elements(By.CSS_SELECTOR, SUBS + " tbody tr[data-id]")
    heads = [th.text for th in d.find_elements(By.CSS_SELECTOR,
                                               SUBS + " thead th")]
    check("an admin's All accounts lists every subscription, with an "
          "Account column", "Account" in heads and
          sorted((r.get_attribute("data-id"), r.get_attribute(
              "data-account")) for r in rows) ==
          sorted((x["id"], x["account"]) for x in subs) and len(subs) > 0,
          str(heads))
    d.find_element(By.CSS_SELECTOR, '#nav a[data-page="events"]').click()
    until(d, lambda: ev_attr(d, "data-state") == "open")
    follow(d, w, frm="1")
    awaited(d, "an admin under All accounts, from seq 1: every record of "
            "the journal", lambda: sorted(e["seq"] for e in shown(d)) ==
            [r["seq"] for r in export()])
    heads = [th.text for th in d.find_elements(By.CSS_SELECTOR,
                                               EV + " thead th")]
    own = [r for r in export() if r["account"] is None]
    rows = [d.find_element(By.CSS_SELECTOR, EV + ' tbody tr[data-seq="%d"]'
                           % r["seq"]) for r in own]
    check("... with an Account column, the daemon's own records said so "
          "(%d)" % len(own), "Account" in heads and own and
          all("(the daemon)" in r.text for r in rows))
    head = max(r["seq"] for r in export())
    os.kill(int(os.environ["CHIME_PID"]), signal.SIGTERM)
    awaited(d, "the daemon drains: the stream's end is said in words",
            lambda: ev_attr(d, "data-end") == "draining" and
            ("The daemon is draining (stopping); reconnecting from seq %d"
             % (head + 1)) in d.find_element(By.ID, "events-status").text)
    shot(d, "events-07-draining")


def main(d, w):
    signed_in(d, w, TOKEN)
    events_live(d, w)
    events_filter(d, w)
    events_pause(d, w)
    events_reconnect(d, w)
    events_leave(d, w)
    sid = subs_create(d, w)
    subs_deliveries(d, w, sid)
    subs_actions(d, w, sid)
    sign_out(d, w)
    read_only(d, w)
    other_account(d, w)
    admin_and_drain(d, w)


run(main)
