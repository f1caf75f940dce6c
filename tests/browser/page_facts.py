#!/usr/bin/env python3
"""Opens one racerig page in Debian's headless chromium and prints what a
reader would see, as JSON, for a test to judge.

Drives chromium over the DevTools protocol on --remote-debugging-pipe (fd 3
is chromium's input, fd 4 its output, messages are JSON ended by NUL), so
only the standard library is needed. Prints one JSON object:
  load_ms          navigation to the load event
  console_errors   console.error calls, exceptions, error log entries
  requests         every URL the page requested
  foreign          those that leave the page's own origin (file: pages: any
                   other than the page itself)
  verdicts         the text of every .verdict element
  runs             the data-runs values (a report's run count)
  timelines        per timeline, its lanes: actor, vcpu, the first hold's
                   start and the first release mark after it
  oops_where       the text of each .fault-where (the oops's file:line)
  job_links        the job list's links to jobs
  map_click        with --click-map: what clicking the first reproducing
                   line of an explore map showed (the panel's text)
and saves a screenshot (PNG) to --screenshot. Every wait has a deadline
(--timeout seconds); a deadline or a chromium that dies is exit 3 with
the reason on stderr.
"""
import argparse
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse


class Fail(Exception):
    pass


class Pipe:
    """One DevTools connection over chromium's pipe."""

    def __init__(self, to_chrome, from_chrome, deadline):
        self.w, self.r, self.deadline = to_chrome, from_chrome, deadline
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        return self.next_id

    def read_one(self, until):
        while b"\0" not in self.buf:
            left = until - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise Fail("chromium closed its DevTools pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        want = self.send(method, params, session)
        while True:
            msg = self.read_one(self.deadline)
            if msg is None:
                raise Fail("no answer to %s before the deadline" % method)
            if msg.get("id") == want:
                if "error" in msg:
                    raise Fail("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, method, session, until):
        for i, ev in enumerate(self.events):
            if ev["method"] == method and ev.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            msg = self.read_one(until)
            if msg is None:
                return None
            if "method" in msg:
                if msg["method"] == method and msg.get("sessionId") == session:
                    return msg
                self.events.append(msg)

    def drain(self, seconds):
        until = time.monotonic() + seconds
        while True:
            msg = self.read_one(until)
            if msg is None:
                return
            if "method" in msg:
                self.events.append(msg)


FACTS_JS = r"""
(() => {
  const num = (v) => (v === null || v === undefined || v === '') ? null : Number(v);
  const timelines = [...document.querySelectorAll('.timeline')].map((tl) =>
    [...tl.querySelectorAll('.tl-lane')].map((lane) => {
      const hold = lane.querySelector('.tl-seg[data-kind="hold"]');
      const holdT = hold ? num(hold.dataset.t0) : null;
      let release = null;
      for (const m of lane.querySelectorAll('.tl-mk[data-what="released"]')) {
        const t = num(m.dataset.t);
        if (holdT !== null && t >= holdT) { release = t; break; }
      }
      return {actor: lane.dataset.actor, vcpu: num(lane.dataset.vcpu), hold_t0: holdT, release_t: release};
    }));
  return {
    title: document.title,
    verdicts: [...document.querySelectorAll('.verdict')].map((e) => e.textContent.trim()),
    runs: [...document.querySelectorAll('[data-runs]')].map((e) => Number(e.dataset.runs)),
    timelines: timelines,
    oops_where: [...document.querySelectorAll('.fault-where')].map((e) => e.textContent.trim()),
    job_links: [...document.querySelectorAll('table.jobs a[href^="/jobs/"]')].map((a) => a.getAttribute('href')),
    bytes: document.documentElement.outerHTML.length,
  };
})()
"""

CLICK_TARGET_JS = r"""
(() => {
  const row = document.querySelector('.l.c-repro[data-s]');
  if (!row) return null;
  row.scrollIntoView({block: 'center'});
  const r = row.getBoundingClientRect();
  return {x: r.left + Math.min(40, r.width / 2), y: r.top + r.height / 2, where: row.dataset.where};
})()
"""

PANEL_JS = r"""
(() => {
  const shown = [...document.querySelectorAll('aside .sched')].filter((s) => getComputedStyle(s).display !== 'none');
  const sel = document.querySelector('.l.sel');
  const hint = sel ? sel.closest('.explore').querySelector('.hint') : null;
  return {hint: hint ? hint.textContent : '',
          shown: shown.map((s) => ({text: s.innerText, lanes: s.querySelectorAll('.tl-lane').length,
                                    steps: s.querySelector('pre.steps') ? s.querySelector('pre.steps').innerText : ''}))};
})()
"""


def evaluate(pipe, session, expr):
    res = pipe.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session)
    if "exceptionDetails" in res:
        raise Fail("the page's checks threw: %s" % res["exceptionDetails"].get("text"))
    return res["result"].get("value")


def origin(url):
    u = urllib.parse.urlsplit(url)
    return (u.scheme, u.netloc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--click-map", action="store_true")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout

    profile = tempfile.mkdtemp(prefix="racerig-chromium-")
    to_r, to_w = os.pipe()      # our writes -> chromium's fd 3
    from_r, from_w = os.pipe()  # chromium's fd 4 -> our reads
    # Out of the way of 3 and 4, which the child's dup2s overwrite.
    def move_high(fd):
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        return high

    to_r, from_w = move_high(to_r), move_high(from_w)
    cmd = [args.chromium, "--headless=new", "--remote-debugging-pipe", "--user-data-dir=" + profile,
           "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,900", "about:blank"]
    if os.geteuid() == 0:
        cmd.insert(1, "--no-sandbox")  # chromium refuses to run as root with its sandbox

    def child_fds():
        os.dup2(to_r, 3)
        os.dup2(from_w, 4)

    log = open(os.path.join(profile, "chromium.log"), "w")
    proc = subprocess.Popen(cmd, pass_fds=(3, 4), preexec_fn=child_fds, stdout=log, stderr=log,
                            start_new_session=True)
    os.close(to_r)
    os.close(from_w)
    for fd in (to_w, from_r):
        os.set_inheritable(fd, False)
    pipe = Pipe(to_w, from_r, deadline)
    try:
        target = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.call(domain + ".enable", {}, session)
        pipe.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
        started = time.monotonic()
        nav = pipe.call("Page.navigate", {"url": args.url}, session)
        if nav.get("errorText"):
            raise Fail("navigating to %s: %s" % (args.url, nav["errorText"]))
        if pipe.wait_event("Page.loadEventFired", session, deadline) is None:
            raise Fail("the page did not load before the deadline")
        load_ms = (time.monotonic() - started) * 1000
        pipe.drain(0.3)  # late console messages and requests
        facts = evaluate(pipe, session, FACTS_JS)
        facts["load_ms"] = round(load_ms, 1)
        final_url = evaluate(pipe, session, "location.href")
        facts["url"] = final_url
        if args.click_map:
            where = evaluate(pipe, session, CLICK_TARGET_JS)
            facts["map_click"] = None
            if where:
                for kind in ("mousePressed", "mouseReleased"):
                    pipe.call("Input.dispatchMouseEvent", {"type": kind, "x": where["x"], "y": where["y"],
                                                           "button": "left", "clickCount": 1}, session)
                panel = evaluate(pipe, session, PANEL_JS)
                panel["where"] = where["where"]
                facts["map_click"] = panel
        shot = pipe.call("Page.captureScreenshot", {"format": "png"}, session)
        with open(args.screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        pipe.drain(0.2)
        errors, requests = [], []
        for ev in pipe.events:
            if ev.get("sessionId") != session:
                continue
            m, p = ev["method"], ev.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append("console.%s: %s" % (p["type"], " ".join(str(a.get("value", a.get("description")))
                                                                      for a in p.get("args", []))))
            elif m == "Runtime.exceptionThrown":
                errors.append("exception: %s" % p.get("exceptionDetails", {}).get("text"))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                errors.append("log: %s" % p["entry"].get("text"))
            elif m == "Network.requestWillBeSent":
                requests.append(p["request"]["url"])
        page_origin = origin(final_url)
        foreign = []
        for u in requests:
            if u.startswith("data:") or u == "about:blank":
                continue
            if page_origin[0] == "file":
                if urllib.parse.urlsplit(u)._replace(fragment="").geturl() != \
                        urllib.parse.urlsplit(args.url)._replace(fragment="").geturl():
                    foreign.append(u)
            elif origin(u) != page_origin:
                foreign.append(u)
        facts["console_errors"] = errors
        facts["requests"] = requests
        facts["foreign"] = foreign
        print(json.dumps(facts))
        return 0
    except Fail as e:
        print("page_facts: %s" % e, file=sys.stderr)
        return 3
    finally:
        try:
            pipe.send("Browser.close")
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
