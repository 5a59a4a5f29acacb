"""How long each page takes to settle in a real browser, on a local server.

    python -m bench.page_times [--pages convergence qaqc ...] [--repeats N] [--json PATH]

For each page, a fresh `streamlit run app.py` (tools/serve.py) is started and measured three ways,
each in a new browser context (a new Streamlit session):

- cold: the page is the server's very first visit (imports, data, fits: everything from nothing),
  in a browser that has never loaded the app;
- warm first: a second fresh server, warmed by one visit to Home (which starts the app's warm-up
  thread, ui/cache.py) and left until the warm-up has finished, then the page's first visit in a new
  tab (the browser holding Streamlit's scripts): what a student meets on a server that is up;
- repeat: the same page again, in another new tab.

Settled means Streamlit's "running" indicator is gone and every chart on the page is drawn. Figures
are wall-clock seconds on this machine, noisy on a shared 2-core box: the median of --repeats runs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from playwright.sync_api import sync_playwright

from lib.teach.contents import available_sections
from ui.cache import WARM_UP_DONE
from deploy.cluster import Cluster
from tools.serve import CHROMIUM, CHROMIUM_ARGS, wait_for_charts, wait_until_rendered

TIMEOUT_MS = 120_000


def url_path(page: str) -> str:
    """The URL path Streamlit gives a page module (home is the default page, at /)."""
    stem = page.rsplit("/", 1)[-1].removesuffix(".py")
    return "" if stem == "home" else stem


def settle(context, url: str, path: str) -> float:
    """Seconds from navigation to a settled page, in a new tab (a new Streamlit session)."""
    tab = context.new_page()
    t0 = time.perf_counter()
    tab.goto(f"{url}/{path}")
    wait_until_rendered(tab, TIMEOUT_MS)
    wait_for_charts(tab, TIMEOUT_MS)
    seconds = time.perf_counter() - t0
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


def measure(path: str, browser) -> dict[str, float]:
    """cold, warm first and repeat visits of one page (see the module's docstring)."""
    out = {}
    for warm_up in (False, True):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        with Cluster(replicas=1, nginx=False, timeout=120) as server:
            if warm_up:
                settle(context, server.url, "")
                out["warm-up"] = wait_for_warm_up(server)
                out["warm first"] = settle(context, server.url, path)
                out["repeat"] = settle(context, server.url, path)
            else:
                out["cold"] = settle(context, server.url, path)
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
        print(f"{'page':<22}{'cold':>8}{'warm first':>12}{'repeat':>8}{'warm-up':>9}   "
              f"(seconds, median of {args.repeats})")
        for path in paths:
            runs = [measure(path, browser) for _ in range(args.repeats)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            results[path or "home"] = med
            print(f"{path or 'home':<22}{med['cold']:>8.2f}{med['warm first']:>12.2f}{med['repeat']:>8.2f}"
                  f"{med['warm-up']:>9.1f}", flush=True)
        browser.close()
    worst = max(r["warm first"] for r in results.values())
    print(f"slowest warm first visit: {worst:.2f} s (goal: at most 1.5 s); load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
