"""A few real students in headless Chromium beside bench/load.py's protocol students.

    python bench/browser_students.py http://127.0.0.1:8080 --sessions 2 --seconds 60

Each session is a browser context of its own (its own cookies, so its own replica behind nginx),
opens the app, then clicks through the sidebar's pages in tutorial order, round and round. A
step's time runs from the click to the next animation frame after the page's WebSocket has
received the run's `script_finished` message (read from the frames with the streamlit package's
ForwardMsg), so it includes the browser's drawing. Errors: an exception box, a step that does not finish, or a connection that
does not come back within 30 s (each spell without a connection is timed as a reconnect). Prints two JSON lines:
{"upstreams": [...]} once every session is open (the replica of each, behind nginx), then
{"open": [...], "steps": [...], "errors": [...], "reconnects": [...]} (seconds).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from tools.serve import CHROMIUM, CHROMIUM_ARGS, wait_until_rendered  # noqa: E402

TIMEOUT_MS = 60_000
# times each spell without a server connection (ms), whichever element carries the attribute
WATCH = """() => {
  window.__outages = [];
  let lost = null;
  new MutationObserver(records => {
    for (const r of records) {
      const value = r.target.getAttribute(r.attributeName);
      if (value !== 'CONNECTED' && lost === null) lost = performance.now();
      if (value === 'CONNECTED' && lost !== null) { window.__outages.push(performance.now() - lost); lost = null; }
    }
  }).observe(document.body, {attributes: true, subtree: true,
                             attributeFilter: ['data-test-connection-state']});
}"""
NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


RECONNECT_MS = 30_000
CONNECTED = """() => document.querySelector('[data-testid="stApp"]')
                     ?.getAttribute('data-test-connection-state') === 'CONNECTED'"""


def exceptions(tab) -> list[str]:
    return [f"exception: {t[:200]}" for t in tab.locator('[data-testid="stException"]').all_inner_texts()]


def wait_connected(tab) -> None:
    """Return once the tab has its server connection (a TimeoutError after 30 s without)."""
    tab.wait_for_function(CONNECTED, timeout=RECONNECT_MS)


def is_script_finished(payload: bytes | str) -> bool:
    if isinstance(payload, str):
        return False
    msg = ForwardMsg()
    msg.ParseFromString(payload)
    return msg.WhichOneof("type") == "script_finished"


class BrowserStudent:
    def __init__(self, browser, url: str):
        self.tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        self.tab.set_default_timeout(TIMEOUT_MS)
        self.url = url
        self.step_index = 0
        self.finished = 0  # script_finished messages this tab has received, over every socket
        self.tab.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload: bytes | str) -> None:
        if is_script_finished(payload):
            self.finished += 1

    def open(self) -> float:
        start = time.perf_counter()
        response = self.tab.goto(self.url)
        # behind nginx, the replica this browser's sticky cookie leads to (deploy/nginx-site.conf.in)
        self.upstream = response.headers.get("x-upstream") if response else None
        wait_until_rendered(self.tab, TIMEOUT_MS)
        self.tab.evaluate(WATCH)
        return time.perf_counter() - start

    def next_page(self) -> float:
        """Click the next page in the sidebar; seconds until its run has finished."""
        links = self.tab.locator('[data-testid="stSidebarNavLink"]')
        self.step_index = (self.step_index + 1) % links.count()
        finished = self.finished
        start = time.perf_counter()
        links.nth(self.step_index).click()
        while self.finished == finished:
            if time.perf_counter() - start > TIMEOUT_MS / 1000:
                raise TimeoutError(f"no script_finished within {TIMEOUT_MS / 1000:.0f} s")
            self.tab.wait_for_timeout(10)  # lets playwright deliver the socket's frames
        self.tab.evaluate(NEXT_FRAME)
        return time.perf_counter() - start


def run(url: str, sessions: int, seconds: float, think: float) -> dict[str, list]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    out: dict[str, list] = {"open": [], "steps": [], "errors": [], "reconnects": []}
    deadline = time.monotonic() + seconds
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            students = [BrowserStudent(browser, url) for _ in range(sessions)]
            for s in students:
                out["open"].append(s.open())
            print(json.dumps({"upstreams": [s.upstream for s in students]}), flush=True)
            while time.monotonic() < deadline:
                for s in students:
                    try:
                        wait_connected(s.tab)
                        out["steps"].append(s.next_page())
                        out["errors"].extend(exceptions(s.tab))
                    except (PlaywrightError, TimeoutError) as e:
                        out["errors"].append(f"{type(e).__name__}: {str(e)[:200]}")
                time.sleep(think)
            for s in students:
                out["reconnects"].extend(ms / 1000 for ms in s.tab.evaluate("window.__outages"))
        finally:
            browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("--sessions", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, default=2.0, help="pause after each round of clicks")
    args = ap.parse_args()
    print(json.dumps(run(args.url, args.sessions, args.seconds, args.think)))


if __name__ == "__main__":
    main()
