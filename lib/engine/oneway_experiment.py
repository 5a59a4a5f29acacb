"""Fixed or random, by experiment: a balanced one-way design simulated again and again, each time
fitted as lm(y ~ group) and as lmer(y ~ 1 + (1 | group)) by REML and by ML.

Replicate i of an experiment draws from numpy's generator seeded with (seed, i), so a replicate is
the same whether it is run alone, in a batch, or after a cancelled run resumed. The truth is
known: group effects a_j ~ N(0, sd_group^2), y_ij = mean + a_j + e_ij, e_ij ~ N(0, sd_resid^2).

Every replicate of a design has the same rows and groups; only y changes. `Experiment` therefore
prepares the design once: lm's model matrix factored once (lib.engine.lm.SharedDesign, as R's lm
with a matrix response) and lmer's problem set up once, each replicate's lmer fits on that problem
with its own response (LmerProblem.with_response: what lmer's setup gives for the new data). The
fits are lib.engine's lm and lmer fits, with the same numbers as fitting each data set from scratch.

What each replicate records (`Replicate`):
- lm: each group's mean (the fixed-effects estimates of the group means), the mean of the group
  means with lm's standard error for it, and the ANOVA (method of moments) estimate of the group
  variance, (MS_group - MS_resid) / n, which is negative whenever MS_group < MS_resid;
- lmer, REML and ML: the intercept and its standard error, the group and residual SDs, whether the
  fit is singular (the group variance on its bound 0), and each group's predicted mean
  (intercept + conditional mode).

For a balanced design the estimates have closed forms (Searle, Casella & McCulloch 1992, ch. 3 and
4): REML's group variance is max(0, (MSB - MSW) / n), ML's max(0, ((J - 1) / J MSB - MSW) / n), so
a fit is singular exactly when MSB <= MSW (REML) or (J - 1) / J MSB <= MSW (ML); MSB / MSW is
(1 + n sd_group^2 / sd_resid^2) times an F(J - 1, J (n - 1)) variable. `singular_probability`
gives the chance of a singular fit from that.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd
from scipy import stats

from lib.engine.lm import SharedDesign
from lib.engine.lmer import fit_problem, setup
from lib.engine.lmer_fit import LmerFit

LM_FORMULA = "y ~ group"
LMER_FORMULA = "y ~ 1 + (1 | group)"


@dataclass(frozen=True)
class Design:
    groups: int  # J
    per_group: int  # n
    sd_group: float
    sd_resid: float
    mean: float = 100.0

    def check(self) -> None:
        """lm needs residual degrees of freedom and lmer more rows than groups."""
        if self.groups < 2:
            raise ValueError("the design needs at least 2 groups")
        if self.per_group < 2:
            raise ValueError("the design needs at least 2 observations per group")
        if self.sd_group < 0 or self.sd_resid <= 0:
            raise ValueError("the group SD must be 0 or more and the residual SD more than 0")

    @property
    def nobs(self) -> int:
        return self.groups * self.per_group


@dataclass(frozen=True)
class MixedEstimates:
    intercept: float
    se: float
    sd_group: float
    sd_resid: float
    singular: bool
    group_means: np.ndarray  # intercept + conditional mode, per group


@dataclass(frozen=True)
class Replicate:
    index: int
    true_means: np.ndarray  # mean + a_j
    lm_means: np.ndarray  # lm's estimates of the group means
    lm_mean: float  # the mean of lm's group means
    lm_mean_se: float
    lm_df: int  # lm's residual degrees of freedom
    ms_group: float
    ms_resid: float
    anova_var: float  # (MS_group - MS_resid) / n; may be negative
    reml: MixedEstimates
    ml: MixedEstimates


def simulate(design: Design, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """One data set (columns y and group, a factor g01, g02, ...) and the true group means."""
    y, true = _draw(design, rng)
    return _frame(design, y), true


def _draw(design: Design, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """y, in the rows of _frame, and the true group means."""
    J, n = design.groups, design.per_group
    true = design.mean + rng.normal(0.0, design.sd_group, J)
    y = np.repeat(true, n) + rng.normal(0.0, design.sd_resid, J * n)
    return y, true


def _frame(design: Design, y: np.ndarray) -> pd.DataFrame:
    J, n = design.groups, design.per_group
    width = len(str(J))
    labels = [f"g{j + 1:0{width}d}" for j in range(J)]
    group = np.repeat(np.arange(J), n)
    return pd.DataFrame({"y": y, "group": pd.Categorical.from_codes(group, categories=labels)})


class Experiment:
    """A design's replicates, with what every replicate shares made once: lm's factored model matrix
    and lmer's problem (see the module). Read-only after construction, so sessions may share one."""

    def __init__(self, design: Design):
        design.check()
        self.design = design
        template = _frame(design, np.arange(design.nobs, dtype=float))  # any non-constant response
        self._lm = SharedDesign(LM_FORMULA, template)
        self._problem = setup(LMER_FORMULA, template)
        self._inv_n_sum = float(np.sum(1.0 / np.bincount(template["group"].cat.codes, minlength=design.groups)))

    def replicate(self, seed: int, index: int) -> Replicate:
        """Replicate `index` of the experiment with `seed`: simulate, fit lm, lmer REML and ML."""
        design = self.design
        y, true = _draw(design, np.random.default_rng([seed, index]))
        fit = self._lm.fit(y)
        beta = fit.coefficients
        means = beta[0] + np.r_[0.0, beta[1:]]
        msb, msw = fit.mean_sq("group"), fit.mean_sq("Residuals")
        prob = self._problem.with_response(y)  # one problem of this replicate's own for both fits
        return Replicate(index, true, means, float(means.mean()),
                         float(fit.sigma * np.sqrt(self._inv_n_sum) / design.groups), fit.df_residual,
                         msb, msw, (msb - msw) / design.per_group,
                         _mixed(fit_problem(prob, True)), _mixed(fit_problem(prob, False)))


def replicate(design: Design, seed: int, index: int) -> Replicate:
    """Replicate `index` of the experiment with `seed` (an Experiment of one replicate)."""
    return Experiment(design).replicate(seed, index)


def _mixed(fit: LmerFit) -> MixedEstimates:
    """The estimates of a fit of LMER_FORMULA: one scalar term, so the group SD is theta sigma."""
    intercept = float(fit.fixef.iloc[0])
    return MixedEstimates(intercept, float(np.sqrt(fit.vcov.iloc[0, 0])), float(fit.theta.iloc[0] * fit.sigma),
                          float(fit.sigma), fit.singular, intercept + fit.b)


def replicates(design: Design, seed: int, count: int, start: int = 0) -> Iterator[Replicate]:
    """Replicates start, start + 1, ..., count - 1, one at a time (a caller can stop any time)."""
    experiment = Experiment(design)
    for i in range(start, count):
        yield experiment.replicate(seed, i)


def singular_probability(design: Design, REML: bool = True) -> float:
    """The chance that the group variance is estimated as exactly 0 (see the module)."""
    J, n = design.groups, design.per_group
    ratio = 1.0 + n * design.sd_group ** 2 / design.sd_resid ** 2
    cut = 1.0 if REML else J / (J - 1)
    return float(stats.f.cdf(cut / ratio, J - 1, J * (n - 1)))
