#!/usr/bin/env python3
# bench/subscription-bench.py: subscriber deliveries per second from a real
# chimed (durable journal, --journal-sync full unless --sync says) to a
# local receiver (a keep-alive HTTP server in this process that answers
# 200 at once).  It writes N schedule.created records (pipelined JSON-RPC
# on the control socket), then for each batch size makes a subscription
# from seq 1 and times until the receiver has every event: events/s,
# POSTs/s.  Each POST's outcome is journaled (one durable record per
# delivery) before the next POST, so with batch 1 the figure is bounded by
# the journal's commit latency; several subscriptions share commits.
#
# usage: bench/subscription-bench.py [-n N] [--batches 1,10,100]
#            [--subs K] [--sync full|batch|none] [--chimed PATH]
import argparse, http.server, json, os, shutil, signal, socket, subprocess
import sys, tempfile, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("-n", type=int, default=2000)
ap.add_argument("--batches", default="1,10,100")
ap.add_argument("--subs", type=int, default=1,
                help="subscriptions at once, per batch size")
ap.add_argument("--sync", default="full")
ap.add_argument("--chimed", default=os.path.join(
    os.environ.get("CHIME_BUILDDIR", os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "chimed"))
a = ap.parse_args()

got = {}
lock = threading.Lock()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *x):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        d = json.loads(body)
        n = len(d) if isinstance(d, list) else 1
        with lock:
            k = self.headers["chime-subscription"]
            e, p = got.get(k, (0, 0))
            got[k] = (e + n, p + 1)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
port = srv.server_address[1]

tmp = tempfile.mkdtemp(prefix="chime-subbench.")
data = os.path.join(tmp, "data")
sock_path = os.path.join(data, "chime.sock")
log = open(os.path.join(tmp, "chimed.log"), "w")
d = subprocess.Popen([a.chimed, "--data", data, "--http", "none",
                      "--journal-sync", a.sync, "--log-level", "warn",
                      "--http-allow", "127.0.0.1/32"], stdout=log,
                     stderr=log)


def done(*x):
    d.kill()
    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1)


signal.signal(signal.SIGINT, done)
signal.signal(signal.SIGTERM, done)
for _ in range(200):
    if os.path.exists(sock_path):
        break
    time.sleep(0.05)
s = socket.socket(socket.AF_UNIX)
for _ in range(100):
    try:
        s.connect(sock_path)
        break
    except OSError:
        time.sleep(0.05)
f = s.makefile("rwb")


def call_many(reqs):
    """Send REQS pipelined, at most 64 unanswered; the answers."""
    out, sent, i = [], 0, 0
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
        raise SystemExit("%s: %s" % (method, r["error"]))
    return r["result"]


t0 = time.monotonic()
bad = [r["error"] for r in call_many([{"method": "schedule.create",
       "params": {"name": "b%d" % i, "operation": "email-compose",
       "manual": True}}
       for i in range(a.n)]) if "error" in r]
if bad:
    d.kill()
    raise SystemExit("schedule.create: %s" % bad[0])
t1 = time.monotonic()
print("  records written       %d in %.2f s" % (a.n, t1 - t0))
for b in [int(x) for x in a.batches.split(",")]:
    ids = [call("subscription.create", url="http://127.0.0.1:%d/" % port,
                kinds="schedule.created", batch=b, from_seq=1)["id"]
           for _ in range(a.subs)]
    start = time.monotonic()
    while True:
        with lock:
            ok = all(got.get(i, (0, 0))[0] >= a.n for i in ids)
        if ok:
            break
        if time.monotonic() - start > 600:
            raise SystemExit("timed out")
        time.sleep(0.01)
    el = time.monotonic() - start
    posts = sum(got[i][1] for i in ids)
    print("  batch %-3d x%d subs     %8.0f events/s  %7.0f POSTs/s  "
          "(%d events in %.2f s)" % (b, a.subs, a.n * a.subs / el,
                                      posts / el, a.n * a.subs, el))
    for i in ids:
        call("subscription.delete", id=i)
d.terminate()
d.wait()
shutil.rmtree(tmp, ignore_errors=True)
