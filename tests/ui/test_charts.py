"""The chart contract (ui/charts/contract.py), checked on every chart builder and on every chart the
pages draw: each encoded field is in the chart's data and not all null, each quantitative axis spans a
range, no field name reads as a nested path. Whether a chart's plot area is squeezed by its layout is
a matter of the drawing: tests/ui/test_browser.py reads the rendered charts."""
from __future__ import annotations

import inspect
import json

import altair as alt
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lib.data.idcoding import Example, example_data
from lib.data.immune import load_raw
from lib.data.slices import slice_frame
from lib.teach import glmm_page as gp
from lib.teach.convergence_story import FORMULA
from lib.teach.contents import REPO
from lib.teach.fitting import fit_lmer
from lib.teach.qaqc import SPREAD_MODELS, individual_frame, residual_spread
from lib.teach.reml_ml import criterion_frames
from lib.teach.stopping import paths_to_optimum, replay
from ui.charts import contract, immune, mixed, theme
from ui.charts.contract import drawn_charts

# -- the contract itself ------------------------------------------------------------------


def spec(chart) -> dict:
    return chart.to_dict()


def test_the_contract_catches_what_leaves_a_chart_empty():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [5.0, 5.0, 5.0], "gone": [None, None, None],
                          "a.b": [1.0, 2.0, 3.0]})
    base = alt.Chart(frame).mark_point()
    assert contract.problems(spec(base.encode(x="x:Q", y="nope:Q"))) == ["y: field 'nope' is not in the chart's data"]
    assert contract.problems(spec(base.encode(x="x:Q", y="gone:Q"))) == ["y: field 'gone' is null in every row"]
    assert contract.problems(spec(base.encode(x="x:Q", y="y:Q"))) == [
        "y: the quantitative axis spans no range (every value 5)"]
    assert contract.problems(spec(base.encode(x="x:Q", y=alt.Y("a.b:Q")))) == [
        "y: field 'a.b' would be read as a nested path"]
    assert contract.problems(spec(base.encode(x="x:Q", y=alt.Y("a\\.b:Q")))) == []  # escaped: a plain name
    # a rule at one value beside points that span a range is fine (the layer shares the axis)
    rule = alt.Chart(pd.DataFrame({"y": [5.0]})).mark_rule().encode(y="y:Q")
    assert contract.problems(spec(alt.layer(base.encode(x="x:Q", y="x:Q"), rule))) == []
    assert contract.problems(spec(rule)) == ["y: the quantitative axis spans no range (every value 5)"]


# -- every chart builder in ui/charts ---------------------------------------------------------

@pytest.fixture(scope="module")
def mmodtime4():
    return fit_lmer("IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID)", True, "all").fit


@pytest.fixture(scope="module")
def mmodtime3():
    return fit_lmer(FORMULA, True, "all").fit


def builders(mmodtime3, mmodtime4) -> dict[str, alt.TopLevelMixin]:
    """Each chart builder of ui/charts with the data a page gives it."""
    raw, data = load_raw(), slice_frame("all")
    r = mmodtime4.residuals()
    curves, optima = criterion_frames("IgG ~ Sex + (1 | FamID)", slice_frame("time0"))
    rp = replay(mmodtime3)
    paths = paths_to_optimum(rp, mmodtime3)
    binary = gp.fit_glmm("binary", "binomial", "logit", ("Sex", "Time", "Sex:Time"), 1).fit
    months = gp.fit_glmm("months", "binomial", "logit", ("Sex",), 1).fit
    means = pd.DataFrame({"FamID": [str(k) for k in range(1, 9)] * 2, "model": ["lm"] * 8 + ["lmer"] * 8,
                          "intercept": np.linspace(130, 150, 16), "n": 30})
    spread = residual_spread({"a": r, "b": 2 * r}, data["Time"].to_numpy())
    return {
        "igg_over_time": immune.igg_over_time(raw, ["1-F", "1-M"]),
        "igg_over_time (nobody picked)": immune.igg_over_time(raw, []),
        "igg_by_family": immune.igg_by_family(raw),
        "one_code_two_people": immune.one_code_two_people(data[data["IndID"].astype(str) == "1"], "1"),
        "glmm_predictions (Time)": immune.glmm_predictions(gp.prediction_frame(binary, "binary"),
                                                           gp.observed_frame("binary"), "Time", "p", "FamID", "t"),
        "glmm_predictions (Sex)": immune.glmm_predictions(gp.prediction_frame(months, "months"),
                                                          gp.observed_frame("months"), "Sex", "p", "FamID", "t"),
        "normal_model_residuals": immune.normal_model_residuals(gp.normal_misfit().frame, "t"),
        "igg_scatter_smooth": mixed.igg_scatter_smooth(data),
        "igg_lines": mixed.igg_lines(data),
        "residuals_vs_fitted": mixed.residuals_vs_fitted(data, mmodtime4.fitted, r, "t"),
        "qq_plot": mixed.qq_plot(r, "t"),
        "residual_spread": mixed.residual_spread(spread),
        "individual_fits": mixed.individual_fits(individual_frame(mmodtime4, data, ["1-F", "1-M", "17-M"])),
        "criterion_curves (zoom)": mixed.criterion_curves(curves, optima, y_max=6.0),
        "criterion_curves": mixed.criterion_curves(curves, optima),
        "optimizer_paths": mixed.optimizer_paths(paths, paths.iloc[[rp.evaluations - 1]].assign(label="stop"),
                                                 "t", "Stage"),
        "family_effects": mixed.family_effects(means),
        "toy_data": mixed.toy_data(example_data(Example()), "Individual"),
    }


def test_every_chart_builder_keeps_the_contract(mmodtime3, mmodtime4):
    charts = builders(mmodtime3, mmodtime4)
    public = {name for module in (immune, mixed) for name, f in inspect.getmembers(module, inspect.isfunction)
              if f.__module__ == module.__name__ and not name.startswith("_")
              and "alt." in str(inspect.signature(f).return_annotation)}
    assert public <= {name.split(" ")[0] for name in charts}, "a chart builder this test does not draw"
    for name, chart in charts.items():
        assert contract.problems(spec(chart)) == [], name


def test_every_chart_is_finished_by_the_theme(mmodtime3, mmodtime4, monkeypatch):
    """fit-x sizing (the plot keeps its height), and the renderer a browser test asks for."""
    monkeypatch.setenv(theme.RENDERER_VARIABLE, "svg")
    for name, chart in builders(mmodtime3, mmodtime4).items():
        d = spec(chart)
        assert d["autosize"] == {"type": "fit-x", "contains": "padding"}, name
        assert d["usermeta"] == {"embedOptions": {"renderer": "svg"}}, name


def test_sex_has_one_colour_scheme_everywhere(mmodtime4):
    data = slice_frame("all")
    for chart in (immune.igg_by_family(load_raw()), mixed.igg_scatter_smooth(data),
                  mixed.residuals_vs_fitted(data, mmodtime4.fitted, mmodtime4.residuals(), "t")):
        text = json.dumps(spec(chart))
        assert json.dumps(theme.sex_scale().to_dict()) in text


# -- every chart the pages draw ------------------------------------------------------------------

@pytest.mark.parametrize("page, widget, value", [
    ("random_regression", ("radio", "rr_view"), "One line per individual"),
    ("qaqc", ("radio", "qa_how"), "A whole family"),
    ("ml_vs_reml", ("toggle", "mr_zoom"), False),
    ("glmm", ("radio", "glmm_model"), "counts"),
    ("glmm", ("radio", "glmm_model"), "months"),
    ("variance_components", ("radio", "vc_view"), "UniqueID"),
])
def test_charts_after_a_widget_change_keep_the_contract(page, widget, value):
    at = AppTest.from_file(str(REPO / "pages" / "tutorial" / f"{page}.py"), default_timeout=120).run()
    kind, key = widget
    getattr(at, kind)(key=key).set_value(value).run()
    assert not at.exception
    charts = drawn_charts(at)
    assert charts
    for s, data in charts:
        assert contract.problems(s, data) == [], (page, value, s.get("title"))


def test_the_spread_models_are_the_pages():
    """The QA/QC models are fitted to all times and have residuals to compare."""
    assert [m[4] for m in SPREAD_MODELS] == ["all"] * 3


# -- the inference pages' charts (built from a profile and short bootstrap runs) -------------------

@pytest.fixture(scope="module")
def inference_charts() -> dict[str, alt.TopLevelMixin]:
    from lib.engine.boot_lrt import bootstrap_lrt
    from lib.engine.bootstrap import parametric_bootstrap
    from lib.engine.profile import profile
    from lib.teach.inference import population_band, unit_bands
    from ui.charts import inference

    from lib.teach.bootstrap_page import LRT_PAIRS
    from lib.teach.model_builder import TUTORIAL_FORMULAS

    mmod = fit_lmer("IgG ~ Sex + (1 | FamID)", True, "time0").fit
    null, both = (fit_lmer(TUTORIAL_FORMULAS[name][0], True, TUTORIAL_FORMULAS[LRT_PAIRS[0].null][1]).fit
                  for name in (LRT_PAIRS[0].null, LRT_PAIRS[0].alt))  # as the bootstrap page fits them
    m4 = fit_lmer("IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID)", True, "all").fit
    data = slice_frame("all")
    return {
        "zeta_plots": inference.zeta_plots(profile(mmod)),
        "bootstrap_histograms": inference.bootstrap_histograms(parametric_bootstrap(mmod, 20, 1)),
        "lrt_reference": inference.lrt_reference(bootstrap_lrt(null, both, 20, 1)),
        "prediction_bands": inference.prediction_bands(mixed.rows_frame(data, IgG=data["IgG"]), population_band(m4),
                                                       unit_bands(m4, data, ["1-F", "7-M"])),
    }


def test_the_inference_charts_keep_the_contract_and_the_theme(inference_charts, monkeypatch):
    from ui.charts import inference
    public = {name for name, f in inspect.getmembers(inference, inspect.isfunction)
              if f.__module__ == inference.__name__ and not name.startswith("_")}
    assert public == set(inference_charts)
    for name, chart in inference_charts.items():
        d = spec(chart)
        assert contract.problems(d) == [], name
        assert "autosize" in d and d["config"]["legend"]["orient"] == "right", name
    assert json.dumps(theme.sex_scale().to_dict()) in json.dumps(spec(inference_charts["prediction_bands"]))
