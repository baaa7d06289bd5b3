#!/usr/bin/python3
# tests/integration/smtp-relay.py: a real SMTP relay on loopback for the
# email tests (Debian's python3-aiosmtpd): STARTTLS required (the test's
# self-signed certificate), AUTH PLAIN/LOGIN required after it (one user,
# one password), every accepted message written whole to
# DIR/NNNN.eml, every RCPT attempt appended to DIR/attempts.log as
# "ADDRESS CODE".
#
# SCRIPT (a JSON file, optional) scripts the answers to RCPT TO per
# address: {"addr@example.com": [451, 250]} answers 451 at the first
# attempt, then 250; 5xx codes are permanent refusals; 0 drops the
# connection at that RCPT without an answer.  An address with
# no script (or past its list) is accepted.  "_delay_ms": N holds each
# message N ms before accepting it (a window for kill -9).
#
# CERT "-": no TLS and no AUTH (a plain loopback relay, for chimed's
# --smtp-insecure).
#
# usage: smtp-relay.py DIR PORTFILE CERT KEY USER PASSWORD [SCRIPT]
import asyncio
import json
import os
import signal
import socket
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

DIR, PORTFILE, CERT, KEY, USER, PASSWORD = sys.argv[1:7]
SCRIPT = {}
if len(sys.argv) > 7:
    with open(sys.argv[7]) as f:
        SCRIPT = json.load(f)
LOCK = threading.Lock()
COUNT = [0]


def log_attempt(address, code):
    with LOCK, open(os.path.join(DIR, "attempts.log"), "a") as f:
        f.write("%s %d\n" % (address, code))


class Handler:
    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        codes = SCRIPT.get(address, [])
        code = codes.pop(0) if codes else 250
        log_attempt(address, code)
        if code == 0:
            server.transport.abort()
            return "421 4.4.2 dropped (test script)"
        if code >= 500:
            return "%d 5.1.1 refused by the test's script" % code
        if code >= 400:
            return "%d 4.3.0 try again later (test script)" % code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(SCRIPT.get("_delay_ms", 0) / 1000.0)
        with LOCK:
            COUNT[0] += 1
            n = COUNT[0]
        tmp = os.path.join(DIR, "%04d.tmp" % n)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(DIR, "%04d.eml" % n))
        return "250 2.0.0 queued as %04d" % n


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and
          auth_data.login.decode() == USER and
          auth_data.password.decode() == PASSWORD)
    return AuthResult(success=ok)


def main():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    if CERT == "-":
        c = Controller(Handler(), hostname="127.0.0.1", port=port,
                       decode_data=False)
    else:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(CERT, KEY)
        c = Controller(Handler(), hostname="127.0.0.1", port=port,
                       tls_context=ctx, require_starttls=True,
                       authenticator=authenticator, auth_required=True,
                       auth_require_tls=True, decode_data=False)
    c.start()
    with open(PORTFILE + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(PORTFILE + ".tmp", PORTFILE)
    signal.signal(signal.SIGTERM, lambda *a: (c.stop(), sys.exit(0)))
    while True:
        signal.pause()


main()
