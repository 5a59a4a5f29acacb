"""The two inference pages under AppTest: no exception, lmerTest's, pbkrtest's, lme4's and performance's
figures on screen (to the digits shown), and the bootstrap's run, cancel and continue.

Expected values: shared/reference/extras_lme4.json (MMod: Satterthwaite, profile intervals) and
tests/reference/inference_lme4.json (tests/reference/inference.R: Kenward-Roger, ICC, R2), each
the R expression named there. A number shown must round to the reference value (4 significant digits
as the page prints them), widened by 1e-4 relative: our fit is at the optimum, lme4's at its stop
(tests/band.py; MMod's theta differs by less than that).
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import shared_dir
from inference_reference import inference_models
from streamlit.testing.v1 import AppTest

from lib.engine.bootstrap import parametric_bootstrap
from lib.teach.contents import REPO

TIMEOUT = 240
SLACK = 1e-4
EXTRAS = json.loads((shared_dir() / "reference" / "extras_lme4.json").read_text())
INFERENCE = inference_models()


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "pages" / "tutorial" / f"{page}.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shows(shown: str, value: float, slack: float = SLACK) -> bool:
    """`shown` (e.g. '261.1', '1.85e-11') is `value` rounded to the digits shown."""
    s = shown.strip()
    mant, _, exp = s.lower().partition("e")
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    half = 0.5 * 10 ** ((int(exp) if exp else 0) - decimals)
    return abs(float(s) - value) <= half * (1 + 1e-9) + slack * abs(value)


def table_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(t.value for t in at.table if column in t.value.columns)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture(scope="module")
def inference_page() -> AppTest:
    return run("inference")


def test_p_values_are_lmertests_and_pbkrtests(inference_page):
    table = table_with(inference_page, "df (Satterthwaite)")
    satt = {r["_row"]: r for r in EXTRAS["satterthwaite"][0]["coef"]}
    kr = {r["_row"]: r for r in INFERENCE["MMod"]["kenward_roger"]["coef"]}
    for name in ("(Intercept)", "SexM"):
        assert shows(table.loc[name, "df (Satterthwaite)"], satt[name]["df"]), name
        assert shows(table.loc[name, "p (Satterthwaite)"], satt[name]["Pr(>|t|)"], 1e-3), name
        assert shows(table.loc[name, "df (Kenward-Roger)"], kr[name]["df"]), name
    # the intercept (8 families) gets p from below 2.2e-16 (Wald z) to 1.9e-11 (7.2 df): all negligible
    assert not any(i.value.startswith("**(Intercept)**") for i in inference_page.info)
    assert any("The methods agree" in s.value for s in inference_page.success)


def test_profile_intervals_are_lme4s(inference_page):
    table = table_with(inference_page, "profile lower")
    for row in EXTRAS["confint"]["profile"]:
        assert shows(table.loc[row["_row"], "profile lower"], row["2.5 %"]), row
        assert shows(table.loc[row["_row"], "profile upper"], row["97.5 %"]), row
    assert any(".sig01" in i.value and "times as far above" in i.value for i in inference_page.info)


def test_icc_and_r2_are_performances(inference_page):
    ref = INFERENCE["MMod"]
    assert shows(metric(inference_page, "ICC (adjusted)"), ref["icc"]["value"]["ICC_adjusted"])
    assert shows(metric(inference_page, "R² marginal"), ref["r2_nakagawa"]["value"]["R2_marginal"])
    assert shows(metric(inference_page, "R² conditional"), ref["r2_nakagawa"]["value"]["R2_conditional"])


def test_predictions_over_time_are_drawn(inference_page):
    assert any("MModTime4" in c.value for c in inference_page.caption)
    assert any("measurements lie inside their bands" in c.value for c in inference_page.caption)


def test_a_bigger_model_profiles_on_request():
    at = run("inference")
    at.radio(key="inf_data").set_value("all").run()
    at.multiselect(key="inf_fixed").set_value(["Sex", "Time", "Sex:Time"]).run()
    at.multiselect(key="inf_sl0").set_value(["Time"]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(b.label.startswith("Profile all 8 parameters") for b in at.button)
    table = table_with(at, "df (Satterthwaite)")
    ref = {r["_row"]: r for r in INFERENCE["MModTime2"]["satterthwaite"]["coef"]}
    for name, r in ref.items():  # 1e-3: MModTime2's df move 3e-4 between lme4's stop and the optimum
        assert shows(table.loc[name, "df (Satterthwaite)"], r["df"], 1e-3), name


def run_replicates(key: str, nsim: int) -> AppTest:
    """The bootstrap page with `nsim` replicates chosen for the run `key` and its Run button pressed."""
    at = run("bootstrap")
    at.select_slider(key=f"{key}_nsim").set_value(nsim).run()
    at.button(key=f"{key}_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_bootstrap_runs_and_shows_intervals():
    at = run_replicates("bt", 100)
    table = table_with(at, "bootstrap lower")
    assert list(table.index) == [".sig01", ".sigma", "(Intercept)", "SexM"]
    assert any(c.value.startswith("100 refits in") for c in at.caption)
    # the Wald interval beside it is lme4's confint(m, method = "Wald")
    wald = {r["_row"]: r for r in EXTRAS["confint"]["wald"]}
    assert shows(table.loc["SexM", "Wald lower"], wald["SexM"]["2.5 %"])


def test_a_cancelled_run_is_kept_and_continues(lmer_fits):
    """A run stopped after 5 replicates (as Cancel leaves it) shows them, says so, and offers Continue."""
    from ui import cache
    fit = lmer_fits.get("MMod")
    stopped = parametric_bootstrap(fit, nsim=100, seed=9, should_stop=iter([False] * 5 + [True]).__next__)
    key = ("boot", "IgG ~ Sex + (1 | FamID)", True, "time0", 100, 9)
    cache.runs()[key] = stopped
    at = AppTest.from_file(str(REPO / "pages" / "tutorial" / "bootstrap.py"), default_timeout=TIMEOUT)
    at.session_state["bt_nsim"] = 100
    at.session_state["bt_seed"] = 9
    at.run()
    assert not at.exception
    assert any("Stopped after 5 of 100 replicates" in w.value for w in at.warning)
    assert at.button(key="bt_start").label == "Continue 100 replicates"
    at.button(key="bt_start").click().run()
    assert cache.runs().get(key).reps.complete
    assert not any("Stopped after" in w.value for w in at.warning)


def test_bootstrap_lrt_runs():
    at = run_replicates("bt_lrt", 100)
    table = table_with(at, "p-value")
    assert list(table.index) == ["lrtest()", "boundary-corrected", "bootstrap"]
    assert any("Observed statistic" in m.value and "6.9673" in m.value for m in at.markdown)
