"""How long each page takes to settle in a real browser, on a local server.

    python -m bench.page_times [--pages convergence qaqc ...] [--repeats N] [--json PATH]

For each page, fresh `streamlit run app.py` servers (deploy.cluster) are started and the page is
measured four ways, each in a new browser context (a new Streamlit session, an empty browser cache):

- cold: the page is the server's very first visit (imports, data, fits: everything from nothing),
  in a new tab;
- new tab: a second fresh server, warmed by one visit to Home (which starts the app's warm-up
  thread, ui/cache.py) and left until the warm-up has finished, then the page's first visit in a
  new tab: the browser loads Streamlit's frontend, then the page (a bookmark, a link opened in a
  new tab, a reload);
- in app: a third server warmed the same way; a tab opens Home, then the page's link in the
  sidebar is clicked: the page changes inside the running app, over its open connection, with no
  new document (the bench checks that). This is how a student moves through the tutorial (Home:
  "the pages in the sidebar are the tutorial's sections, in order"). Home has no chart, table or
  code block, so the browser still loads and starts the scripts of those elements: the worst case
  of an in-app visit (a page reached from a page that drew them is faster);
- repeat: the new tab's page again, in another new tab.

A page is settled when Streamlit's "running" indicator is gone, every chart on it is drawn and its
DOM has then not changed for QUIET_MS; the figure is the time of its last change (the quiet spell
is not counted). Figures are wall-clock seconds on this machine, noisy on a shared 2-core box (the
load average is printed): the median of --repeats runs.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
from typing import Iterator

from playwright.sync_api import sync_playwright

from lib.teach.contents import available_sections
from ui.cache import WARM_UP_DONE
from deploy.cluster import Cluster
from tools.serve import CHROMIUM, CHROMIUM_ARGS, open_sidebar_link, wait_for_charts, wait_until_rendered

TIMEOUT_MS = 120_000
VIEWPORT = {"width": 1400, "height": 1000}
GOAL = 1.5  # seconds: issue 15's first visit to a page on a warm server
H1 = '[data-testid="stMainBlockContainer"] h1'
QUIET_MS = 700  # a page is settled when its DOM has not changed for this long (see settle)



def url_path(page: str) -> str:
    """The URL path Streamlit gives a page module (home is the default page, at /)."""
    stem = page.rsplit("/", 1)[-1].removesuffix(".py")
    return "" if stem == "home" else stem


# Installed in a tab before the app loads (or, for an in-app visit, just before the click): the time
# (performance.now(), ms since the tab's navigation began) of the DOM's last change.
WATCH = """(() => {
  window.__lastChange = performance.now();
  new MutationObserver(() => { window.__lastChange = performance.now(); })
    .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})()"""


def settled_at(tab) -> float:
    """performance.now() of the page's last change once it has settled: Streamlit idle, every chart
    drawn, then no DOM change for QUIET_MS.

    Waiting for Streamlit's idle state and drawn charts alone can end early: a chart's element
    appears only once the browser has loaded Vega's scripts, which can be after the script run
    ended (then no chart is there to wait for). So the figure is the time of the last DOM change,
    read after a quiet spell; the spell itself is not counted."""
    wait_until_rendered(tab, TIMEOUT_MS)
    wait_for_charts(tab, TIMEOUT_MS)
    tab.wait_for_function(f"() => performance.now() - window.__lastChange > {QUIET_MS}",
                          timeout=TIMEOUT_MS, polling=100)
    wait_for_charts(tab, TIMEOUT_MS)
    return tab.evaluate("window.__lastChange")


def settle(context, url: str, path: str) -> float:
    """Seconds from navigation to a settled page, in a new tab (a new Streamlit session): the
    tab loads Streamlit's frontend, then the page."""
    tab = context.new_page()
    tab.add_init_script(WATCH)
    tab.goto(f"{url}/{path}")
    seconds = settled_at(tab) / 1000  # from the tab's navigation start
    tab.close()
    return seconds


# Home's preload of element scripts has finished (or the app has none)
PRELOADED = "() => typeof window.__elementScriptsPreloaded !== 'boolean'"


def settle_in_app(context, url: str, path: str) -> float:
    """Seconds from a click on the page's sidebar link to a settled page, in a tab that has just
    shown Home (the app's frontend loaded, but none of the page's element types drawn yet: Home has
    no chart, table or code block; their scripts are loaded while the tab is idle on Home, and the
    click waits for that, see PRELOADED). The click changes the page inside the running app, over its
    open connection, with no new document."""
    tab = context.new_page()
    tab.add_init_script(WATCH)
    tab.goto(f"{url}/")
    settled_at(tab)
    # a student reads Home before moving on: long enough for the tab to load, while idle, the element
    # scripts the app has it preload (ui/preload.py; 1.5-2.5 s after Home settles on an idle machine)
    tab.wait_for_function(PRELOADED, timeout=TIMEOUT_MS)
    home = tab.text_content(H1)
    link = open_sidebar_link(tab, path)
    tab.evaluate("window.__beforeClick = true")
    start = tab.evaluate("performance.now()")
    link.click()
    tab.wait_for_function("([sel, home]) => { const h = document.querySelector(sel);"
                          " return h && h.textContent !== home; }", arg=[H1, home], timeout=TIMEOUT_MS)
    seconds = (settled_at(tab) - start) / 1000
    if not tab.evaluate("window.__beforeClick === true"):
        raise RuntimeError(f"the sidebar link to {path} loaded a new document")
    tab.close()
    return seconds


def wait_for_warm_up(server: Cluster, timeout: float = 300) -> float:
    """Seconds until the server's log says the warm-up thread has finished."""
    t0 = time.perf_counter()
    log = f"replica-{server.members[0].port}.log"
    while WARM_UP_DONE not in server.log(log):
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the warm-up did not finish")
        time.sleep(0.2)
    return time.perf_counter() - t0


@contextlib.contextmanager
def warm_server(browser) -> Iterator[tuple[Cluster, float]]:
    """A fresh server warmed as a class would find it: Home visited once (which starts the warm-up
    thread, ui/cache.py), then left until the warm-up has finished. Yields the server and the
    warm-up's seconds."""
    with Cluster(replicas=1, nginx=False, timeout=120) as server:
        context = browser.new_context(viewport=VIEWPORT)
        settle(context, server.url, "")
        context.close()
        yield server, wait_for_warm_up(server)


def measure(path: str, browser) -> dict[str, float]:
    """cold, warm new tab, warm in-app and repeat visits of one page (see the module's docstring).
    Each starts in a new browser context, whose cache is empty, as a student's first visit."""
    out = {}
    with Cluster(replicas=1, nginx=False, timeout=120) as server:
        context = browser.new_context(viewport=VIEWPORT)
        out["cold"] = settle(context, server.url, path)
        context.close()
    with warm_server(browser) as (server, out["warm-up"]):
        context = browser.new_context(viewport=VIEWPORT)
        out["new tab"] = settle(context, server.url, path)
        out["repeat"] = settle(context, server.url, path)
        context.close()
    if path:  # Home is where an in-app visit starts from
        with warm_server(browser) as (server, _):
            context = browser.new_context(viewport=VIEWPORT)
            out["in app"] = settle_in_app(context, server.url, path)
            context.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", nargs="*", help="URL paths (default: every page; home is 'home')")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json", help="write the raw figures here")
    args = ap.parse_args()
    paths = [url_path(s.page) for s in available_sections()]
    if args.pages:
        paths = [("" if p == "home" else p) for p in args.pages]
    results: dict[str, dict[str, float]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        print(f"{'page':<22}{'cold':>8}{'new tab':>9}{'in app':>8}{'repeat':>8}{'warm-up':>9}   "
              f"(seconds, median of {args.repeats})")
        for path in paths:
            runs = [measure(path, browser) for _ in range(args.repeats)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            results[path or "home"] = med
            in_app = f"{med['in app']:>8.2f}" if "in app" in med else f"{'-':>8}"
            print(f"{path or 'home':<22}{med['cold']:>8.2f}{med['new tab']:>9.2f}{in_app}{med['repeat']:>8.2f}"
                  f"{med['warm-up']:>9.1f}", flush=True)
        browser.close()
    for column in ("in app", "new tab"):
        times = {page: r[column] for page, r in results.items() if column in r}
        if times:
            worst = max(times, key=times.get)
            over = sum(t > GOAL for t in times.values())
            print(f"slowest warm first visit, {column}: {times[worst]:.2f} s ({worst}); {over} of {len(times)} "
                  f"pages over the goal of {GOAL} s")
    print(f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
