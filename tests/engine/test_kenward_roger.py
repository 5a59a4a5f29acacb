"""Kenward-Roger (pbkrtest 0.5.2, as lmerTest reports it) for the tutorial's seven models.

Expected values: tests/reference/inference_lme4.json `kenward_roger` and `kenward_roger_anova`
(tests/reference/inference.R: summary(m, ddf = "Kenward-Roger")$coefficients and anova(m, ddf =
"Kenward-Roger"), computed from pbkrtest's vcovAdj(m) once per fit).
Tolerances: at lme4's own theta every figure within 1e-7 relative and the p-values within 1e-6 (no
numerical derivatives: the same algebra, ours through Woodbury's identity in (q + p) dimensions and
pbkrtest's through the 4,860 x 4,860 inverse; measured up to 2.4e-8 on MModTime4's df, which its
intercept's p, 1.7e-11 on 7 df, multiplies twenty-fold). At our optimum, df and
adjusted SE within the band of their values at the reference points of tests/band.py, widened by 1e-3
(the issue's figure for Satterthwaite): MModTime2's intercept SE is 1.9656 at lme4's stop and 1.9659
at the optimum.
An independent check: in a balanced one-way layout Kenward-Roger is exact (Kenward & Roger 1997):
the intercept's df are the number of groups minus one and the adjustment vanishes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from inference_reference import at_lme4_theta, band_thetas, inference_models, within_band

from lib.api import lmer
from lib.engine.kenward_roger import anova_table, coef_table, vcov_adjusted
from lib.engine.satterthwaite import coef_table as satterthwaite
from lib.engine.satterthwaite import hypotheses

REL = 1e-3
TIGHT, TIGHT_P = 1e-7, 1e-6
INFERENCE = inference_models()


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows).set_index("_row")


@pytest.mark.parametrize("name", list(INFERENCE))
def test_kenward_roger_matches_pbkrtest_at_its_theta(name, lmer_fits):
    ref = INFERENCE[name]
    fit = at_lme4_theta(lmer_fits.get(name), ref["theta"])
    adj = vcov_adjusted(fit)
    theirs = frame(ref["kenward_roger"]["coef"])
    ours = coef_table(fit, adj)
    assert list(ours.index) == list(theirs.index)
    for c in theirs.columns:
        np.testing.assert_allclose(ours[c], theirs[c], rtol=TIGHT_P if c == "Pr(>|t|)" else TIGHT, err_msg=c)
    table = ref["kenward_roger_anova"]["table"]
    if table:
        theirs_a = frame(table)
        ours_a = anova_table(fit, hypotheses(fit), adj)
        assert list(ours_a.index) == list(theirs_a.index)
        for c in theirs_a.columns:
            np.testing.assert_allclose(ours_a[c], theirs_a[c], rtol=TIGHT_P if c == "Pr(>F)" else TIGHT, err_msg=c)


@pytest.mark.parametrize("name", list(INFERENCE))
def test_kenward_roger_at_the_optimum(name, lmer_fits):
    """What the page shows: df and adjusted SE at our optimum within the band of their values at the
    reference points (lme4's stop and the runs reaching the optimum), widened by 1e-3."""
    fit = lmer_fits.get(name)
    ours = coef_table(fit)[["Std. Error", "df"]].to_numpy()
    at_points = [coef_table(at_lme4_theta(fit, th))[["Std. Error", "df"]].to_numpy() for th in band_thetas(name)]
    assert np.all(within_band(ours, at_points, REL) <= 0)


def test_balanced_one_way_layout_is_exact():
    """8 groups of 6: the intercept's t has exactly 7 df and Phi_A = Phi; Satterthwaite agrees."""
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(8), 6)
    df = pd.DataFrame({"y": 10 + rng.normal(0, 2, 8)[g] + rng.normal(0, 1, len(g)),
                       "g": pd.Categorical(g.astype(str))})
    fit = lmer("y ~ 1 + (1 | g)", df)
    adj = vcov_adjusted(fit)
    np.testing.assert_allclose(adj.phi_adj, adj.phi, rtol=1e-8)
    assert coef_table(fit, adj)["df"].iloc[0] == pytest.approx(7.0, rel=1e-6)
    assert satterthwaite(fit)["df"].iloc[0] == pytest.approx(7.0, rel=1e-5)


def test_ml_fits_are_refused(lmer_fits):
    with pytest.raises(ValueError, match="only available for REML"):
        vcov_adjusted(lmer_fits.get("MMod", REML=False))
