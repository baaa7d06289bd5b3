"""tests/integration/dashboard_lib.py: what the dashboard's browser tests
(dashboard-*.py) share: the environment, headless chromium, PASS:/FAIL:
checks, waits on conditions (never sleeps), screenshots, chimectl, and
run(), which signs nothing in but starts the browser, runs a test's body
and ends with the checks every page owes: nothing against its
Content-Security-Policy, no request to another origin, no token in a URL.

Environment (set by browser_test in lib.sh): CHIME_URL (the daemon's
origin), CHIME_SHOTS (where screenshots go), CHIMECTL (the daemon's own
client, to see what the pages did).
"""
import json
import os
import subprocess
import sys
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException,
                                        StaleElementReferenceException,
                                        TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

URL = os.environ["CHIME_URL"]
ORIGIN = urlsplit(URL)
SHOTS = os.environ["CHIME_SHOTS"]
WAIT = 20
STALE = (NoSuchElementException, StaleElementReferenceException)
_failed = False
_tokens = []
_seen = []		# every URL requested() has returned


def check(name, ok, detail=""):
    global _failed
    if ok:
        print("PASS: " + name)
    else:
        _failed = True
        print("FAIL: " + name + (" (" + detail + ")" if detail else ""))


def awaited(d, name, cond, wait=WAIT):
    """Check NAME once COND() holds, or fail it after WAIT seconds."""
    try:
        WebDriverWait(d, wait, poll_frequency=0.1,
                      ignored_exceptions=STALE).until(lambda _: cond())
        check(name, True)
        return True
    except TimeoutException:
        check(name, False, "not within %d s" % wait)
        return False


def until(d, cond, wait=WAIT):
    """Wait for COND() (stale elements retried); TimeoutException else."""
    return WebDriverWait(d, wait, poll_frequency=0.1,
                         ignored_exceptions=STALE).until(lambda _: cond())


def token(env):
    """The secret of the token.create answer in the file $ENV; kept to
    check that no URL carries it."""
    t = json.load(open(os.environ[env]))["token"]
    _tokens.append(t)
    return t


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--disable-gpu", "--window-size=1280,1000",
              "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync",
              "--disable-default-apps", "--disable-extensions"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL",
                                              "browser": "ALL"})
    service = Service("/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=opts)


def shot(d, name):
    d.save_screenshot(os.path.join(SHOTS, name + ".png"))


def requested(d):
    """Every URL the page asked for since the last call."""
    urls = []
    for entry in d.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    _seen.extend(urls)
    return urls


def foreign(urls):
    out = []
    for u in urls:
        p = urlsplit(u)
        if p.scheme in ("data", "blob"):
            continue
        if (p.scheme, p.netloc) != (ORIGIN.scheme, ORIGIN.netloc):
            out.append(u)
    return out


def sign_in(d, w, secret):
    """Type SECRET into the sign-in form of a fresh load of /."""
    d.get(URL + "/")
    field = w.until(EC.visibility_of_element_located((By.ID, "signin-token")))
    field.send_keys(secret)
    d.find_element(By.ID, "signin-submit").click()


def signed_in(d, w, secret):
    """Sign in with SECRET and await the layout."""
    sign_in(d, w, secret)
    w.until(EC.visibility_of_element_located((By.ID, "app")))


def sign_out(d, w):
    d.find_element(By.ID, "signout").click()
    w.until(EC.visibility_of_element_located((By.ID, "signin-token")))


def ctl(*args):
    """chimectl --json ARGS as JSON; None when it fails."""
    r = subprocess.run([os.environ["CHIMECTL"], "--json"] + list(args),
                       capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else None


def phone_fits(d, name, shot_name=None):
    """At phone width (390 px), nothing is wider than the window."""
    d.set_window_size(390, 844)
    wide = d.execute_script("return [document.documentElement"
                            ".scrollWidth, window.innerWidth]")
    if shot_name:
        shot(d, shot_name)
    check(name, wide[0] <= wide[1], "page %d px, window %d px" % tuple(wide))
    d.set_window_size(1280, 1000)


def _origin_checks(d):
    csp = [e["message"] for e in d.get_log("browser")
           if "Content Security Policy" in e["message"]]
    check("nothing the pages did broke their Content-Security-Policy",
          not csp, "; ".join(csp[:3]))
    requested(d)
    urls = _seen
    bad = foreign(urls)
    check("every request stayed on the daemon's origin (%d seen)" %
          len(urls), len(urls) > 0 and not bad, ", ".join(bad[:5]))
    check("no request carried a token",
          not any(t in u for u in urls for t in _tokens))


def run(body):
    """Start chromium, run BODY(d, w), end with the origin checks; exit 1
    if a check failed, 77 if the browser cannot start."""
    try:
        d = browser()
    except WebDriverException as e:
        print("SKIP: chromium does not start: %s" % str(e).splitlines()[0])
        sys.exit(77)
    w = WebDriverWait(d, WAIT)
    try:
        body(d, w)
        _origin_checks(d)
    except TimeoutException as e:
        shot(d, "99-timeout-" + os.path.basename(sys.argv[0]))
        check("the page reached the state awaited", False,
              "timed out: %s" % (e.msg or "a condition"))
        for entry in d.get_log("browser"):
            print("  console: " + entry["message"])
    finally:
        d.quit()
    sys.exit(1 if _failed else 0)
