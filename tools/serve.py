"""Run the app in a local Streamlit server, for the browser test and the README screenshot."""
from __future__ import annotations

import contextlib
from typing import Iterator

from deploy.cluster import REPO, Cluster  # noqa: F401  (REPO: for tools.screenshot)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def streamlit_server(timeout: float = 60, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start `streamlit run app.py` on a free loopback port (with `env` added to its environment);
    yield its URL; stop it after."""
    with Cluster(replicas=1, nginx=False, timeout=timeout, extra_env=env or {}) as server:
        yield server.url


def wait_until_rendered(page, timeout_ms: int = 60_000) -> None:
    """Wait for the app to mount, its script run to finish (Streamlit marks the app's root
    `data-test-script-state="notRunning"`) and the 'running' indicator to go away."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
        timeout=timeout_ms)


def open_sidebar_link(tab, path: str):
    """The sidebar's link to a page (Streamlit lists the first pages and folds the rest under
    "View more")."""
    more = tab.locator('[data-testid="stSidebarNavViewButton"]')
    if more.count() and "more" in more.inner_text().lower():
        more.click()
    return tab.locator(f'[data-testid="stSidebarNavLink"][href$="/{path}"]')


def wait_for_charts(page, timeout_ms: int = 60_000, count: int = 0) -> None:
    """Every Vega-Lite chart on the page has drawn its view (a canvas or an svg), and there are at
    least `count` of them (a page still being replaced can show none for a moment)."""
    page.wait_for_function(
        """n => { const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
                  return charts.length >= n && charts.every(c => c.querySelector('canvas, svg.marks')); }""",
        arg=count, timeout=timeout_ms)


# What each chart drawn as SVG (CHART_RENDERER=svg, ui/charts/theme.py) shows: its title, every axis
# (Vega's aria label names its scale: "... for a linear scale ...", "... for a discrete scale ...";
# grid-only axes have none) with its number of tick labels, and for each panel the vertical extent of
# its data marks on screen, in pixels; a chart in a tab not shown is only marked `hidden`.
READ_CHARTS = """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].map(chart => {
  const svg = chart.querySelector('svg.marks');
  if (!svg) return {svg: false};
  const box = chart.getBoundingClientRect();
  if (box.width === 0 && box.height === 0) return {svg: true, hidden: true};  // in a tab not shown
  const title = [...svg.querySelectorAll('g.role-title text')].map(t => t.textContent).join(' ');
  const axes = [...svg.querySelectorAll('g.role-axis')].map(a => ({
    label: a.getAttribute('aria-label') || '',
    ticks: [...a.querySelectorAll('g.role-axis-label text')].filter(t => t.textContent.trim()).length}));
  const spans = new Map();  // per panel (a concat's cell, or the whole view): [top, bottom] of its marks
  for (const g of svg.querySelectorAll('g.role-mark')) {
    if (g.closest('g.role-legend, g.role-axis, g.role-title')) continue;
    const panel = g.closest('g.role-scope') || svg;
    for (const el of g.children) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      const [t, b] = spans.get(panel) || [Infinity, -Infinity];
      spans.set(panel, [Math.min(t, r.top), Math.max(b, r.bottom)]);
    }
  }
  const markRows = [...spans.values()].map(([t, b]) => b - t);
  return {svg: true, title, axes, markRows};
})"""


def read_charts(page) -> list[dict]:
    """What each chart on the page shows (see READ_CHARTS)."""
    return page.evaluate(READ_CHARTS)
