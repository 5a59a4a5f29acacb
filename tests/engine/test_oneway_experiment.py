"""The fixed-or-random experiment (lib.engine.oneway_experiment) against the balanced one-way design's
closed forms.

Known answers (Searle, Casella & McCulloch, Variance Components, 1992, ch. 3-4), with MSB and MSW the
mean squares of anova(lm(y ~ group)) and n the observations per group:
- REML: tau^2 = max(0, (MSB - MSW) / n); ML: tau^2 = max(0, ((J - 1) / J MSB - MSW) / n); sigma^2 =
  MSW wherever tau^2 > 0; a fit is singular exactly when the max takes 0.
- MSB / MSW = (1 + n tau^2 / sigma^2) F(J - 1, J (n - 1)), so P(singular) = pf(c / (1 + n tau^2 /
  sigma^2), J - 1, J (n - 1)) with c = 1 (REML) or J / (J - 1) (ML).
- lm's group means are the groups' sample means.

Tolerance for the variance parameters, from tests/band.py's LEVEL_EPS floor: theta within
sqrt(2 LEVEL_EPS / H) of the closed form, H the criterion's second derivative in theta (the fit's own
deriv12): the set of theta whose criterion is within 1e-9 of the optimum. Replicates whose variance
ratio lies within that floor of the boundary are left out of the singular-verdict comparison.

An Experiment's replicate is the replicate fitted from scratch: lmer on the simulated data frame
(lib.engine.lmer: the same problem, so the same numbers to the bit) and lm() on it (group means and
mean squares within the least-squares perturbation bound of tests/engine/test_lm.py's ls_tolerance).
"""
from __future__ import annotations

import numpy as np
import pytest
from band import LEVEL_EPS

from lib.engine.lm import lm, lm_design
from lib.engine.lmer import fit_problem, lmer, setup
from lib.engine.oneway_experiment import (
    LM_FORMULA,
    LMER_FORMULA,
    Design,
    Experiment,
    replicate,
    replicates,
    simulate,
    singular_probability,
)

DESIGN = Design(groups=5, per_group=4, sd_group=1.0, sd_resid=2.0)
SEED = 11


@pytest.fixture(scope="module")
def reps():
    return list(replicates(DESIGN, SEED, 60))


def closed_form(r, REML: bool) -> tuple[float, float]:
    """(tau^2, sigma^2) of the balanced one-way design, boundary included."""
    J, n = DESIGN.groups, DESIGN.per_group
    between = r.ms_group if REML else (J - 1) / J * r.ms_group
    tau2 = (between - r.ms_resid) / n
    if tau2 > 0:
        return tau2, r.ms_resid
    ss_total = (J - 1) * r.ms_group + J * (n - 1) * r.ms_resid  # all variation is residual
    return 0.0, ss_total / (J * n - (1 if REML else 0))


def test_replicates_are_reproducible_one_by_one(reps):
    again = replicate(DESIGN, SEED, 17)
    np.testing.assert_array_equal(again.true_means, reps[17].true_means)
    assert again.reml.sd_group == reps[17].reml.sd_group
    assert list(replicates(DESIGN, SEED, 3, start=2))[0].lm_mean == reps[2].lm_mean
    assert replicate(DESIGN, SEED + 1, 17).lm_mean != reps[17].lm_mean


def test_lm_means_are_the_group_means(reps):
    data, _ = simulate(DESIGN, np.random.default_rng([SEED, 5]))
    means = data.groupby("group", observed=True)["y"].mean().to_numpy()
    np.testing.assert_allclose(reps[5].lm_means, means, rtol=1e-12)
    assert np.isclose(reps[5].lm_mean, data["y"].mean(), rtol=1e-12)
    # lm's SE of the mean of the group means: sigma / sqrt(J n) in a balanced design
    assert np.isclose(reps[5].lm_mean_se, np.sqrt(reps[5].ms_resid / DESIGN.nobs), rtol=1e-12)


@pytest.mark.parametrize("REML", [True, False], ids=["REML", "ML"])
def test_variance_estimates_are_the_closed_forms(reps, REML):
    checked = 0
    for r in reps:
        est = r.reml if REML else r.ml
        tau2, sigma2 = closed_form(r, REML)
        data, _ = simulate(DESIGN, np.random.default_rng([SEED, r.index]))
        fit = fit_problem(setup(LMER_FORMULA, data), REML)
        theta_floor = np.sqrt(2 * LEVEL_EPS / fit.derivs[1][0, 0]) if fit.derivs is not None else 1e-6
        assert abs(est.sd_group / est.sd_resid - np.sqrt(tau2 / sigma2)) <= theta_floor + 1e-12
        assert np.isclose(est.sd_resid ** 2, sigma2, rtol=theta_floor)
        if abs(np.sqrt(tau2 / sigma2)) > theta_floor:  # clear of the boundary: the verdict is the model's
            assert not est.singular
            checked += 1
        elif tau2 == 0:
            assert est.singular
            checked += 1
    assert checked >= 55


def test_singular_share_matches_the_f_distribution():
    """pf(1 / (1 + 4 * 1 / 4), 4, 15) = 0.2637614 and pf(1.25 / 2, 4, 15) = 0.3481179 (R)."""
    assert np.isclose(singular_probability(DESIGN, True), 0.263761389254119, rtol=1e-9)
    assert np.isclose(singular_probability(DESIGN, False), 0.348117923927648, rtol=1e-9)
    assert np.isclose(singular_probability(Design(5, 4, 0.0, 1.0), True), 0.561999188793399, rtol=1e-9)  # pf(1, 4, 15)


def test_ml_never_above_reml(reps):
    """(J - 1) / J MSB < MSB: ML's variance is below REML's unless both are 0."""
    for r in reps:
        assert r.ml.sd_group <= r.reml.sd_group + 1e-6


def test_design_checks():
    for bad in (Design(1, 4, 1, 1), Design(4, 1, 1, 1), Design(4, 4, -1, 1), Design(4, 4, 1, 0)):
        with pytest.raises(ValueError):
            replicate(bad, 1, 0)


@pytest.mark.parametrize("design", [DESIGN, Design(30, 30, 1.0, 2.0), Design(2, 2, 0.0, 1.0)],
                         ids=["5x4", "30x30", "2x2"])
def test_a_replicate_is_lm_and_lmer_fitted_from_scratch(design):
    from test_lm import ls_tolerance
    ex = Experiment(design)
    for index in range(4):
        r = ex.replicate(SEED, index)
        data, true = simulate(design, np.random.default_rng([SEED, index]))
        np.testing.assert_array_equal(r.true_means, true)
        for REML, est in ((True, r.reml), (False, r.ml)):
            fit = lmer(LMER_FORMULA, data, REML=REML)
            assert est.intercept == float(fit.fixef.iloc[0]) and est.sd_resid == float(fit.sigma)
            assert est.sd_group == float(fit.theta.iloc[0] * fit.sigma) and est.singular == fit.singular
            np.testing.assert_array_equal(est.group_means, est.intercept + fit.b)
        one = lm(LM_FORMULA, data)
        beta = one.coefficients["Estimate"].to_numpy()
        X = lm_design(LM_FORMULA, data)[0].X
        tol = ls_tolerance(X, data["y"].to_numpy(), beta) * np.linalg.norm(beta)
        np.testing.assert_allclose(r.lm_means, beta[0] + np.r_[0.0, beta[1:]], rtol=0, atol=2 * tol)
        assert r.ms_group == one.anova.loc["group", "Mean Sq"] and r.ms_resid == one.anova.loc["Residuals", "Mean Sq"]
        assert r.lm_df == one.df_residual
        assert np.isclose(r.lm_mean_se, one.sigma * np.sqrt(1 / design.per_group) / np.sqrt(design.groups),
                          rtol=1e-12)  # sigma / sqrt(J n); two least-squares residual sums agree to ~kappa eps
