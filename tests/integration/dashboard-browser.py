#!/usr/bin/python3
"""tests/integration/dashboard-browser.py: the dashboard in headless
chromium, run by dashboard-browser.sh against its chimed.

Environment: CHIME_URL (the daemon's origin), CHIME_TOKEN_FILE and
CHIME_ADMIN_FILE (token.create's answers), CHIME_SUMMARIES (a folder of
summary-PERIOD.json, chimectl's analytics.summary for each period),
CHIME_SHOTS (where screenshots go).  Prints PASS:/FAIL: lines; exits 1 if
a check failed, 77 if the browser cannot start.  Waits on conditions
(WebDriverWait), never sleeps.
"""
import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

URL = os.environ["CHIME_URL"]
ORIGIN = urlsplit(URL)
SHOTS = os.environ["CHIME_SHOTS"]
TOKEN = json.load(open(os.environ["CHIME_TOKEN_FILE"]))["token"]
ADMIN = json.load(open(os.environ["CHIME_ADMIN_FILE"]))["token"]
WAIT = 20
failed = False


def check(name, ok, detail=""):
    global failed
    if ok:
        print("PASS: " + name)
    else:
        failed = True
        print("FAIL: " + name + (" (" + detail + ")" if detail else ""))


def fixed1(x):
    """JavaScript's x.toFixed(1) for x >= 0 (ties away from zero)."""
    return str(Decimal(x).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def expected_cards(s):
    """The four cards as overview.js writes analytics.summary's figures."""
    c = s["current"]
    rate = c["success_rate"]
    lat = c["latency_avg_ms"]
    return {
        "cost": (c["cost_usd"], "$" + c["cost_usd"]),
        "runs": (str(c["runs"]), str(c["runs"])),
        "success_rate": ("" if rate is None else repr_js(rate),
                         "—" if rate is None else fixed1(rate * 100) + " %"),
        "latency": ("" if lat is None else repr_js(lat),
                    "—" if lat is None else fixed1(lat) + " ms"),
    }


def repr_js(x):
    """String(x) in JavaScript for the numbers the API sends."""
    if float(x).is_integer():
        return str(int(x))
    return repr(float(x))


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


def ui_prefs(account):
    """The account's UI document, as chimectl prefs get shows it."""
    out = subprocess.run([os.environ["CHIMECTL"], "--json", "prefs", "get",
                          "--account", account], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out).get("ui", {})


def shot(d, name):
    d.save_screenshot(os.path.join(SHOTS, name + ".png"))


def requested(d):
    """Every URL the page asked for since the last call."""
    urls = []
    for entry in d.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
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


def sign_in(d, w, token):
    d.get(URL + "/")
    field = w.until(EC.visibility_of_element_located((By.ID, "signin-token")))
    field.send_keys(token)
    d.find_element(By.ID, "signin-submit").click()


def overview_loaded(d, w, period):
    w.until(lambda _: d.find_element(By.CSS_SELECTOR, "#page .overview")
            .get_attribute("data-loaded") == period)


def cards_match(d, period):
    s = json.load(open(os.path.join(os.environ["CHIME_SUMMARIES"],
                                    "summary-%s.json" % period)))
    want = expected_cards(s)
    for fig, (raw, text) in want.items():
        v = d.find_element(By.CSS_SELECTOR,
                           '[data-figure="%s"] .value' % fig)
        got_raw = v.get_attribute("data-value")
        check("%s: the %s card holds analytics.summary's figure" %
              (period, fig), got_raw == raw and v.text == text,
              "page %r / %r, API %r / %r" % (got_raw, v.text, raw, text))


def main():
    try:
        d = browser()
    except WebDriverException as e:
        print("SKIP: chromium does not start: %s" % str(e).splitlines()[0])
        sys.exit(77)
    w = WebDriverWait(d, WAIT)
    try:
        d.get(URL + "/")
        w.until(EC.visibility_of_element_located((By.ID, "signin-token")))
        shot(d, "01-signin")
        check("/ shows the sign-in form at /ui/",
              urlsplit(d.current_url).path == "/ui/")

        sign_in(d, w, "chime_not_a_real_token_000000000000")
        err = w.until(lambda _: d.find_element(By.ID, "signin-error").text)
        check("a bad token is refused in words", "Not signed in" in err, err)
        shot(d, "02-signin-refused")

        sign_in(d, w, TOKEN)
        w.until(EC.visibility_of_element_located((By.ID, "app")))
        overview_loaded(d, w, "month")
        shot(d, "03-overview-month")
        check("no token in the address", TOKEN not in d.current_url)
        cookies = {c["name"]: c for c in d.get_cookies()}
        sc = cookies.get("chime_session", {})
        check("the session cookie is HttpOnly and SameSite=Strict",
              sc.get("httpOnly") is True and sc.get("sameSite") == "Strict",
              str(sc))
        cards_match(d, "month")
        for period in ("week", "quarter", "year"):
            d.find_element(By.CSS_SELECTOR,
                           'button[data-period="%s"]' % period).click()
            overview_loaded(d, w, period)
            cards_match(d, period)
        shot(d, "04-overview-year")
        Select(d.find_element(By.ID, "theme-select")).select_by_value("dark")
        w.until(lambda _: d.find_element(By.TAG_NAME, "html")
                .get_attribute("data-theme") == "dark")
        overview_loaded(d, w, "year")
        try:
            WebDriverWait(d, WAIT, poll_frequency=0.1).until(
                lambda _: ui_prefs("acme").get("color_scheme") == "dark")
            check("the dark theme is applied and kept in prefs (set_ui)",
                  True)
        except TimeoutException:
            check("the dark theme is applied and kept in prefs (set_ui)",
                  False, str(ui_prefs("acme")))
        shot(d, "04b-overview-dark")
        w.until(EC.presence_of_element_located(
            (By.CSS_SELECTOR, "#page canvas")))
        check("the charts are drawn (Chart.js loaded from chimed)",
              d.execute_script("return typeof window.Chart") == "function")
        check("the model table lists the operations",
              "quick" in d.find_element(By.CSS_SELECTOR,
                                        '[aria-labelledby="models-h"] table')
              .text)
        check("the pace shows the account's cap",
              len(d.find_elements(By.CSS_SELECTOR, ".pace meter")) >= 1)

        d.set_window_size(390, 844)
        toggle = w.until(EC.visibility_of_element_located(
            (By.ID, "nav-toggle")))
        toggle.click()
        w.until(EC.visibility_of_element_located(
            (By.CSS_SELECTOR, '#nav a[data-page="overview"]')))
        shot(d, "05-overview-phone")
        check("at phone width the navigation opens from its button", True)
        wide = d.execute_script("return [document.documentElement"
                                ".scrollWidth, window.innerWidth]")
        check("... and nothing is wider than the window", wide[0] <= wide[1],
              "page %d px, window %d px" % tuple(wide))
        d.set_window_size(1280, 1000)

        csp = [e["message"] for e in d.get_log("browser")
               if "Content Security Policy" in e["message"]]
        check("nothing the page does breaks its Content-Security-Policy",
              not csp, "; ".join(csp[:3]))

        urls = requested(d)
        bad = foreign(urls)
        check("every request stays on the daemon's origin (%d seen)" %
              len(urls), len(urls) > 0 and not bad, ", ".join(bad[:5]))
        check("no request carries the token", not any(TOKEN in u
                                                     for u in urls))

        d.find_element(By.ID, "signout").click()
        w.until(EC.visibility_of_element_located((By.ID, "signin-token")))
        shot(d, "06-signed-out")
        check("sign out forgets the cookie",
              d.get_cookie("chime_session") is None)
        d.refresh()
        w.until(EC.visibility_of_element_located((By.ID, "signin-token")))
        check("... and a reload asks to sign in again", True)

        sign_in(d, w, ADMIN)
        sel = w.until(EC.visibility_of_element_located(
            (By.ID, "account-select")))
        overview_loaded(d, w, "month")
        names = [o.get_attribute("value") for o in
                 sel.find_elements(By.TAG_NAME, "option")]
        check("an admin's account switcher lists the accounts",
              "acme" in names and "other" in names, str(names))
        shot(d, "07-admin")
        bad = foreign(requested(d))
        check("... and still nothing from another origin", not bad,
              ", ".join(bad[:5]))
    except TimeoutException as e:
        shot(d, "99-timeout")
        check("the page reached the state awaited", False,
              "timed out: %s" % (e.msg or "a condition"))
        for entry in d.get_log("browser"):
            print("  console: " + entry["message"])
    finally:
        d.quit()
    sys.exit(1 if failed else 0)


main()
