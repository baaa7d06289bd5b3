#!/usr/bin/env python3
# tests/integration/sub-receiver.py: a tests-only receiver of subscription
# deliveries.  It verifies each POST with the Python verifier of
# doc/events.md (read from the page itself), logs it as one JSON line
# (webhook-id, timestamp, whether the signature verified, the status
# answered, the body) and answers as the mode file says at that moment:
#   ok            200
#   fail          500
#   429 N         429 with Retry-After: N (seconds)
#   410           410
#   302           302 to elsewhere
#   slow S        wait S seconds, then 200
# A mode line ending " once" applies to one request, then the mode is ok.
# It captures the last delivery's headers and body in DIR/last.*.
#
# usage: sub-receiver.py EVENTS_MD SECRET_FILE MODE_FILE LOG PORT_FILE [PORT]
import http.server, json, os, re, sys, time

page, secret_file, mode_file, log_file, port_file = sys.argv[1:6]
port = int(sys.argv[6]) if len(sys.argv) > 6 else 0
code = re.search(r"```python\n(.*?)```", open(page).read(), re.S).group(1)
exec(code)  # defines verify(secret, headers, body)


def mode():
    try:
        m = open(mode_file).read().strip()
    except OSError:
        return "ok"
    if m.endswith(" once"):
        open(mode_file, "w").write("ok\n")
        m = m[:-5]
    return m or "ok"


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(n)
        hdr = {k.lower(): v for k, v in self.headers.items()}
        try:
            secrets = [l.strip() for l in open(secret_file) if l.strip()]
        except OSError:
            secrets = []
        ok = any(verify(s, hdr, body) for s in secrets)
        m = mode()
        status, extra = 200, {}
        if m == "fail":
            status = 500
        elif m.startswith("429"):
            status, extra = 429, {"Retry-After": m.split()[1]}
        elif m == "410":
            status = 410
        elif m == "302":
            status, extra = 302, {"Location": "http://127.0.0.1:9/"}
        elif m.startswith("slow"):
            time.sleep(float(m.split()[1]))
        d = os.path.dirname(log_file)
        with open(os.path.join(d, "last.body"), "wb") as f:
            f.write(body)
        with open(os.path.join(d, "last.headers"), "w") as f:
            f.write("%s\n%s\n%s\n" % (hdr.get("webhook-id"),
                    hdr.get("webhook-timestamp"),
                    hdr.get("webhook-signature")))
        with open(log_file, "a") as f:
            f.write(json.dumps({"id": hdr.get("webhook-id"),
                                "ts": hdr.get("webhook-timestamp"),
                                "sub": hdr.get("chime-subscription"),
                                "path": self.path, "verified": ok,
                                "status": status, "at": time.time(),
                                "body": json.loads(body)}) + "\n")
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()


class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True


srv = S(("127.0.0.1", port), H)
with open(port_file + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
