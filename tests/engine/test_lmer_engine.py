"""The lmer engine's pieces against R's rules and lme4's behaviour (values from R 4.2.2 / lme4 1.1-31).

Formula parsing (term expansion and order, ||, a/b, strictness), model-matrix names,
grouping factors, lme4's input checks, rank-deficient X, predict().
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from band import Band, lmer_floors
from conftest import EXTRA_REFERENCE

from lib.api import lmer
from lib.engine.design import grouping_factor, linear_design
from lib.engine.formula import FormulaError, parse_formula
from lib.engine.lmer import setup

EXTRA = json.loads(EXTRA_REFERENCE.read_text())["cases"]
COLS = ["y", "a", "b", "c", "g", "h", "IgG", "Sex", "Time", "FamID", "IndID"]


@pytest.fixture(scope="module")
def data(lmer_fits) -> pd.DataFrame:
    return lmer_fits.data["all"]


@pytest.fixture(scope="module")
def time0(lmer_fits) -> pd.DataFrame:
    return lmer_fits.data["time0"]


# ---------------------------------------------------------------------------
# formulas
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, labels", [  # attr(terms(f), "term.labels") in R
    ("y ~ a*b*c - a:b", ["a", "b", "c", "a:c", "b:c", "a:b:c"]),
    ("y ~ a/b", ["a", "a:b"]),
    ("y ~ (a+b):c", ["a:c", "b:c"]),
    ("y ~ c + a:b + a", ["c", "a", "a:b"]),
    ("y ~ b:a + a", ["a", "b:a"]),
    ("y ~ a*b", ["a", "b", "a:b"]),
])
def test_term_expansion_and_order_like_r(text, labels):
    assert parse_formula(text, COLS).fixed.labels == labels


@pytest.mark.parametrize("text, intercept", [  # attr(terms(f), "intercept") in R
    ("y ~ a", True), ("y ~ 0 + a", False), ("y ~ a - 1", False), ("y ~ -1 + a", False),
    ("y ~ 1 + a", True), ("y ~ a + 0 - 0", True), ("y ~ 0 + a + 1", True)])
def test_intercept_rules(text, intercept):
    assert parse_formula(text, COLS).fixed.intercept is intercept


def test_double_bar_splits_into_uncorrelated_terms(data):
    prob = setup("IgG ~ Time + (1 + Time || FamID)", data)
    assert [(b.group, b.cnames) for b in prob.blocks] == [("FamID", ["(Intercept)"]), ("FamID", ["Time"])]
    fit = lmer("IgG ~ Time + (1 + Time || FamID)", data)
    assert list(fit.theta.index) == ["FamID.(Intercept)", "FamID.Time"]
    assert list(fit.varcorr["grp"]) == ["FamID", "FamID.1", "Residual"]  # R's make.unique
    assert fit.ngrps == {"FamID": 8}


def test_double_bar_expands_interactions():
    (r,) = parse_formula("y ~ (a*b || g)", COLS).random
    assert not r.correlated and r.expr.labels == ["a", "b", "a:b"] and r.expr.intercept


def test_nesting_slash_gives_outer_and_interaction_terms(data):
    f = parse_formula("IgG ~ Time + (1 | FamID/IndID)", list(data.columns))
    assert sorted(r.group_label.count(":") for r in f.random) == [0, 1]
    fit = lmer("IgG ~ Time + (1 | FamID/IndID)", data)
    assert sorted(fit.ngrps.values()) == [8, 242]
    # lme4: theta (IndID:FamID, FamID) = 1.04351667626858, 1.29349170531266; REML 35478.834388706
    assert np.allclose(fit.theta.to_numpy(), [1.04351667626858, 1.29349170531266], rtol=1e-3)
    assert fit.reml_criterion == pytest.approx(35478.834388706, abs=1e-3)


def test_nesting_slash_names_like_lme4(data):
    fit = lmer("IgG ~ Time + (1 | FamID/IndID)", data)
    assert list(fit.ngrps) == ["IndID:FamID", "FamID"]
    assert list(fit.ranef["IndID:FamID"].index[:3]) == ["1:3", "1:5", "2:4"]


@pytest.mark.parametrize("text, part", [
    ("y ~ __import__('os')", "__import__"),
    ("y ~ a; import os", "; import os"),
    ("y ~ log(a)", "'log'"),
    ("y ~ Foo + a", "'Foo'"),
    ("y ~ a^2", "^2"),
    ("y ~ 2*a", "2"),
    ("y ~ a + ", "ends too early"),
    ("y ~ (1 | g", "ends too early"),
    ("y a", "~"),
])
def test_bad_formulas_are_refused_naming_the_part(text, part):
    with pytest.raises(FormulaError) as err:
        parse_formula(text, COLS)
    assert part in str(err.value)


def test_code_in_a_formula_is_never_run():
    import sys
    for text in ("y ~ a + exec('import sys; sys.lmer_formula_ran = 1')",
                 "y ~ a + __import__('sys').setrecursionlimit(10)",
                 "y ~ (1 | g) + exec"):
        with pytest.raises(FormulaError):
            parse_formula(text, COLS)
    assert not hasattr(sys, "lmer_formula_ran")


# ---------------------------------------------------------------------------
# model matrices and grouping factors
# ---------------------------------------------------------------------------
def test_design_names_like_r(time0):
    f = parse_formula("IgG ~ Sex*FamID", list(time0.columns))
    X, names, assign = linear_design(f.fixed, time0)
    assert names == ["(Intercept)", "SexM", "FamID2", "FamID3", "FamID4", "FamID5", "FamID6", "FamID7",
                     "FamID8", "SexM:FamID2", "SexM:FamID3", "SexM:FamID4", "SexM:FamID5", "SexM:FamID6",
                     "SexM:FamID7", "SexM:FamID8"]  # colnames(model.matrix) in R
    assert X.shape == (270, 16) and assign[:3] == [0, 1, 2]
    sexm, fam2 = X[:, names.index("SexM")], X[:, names.index("FamID2")]
    assert np.array_equal(X[:, names.index("SexM:FamID2")], sexm * fam2)


def test_interaction_grouping_factor_levels_like_r(data):
    f = grouping_factor(data, ("Sex", "IndID"))
    assert f.nlevels == 270
    assert f.levels[:6] == ["F:1", "F:2", "F:3", "F:4", "F:5", "F:6"]  # levels(Sex:IndID) in R
    assert f.levels[135] == "M:1" and f.levels[-1] == "M:135"
    codes = f.codes
    assert [f.levels[c] for c in codes[:2]] == [f"{data['Sex'].iloc[0]}:{data['IndID'].iloc[0]}"] * 2


# ---------------------------------------------------------------------------
# lme4's input checks
# ---------------------------------------------------------------------------
def test_no_random_effects(data):
    with pytest.raises(FormulaError, match="^No random effects terms specified in formula$"):
        lmer("IgG ~ Time", data)


def test_grouping_factor_with_one_level(time0):
    with pytest.raises(FormulaError, match=r"^grouping factors must have > 1 sampled level"):
        lmer("IgG ~ Sex + (1|FamID)", time0[time0["FamID"] == "1"])


def test_as_many_levels_as_observations(time0):
    with pytest.raises(FormulaError) as err:
        lmer("IgG ~ 1 + (1|Sex:IndID)", time0)
    assert str(err.value) == ("number of levels of each grouping factor must be < number of "
                              "observations (problems: Sex:IndID)")


def test_as_many_random_effects_as_observations(data):
    with pytest.raises(FormulaError, match=r"^number of observations \(=540\) <= number of random effects "
                                           r"\(=540\) for term \("):
        lmer("IgG ~ Sex + (Time|Sex:IndID)", data[data["Time"] < 2])


def test_rank_deficient_x_is_dropped_with_lme4s_message(data):
    d = data.copy()
    d["SexCopy"] = d["Sex"]
    fit = lmer("IgG ~ Sex + SexCopy + Time + (1|FamID)", d)
    assert fit.messages[0] == "fixed-effect model matrix is rank deficient so dropping 1 column / coefficient"
    assert list(fit.fixef.index) == ["(Intercept)", "SexM", "Time"]
    assert np.allclose(fit.fixef, [143.15712052107088, -5.38703036343303, -4.21890780867106], rtol=1e-6)
    assert fit.reml_criterion == pytest.approx(38000.4729169124, abs=1e-3)


# ---------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def slopes_fit(lmer_fits):
    return lmer_fits.get("MModTime2")


def test_predict_population_is_x_beta(slopes_fit):
    fit = slopes_fit
    assert np.allclose(fit.predict(re_form="NA"), fit.problem.X @ fit.fixef.to_numpy())
    assert np.allclose(fit.predict(re_form="~0"), fit.predict(re_form="NA"))
    assert np.allclose(fit.predict(), fit.fitted)
    assert np.allclose(fit.predict(fit.problem.frame), fit.fitted)


def test_predict_new_levels_get_the_population_value(slopes_fit):
    """R: predict(m, newdata, allow.new.levels = TRUE) and predict(m, newdata, re.form = NA), at lme4's
    stop and at the optimum (tests/reference/extra_optimum.json); ours in that band (tests/band.py)."""
    new = pd.DataFrame({"Sex": ["M", "F"], "Time": [3, 5], "FamID": ["2", "9"], "IndID": ["45", "999"]})
    ref = EXTRA["MModTime2_predict"]

    def predictions(fit) -> dict:
        return {"predict": fit.predict(new), "predict_population": fit.predict(new, re_form="NA")}

    ours, floor = predictions(slopes_fit), lmer_floors(slopes_fit, predictions)
    for key in ours:
        band = Band.of([ref["lme4_default"], ref["optimum"]], key)
        assert np.all(band.excess(ours[key], floor[key]) <= 0), key
    assert ours["predict"][1] == pytest.approx(ours["predict_population"][1], rel=1e-12)  # a new family


def test_predict_refuses_unknown_fixed_effect_levels(slopes_fit):
    with pytest.raises(FormulaError, match="new levels in Sex: X"):
        slopes_fit.predict(pd.DataFrame({"Sex": ["X"], "Time": [1], "FamID": ["1"]}))
    with pytest.raises(ValueError):
        slopes_fit.predict(re_form="~(1|FamID)")


def test_conditional_variances_match_lme4(data):
    """ranef(condVar = TRUE)'s postVar for MModTime4 (R 4.2.2, lme4 1.1-31, exact data), at lme4's stop
    and at the optimum (tests/reference/extra_optimum.json); ours in that band (tests/band.py)."""
    fit = lmer("IgG ~ Sex*Time + (1+Time|FamID) + (1+Time|Sex:IndID)", data)
    ref = EXTRA["MModTime4_condvar"]
    where = {"SexInd_1": (0, 0), "SexInd_200": (0, 199), "FamID_3": (1, 2)}  # (term, level index)

    def postvar(f) -> dict:
        return {k: f.condvar[t][lev].T.ravel() for k, (t, lev) in where.items()}  # R's column order

    ours, floor = postvar(fit), lmer_floors(fit, postvar)
    for key in where:
        assert np.all(Band.of([ref["lme4_default"], ref["optimum"]], key).excess(ours[key], floor[key]) <= 0), key
    sd = fit.ranef_sd["Sex:IndID"].iloc[0]
    assert sd["(Intercept)"] == pytest.approx(np.sqrt(ours["SexInd_1"][0]), rel=1e-12)


def test_turning_a_column_of_t_leaves_the_criterion():
    """positive_diagonals: T and T diag(+-1) are one model (lme4's bounds at 0 are a convention),
    so the criterion is the same to round-off (sums of ~10^3 terms: 1e-12 relative)."""
    from lib.data.immune import load_prepared
    from lib.engine.lmer import setup
    from lib.engine.retrms import positive_diagonals

    prob = setup("IgG ~ Sex*Time + (1 + Time | FamID) + (1 + Time | Sex:IndID)", load_prepared())
    theta = np.array([-3.1, 0.2, -0.9, 4.9, -0.4, 0.7])  # (T11, T21, T22) per term
    turned = positive_diagonals(theta, prob.lower)
    np.testing.assert_array_equal(turned, [3.1, -0.2, 0.9, 4.9, -0.4, 0.7])
    for reml in (True, False):
        assert prob.criterion(turned, reml) == pytest.approx(prob.criterion(theta, reml), rel=1e-12)


def test_a_problem_with_another_response_is_the_problem_of_the_changed_data(data):
    """LmerProblem.with_response(y) against setup() on the data with y in the response column: the
    same matrices and the same criterion (the same arithmetic on the same arrays: equal to the bit),
    the original problem untouched; a constant or short response is refused as setup refuses it."""
    formula = "IgG ~ Sex * Time + (1 + Time | FamID)"
    base = setup(formula, data)
    y = np.random.default_rng(3).normal(size=len(base.y))
    new, direct = base.with_response(y), setup(formula, data.assign(IgG=y))
    np.testing.assert_array_equal(new.X, direct.X)
    np.testing.assert_array_equal(new.y, direct.y)
    assert new.messages == direct.messages and new.xnames == direct.xnames
    for theta in (base.start, base.start * 0.5 + 0.1):
        assert new.criterion(theta, True) == direct.criterion(theta, True)
        assert new.criterion(theta, False) == direct.criterion(theta, False)
    np.testing.assert_array_equal(base.y, data["IgG"].to_numpy(float))
    with pytest.raises(FormulaError):
        base.with_response(np.ones(len(base.y)))
    with pytest.raises(ValueError):
        base.with_response(y[:-1])
