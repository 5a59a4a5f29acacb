"""The app in a real browser: a Streamlit server and headless Chromium (playwright).

Skipped when Chromium or playwright is missing, unless REQUIRE_BROWSER=1 (as in CI),
which turns the skip into a failure.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tools.serve import (
    CHROMIUM,
    CHROMIUM_ARGS,
    read_charts,
    streamlit_server,
    wait_for_charts,
    wait_until_rendered,
)
from ui.charts.theme import RENDERER_VARIABLE

TIMEOUT_MS = 60_000
# A plot squeezed by its layout (issue 15: the QA/QC spread chart, 300 px high with a bottom legend and a
# title inside, drew its lines on one pixel row) shows its marks on a few rows; the app's plots are 170 px
# high or more, so 20 px of marks in every panel tells a drawn plot from a squeezed one.
MIN_MARK_ROWS = 20


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture(scope="module")
def chromium():
    """Chromium with the app served on a loopback port (`.base_url`); skipped without Chromium or
    playwright, unless REQUIRE_BROWSER=1 (as in CI), which turns the skip into a failure."""
    reason = _missing()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required (REQUIRE_BROWSER=1) but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # SVG, so that tick labels and marks are in the DOM (Streamlit draws large charts on canvas)
    with streamlit_server(env={RENDERER_VARIABLE: "svg"}) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        browser.base_url = url
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(chromium):
    tab = chromium.new_page(viewport={"width": 1400, "height": 1000})
    tab.set_default_timeout(TIMEOUT_MS)
    tab.base_url = chromium.base_url
    open_page(tab, "")
    yield tab
    tab.close()


def open_page(tab, path: str, charts: int = 0) -> None:
    tab.goto(f"{tab.base_url}/{path}")
    wait_until_rendered(tab, TIMEOUT_MS)
    wait_for_charts(tab, TIMEOUT_MS, charts)


def assert_charts_show_their_data(tab, path: str) -> int:
    """Every chart on the page (but those in a tab not shown): each quantitative axis has at least two
    tick labels, and the marks of every panel span more than a few pixel rows. Returns the number of
    charts, hidden ones included."""
    charts = read_charts(tab)
    for chart in charts:
        assert chart["svg"], (path, "a chart drawn without SVG: CHART_RENDERER did not reach it")
        if chart.get("hidden"):
            continue
        where = (path, chart["title"])
        quantitative = [a for a in chart["axes"] if a["label"] and "discrete scale" not in a["label"]]
        for axis in quantitative:
            assert axis["ticks"] >= 2, (*where, axis)
        assert chart["markRows"] and min(chart["markRows"]) >= MIN_MARK_ROWS, (*where, chart["markRows"])
    return len(charts)


def assert_no_error_box(tab) -> None:
    assert tab.locator('[data-testid="stException"]').count() == 0
    errors = tab.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.all_inner_texts()


def choose(tab, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label` (its list opened again if a rerun closed it)."""
    from playwright.sync_api import TimeoutError as NotOpen

    box = tab.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    for _ in range(10):
        wait_until_rendered(tab, TIMEOUT_MS)
        box.click()
        try:
            tab.get_by_role("option").filter(has_text=option).first.click(timeout=3000)
            return
        except NotOpen:
            tab.keyboard.press("Escape")
    raise AssertionError(f"the {label} selectbox does not open")


def coef(ref: dict, name: str) -> str:
    """An estimate as R's summary prints it here (4 decimals)."""
    return f"{next(r['Estimate'] for r in ref['coef'] if r['_row'] == name):.4f}"


def test_a_fresh_servers_first_visitor_can_open_any_page_by_its_address(chromium):
    """The first session of a new process, opened on a page's own address (a link an instructor
    hands out), gets that page and no "Page not found" notice: Streamlit reads an app with a pages/
    folder as a legacy multipage app until st.navigation has run once (deploy.cluster.first_run)."""
    with streamlit_server() as url:
        tab = chromium.new_page(viewport={"width": 1400, "height": 1000})
        try:
            tab.goto(f"{url}/fixed_effects")
            wait_until_rendered(tab, TIMEOUT_MS)
            tab.wait_for_timeout(1000)  # the notice comes with the first run's messages, if at all
            assert tab.get_by_text("Page not found").count() == 0
            assert tab.locator('[data-testid="stMainBlockContainer"] h1').first.inner_text().startswith("Fixed effects")
        finally:
            tab.close()


def test_fixed_effects_page_renders_r_numbers(page, lm_refs):
    open_page(page, "fixed_effects")
    page.get_by_text(coef(lm_refs["LMod"], "SexM"), exact=False).first.wait_for()
    page.get_by_text("Residual standard error: 6.147 on 268").first.wait_for()
    assert_no_error_box(page)


def test_fixed_effects_page_reacts_to_widgets(page, lm_refs):
    open_page(page, "fixed_effects")
    page.get_by_text("FamID", exact=True).first.click()
    page.get_by_text("Coding error!").first.wait_for()
    page.get_by_text("a factor (after as.factor)").click()
    page.get_by_text(coef(lm_refs["LMod2"], "FamID2"), exact=False).first.wait_for()
    assert_no_error_box(page)


@pytest.mark.parametrize("path, key_text, charts", [
    ("", "Fixed or random?", 0),
    ("data", 'Factor w/ 8 levels "1","2","3","4",..:', 2),
    ("fixed_effects", "Residual standard error: 6.147 on 268", 0),
    ("random_effects", "REML criterion at convergence: 1475.7", 1),
    ("variance_components", "groups:  IndID, 135; FamID, 8", 1),
    ("multiple_factors", "6.9673", 0),
    ("random_regression", "REML criterion at convergence: 37163.3", 2),
    ("ml_vs_reml", "REML criterion at convergence: 1475.7", 1),
    ("convergence", "Model failed to converge with max|grad| = 0.0211755", 2),
    ("qaqc", "REML criterion at convergence: 17845.4", 4),
    ("glmm", "Generalized linear mixed model fit by maximum likelihood (Laplace", 2),
    ("pooling", "Caterpillar plot: the conditional modes and their uncertainty", 2),
    ("fixed_or_random", "For a balanced design the chance is known", 4),
    ("glmm_residuals", "QQ plot, Kolmogorov-Smirnov", 4),
])
def test_page_renders_and_its_charts_show_their_data(page, path, key_text, charts):
    open_page(page, path, charts)
    page.get_by_text(key_text, exact=False).first.wait_for()
    assert_no_error_box(page)
    assert assert_charts_show_their_data(page, path) == charts


def test_qaqc_charts_after_choosing_a_family(page):
    open_page(page, "qaqc", 4)
    page.get_by_text("A whole family").click()
    page.get_by_text("Family 1:", exact=False).first.wait_for()
    wait_until_rendered(page, TIMEOUT_MS)
    wait_for_charts(page, TIMEOUT_MS, 4)
    assert assert_charts_show_their_data(page, "qaqc (a family)") == 4


def test_typing_a_person_picks_that_person_and_the_choice_survives(page):
    """Issue 15: typing "3-F" and Enter picked 3-F, 13-F, ... 93-F; switching to a family and back lost it."""
    open_page(page, "qaqc", 4)
    picker = page.get_by_label("Individuals (IndID-Sex)")
    picker.click()
    picker.fill("3-F")
    picker.press("Enter")
    wait_until_rendered(page, TIMEOUT_MS)
    tags = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Individuals (IndID-Sex)").locator("[data-tag]")

    def chosen() -> list[str]:
        return sorted(t.get_attribute("aria-label") for t in tags.all())

    assert chosen() == ["1-F", "1-M", "3-F"]
    page.get_by_text("A whole family").click()
    page.get_by_text("Family 1:", exact=False).first.wait_for()
    page.get_by_text("Individuals", exact=True).click()
    wait_until_rendered(page, TIMEOUT_MS)
    assert chosen() == ["1-F", "1-M", "3-F"]


def test_bad_formula_shows_an_error_box_not_a_traceback(page):
    open_page(page, "fixed_effects")
    page.get_by_text("Write the formula myself").click()
    box = page.get_by_label("Formula (R syntax, fixed effects only)")
    box.fill("IgG ~ Sex + Weight")
    box.press("Enter")
    error = page.locator('[data-testid="stAlertContentError"]')
    error.first.wait_for()
    assert "unknown column 'Weight'" in error.first.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0


@pytest.mark.parametrize("path", ["pooling", "glmm_residuals"])
def test_new_charts_are_drawn(page, path):
    open_page(page, path)
    page.get_by_text("Check yourself").first.wait_for()
    page.locator(".vega-embed").first.wait_for()
    assert page.locator(".vega-embed").count() >= 2
    assert_no_error_box(page)


def test_an_exercise_answers_in_the_browser(page):
    """The random-effects page's parameter check: attr(logLik(MMod), "df") = 4 in R (seed_lme4.json)."""
    open_page(page, "random_effects")
    page.get_by_text("Checks solved: 0 of").first.wait_for()
    box = page.get_by_placeholder("a number").first
    box.fill("4")
    box.press("Enter")
    page.get_by_text("the df of logLik(MMod)", exact=False).first.wait_for()
    page.get_by_text("Checks solved: 1 of").first.wait_for()


def test_inference_page_renders_lmertest_numbers(page):
    """Satterthwaite's df of SexM in MMod: 261.107 in lmerTest (shared extras_lme4.json), shown as 261.1;
    and the zeta plots (a Vega chart) with the profile table beside."""
    open_page(page, "inference")
    page.get_by_text("261.1", exact=True).first.wait_for()
    page.get_by_text("profile lower").first.wait_for()
    page.get_by_text("measurements lie inside their bands").first.wait_for()  # the last section
    assert page.locator(".vega-embed").count() >= 2  # zeta plots, prediction bands
    assert_no_error_box(page)


def test_bootstrap_page_runs_cancels_and_continues(page):
    """The bootstrap LRT of random Time slopes per family (MModTime2 against MModTime, 4,860 rows: some
    seconds of refits for 200 replicates, so that Cancel comes while the run is under way): started,
    cancelled while the bar moves, kept, continued."""
    open_page(page, "bootstrap")
    page.get_by_text("6.9673").first.wait_for()  # the first comparison's statistic, lrtest(MMod2, MMod)
    choose(page, "Comparison", "random Time slopes per family")
    page.get_by_text("618.4263").first.wait_for()  # 2 (logLik(MModTime2) - logLik(MModTime)), REML
    page.get_by_role("button", name="Run the test (200 replicates)").click()
    # a replicate or more reported (Cancel before the first report keeps nothing, as it should)
    page.get_by_text(re.compile(r"^[1-9][0-9]* of 200 replicates")).first.wait_for()
    page.get_by_role("button", name="Cancel").nth(1).click()
    page.get_by_text("Stopped after").first.wait_for()
    page.get_by_role("button", name="Continue the test (200 replicates)").click()
    page.get_by_text("Stopped after").first.wait_for(state="detached", timeout=180_000)
    page.get_by_text("boundary-corrected").first.wait_for()
    assert page.get_by_role("button", name="Run the test (200 replicates)").is_disabled()  # all 200 done
    assert_no_error_box(page)


def test_the_experiment_grows_in_the_browser_until_it_ends(page):
    """A new seed on Fixed or random?: 1,000 replicates (seconds of fits) accrue in the runner's thread;
    the page shows "Simulating: k of 1000" with the results of those, refreshes itself (st.fragment's
    run_every) with more, and ends with all 1,000 and no progress bar."""
    open_page(page, "fixed_or_random", 4)
    seed = page.get_by_label("Seed")
    seed.fill("4711")
    seed.press("Enter")
    wait_until_rendered(page, TIMEOUT_MS)
    page.get_by_role("slider", name="Replicates").first.press("End")  # the largest choice: 1000
    first = page.get_by_text(re.compile(r"^Simulating: [0-9]+ of 1000 replicates")).first
    first.wait_for()
    shown = int(first.inner_text().split()[1])
    page.get_by_text(re.compile(rf"^Simulating: (?!{shown} )[0-9]+ of 1000")).first.wait_for()  # it grew by itself
    page.get_by_text("of 1000 replicates, lmer's in", exact=False).first.wait_for(timeout=300_000)
    page.get_by_text(re.compile(r"^Simulating: ")).first.wait_for(state="detached", timeout=300_000)
    assert_no_error_box(page)
