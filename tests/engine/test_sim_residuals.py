"""Simulating from glmer fits (lib.engine.simulate) and DHARMa-style residuals (lib.engine.sim_residuals).

Simulations are random, so the checks are of distributions, each against a known answer:
- the PIT residual of a value among simulations is where it falls in their empirical distribution
  (hand-computed examples); DHARMa's statistics follow its code, with numbers from R for a small case;
- the mean of a Poisson GLMM's unconditional simulations is exp(x'beta + theta^2 / 2) (lognormal);
- data simulated from the fitted model give uniform residuals, and an overdispersed case is flagged.
Seeds are fixed, so each check is one draw; every tolerance is stated in Monte-Carlo standard errors
(5 SE unless said) or as a test level far from the observed value, so that another machine's
optimizer path (the refits) cannot turn a verdict.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lib.api import glmer
from lib.data.glmm_data import load_binary, load_counts, load_months_low
from lib.engine.sim_residuals import (
    ScaledResiduals,
    dispersion_statistics,
    dispersion_test,
    from_simulations,
    outlier_test,
    pearson_dispersion_test,
    pit_residuals,
    quantile_lines,
    scaled_residuals,
    uniform_qq,
    uniformity_test,
)
from lib.engine.simulate import counts, simulate, trials

COUNTS_FORMULA = "Count ~ Dose + (1 | Site)"
MONTHS_FORMULA = "cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID)"


@pytest.fixture(scope="module")
def poisson_fit():
    return glmer(COUNTS_FORMULA, load_counts(), family="poisson")


@pytest.fixture(scope="module")
def months_fit():
    return glmer(MONTHS_FORMULA, load_months_low(), family="binomial")


# -- the residual itself -----------------------------------------------------------------------

def test_pit_residual_is_the_position_among_the_simulations():
    sims = np.array([[1, 0, 9], [2, 0, 9], [3, 0, 9], [3, 0, 9], [5, 0, 9]], float)  # 5 simulations of 3 values
    res = pit_residuals(np.array([3.0, -1.0, 10.0]), sims, np.random.default_rng(1))
    assert 0.4 <= res[0] <= 0.8  # 2 below 3, 4 at or below: U(2/5, 4/5)
    assert res[1] == 0.0 and res[2] == 1.0  # below every simulation, above every one
    continuous = pit_residuals(np.array([0.35]), np.array([[0.1], [0.2], [0.5], [0.9]]), np.random.default_rng(1))
    assert continuous[0] == 0.5  # no ties: the empirical distribution function, 2 of 4


def test_tied_counts_are_spread_uniformly():
    """Observed 3 among simulations all equal to 3: the residual is U(0, 1) (mean 1/2, variance 1/12;
    5 SE on 20,000 draws: 0.010 and 0.0029)."""
    res = pit_residuals(np.full(20000, 3.0), np.full((10, 20000), 3.0), np.random.default_rng(2))
    assert abs(res.mean() - 0.5) < 5 * np.sqrt(1 / 12 / 20000)
    assert abs(res.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / 20000)


def test_dispersion_and_outlier_statistics_follow_dharma():
    """R, DHARMa's code on 3 observations x 4 simulations: expectedVar = sd(sim)^2 = 1.53787878787879,
    spread(obs) = var(obs - pred) / expectedVar = 2.60098522167488, ratio = 2.18181818181818, p = 0.5;
    binom.test(3, 300, p = 2/251)$p.value = 0.51891612649586."""
    sim = np.array([[0, 1, 2], [2, 1, 0], [1, 1, 3], [4, 0, 2]], float)
    res = from_simulations(np.array([0.0, 2.0, 5.0]), sim, np.array([1.0, 1.0, 2.0]))
    observed, simulated = dispersion_statistics(res)
    assert np.isclose(observed, 2.60098522167488, rtol=1e-12)
    np.testing.assert_allclose(simulated, [0.216748768472906, 1.517241379310345, 0.216748768472906,
                                           2.817733990147783], rtol=1e-12)
    test = dispersion_test(res)
    assert np.isclose(test.statistic, 2.18181818181818, rtol=1e-12) and test.p_value == 0.5
    edge = np.r_[np.zeros(2), np.ones(1), np.full(297, 0.5)]
    fake = ScaledResiduals(np.zeros(300), np.zeros((250, 300)), np.zeros(300), edge, True)
    out = outlier_test(fake)
    assert out.statistic == 3 and np.isclose(out.p_value, 0.51891612649586, rtol=1e-10)


def test_uniformity_is_the_ks_test():
    """ks.test(c(0.1, 0.4, 0.35, 0.8, 0.9), "punif"): D = 0.2, p = 0.9616 (R, exact)."""
    fake = ScaledResiduals(np.zeros(5), np.zeros((1, 5)), np.zeros(5), np.array([0.1, 0.4, 0.35, 0.8, 0.9]), True)
    ks = uniformity_test(fake)
    assert np.isclose(ks.statistic, 0.2) and np.isclose(ks.p_value, 0.9616, atol=5e-5)


def test_uniform_qq_uses_r_ppoints():
    """ppoints(5) in R: 0.1190476 0.3095238 0.5000000 0.6904762 0.8809524."""
    fake = ScaledResiduals(np.zeros(5), np.zeros((1, 5)), np.zeros(5), np.array([0.9, 0.1, 0.5, 0.3, 0.7]), True)
    qq = uniform_qq(fake)
    np.testing.assert_allclose(qq["expected"], [0.119047619047619, 0.30952380952381, 0.5, 0.69047619047619,
                                                0.880952380952381], rtol=1e-12)
    assert list(qq["observed"]) == [0.1, 0.3, 0.5, 0.7, 0.9]


# -- simulating from a fit ------------------------------------------------------------------------

def test_conditional_simulations_have_the_fitted_means(poisson_fit, months_fit):
    """use.u = TRUE: each observation's simulations have mean mu (Poisson variance mu, binomial
    mu (1 - mu) / n, 5 SE on 4,000 draws)."""
    for fit in (poisson_fit, months_fit):
        sims = simulate(fit, 4000, seed=3, use_u=True)
        assert sims.shape == (4000, fit.nobs)
        var = fit.family.variance(fit.mu) / trials(fit)
        z = (sims.mean(axis=0) - fit.mu) / np.sqrt(var / 4000)
        assert np.max(np.abs(z)) < 5


def test_unconditional_poisson_mean_is_lognormal(poisson_fit):
    """re.form = NA: E y = exp(x'beta + theta^2 / 2). The ratio of simulated to expected means, over
    4,000 simulations of 12 independent sites, has SE about sqrt(exp(theta^2) - 1) / sqrt(48,000)."""
    fit = poisson_fit
    sims = simulate(fit, 4000, seed=4)
    theta = float(fit.theta.iloc[0])
    expected = np.exp(fit.problem.X @ fit.fixef.to_numpy() + theta ** 2 / 2)
    ratio = float(np.mean(sims / expected))
    assert abs(ratio - 1) < 5 * np.sqrt(np.expm1(theta ** 2) / 48000) + 5 * np.sqrt(1 / sims.sum())
    assert np.all(sims == np.round(sims)) and sims.min() >= 0


def test_binomial_simulations_are_counts_out_of_the_totals(months_fit):
    sims = simulate(months_fit, 50, seed=5)
    successes = counts(months_fit, sims)
    assert np.all(successes == np.round(successes)) and successes.min() >= 0
    assert np.all(successes <= trials(months_fit)) and np.all(trials(months_fit) == 18)
    with pytest.raises(ValueError):
        simulate(months_fit, 0)


def test_same_seed_same_simulations(poisson_fit):
    a, b = simulate(poisson_fit, 20, seed=7), simulate(poisson_fit, 20, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, simulate(poisson_fit, 20, seed=8))


# -- the known answers: uniform under the model, flagged when overdispersed ---------------------------

@pytest.mark.parametrize("conditional", [True, False], ids=["conditional", "unconditional"])
def test_data_simulated_from_the_model_give_uniform_residuals(poisson_fit, conditional):
    """A response drawn from the model itself, scaled among 250 further simulations: uniform (KS p far
    above 0.01), mean 1/2 and variance 1/12 within 5 SE of 300 draws, dispersion not flagged."""
    fit = poisson_fit
    for seed in (21, 22, 23):
        y_star = simulate(fit, 1, seed=seed, use_u=conditional)[0]
        sims = simulate(fit, 250, seed=seed + 100, use_u=conditional)
        res = from_simulations(y_star, sims, fit.predict(re_form="NA", type="response"), seed=seed,
                               conditional=conditional)
        assert uniformity_test(res).p_value > 0.01
        assert abs(res.residuals.mean() - 0.5) < 5 * np.sqrt(1 / 12 / 300)
        assert not dispersion_test(res).flagged(0.01)


def test_refitted_model_on_its_own_simulated_data_passes(poisson_fit):
    """Data simulated from the Poisson fit and refitted: the new fit's residuals look uniform and its
    dispersion is not flagged (p far above 0.01)."""
    data = load_counts().assign(Count=simulate(poisson_fit, 1, seed=31)[0])
    refit = glmer(COUNTS_FORMULA, data, family="poisson")
    res = scaled_residuals(refit, 250, seed=32)
    assert uniformity_test(res).p_value > 0.01
    assert not dispersion_test(res).flagged(0.01)
    assert pearson_dispersion_test(refit).statistic < 1.3


def test_overdispersed_counts_are_flagged():
    """Negative binomial counts (size 2, so variance mu + mu^2 / 2) with a site effect, fitted as
    Poisson: the dispersion test and the Pearson test flag it far beyond the 0.01 level."""
    rng = np.random.default_rng(41)
    data = load_counts()
    site = data["Site"].cat.codes.to_numpy()
    mu = np.exp(1.0 + 0.8 * data["Dose"].to_numpy() + rng.normal(0, 0.3, 12)[site])
    data = data.assign(Count=rng.negative_binomial(2, 2 / (2 + mu)).astype(float))
    fit = glmer(COUNTS_FORMULA, data, family="poisson")
    res = scaled_residuals(fit, 250, seed=42)
    disp = dispersion_test(res)
    assert disp.p_value < 0.01 and disp.statistic > 1.5
    assert pearson_dispersion_test(fit).p_value < 1e-6
    assert uniformity_test(res).p_value < 0.01


def test_months_low_with_family_only_is_overdispersed(months_fit):
    """The tutorial's data: people of a family differ more than a binomial allows (Pearson ratio
    1.93 on 268 df, pchisq far below 1e-6); DHARMa's conditional test flags it."""
    pearson = pearson_dispersion_test(months_fit)
    assert pearson.statistic > 1.5 and pearson.p_value < 1e-6
    assert dispersion_test(scaled_residuals(months_fit, 250, seed=1)).p_value < 0.01


# -- quantile lines -----------------------------------------------------------------------------------

def test_quantile_lines_of_uniform_residuals_are_flat():
    """Uniform residuals unrelated to the prediction: each line stays within 4 of its own standard
    errors of its level at all 60 points; residuals that rise with the prediction leave that band."""
    rng = np.random.default_rng(51)
    fake = ScaledResiduals(np.zeros(2000), np.zeros((1, 2000)), rng.random(2000), rng.random(2000), True)
    lines = quantile_lines(fake)
    assert set(lines["quantile"]) == {0.25, 0.5, 0.75} and (lines["se"] > 0).all()
    assert np.max(np.abs(lines["value"] - lines["quantile"]) / lines["se"]) < 4
    x = rng.random(2000)
    tilted = ScaledResiduals(np.zeros(2000), np.zeros((1, 2000)), x, np.clip(rng.random(2000) * 0.6 + 0.4 * x, 0, 1),
                             True)
    lines = quantile_lines(tilted)
    assert np.max(np.abs(lines["value"] - lines["quantile"]) / lines["se"]) > 4


def test_few_predicted_values_give_their_own_quantiles():
    res = np.r_[np.linspace(0, 1, 11), np.linspace(0, 0.5, 11)]
    fake = ScaledResiduals(np.zeros(22), np.zeros((1, 22)), np.r_[np.ones(11), np.full(11, 2.0)], res, True)
    lines = quantile_lines(fake)
    medians = lines[lines["quantile"] == 0.5].set_index("x")["value"]
    # ranks 1..11 and 12..22 averaged (6 and 17), scaled by the largest: x = 6/17 and 1
    assert np.allclose(medians.index, [6 / 17, 1.0]) and list(medians) == [0.5, 0.25]


def test_predicted_is_the_population_level_mean(months_fit, poisson_fit):
    """DHARMa's getFitted for lme4: predict(fit, re.form = ~0, type = "response"), counts for a binomial."""
    res = scaled_residuals(months_fit, 20, seed=1)
    np.testing.assert_allclose(res.predicted, months_fit.predict(re_form="NA", type="response") * 18)
    np.testing.assert_array_equal(res.observed, load_months_low()["MonthsLow"].to_numpy(float))
    binary = glmer("Low ~ Sex * Time + (1 | FamID)", load_binary(), family="binomial")
    assert set(np.unique(scaled_residuals(binary, 10, seed=1).observed)) == {0.0, 1.0}
    assert isinstance(pd.Series(res.residuals).between(0, 1).all(), (bool, np.bool_))
    assert stats.kstest(scaled_residuals(poisson_fit, 250, seed=2).residuals, "uniform").pvalue > 0.01
