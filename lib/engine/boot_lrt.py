"""A parametric bootstrap likelihood-ratio test of a variance component (pbkrtest's PBmodcomp idea).

A variance tested at zero sits on the edge of its parameter space, so the likelihood-ratio
statistic is not chi-square with the difference in parameters as df: for one variance (and its
covariances) it is nearer a 50:50 mixture of chi-square(df - 1) and chi-square(df) (Self & Liang
1987; Stram & Lee 1994), and with few groups neither is exact. The bootstrap makes the reference
distribution itself: simulate responses from the smaller (null) model, refit both models to each,
and see how often the statistic is at least the observed one:

    p = (1 + #{LRT* >= LRT_obs}) / (1 + number of replicates)   (Davison & Hinkley 1997, 4.2)

The statistic is the one lrtest() computes from the two fits: each fit's own log-likelihood (REML
for REML fits, which is right for models with the same fixed effects). pbkrtest refits both models
by ML instead, and its p counts only the positive statistics in the denominator.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.stats import chi2

from lib.engine.bootstrap import Refitter, Replicates, run_replicates
from lib.engine.lmer import LmerFit
from lib.engine.simulate import simulate_response


def mixture_p(chisq: float, df: int) -> float:
    """p of a 50:50 mixture of chi-square(df - 1) and chi-square(df) (chi-square(0): a point mass at 0)."""
    if df <= 0:
        return float("nan")
    low = (0.0 if chisq > 0 else 1.0) if df == 1 else float(chi2.sf(chisq, df - 1))
    return 0.5 * low + 0.5 * float(chi2.sf(chisq, df))


def check_nested(null: LmerFit, alt: LmerFit) -> int:
    """The difference in parameters of two fits that differ in their random effects only (else ValueError)."""
    if null.nobs != alt.nobs:
        raise ValueError("the two models are fitted to different data")
    if null.REML != alt.REML:
        raise ValueError("fit both models the same way (both REML or both ML)")
    if list(null.fixef.index) != list(alt.fixef.index):
        raise ValueError("the models must have the same fixed effects: this test is of a variance component")
    df = alt.df - null.df
    if df <= 0:
        raise ValueError("the second model must have more variance parameters than the first")
    return df


@dataclass(frozen=True)
class BootLRT:
    """The observed statistic, its reference distribution so far, and the three p-values."""

    statistic: float
    df: int
    reps: Replicates

    @property
    def reference(self) -> np.ndarray:
        r = self.reps.rows[:, 0]
        return r[np.isfinite(r)]

    @property
    def p_chisq(self) -> float:
        return float(chi2.sf(self.statistic, self.df))

    @property
    def p_mixture(self) -> float:
        return mixture_p(self.statistic, self.df)

    @property
    def p_boot(self) -> float:
        ref = self.reference
        return float((1 + np.sum(ref >= self.statistic)) / (1 + len(ref)))

    @property
    def share_at_zero(self) -> float:
        """The share of replicates whose statistic is (numerically) zero: the null's point mass."""
        ref = self.reference
        return float(np.mean(ref < 1e-6)) if len(ref) else float("nan")


def bootstrap_lrt(null: LmerFit, alt: LmerFit, nsim: int, seed: int, resume: BootLRT | None = None,
                  progress: Callable[[BootLRT], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> BootLRT:
    """The parametric bootstrap LRT of `null` (fewer variance parameters) against `alt`."""
    df = check_nested(null, alt)
    observed = max(0.0, 2 * (alt.loglik - null.loglik))
    small, large = Refitter(null), Refitter(alt)

    def statistic(rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
        y = simulate_response(null, rng)
        (p0, th0, m0), (p1, th1, m1) = small.refit(y), large.refit(y)
        lrt = p0.criterion(th0, null.REML) - p1.criterion(th1, alt.REML)
        return np.array([lrt]), m0 + m1

    report = None if progress is None else (lambda r: progress(BootLRT(observed, df, r)))
    reps = run_replicates(statistic, 1, nsim, seed, resume.reps if resume else None, report, should_stop)
    return BootLRT(observed, df, reps)
