#!/usr/bin/env python3
"""The page in a real browser: Debian's chromium, headless, driven over
WebDriver (Debian's chromium-driver) with Python's standard library alone.

    browser_test.py TIDAL OUTDIR

Starts `tidal forage --regions 2` on a free port, opens region 0's page for
a user, clicks hide on an item and checks that it is gone at once and
listed for undo, that the server has it hidden, and that it stays gone
after a reload; likes another
item (the weight bars move); writes OUTDIR/forage-page.png; then opens
region 1's page for the same user and checks the item is not shown there
either, and that a hide made in region 0 of an item on region 1's page
takes it off that page without a reload (the long-poll); back on region
0's page, clicks undo on the item it hid and checks the item is shown again;
then a hide the server refuses (an unknown session) shows an error and is
not listed for undo.  Finally stops the command with SIGINT and checks it exits 0.

Exit codes: 0 passed, 1 failed, 77 skipped (no chromium or chromedriver:
ctest reports SKIP and the message says what is missing).  No fixed sleep:
every wait polls for the event, bounded by DEADLINE_S so a broken run ends.
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = "/usr/bin/chromium"
DEADLINE_S = 60  # a bound on each wait, not a measurement
USER = 42


def skip(why):
    print(f"SKIP: browser test not run: {why}", flush=True)
    sys.exit(77)


def fail(why):
    raise AssertionError(why)


def until(what, fn):
    """Polls fn until it returns a true value; fails after DEADLINE_S."""
    end = time.monotonic() + DEADLINE_S
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=DEADLINE_S) as r:
        return json.load(r)


class WebDriver:
    ELEMENT = "element-6066-11e4-a52e-4f735466cecf"

    def __init__(self, base, profile):
        self.base = base
        args = ["--headless=new", "--disable-gpu", "--window-size=1100,760",
                f"--user-data-dir={profile}"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # chromium refuses to run as root without it
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}
        self.sid = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=DEADLINE_S) as r:
                return json.load(r)["value"]
        except urllib.error.HTTPError as e:
            fail(f"webdriver {method} {path}: {e.read().decode(errors='replace')}")

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.sid}{path}", body)

    def open(self, url):
        self.s("POST", "/url", {"url": url})
        until(f"the page at {url} to be ready",
              lambda: self.js("return document.body.dataset.ready === '1' && "
                              "document.querySelectorAll('li.item').length > 0"))

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def click(self, css):
        el = self.s("POST", "/element", {"using": "css selector", "value": css})
        if self.ELEMENT not in el:
            fail(f"no element {css}: {el}")
        self.s("POST", f"/element/{el[self.ELEMENT]}/click", {})

    def shown(self):
        return [int(x) for x in self.js(
            "return [...document.querySelectorAll('li.item')].map(e => e.dataset.item)")]

    def hidden_listed(self):
        return [int(x) for x in self.js(
            "return [...document.querySelectorAll('li.hidden-item')].map(e => e.dataset.item)")]

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.s("GET", "/screenshot")))

    def quit(self):
        self.call("DELETE", f"/session/{self.sid}")


def start_forage(tidal):
    p = subprocess.Popen([tidal, "forage", "--regions", "2", "--http", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in p.stdout:
        print(line, end="")
        m = re.search(r"serving (http://\S+)", line)
        if m:
            return p, m.group(1)
    fail(f"tidal forage printed no URL (exit {p.wait()})")


def hidden(url, region, item):
    return http_json(f"{url}api/hidden?region={region}&user={USER}&item={item}")["hidden"]


def wait_hidden(url, region, item):
    """Until region has item hidden, riding the long-poll between reads."""
    since = http_json(f"{url}api/wait?region={region}")["version"]
    end = time.monotonic() + DEADLINE_S
    while not hidden(url, region, item):
        if time.monotonic() > end:
            fail(f"item {item} never became hidden in region {region}")
        since = http_json(f"{url}api/wait?region={region}&since={since}&timeout=1000")["version"]


def run(tidal, outdir):
    forage, url = start_forage(tidal)
    port = free_port()
    driver = subprocess.Popen(["chromedriver", f"--port={port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    profile = tempfile.mkdtemp(prefix="forage-chromium-")
    wd = None
    try:
        base = f"http://127.0.0.1:{port}"
        until("chromedriver", lambda: _ready(base))
        wd = WebDriver(base, profile)
        page0 = f"{url}?region=0&user={USER}"
        wd.open(page0)
        items = wd.shown()
        item = items[0]
        print(f"region 0 shows {items}; hiding {item}")
        wd.click(f'li.item[data-item="{item}"] button[data-answer="hide"]')
        if item in wd.shown():
            fail(f"item {item} still on the page right after its hide was clicked")
        # its undo is kept at once, before the server answers, so that the
        # reload below cannot lose it (a reload while the hide is in flight)
        if item not in wd.hidden_listed():
            fail(f"item {item} not listed for undo right after its hide was clicked")
        until(f"the server to have item {item} hidden", lambda: hidden(url, 0, item))
        wd.open(page0)  # a reload resumes the session (localStorage)
        if item in wd.shown():
            fail(f"item {item} is back after a reload")
        liked = wd.shown()[0]
        wd.click(f'li.item[data-item="{liked}"] button[data-answer="like"]')
        until("the like to show on its button and in the bars", lambda: wd.js(
            "return !!document.querySelector('li.item[data-item=\"%d\"] button.on') && "
            "[...document.querySelectorAll('.bar .name')].some(e => / \\(1 \\//.test("
            "e.textContent))" % liked))
        shot = os.path.join(outdir, "forage-page.png")
        wd.screenshot(shot)
        print(f"screenshot: {shot}")

        wait_hidden(url, 1, item)
        page1 = f"{url}?region=1&user={USER}"
        wd.open(page1)
        on1 = wd.shown()
        print(f"region 1 shows {on1}")
        if item in on1:
            fail(f"item {item}, hidden in region 0, is shown in region 1")

        # a hide in region 0 of an item on region 1's page takes it off the
        # page without a reload: the page's long-poll sees the version move
        s1 = wd.js(f"return localStorage.getItem('forage:session:1:{USER}')")
        other = on1[0]
        r = http_json(f"{url}api/answer", {"region": 0, "session": s1, "item": other,
                                           "answer": "hide"})
        print(f"hid {other} through region 0: {r}")
        until(f"item {other} to leave region 1's page by itself",
              lambda: other not in wd.shown())

        # undo: region 0's page lists the item it hid, with an undo (unhide)
        wd.open(page0)
        wd.click(f'li.hidden-item[data-item="{item}"] button[data-answer="unhide"]')
        until(f"the server to show item {item} again", lambda: not hidden(url, 0, item))
        until(f"item {item} back on region 0's page", lambda: item in wd.shown())
        if wd.hidden_listed():
            fail(f"item {item} is still listed as hidden after its undo")

        # a hide the server refuses (here: a session it does not know) is
        # not listed for undo, says why, and the item is not hidden.  A fresh
        # page first, so that no refresh the undo set off is still to come.
        wd.open(page0)
        refused = wd.shown()[0]
        wd.js("session = 'ffffffffffffffff';")
        wd.click(f'li.item[data-item="{refused}"] button[data-answer="hide"]')
        until(f"the refused hide of {refused} to show an error and leave the undo list",
              lambda: wd.js("return document.getElementById('error').textContent") and
              refused not in wd.hidden_listed())
        if hidden(url, 0, refused):
            fail(f"item {refused} is hidden though its hide was refused")
        wd.open(page0)  # the page's real session again, from localStorage
        if refused not in wd.shown() or wd.hidden_listed():
            fail(f"after a reload, item {refused} is not back or something is listed hidden")
    finally:
        if wd is not None:
            wd.quit()
        driver.terminate()
        driver.wait()
        shutil.rmtree(profile, ignore_errors=True)
        forage.send_signal(signal.SIGINT)
        code = forage.wait(timeout=DEADLINE_S)
    if code != 0:
        fail(f"tidal forage exited {code} after SIGINT, want 0")
    print("browser test passed: hide is immediate, survives a reload, holds in region 1, "
          "a remote hide refreshes the page, undo brings the item back, and a refused "
          "hide is not listed; "
          "tidal forage exited 0")


def _ready(base):
    try:
        with urllib.request.urlopen(base + "/status", timeout=5) as r:
            return json.load(r)["value"]["ready"]
    except OSError:
        return False


def main():
    if len(sys.argv) != 3:
        print("usage: browser_test.py TIDAL OUTDIR", file=sys.stderr)
        return 2
    if not os.access(CHROMIUM, os.X_OK):
        skip(f"{CHROMIUM} is not installed (Debian's chromium: scripts/deps)")
    if shutil.which("chromedriver") is None:
        skip("chromedriver is not installed (Debian's chromium-driver: scripts/deps)")
    try:
        run(sys.argv[1], sys.argv[2])
    except AssertionError as e:
        print(f"FAIL: {e}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
