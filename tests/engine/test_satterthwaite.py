"""Satterthwaite's df and p (lmerTest) and the type III hypotheses, against lmerTest 3.1-3.

Expected values: shared/reference/extras_lme4.json `satterthwaite` (MMod, MModTime4: R's
`summary(lmerTest::lmer(f, data))$coefficients` and `anova(m)`), and tests/reference/inference_lme4.json
(tests/reference/inference.R: the same expressions for all seven tutorial fits).
Tolerance against extras_lme4.json: 1e-3 relative, the issue's figure, for our fits at the criterion's
optimum against lmerTest's at lme4's default stop (measured: df 4e-5, p 7e-4 for MModTime4, whose theta
differs by up to 1.4e-4 between the two points). Against inference_lme4.json each model is also
evaluated at lme4's own theta, where the figures must agree to the numerical derivatives' accuracy.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import shared_dir
from inference_reference import at_lme4_theta, band_thetas, inference_models, within_band

from lib.engine.contrasts import doolittle_L, type3, zapsmall
from lib.engine.satterthwaite import anova_table, coef_table, fstat_ddf, hypotheses, varpar_covariance

REL = 1e-3
EXTRAS = json.loads((shared_dir() / "reference" / "extras_lme4.json").read_text())["satterthwaite"]
INFERENCE = inference_models()
COEF = ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]
ANOVA = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).set_index("_row")


def assert_rel(ours: pd.DataFrame, ref: pd.DataFrame, columns: list[str], rel: float = REL) -> None:
    assert list(ours.index) == list(ref.index)
    for c in columns:
        np.testing.assert_allclose(ours[c].to_numpy(float), ref[c].to_numpy(float), rtol=rel, err_msg=c)


@pytest.mark.parametrize("case", EXTRAS, ids=[c["name"] for c in EXTRAS])
def test_coefficients_and_anova_match_lmertest(case, lmer_fits):
    fit = lmer_fits.get(case["name"])
    vc = varpar_covariance(fit)
    assert not vc.warnings
    assert_rel(coef_table(fit, vc), frame(case["coef"]), COEF)
    assert_rel(anova_table(fit, vc), frame(case["anova"]), ANOVA)


@pytest.mark.parametrize("name", list(INFERENCE))
def test_every_tutorial_model_matches_lmertest_at_its_theta(name, lmer_fits):
    """summary(m)$coefficients and anova(m) of lmerTest for each tutorial fit (inference.R), our
    computation at lme4's theta. The derivatives are numDeriv's Richardson extrapolation there and
    ours here, which agree on the df to 3e-7 (MModTime2's intercept; ours moves by 1e-7 over steps of
    0.3% to 2%): df, SE and F within 1e-5, and the p-values within 1e-4, since a t of 70 on 7 df
    turns the df's relative error twenty-fold into p's."""
    ref = INFERENCE[name]
    fit = at_lme4_theta(lmer_fits.get(name), ref["theta"])
    vc = varpar_covariance(fit)
    assert_rel(coef_table(fit, vc), frame(ref["satterthwaite"]["coef"]), COEF[:-1], rel=1e-5)
    assert_rel(coef_table(fit, vc), frame(ref["satterthwaite"]["coef"]), COEF[-1:], rel=1e-4)
    table = ref["satterthwaite_anova"]["table"]
    if table:
        assert_rel(anova_table(fit, vc), frame(table), ANOVA[:-1], rel=1e-5)
        assert_rel(anova_table(fit, vc), frame(table), ANOVA[-1:], rel=1e-4)


@pytest.mark.parametrize("name", list(INFERENCE))
def test_every_tutorial_model_at_the_optimum(name, lmer_fits):
    """What the page shows: df and SE at our optimum within the band of their values at the reference
    points (lme4's stop and the runs reaching the optimum, tests/band.py), widened by the issue's 1e-3.
    MModTime3 is singular and its points differ along the boundary: its intercept df is 7.189 at lme4's
    stop and 7.180 at the optimum."""
    fit = lmer_fits.get(name)
    ours = coef_table(fit)[["df", "Std. Error"]].to_numpy()
    at_points = [coef_table(at_lme4_theta(fit, th))[["df", "Std. Error"]].to_numpy() for th in band_thetas(name)]
    assert np.all(within_band(ours, at_points, REL) <= 0)


def test_type3_hypotheses_of_sex_by_time(lmer_fits):
    """lmerTest's type III contrasts for Sex * Time with treatment coding (attr(anova(m), "hypotheses")):
    Sex at Time 0, Time averaged over the two sexes, the interaction."""
    L = hypotheses(lmer_fits.get("MModTime4"))
    np.testing.assert_array_equal(L["Sex"], [[0, 1, 0, 0]])
    np.testing.assert_array_equal(L["Time"], [[0, 0, 1, 0.5]])
    np.testing.assert_array_equal(L["Sex:Time"], [[0, 0, 0, 1]])


def test_type3_rows_are_invariant_to_row_order(lmer_fits):
    fit = lmer_fits.get("MModTime2")
    frame_ = fit.problem.frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    from lib.engine.design import linear_design
    X, names, _ = linear_design(fit.formula.fixed, frame_)
    shuffled = type3(fit.formula.fixed, X, names, frame_)
    for term, L in hypotheses(fit).items():
        np.testing.assert_allclose(shuffled[term], L, atol=1e-12)


def test_doolittle_is_lmertests_unit_lower_factor():
    """doolittle(x)$L for x = crossprod(cbind(1, c(0, 1, 1))) is [[1, 0], [2/3, 1]] (lmerTest's loops)."""
    x = np.array([[3.0, 2.0], [2.0, 2.0]])
    np.testing.assert_allclose(doolittle_L(x), [[1.0, 0.0], [2 / 3, 1.0]])


def test_zapsmall_as_r():
    """zapsmall(c(1, 1e-9, 0.123456789)) in R: 1, 0, 0.1234568."""
    np.testing.assert_array_equal(zapsmall(np.array([1.0, 1e-9, 0.123456789])), [1.0, 0.0, 0.1234568])


def test_fstat_ddf_rules():
    """lmerTest's get_Fstat_ddf: one nu is itself; equal nus their mean; any nu <= 2 gives 2;
    else 2E / (E - q), E = sum(nu / (nu - 2)): for nu = (5, 10), E = 5/3 + 10/8, 2E / (E - 2) = 6.6087."""
    assert fstat_ddf(np.array([7.5])) == 7.5
    assert fstat_ddf(np.array([4.0, 4.0])) == 4.0
    assert fstat_ddf(np.array([1.5, 30.0])) == 2.0
    E = 5 / 3 + 10 / 8
    assert fstat_ddf(np.array([5.0, 10.0])) == pytest.approx(2 * E / (E - 2), rel=1e-14)
