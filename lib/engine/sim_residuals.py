"""Simulation-based scaled residuals for GLMMs, in the manner of R's DHARMa (Hartig).

Simulate the response many times from the fitted model (lib.engine.simulate); an
observation's scaled residual is where its observed value falls among its own simulations: the
value of their empirical distribution function there. Under the model the residuals are uniform
on (0, 1), whatever the family: 0.5 means "as expected", values near 0 or 1 mean "smaller (larger)
than nearly every simulation". For counts, ties are broken at random inside the jump of the
empirical distribution (DHARMa's "PIT" method, its default):

    lower = mean(sim < obs), upper = mean(sim <= obs), residual ~ U(lower, upper)

The checks, as DHARMa makes them:
- `uniformity_test`: Kolmogorov-Smirnov test of the residuals against U(0, 1) (testUniformity);
- `dispersion_test`: the variance of observed - predicted against that of each simulation,
  relative to the variance of all simulated values; the ratio observed / mean(simulated) and the
  simulation p-value (testDispersion, type "DHARMa", refit = FALSE);
- `outlier_test`: residuals outside every simulation (below 1 / (nsim + 1) or above
  1 - 1 / (nsim + 1)) against their expected frequency 2 / (nsim + 1), exact binomial test
  (testOutliers, type "binomial");
- `pearson_dispersion_test`: sum of squared Pearson residuals over the residual degrees of freedom
  against chi-square (testDispersion type "PearsonChisq" and Bolker's overdisp_fun; biased towards
  underdispersion for mixed models, so one-sided: overdispersion only);
- `quantile_lines`: the 0.25, 0.5 and 0.75 quantiles of the residuals along the rank of the
  predicted value, by quantile regression on a cubic spline (DHARMa uses qgam; flat lines at
  0.25, 0.5, 0.75 mean no pattern).

"Predicted" is the population-level mean, predict(fit, re.form = ~0, type = "response"), as in
DHARMa's getFitted for lme4. Responses are on the count scale (binomial successes).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats.mstats import plotting_positions
from statsmodels.gam.smooth_basis import BSplines
from statsmodels.regression.quantile_regression import QuantReg
from statsmodels.tools.sm_exceptions import ConvergenceWarning, IterationLimitWarning

from lib.engine.glmer_fit import GlmerFit
from lib.engine.simulate import counts, simulate, trials

QUANTILES = (0.25, 0.5, 0.75)
MIN_SPLINE_VALUES = 8  # fewer distinct predicted values: quantiles per value instead of a spline


@dataclass(frozen=True)
class ScaledResiduals:
    observed: np.ndarray  # (n,) on the count scale
    simulated: np.ndarray  # (nsim, n)
    predicted: np.ndarray  # (n,) population-level expected response, count scale
    residuals: np.ndarray  # (n,) the scaled residuals
    conditional: bool  # simulated with the fitted conditional modes (re.form = NULL)

    @property
    def nsim(self) -> int:
        return self.simulated.shape[0]

    @property
    def nobs(self) -> int:
        return len(self.observed)


@dataclass(frozen=True)
class TestResult:
    name: str
    statistic_name: str
    statistic: float
    p_value: float
    alternative: str

    def flagged(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


def pit_residuals(observed: np.ndarray, simulated: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """DHARMa's PIT residuals of observations (n,) among their simulations (nsim x n)."""
    lower = np.mean(simulated < observed, axis=0)
    upper = np.mean(simulated <= observed, axis=0)
    draws = rng.uniform(lower, upper)
    return np.where(lower == upper, lower, draws)


def scaled_residuals(fit: GlmerFit, nsim: int = 250, seed: int = 1,
                     conditional: bool = True) -> ScaledResiduals:
    """Simulate nsim responses from `fit` (re.form = NULL when `conditional`, else NA) and scale
    the observed ones among them (DHARMa's simulateResiduals)."""
    rng = np.random.default_rng(seed)
    sims = counts(fit, simulate(fit, nsim, seed=rng.integers(2 ** 63), use_u=conditional))
    observed = counts(fit, fit.problem.y)
    predicted = fit.predict(re_form="NA", type="response") * trials(fit)
    return ScaledResiduals(observed, sims, predicted, pit_residuals(observed, sims, rng), conditional)


def from_simulations(observed: np.ndarray, simulated: np.ndarray, predicted: np.ndarray, seed: int = 1,
                     conditional: bool = True) -> ScaledResiduals:
    """Scaled residuals of any observations among simulations of them (DHARMa's createDHARMa)."""
    rng = np.random.default_rng(seed)
    return ScaledResiduals(observed, simulated, predicted, pit_residuals(observed, simulated, rng),
                           conditional)


# -- tests ------------------------------------------------------------------------------------

def uniformity_test(res: ScaledResiduals) -> TestResult:
    ks = stats.kstest(res.residuals, "uniform")
    return TestResult("Kolmogorov-Smirnov test of uniformity", "D", float(ks.statistic), float(ks.pvalue),
                      "two.sided")


def dispersion_statistics(res: ScaledResiduals) -> tuple[float, np.ndarray]:
    """DHARMa's spread statistic, var(response - predicted) / var(all simulated values), of the
    observed response and of each simulation."""
    expected = np.var(res.simulated, ddof=1)
    if expected == 0:
        raise ValueError("every simulated value is the same: nothing to compare the spread with")
    observed = np.var(res.observed - res.predicted, ddof=1) / expected
    return float(observed), np.var(res.simulated - res.predicted, axis=1, ddof=1) / expected


def dispersion_test(res: ScaledResiduals, alternative: str = "two.sided") -> TestResult:
    """DHARMa's nonparametric dispersion test: the observed spread among the simulated ones."""
    observed, simulated = dispersion_statistics(res)
    return TestResult("DHARMa nonparametric dispersion test (sd of residuals, fitted vs simulated)",
                      "dispersion", float(observed / simulated.mean()),
                      simulation_p(simulated, observed, alternative), alternative)


def simulation_p(simulated: np.ndarray, observed: float, alternative: str) -> float:
    """DHARMa's getP: the share of simulated statistics at least as extreme as the observed one."""
    greater, less = float(np.mean(simulated >= observed)), float(np.mean(simulated <= observed))
    if alternative == "greater":
        return greater
    if alternative == "less":
        return less
    if alternative == "two.sided":
        return min(2 * min(greater, less), 1.0)
    raise ValueError("alternative must be 'two.sided', 'greater' or 'less'")


def outlier_test(res: ScaledResiduals) -> TestResult:
    """Residuals outside every simulation against their expected frequency 2 / (nsim + 1)."""
    edge = 1.0 / (res.nsim + 1)
    outliers = int(np.sum(res.residuals < edge) + np.sum(res.residuals > 1 - edge))
    test = stats.binomtest(outliers, res.nobs, 2 * edge)
    return TestResult("DHARMa outlier test (exact binomial)", "outliers", float(outliers),
                      float(test.pvalue), "two.sided")


def pearson_dispersion_test(fit: GlmerFit) -> TestResult:
    """Sum of squared Pearson residuals / residual df against chi-square (overdispersion only)."""
    chisq = float(np.sum(fit.residuals("pearson") ** 2))
    rdf = fit.df_resid
    return TestResult("Pearson chi-square dispersion test", "ratio", chisq / rdf,
                      float(stats.chi2.sf(chisq, rdf)), "greater")


# -- pictures' numbers ------------------------------------------------------------------------

def uniform_qq(res: ScaledResiduals) -> pd.DataFrame:
    """Expected uniform quantiles (R's ppoints: (i - a) / (n + 1 - 2a), a = 3/8 up to 10 points, else
    1/2) against the sorted residuals."""
    r = np.sort(res.residuals)
    a = 3 / 8 if len(r) <= 10 else 0.5
    return pd.DataFrame({"expected": np.asarray(plotting_positions(r, a, a)), "observed": r})


def predicted_rank(res: ScaledResiduals) -> np.ndarray:
    """The predicted values' ranks scaled to (0, 1] (ties averaged), as DHARMa's plotResiduals."""
    r = stats.rankdata(res.predicted, method="average")
    return r / r.max()


def quantile_lines(res: ScaledResiduals, quantiles=QUANTILES, df: int = 5) -> pd.DataFrame:
    """Quantiles of the residuals along the predicted rank: x, quantile, value and its standard
    error se (the quantile regression's, statsmodels' default kernel estimate; 0 for groups)."""
    x = predicted_rank(res)
    values = np.unique(x)
    if len(values) < MIN_SPLINE_VALUES:  # a few groups: their empirical quantiles
        rows = [(v, q, float(np.quantile(res.residuals[x == v], q)), 0.0) for v in values for q in quantiles]
        return pd.DataFrame(rows, columns=["x", "quantile", "value", "se"])
    basis = BSplines(x, df=[df], degree=[3], include_intercept=True)
    grid = np.linspace(values.min(), values.max(), 60)
    at = basis.transform(grid)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (IterationLimitWarning, ConvergenceWarning))
        for q in quantiles:
            fit = QuantReg(res.residuals, basis.basis).fit(q=q, max_iter=2000)
            se = np.sqrt(np.einsum("ij,jk,ik->i", at, np.asarray(fit.cov_params()), at))
            out.append(pd.DataFrame({"x": grid, "quantile": q, "value": at @ np.asarray(fit.params), "se": se}))
    return pd.concat(out, ignore_index=True)
