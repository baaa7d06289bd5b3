#!/usr/bin/python3
# bench/events-backlog.py: the dashboard's Events page reading a backlog
# in headless chromium against a real chimed: N records written (N
# schedule.create), then the page follows from seq 1.  Per round: the time
# from Follow to the last record passed (the page's data-next past the
# head, on the page's clock), the rows kept, and the renderer's main
# thread (Chrome's Performance.getMetrics: CPU time, script, layouts and
# style recalculations), which a loaded machine disturbs less than the
# wall time.  Debian's chromium, chromium-driver and python3-selenium.
#
# usage: bench/events-backlog.py [--records N] [--rounds K] [--chimed PATH]
#            [--ui-dir DIR] [--out FILE]
import argparse, atexit, json, os, shutil, socket, subprocess, sys
import tempfile, time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ap = argparse.ArgumentParser()
ap.add_argument("--records", type=int, default=20000)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--chimed", default=os.path.join(
    os.environ.get("CHIME_BUILDDIR", SRC), "chimed"))
ap.add_argument("--ui-dir", default=os.path.join(SRC, "ui"))
ap.add_argument("--out")
a = ap.parse_args()

tmp = tempfile.mkdtemp(prefix="chime-evbench.")
data = os.path.join(tmp, "data")
log = open(os.path.join(tmp, "chimed.log"), "w")
d = subprocess.Popen([a.chimed, "--data", data, "--http", "127.0.0.1:0",
                      "--catalog", os.path.join(SRC, "bench/catalog.json"),
                      "--ui-dir", a.ui_dir, "--log-level", "warn"],
                     stdout=log, stderr=log)
b = None


def end():
    if b is not None:
        b.quit()
    d.kill()
    d.wait()
    shutil.rmtree(tmp, ignore_errors=True)


atexit.register(end)
s = socket.socket(socket.AF_UNIX)
for _ in range(400):
    try:
        s.connect(os.path.join(data, "chime.sock"))
        break
    except OSError:
        time.sleep(0.05)
f = s.makefile("rwb")


def call_many(reqs):
    out, sent = [], 0
    while len(out) < len(reqs):
        while sent < len(reqs) and sent - len(out) < 64:
            f.write((json.dumps(dict(reqs[sent], jsonrpc="2.0", id=sent)) +
                     "\n").encode())
            sent += 1
        f.flush()
        out.append(json.loads(f.readline()))
    bad = [r["error"] for r in out if "error" in r]
    if bad:
        print(bad[0])
        sys.exit(1)
    return [r["result"] for r in out]


call_many([{"method": "schedule.create", "params": {
    "name": "s%06d" % i, "operation": "noop", "manual": True}}
    for i in range(a.records)])
token = call_many([{"method": "token.create", "params": {
    "name": "bench", "account": "default"}}])[0]["token"]
st = call_many([{"method": "daemon.status", "params": {}}])[0]
port = st["http"]["address"].rsplit(":", 1)[1]

opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for x in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
          "--disable-gpu", "--window-size=1280,1000",
          "--disable-background-networking", "--disable-extensions"):
    opts.add_argument(x)
b = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
w = WebDriverWait(b, 300, poll_frequency=0.05)
b.get("http://127.0.0.1:%s/ui/#/events" % port)
w.until(EC.visibility_of_element_located((By.ID, "signin-token"))) \
    .send_keys(token)
b.find_element(By.ID, "signin-submit").click()
w.until(lambda _: b.find_element(By.CSS_SELECTOR, "section.events")
        .get_attribute("data-state") == "open")
b.execute_cdp_cmd("Performance.enable", {})


def metrics():
    return {m["name"]: m["value"] for m in
            b.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]}


times = []
cpu = []
for r in range(a.rounds):
    b.find_element(By.ID, "events-from").clear()
    b.find_element(By.ID, "events-from").send_keys("1")
    head = None
    m0 = metrics()
    t0 = b.execute_script("return performance.now()")
    b.find_element(By.ID, "events-apply").click()
    w.until(lambda _: b.find_element(By.CSS_SELECTOR, "section.events")
            .get_attribute("data-head"))
    head = int(b.find_element(By.CSS_SELECTOR, "section.events")
               .get_attribute("data-head"))
    # the page's own clock: when data-next passed the head
    ms = b.execute_script("""
      const sec = document.querySelector("section.events");
      const t0 = arguments[0], head = arguments[1];
      return new Promise((ok) => {
        const poll = () => Number(sec.dataset.next) > head &&
          Number(sec.dataset.rows) > 0 ?
          ok(performance.now() - t0) : setTimeout(poll, 5);
        poll();
      });""", t0, head)
    rows = b.find_element(By.CSS_SELECTOR, "section.events") \
        .get_attribute("data-rows")
    m1 = metrics()
    dm = {k: m1[k] - m0[k] for k in ("ThreadTime", "ScriptDuration",
                                     "LayoutCount", "RecalcStyleCount",
                                     "LayoutDuration",
                                     "RecalcStyleDuration")}
    times.append(ms)
    cpu.append(dm["ThreadTime"] * 1000)
    print("round %d: %d records (head %d) in %.0f ms, %s rows kept; "
          "main thread CPU %.0f ms, script %.0f ms, %d layouts (%.0f ms), "
          "%d style recalcs (%.0f ms)" % (
              r + 1, a.records, head, ms, rows, dm["ThreadTime"] * 1000,
              dm["ScriptDuration"] * 1000, dm["LayoutCount"],
              dm["LayoutDuration"] * 1000, dm["RecalcStyleCount"],
              dm["RecalcStyleDuration"] * 1000))
times.sort()
cpu.sort()
print("median %.0f ms wall, %.0f ms main-thread CPU" %
      (times[len(times) // 2], cpu[len(cpu) // 2]))
if a.out:
    with open(a.out, "w") as fh:
        json.dump({"records": a.records, "rounds": a.rounds,
                   "wall_ms_p50": times[len(times) // 2],
                   "main_thread_cpu_ms_p50": cpu[len(cpu) // 2]}, fh)
