"""lme4's quantities at lme4's own point: given lme4's theta, every number lme4 reports follows.

seed_lme4.json holds lme4 1.1-31's fits of the tutorial's seven models (REML and ML) with their theta.
Where lme4's optimizer stopped is path (tests/test_fidelity_lmer.py holds our fits to the optimum's
band); what follows from a theta is arithmetic, and that is tested here, tightly: the criterion,
fixed effects, standard errors, sigma, VarCorr, the fixed-effect correlations, scaled residuals,
fitted values, residuals and conditional modes, all at lme4's theta.

Tolerances: REL = 1e-8 relative (ABS = 1e-8 for values near 0). theta is stored with 15 significant
digits; evaluated at it, the most sensitive quantity (MModTime4's fixed effects) lands 1.4e-10 from
lme4's, the criterion 1.5e-10 (measured on this project's machines); 1e-8 leaves two orders for
other CPUs' summation orders. Names and orders (lme4's layout) are exact.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.engine.lmer import setup
from lib.engine.lmer_fit import LmerFit

MODELS = ["MMod", "MMod2", "MMod3", "MModTime", "MModTime2", "MModTime3", "MModTime4"]
CASES = [pytest.param((name, reml), id=f"{name}-{'REML' if reml else 'ML'}")
         for reml in (True, False) for name in MODELS]
REL, ABS = 1e-8, 1e-8


def close(ours, ref) -> bool:
    ours, ref = np.asarray(ours, float), np.asarray(ref, float)
    return bool(np.all(np.abs(ours - ref) <= REL * np.abs(ref) + ABS))


@pytest.fixture
def case(request, lmer_fits, seed_ref):
    """Our fit evaluated at lme4's theta, and lme4's reference for it."""
    name, reml = request.param
    ref = seed_ref["lmer_reml" if reml else "lmer_ml"][name]
    prob = setup(lmer_fits.formula(name), lmer_fits.frame(name))
    theta = np.array(list(ref["theta"].values()), float)
    return LmerFit.from_optimum(prob, theta, reml, [], []), ref


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_criterion_and_information_criteria(case):
    fit, ref = case
    assert close(fit.criterion, ref["REMLcrit"] if ref["REML"] else ref["deviance"])
    assert fit.df == ref["df"]
    assert close([fit.loglik, fit.aic, fit.bic], [ref["logLik"], ref["AIC"], ref["BIC"]])


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_nobs_and_groups(case):
    fit, ref = case
    assert fit.nobs == ref["nobs"]
    assert list(fit.ngrps.items()) == list(ref["ngrps"].items())  # lme4's order too


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_fixed_effects_and_standard_errors(case):
    fit, ref = case
    assert list(fit.fixef.index) == list(ref["fixef"]) and list(fit.se.index) == list(ref["se"])
    assert close(fit.fixef, list(ref["fixef"].values()))
    assert close(fit.se, list(ref["se"].values()))
    assert close(fit.cor_fixef.to_numpy(), ref["cor_fixef"])


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_varcorr_and_sigma(case):
    fit, ref = case
    rv, ours = pd.DataFrame(ref["varcorr"]), fit.varcorr
    for col in ("grp", "var1", "var2"):
        assert [None if pd.isna(v) else v for v in ours[col]] == \
            [None if pd.isna(v) else v for v in rv[col]], col
    assert close(ours["vcov"], rv["vcov"])
    assert close(ours["sdcor"], rv["sdcor"])
    assert close(fit.sigma, ref["sigma"])
    assert list(fit.theta.index) == list(ref["theta"])


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_residuals_and_fitted_values(case):
    fit, ref = case
    assert close(fit.scaled_resid_quantiles, ref["scaled_resid_quantiles"])
    assert close(fit.fitted[:20], ref["fitted_head"])
    assert close(fit.residuals()[:20], ref["resid_head"])
    assert close(fit.fitted + fit.residuals(), fit.problem.y)
    pearson = fit.residuals("pearson", scaled=True)
    assert close(np.quantile(pearson, [0, .25, .5, .75, 1]), fit.scaled_resid_quantiles)


@pytest.mark.parametrize("case", CASES, indirect=True)
def test_random_effects(case):
    fit, ref = case
    assert list(fit.ranef) == list(ref["ranef"])
    for group, r in ref["ranef"].items():
        ours = fit.ranef[group]
        assert list(ours.index) == r["levels"], group  # e.g. "F:1", "F:2", ... for Sex:IndID
        assert list(ours.columns) == list(r["values"])
        for col, values in r["values"].items():
            # conditional modes of ~0: an absolute floor scaled to the term's spread
            scale = np.max(np.abs(values))
            assert np.all(np.abs(ours[col].to_numpy() - values) <= REL * scale + ABS), (group, col)


def test_singular_flag_at_lme4s_point(lmer_fits, seed_ref):
    """isSingular() at lme4's theta, for the two fits lme4 reports singular."""
    for name, reml in (("MMod2", False), ("MModTime3", True)):
        ref = seed_ref["lmer_reml" if reml else "lmer_ml"][name]
        prob = setup(lmer_fits.formula(name), lmer_fits.frame(name))
        fit = LmerFit.from_optimum(prob, np.array(list(ref["theta"].values())), reml, [], [])
        assert fit.singular == ref["singular"] is True
