#!/usr/bin/python3
# bench/email-bench.py: report messages per second from a real chimed
# (durable journal, --journal-sync full unless --sync says) to a local
# relay (aiosmtpd in this process, plain SMTP on loopback: chimed's
# --smtp-insecure), doc/email.md.  It makes N/50 manual schedules of 50
# recipients each, triggers them all, and times until the relay has
# accepted N messages and until chimed counts N email.sent
# (chime_emails_total on /metrics: each one durable).  Each message is
# built, sent on its own connection (at most 4 at once) and its outcome
# journaled.  Needs Debian's python3-aiosmtpd.
#
# usage: bench/email-bench.py [-n N] [--sync full|batch|none] [--chimed PATH]
#            [--chimectl PATH] [--out FILE]
import argparse, json, os, shutil, socket, subprocess, sys, tempfile
import threading, time, urllib.request

from aiosmtpd.controller import Controller

ap = argparse.ArgumentParser()
ap.add_argument("-n", type=int, default=1000)
ap.add_argument("--sync", default="full")
build = os.environ.get("CHIME_BUILDDIR", os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
ap.add_argument("--chimed", default=os.path.join(build, "chimed"))
ap.add_argument("--chimectl", default=os.path.join(build, "chimectl"))
ap.add_argument("--out")
a = ap.parse_args()
per = 50
schedules = (a.n + per - 1) // per

count = [0]
lock = threading.Lock()


class Relay:
    async def handle_DATA(self, server, session, envelope):
        with lock:
            count[0] += 1
        return "250 OK"


s = socket.socket()
s.bind(("127.0.0.1", 0))
rport = s.getsockname()[1]
s.close()
relay = Controller(Relay(), hostname="127.0.0.1", port=rport)
relay.start()

tmp = tempfile.mkdtemp(prefix="chime-emailbench.")
data = os.path.join(tmp, "data")
sock = os.path.join(data, "chime.sock")
catalog = os.path.join(tmp, "catalog.json")
with open(catalog, "w") as f:
    json.dump({"models": [{"id": "m", "input_usd_per_mtok": "1.00",
                           "output_usd_per_mtok": "2.00"}],
               "operations": [{"id": "report", "executor": "exec",
                               "argv": ["/bin/sh", "-c",
                                        "cat >/dev/null; printf "
                                        "'{\"result\":{\"n\":7}}'"],
                               "timeout": "10s",
                               "tokens": {"input": [1, 1, 1],
                                          "output": [1, 1, 1]},
                               "default_model": "m"}]}, f)
log = open(os.path.join(tmp, "chimed.log"), "w")
d = subprocess.Popen([a.chimed, "--data", data, "--catalog", catalog,
                      "--http", "127.0.0.1:0", "--journal-sync", a.sync,
                      "--log-level", "warn", "--smtp-insecure",
                      "--smtp-url", "smtp://127.0.0.1:%d" % rport,
                      "--smtp-from", "reports@example.org",
                      "--public-url", "https://chime.example.org"],
                     stdout=log, stderr=log)


def ctl(*args):
    return subprocess.run([a.chimectl, "--socket", sock, "--json"] +
                          list(args), capture_output=True, text=True)


for _ in range(200):
    r = ctl("daemon", "status")
    if r.returncode == 0:
        break
    time.sleep(0.05)
else:
    sys.exit("chimed did not start: see %s" % tmp)
http = json.loads(r.stdout)["http"]["address"]
for i in range(schedules):
    to = ",".join("u%03d.s%03d@example.com" % (j, i) for j in range(per))
    r = ctl("schedule", "create", "--name", "s%03d" % i, "--op", "report",
            "--manual", "--email-to", to)
    if r.returncode != 0:
        sys.exit("schedule.create: " + r.stderr)
want = schedules * per


def sent():
    m = urllib.request.urlopen("http://%s/metrics" % http).read().decode()
    for line in m.splitlines():
        if line.startswith('chime_emails_total{outcome="sent"}'):
            return int(float(line.split()[-1]))
    return 0


t0 = time.monotonic()
for i in range(schedules):
    ctl("schedule", "trigger", "s%03d" % i)
t_relay = t_sent = None
while t_sent is None:
    now = time.monotonic()
    if t_relay is None and count[0] >= want:
        t_relay = now - t0
    if t_relay is not None and sent() >= want:
        t_sent = time.monotonic() - t0
    if now - t0 > 600:
        sys.exit("timed out: %d accepted, %d sent" % (count[0], sent()))
    time.sleep(0.01)
rss = int(open("/proc/%d/status" % d.pid).read().split("VmRSS:")[1]
          .split()[0])
d.terminate()
d.wait()
relay.stop()
res = {"messages": want, "runs": schedules, "sync": a.sync,
       "relay_seconds": round(t_relay, 3),
       "relay_messages_per_second": round(want / t_relay, 1),
       "journaled_seconds": round(t_sent, 3),
       "journaled_messages_per_second": round(want / t_sent, 1),
       "chimed_rss_kib": rss}
print("  messages            %d (%d runs of %d recipients)" %
      (want, schedules, per))
print("  accepted by relay   %.3f s, %.1f messages/s" %
      (t_relay, want / t_relay))
print("  email.sent durable  %.3f s, %.1f messages/s" %
      (t_sent, want / t_sent))
print("  chimed RSS          %d KiB" % rss)
if a.out:
    with open(a.out, "w") as f:
        json.dump(res, f, indent=2)
shutil.rmtree(tmp)
