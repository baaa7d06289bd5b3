#!/usr/bin/python3
# bench/dashboard-load.py: the first load of the dashboard's overview in
# headless chromium against a real chimed (durable journal) holding N
# schedules of one account and R runs of them: time to content (from the
# navigation's start to the overview's last figure, the page's
# "chime-overview-loaded" mark) and bytes transferred (the navigation and
# every resource, headers included, from the Resource Timing entries),
# cold (the cache emptied) and warm (a reload: files revalidated, 304).
# Debian's chromium, chromium-driver and python3-selenium.
#
# --year OPS: the journal starts with a year of analytics (a day's row for
# each of OPS operations x 4 models x 365 days, ending today, and the rows
# above them, as bench/analytics-bench --keep-data writes them; built
# first: make bench/analytics-bench), so the overview's figures are summed
# over a year of runs; the schedules and runs are added to it.
#
# usage: bench/dashboard-load.py [--schedules N] [--runs R] [--rounds K]
#            [--year OPS] [--chimed PATH] [--keep] [--out FILE]
import argparse, json, os, shutil, signal, socket, subprocess, sys
import tempfile, time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--schedules", type=int, default=10000)
ap.add_argument("--runs", type=int, default=2000)
ap.add_argument("--rounds", type=int, default=5)
ap.add_argument("--year", type=int, default=0)
ap.add_argument("--chimed", default=os.path.join(
    os.environ.get("CHIME_BUILDDIR", SRC), "chimed"))
ap.add_argument("--keep", action="store_true")
ap.add_argument("--out")
a = ap.parse_args()

tmp = tempfile.mkdtemp(prefix="chime-dashbench.")
data = os.path.join(tmp, "data")
sock_path = os.path.join(data, "chime.sock")
log = open(os.path.join(tmp, "chimed.log"), "w")
ACCOUNT = "acme"
if a.year:
    t0 = time.monotonic()
    subprocess.run([os.path.join(os.path.dirname(a.chimed), "bench",
                                 "analytics-bench"), "--accounts", "1",
                    "--ops", str(a.year), "--models", "4", "--repeat", "1",
                    "--keep-data", data], check=True, stdout=log)
    ACCOUNT = "acct0"
    print("a year of analytics   %d operations x 4 models x 365 days "
          "in %.1f s" % (a.year, time.monotonic() - t0))
d = subprocess.Popen([a.chimed, "--data", data, "--http", "127.0.0.1:0",
                      "--catalog", os.path.join(SRC, "bench/catalog.json"),
                      "--ui-dir", os.path.join(SRC, "ui"),
                      "--max-running", "64", "--log-level", "warn"],
                     stdout=log, stderr=log)


def done(*x):
    d.kill()
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1)


signal.signal(signal.SIGINT, done)
signal.signal(signal.SIGTERM, done)
s = socket.socket(socket.AF_UNIX)
for _ in range(400):
    try:
        s.connect(sock_path)
        break
    except OSError:
        time.sleep(0.05)
f = s.makefile("rwb")


def call_many(reqs):
    """Send REQS pipelined, at most 64 unanswered; the answers."""
    out, sent = [], 0
    while len(out) < len(reqs):
        while sent < len(reqs) and sent - len(out) < 64:
            r = dict(reqs[sent], jsonrpc="2.0", id=sent)
            f.write((json.dumps(r) + "\n").encode())
            sent += 1
        f.flush()
        out.append(json.loads(f.readline()))
    return out


def call(method, **params):
    r = call_many([{"method": method, "params": params}])[0]
    if "error" in r:
        done()
    return r["result"]


def check_all(answers, what):
    bad = [r["error"] for r in answers if "error" in r]
    if bad:
        print("%s: %s" % (what, bad[0]))
        done()


call("account.create", name=ACCOUNT)
t0 = time.monotonic()
check_all(call_many([{"method": "schedule.create", "params": {
    "account": ACCOUNT, "name": "s%05d" % i,
    "operation": "noop" if i % 2 else "report", "manual": True}}
    for i in range(a.schedules)]), "schedule.create")
print("schedules created     %d in %.1f s" % (a.schedules,
                                               time.monotonic() - t0))
t0 = time.monotonic()
check_all(call_many([{"method": "schedule.trigger", "params": {
    "account": ACCOUNT, "id": "s%05d" % (i % a.schedules)}}
    for i in range(a.runs)]), "schedule.trigger")
while call("analytics.summary", account=ACCOUNT,
           period="week")["current"]["runs"] < a.runs + 3 * 7 * 4 * a.year:
    time.sleep(0.2)
print("runs ended            %d in %.1f s" % (a.runs, time.monotonic() - t0))
token = call("token.create", name="bench", account=ACCOUNT)["token"]
port = call("daemon.status")["http"]["address"].rsplit(":", 1)[1]
url = "http://127.0.0.1:%s/ui/" % port

opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for x in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
          "--disable-gpu", "--window-size=1280,1000",
          "--disable-background-networking", "--disable-extensions"):
    opts.add_argument(x)
b = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
w = WebDriverWait(b, 60)
b.get(url)
w.until(EC.visibility_of_element_located((By.ID, "signin-token"))) \
    .send_keys(token)
b.find_element(By.ID, "signin-submit").click()
w.until(EC.presence_of_element_located(
    (By.CSS_SELECTOR, '#page .overview[data-loaded="month"]')))

MEASURE = """
const m = performance.getEntriesByName("chime-overview-loaded")[0];
const nav = performance.getEntriesByType("navigation")[0];
const res = performance.getEntriesByType("resource");
return { ms: m ? m.startTime : null,
  bytes: nav.transferSize + res.reduce((s, r) => s + r.transferSize, 0),
  body: nav.encodedBodySize + res.reduce((s, r) => s + r.encodedBodySize, 0),
  requests: 1 + res.length,
  rpc: res.filter((r) => r.name.endsWith("/v1/rpc")).length,
  timeline: [["document", 0, nav.responseEnd]].concat(res.map((r) =>
    [r.name.replace(/^https?:\/\/[^/]+/, ""), r.startTime, r.responseEnd])) };
"""


def load(cold):
    if cold:
        b.execute_cdp_cmd("Network.clearBrowserCache", {})
    b.get(url)
    w.until(lambda _: b.execute_script(
        'return performance.getEntriesByName("chime-overview-loaded")'
        '.length') > 0)
    return b.execute_script(MEASURE)


res = {"schedules": a.schedules, "runs": a.runs, "year_ops": a.year, "cold": [], "warm": []}
for _ in range(a.rounds):
    res["cold"].append(load(True))
    res["warm"].append(load(False))
b.quit()
d.send_signal(signal.SIGTERM)
d.wait()
for kind in ("cold", "warm"):
    xs = sorted(r["ms"] for r in res[kind])
    r = res[kind][-1]
    print("%-5s time to content p50 %.0f ms (min %.0f, max %.0f); "
          "%d bytes transferred (%d of bodies) in %d requests, "
          "%d of them /v1/rpc" % (kind, xs[len(xs) // 2], xs[0], xs[-1],
                                  r["bytes"], r["body"], r["requests"],
                                  r["rpc"]))
if os.environ.get("CHIME_TIMELINE"):
    for name, start, end in res["cold"][-1]["timeline"]:
        print("  %-24s %6.1f .. %6.1f ms" % (name, start, end))
if a.out:
    json.dump(res, open(a.out, "w"), indent=1)
if not a.keep:
    shutil.rmtree(tmp, ignore_errors=True)
