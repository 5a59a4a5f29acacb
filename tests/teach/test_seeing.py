"""The teaching logic of the partial-pooling, experiment and GLMM-residual pages (lib.teach.pooling,
lib.teach.fixed_or_random, lib.teach.glmm_residuals).

Known answers: a subsample keeps exactly k months of every person, whatever the row order; scaling the
residuals by f multiplies them by f exactly; with no group variation lm's t interval for the mean is
exact (95% coverage), and with a large one it misses the population mean most of the time (the mean
of J group means has SD sqrt(sd_group^2 / J + sd^2 / N), lm's SE only sd / sqrt(N)); the simulated
share of singular fits is binomial around the F distribution's value. Monte-Carlo tolerances are 5
binomial standard errors.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lib.data.slices import load_slice
from lib.engine.oneway_experiment import Design, replicates
from lib.engine.pooling import covariance_ellipses, pooling
from lib.teach.fixed_or_random import binomial_band, replicate_frame, summarize
from lib.teach.glmm_residuals import RANDOM_PARTS, fit_model, formula, run_checks, verdict
from lib.teach.pooling import (
    Scaling,
    band_frame,
    ellipse_frame,
    fit_scaled,
    median_shift,
    rescale_noise,
    subsample_times,
)

MODTIME2 = "IgG ~ Sex * Time + (1 + Time | FamID)"


def test_subsample_keeps_k_months_of_everyone_whatever_the_row_order():
    data = load_slice("all")
    sub = subsample_times(data, 3, seed=4)
    assert len(sub) == 270 * 3
    assert (sub.groupby(["Sex", "IndID"], observed=True).size() == 3).all()
    shuffled = subsample_times(data.sample(frac=1.0, random_state=1).reset_index(drop=True), 3, seed=4)
    key = ["Sex", "IndID", "Time"]
    assert set(map(tuple, sub[key].astype(str).to_numpy())) == set(map(tuple, shuffled[key].astype(str).to_numpy()))
    assert not sub[key].equals(subsample_times(data, 3, seed=5)[key])
    assert len(subsample_times(data, 18, seed=4)) == len(data)


def test_scaled_noise_multiplies_the_residuals_exactly():
    data = load_slice("all")
    fitted = np.linspace(100, 150, len(data))
    out = rescale_noise(data, fitted, 2.5, "IgG")
    np.testing.assert_allclose(out["IgG"] - fitted, 2.5 * (data["IgG"] - fitted), rtol=1e-12)
    assert data["IgG"].equals(load_slice("all")["IgG"])  # the caller's frame untouched


def test_scaling_checks_its_values():
    for bad in (("nope", 1.0), ("times", 2.5), ("times", 0), ("noise", 0.0)):
        with pytest.raises(ValueError):
            Scaling(*bad)
    assert Scaling("times", 4, 2).label == "4 random month(s) per person (seed 2)"


def test_sparser_data_move_the_families_further():
    """The teaching claim, on the tutorial's MModTime2: 2 months per person instead of 18 lengthen the
    families' arrows (median |model - own| intercept)."""
    full = fit_scaled(MODTIME2, True, "all", Scaling(), "IgG")
    sparse = fit_scaled(MODTIME2, True, "all", Scaling("times", 2, 1), "IgG")
    assert sparse.ok and sparse.fit.nobs == 540
    assert median_shift(pooling(sparse.fit, "FamID")) > 2 * median_shift(pooling(full.fit, "FamID"))


def test_noisier_data_give_a_larger_residual_sd():
    base = fit_scaled(MODTIME2, True, "all", Scaling(), "IgG")
    noisy = fit_scaled(MODTIME2, True, "all", Scaling("noise", 3.0), "IgG", base.fit.fitted)
    assert noisy.ok and 2.5 < noisy.fit.sigma / base.fit.sigma < 3.1
    with pytest.raises(ValueError):
        from lib.teach.pooling import scaled_data
        scaled_data("all", Scaling("noise", 2.0), "IgG", None)


def test_ellipse_frames_trace_the_ellipses():
    fit = fit_scaled(MODTIME2, True, "all", Scaling(), "IgG").fit
    ellipses, _ = covariance_ellipses(fit, pooling(fit, "FamID"))
    frame = ellipse_frame(ellipses)
    assert set(frame["level"]) == {0.5, 0.95} and frame.groupby("curve").size().eq(120).all()
    t0 = fit_scaled("IgG ~ Sex + (1 | FamID)", True, "time0", Scaling(), "IgG").fit
    band = band_frame(covariance_ellipses(t0, pooling(t0, "FamID", None))[0])
    sd = float(np.sqrt(t0.varcorr["vcov"].iloc[0]))
    assert np.isclose(band["upper"].iloc[0] - band["lower"].iloc[0], 2 * 1.959963984540054 * sd)  # qnorm(0.975)


@pytest.fixture(scope="module")
def no_group_variation():
    design = Design(5, 4, 0.0, 1.0)
    return design, list(replicates(design, 3, 150))


def test_lm_interval_is_exact_without_group_variation(no_group_variation):
    design, reps = no_group_variation
    s = summarize(design, reps)
    assert abs(s.lm_coverage - 0.95) <= 5 * np.sqrt(0.95 * 0.05 / 150)
    low, high = binomial_band(s.reml_singular_theory, 150, level=1 - 5.7e-7)  # 5 SE
    assert low <= s.reml_singular <= high and np.isclose(s.reml_singular_theory, 0.561999188793399)  # pf(1, 4, 15)
    # groups that do not differ: pooling their means towards the grand mean can only help
    frame = replicate_frame(design, reps)
    assert (frame["lmer RMSE"] ** 2).mean() < 0.6 * (frame["lm RMSE"] ** 2).mean()


def test_lm_interval_misses_the_population_mean_when_groups_vary():
    """sd_group = 3, sd = 1, J = 5, n = 4: lm's SE is 6.1 times too small; its t interval (t(0.975, 15)
    = 2.13) covers the population mean with probability about P(|Z| < 2.13 / 6.1) = 0.27."""
    design = Design(5, 4, 3.0, 1.0)
    reps = list(replicates(design, 3, 150))
    s = summarize(design, reps)
    expected = 2 * stats.norm.cdf(stats.t.ppf(0.975, 15) / np.sqrt(37)) - 1
    assert abs(s.lm_coverage - expected) <= 5 * np.sqrt(expected * (1 - expected) / 150) + 0.03
    assert s.lmer_coverage > s.lm_coverage + 0.3
    with pytest.raises(ValueError):
        summarize(design, [])


def test_glmm_residual_models_and_checks():
    assert formula("months", RANDOM_PARTS["months"][1]) == \
        "cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID) + (1 | Sex:IndID)"
    with pytest.raises(ValueError):
        fit_model("counts", "(1 | Dose)")
    outcome = fit_model("counts", "(1 | Site)")
    checks = run_checks(outcome.fit, 100, 1, False)
    assert set(checks.tests) == {"uniformity", "dispersion", "outliers", "Pearson dispersion"}
    assert checks.residuals.nsim == 100 and not checks.residuals.conditional
    assert verdict(checks.dispersion).startswith("no evidence")
