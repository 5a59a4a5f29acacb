"""simulate(), bootMer and the bootstrap LRT: checked against truths the simulation must reproduce.

lme4's bootstrap draws from R's generator, so no figure of R's can be matched draw for draw; the
tests instead derive what the numbers must be (each test says how) and allow the Monte Carlo error
of the number of draws (4 standard errors: a seeded run that fails is a bug, not bad luck, since
the draws are fixed by the seed).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from lib.engine.boot_lrt import bootstrap_lrt, check_nested, mixture_p
from lib.engine.bootstrap import Replicates, norm_inter, parametric_bootstrap
from lib.engine.simulate import simulate

MC = 4.0  # standard errors of Monte Carlo slack


def test_simulated_responses_have_the_models_covariance(lmer_fits):
    """Var(y_i) = sigma_F^2 + sigma^2 and Cov(y_i, y_j) = sigma_F^2 for two people of one family,
    E(y) = X beta (MMod: y = X beta + b_family + e); 4,000 draws."""
    fit = lmer_fits.get("MMod")
    y = simulate(fit, nsim=4000, seed=11).T  # a row per person, a column per simulation
    sf2, s2 = fit.varcorr["vcov"].to_numpy()
    mean = fit.problem.X @ fit.fixef.to_numpy()
    fam = fit.problem.frame["FamID"].astype(str).to_numpy()
    i, j = np.flatnonzero(fam == "3")[:2]
    n = y.shape[1]
    assert abs(y[i].mean() - mean[i]) < MC * np.sqrt((sf2 + s2) / n)
    # the sample variance's SE is about var * sqrt(2 / n), the covariance's sqrt((var^2 + cov^2) / n)
    assert abs(y[i].var(ddof=1) - (sf2 + s2)) < MC * (sf2 + s2) * np.sqrt(2 / n)
    assert abs(np.cov(y[i], y[j])[0, 1] - sf2) < MC * np.sqrt(((sf2 + s2) ** 2 + sf2 ** 2) / n)
    k = np.flatnonzero(fam == "5")[0]
    assert abs(np.cov(y[i], y[k])[0, 1]) < MC * (sf2 + s2) / np.sqrt(n)


@pytest.fixture(scope="module")
def mmod_boot(lmer_fits):
    return parametric_bootstrap(lmer_fits.get("MMod"), nsim=300, seed=5)


def test_bootstrap_reproduces_the_sampling_distribution(mmod_boot, lmer_fits):
    """Under the model the REML estimate of SexM is unbiased with SD its standard error (a balanced
    design: SE(SexM) is sigma sqrt(2 / 270 * ...) exactly, whatever the family variance): the
    bootstrap mean and SD of SexM are the estimate and SE within Monte Carlo error."""
    fit = lmer_fits.get("MMod")
    t = mmod_boot.t["SexM"].to_numpy()
    se, n = float(fit.se["SexM"]), len(t)
    assert abs(t.mean() - fit.fixef["SexM"]) < MC * se / np.sqrt(n)
    assert abs(t.std(ddof=1) / se - 1) < MC * np.sqrt(1 / (2 * n))
    assert mmod_boot.reps.complete and not np.isnan(mmod_boot.reps.rows).any()


def test_bootstrap_statistics_are_lme4s(mmod_boot, lmer_fits):
    """t0 is confint(m, method = "boot")'s FUN at the fit: .sig01 = SD of FamID, .sigma, fixef."""
    fit = lmer_fits.get("MMod")
    assert mmod_boot.names == [".sig01", ".sigma", "(Intercept)", "SexM"]
    np.testing.assert_allclose(mmod_boot.t0, [fit.varcorr["sdcor"][0], fit.sigma, *fit.fixef], rtol=1e-12)
    ci = mmod_boot.confint()
    assert list(ci.columns) == ["2.5 %", "97.5 %"]
    assert np.all(ci["2.5 %"] < mmod_boot.t0) and np.all(mmod_boot.t0 < ci["97.5 %"])


def test_norm_inter_is_boots():
    """boot:::norm.inter(1:9, c(0.1, 0.25)): (R + 1) alpha = 1 and 2.5: t[1] = 1, and between t[2] and
    t[3] on the normal scale: 2 + (qnorm(.25) - qnorm(.2)) / (qnorm(.3) - qnorm(.2))."""
    from scipy.stats import norm
    t = np.arange(1.0, 10.0)
    expected = 2 + (norm.ppf(0.25) - norm.ppf(0.2)) / (norm.ppf(0.3) - norm.ppf(0.2))
    np.testing.assert_allclose(norm_inter(t, np.array([0.1, 0.25])), [1.0, expected], rtol=1e-14)


def test_runs_resume_and_cancel_with_the_same_replicates(lmer_fits):
    """Replicate i is drawn from (seed, i): a run cancelled after 7 and resumed to 12 gives the
    replicates of an uninterrupted run of 12."""
    fit = lmer_fits.get("MMod")
    whole = parametric_bootstrap(fit, nsim=12, seed=3)
    calls = {"n": 0}

    def stop_after_seven() -> bool:
        calls["n"] += 1
        return calls["n"] > 7

    seen: list[Replicates] = []
    part = parametric_bootstrap(fit, nsim=12, seed=3, should_stop=stop_after_seven,
                                progress=lambda b: seen.append(b.reps))
    assert part.reps.done == 7 and not part.reps.complete and seen[-1].done == 7
    rest = parametric_bootstrap(fit, nsim=12, seed=3, resume=part)
    assert rest.reps.complete
    np.testing.assert_allclose(rest.reps.rows, whole.reps.rows, rtol=1e-12)


def test_bootstrap_never_touches_the_fit(lmer_fits):
    fit = lmer_fits.get("MMod")
    y, crit = fit.problem.y.copy(), fit.problem.criterion(fit.theta.to_numpy(), True)
    parametric_bootstrap(fit, nsim=3, seed=1)
    np.testing.assert_array_equal(fit.problem.y, y)
    assert fit.problem.criterion(fit.theta.to_numpy(), True) == crit


def test_mixture_p_is_the_half_and_half_chi_square():
    """0.5 pchisq(x, df - 1, lower = FALSE) + 0.5 pchisq(x, df, lower = FALSE); for df = 1 the
    chi-square(0) part is a point mass at 0."""
    assert mixture_p(3.84, 1) == pytest.approx(0.5 * chi2.sf(3.84, 1), rel=1e-14)
    assert mixture_p(5.0, 2) == pytest.approx(0.5 * chi2.sf(5.0, 1) + 0.5 * chi2.sf(5.0, 2), rel=1e-14)
    assert mixture_p(0.0, 1) == 1.0


def test_bootstrap_lrt_of_one_variance_tested_at_zero(lmer_fits):
    """(1 | IndID) added to MMod (df 1), 120 draws from MMod. Asymptotically the statistic is a
    50:50 mixture of a point mass at 0 and chi-square(1) (Self & Liang 1987): at least about half the
    replicates at zero (with few groups more, never fewer; one-sided at 4 standard errors of a
    proportion) and a mean of 0.5 (variance 1.25; one-sided, 4 standard errors)."""
    from lib.api import lmer
    null = lmer_fits.get("MMod")
    alt = lmer("IgG ~ Sex + (1 | FamID) + (1 | IndID)", lmer_fits.frame("MMod"))
    res = bootstrap_lrt(null, alt, nsim=120, seed=4)
    ref = res.reference
    assert res.df == 1 and len(ref) == 120
    assert res.share_at_zero > 0.5 - MC * np.sqrt(0.25 / len(ref))
    assert ref.mean() < 0.5 + MC * np.sqrt(1.25 / len(ref))


def test_bootstrap_lrt_of_a_variance_and_its_correlation(lmer_fits):
    """MMod2 against MMod (the SexM variance and its correlation, df 2), 80 draws from MMod. The
    asymptotic null is a 50:50 mixture of chi-square(1) and chi-square(2), mean 1.5 and variance
    3.25 (Stram & Lee 1994): the bootstrap mean stays below the chi-square(2) mean of 2, i.e. the
    chi-square p is conservative (one-sided at the mixture's mean plus 4 standard errors). The
    observed statistic is lrtest()'s and the p-values follow from the reference by definition."""
    null, alt = lmer_fits.get("MMod"), lmer_fits.get("MMod2")
    res = bootstrap_lrt(null, alt, nsim=80, seed=2)
    ref = res.reference
    assert res.df == 2 and len(ref) == 80
    assert res.statistic == pytest.approx(2 * (alt.loglik - null.loglik), rel=1e-12)
    assert ref.mean() < 1.5 + MC * np.sqrt(3.25 / len(ref))
    assert res.p_boot == (1 + np.sum(ref >= res.statistic)) / (1 + len(ref))
    assert res.p_chisq == pytest.approx(chi2.sf(res.statistic, 2), rel=1e-14)
    assert res.p_mixture == pytest.approx(mixture_p(res.statistic, 2), rel=1e-14)


def test_bootstrap_lrt_refuses_models_that_are_not_nested_in_variance(lmer_fits):
    with pytest.raises(ValueError, match="same fixed effects"):
        check_nested(lmer_fits.get("MMod3"), lmer_fits.get("MMod2"))
    with pytest.raises(ValueError, match="more variance parameters"):
        check_nested(lmer_fits.get("MMod2"), lmer_fits.get("MMod"))
    with pytest.raises(ValueError, match="both REML or both ML"):
        check_nested(lmer_fits.get("MMod"), lmer_fits.get("MMod2", REML=False))
