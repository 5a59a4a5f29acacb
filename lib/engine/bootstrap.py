"""The parametric bootstrap of an lmer fit: lme4's bootMer and confint(method = "boot").

Each replicate simulates a new response from the fit (lib.engine.simulate, lme4's simulate with
use.u = FALSE), refits the model to it (lme4's refit: the same model, started from the fit's theta)
on a problem of its own, and keeps lme4's statistics: the random-effects standard deviations and
correlations and sigma (`.sig01` ... `.sigma`), then the fixed effects. Replicate i draws from
its own generator (seed, i), so a run can stop, be cancelled and resume, in chunks of any size,
with the same numbers. Intervals are boot.ci's: percentile (lme4's default), basic and normal.

`run_replicates` is the loop shared with the bootstrap likelihood-ratio test (lib.engine.boot_lrt):
it reports progress, stops when asked and returns what it has.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import pandas as pd
from scipy.stats import norm

from lib.engine.lmer import LmerFit, LmerProblem, optimize, setup
from lib.engine.pls import PlsSystem, one_blas_thread
from lib.engine.sdcor import sdcor_names, theta_to_sdcor
from lib.engine.simulate import replicate_rng, simulate_response

PROGRESS_INTERVAL = 0.25  # seconds between progress reports


@dataclass(frozen=True)
class Replicates:
    """The statistics of replicates 0 .. done - 1 of a seeded run of `nsim` (NaN rows: failed refits)."""

    seed: int
    nsim: int
    rows: np.ndarray  # (done, number of statistics)
    messages: dict[str, int] = field(default_factory=dict)  # lme4's messages of the refits, counted
    seconds: float = 0.0

    @property
    def done(self) -> int:
        return len(self.rows)

    @property
    def complete(self) -> bool:
        return self.done >= self.nsim


Statistic = Callable[[np.random.Generator], tuple[np.ndarray, list[str]]]


def run_replicates(statistic: Statistic, width: int, nsim: int, seed: int,
                   resume: Replicates | None = None,
                   progress: Callable[[Replicates], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> Replicates:
    """Replicates resume.done .. nsim - 1 of statistic(replicate_rng(seed, i)); stops early when
    should_stop() says so. progress(so far) is called every PROGRESS_INTERVAL seconds and at the end."""
    if resume is not None and (resume.seed != seed or resume.done > nsim):
        raise ValueError("can only resume a run with the same seed and at most nsim replicates done")
    rows = list(resume.rows) if resume is not None else []
    messages = dict(resume.messages) if resume is not None else {}
    seconds = resume.seconds if resume is not None else 0.0
    start, last = time.perf_counter(), time.perf_counter()

    def so_far() -> Replicates:
        return Replicates(seed, nsim, np.array(rows, float).reshape(len(rows), width), dict(messages),
                          seconds + time.perf_counter() - start)

    with one_blas_thread():
        for i in range(len(rows), nsim):
            if should_stop is not None and should_stop():
                break
            try:
                values, notes = statistic(replicate_rng(seed, i))
            except (np.linalg.LinAlgError, ValueError, FloatingPointError) as e:
                values, notes = np.full(width, np.nan), [f"refit failed: {e}"]
            rows.append(values)
            for m in notes:
                messages[m] = messages.get(m, 0) + 1
            if progress is not None and time.perf_counter() - last > PROGRESS_INTERVAL:
                progress(so_far())
                last = time.perf_counter()
    out = so_far()
    if progress is not None:
        progress(out)
    return out


class Refitter:
    """Refits of one model to new responses, each on a problem of its own, started from the fit's theta."""

    def __init__(self, fit: LmerFit):
        self.fit = fit
        self.base = setup(fit.formula, fit.problem.frame)
        self.start = fit.theta.to_numpy()
        self.response = fit.formula.response.name

    def problem_for(self, y: np.ndarray) -> LmerProblem:
        """The model's problem with response y: new cross products, the same design."""
        b = self.base
        return replace(b, y=y, frame=b.frame.assign(**{self.response: y}),
                       system=PlsSystem(b.blocks, b.X, y), messages=[])

    def refit(self, y: np.ndarray) -> tuple[LmerProblem, np.ndarray, list[str]]:
        """lme4's refit(fit, y): the problem, theta at the optimum and lme4's messages there."""
        prob = self.problem_for(y)
        opt = optimize(prob, self.fit.REML, start=self.start)
        return prob, opt.theta, opt.messages


def statistics(prob: LmerProblem, theta: np.ndarray, REML: bool) -> np.ndarray:
    """lme4's bootFun: sd/cor and sigma (Cv_to_Sv), then the fixed effects, at theta."""
    f = prob.system.factor(theta)
    n, p = prob.X.shape
    sigma = float(np.sqrt(f.pwrss / (n - p if REML else n)))
    return np.concatenate([theta_to_sdcor(prob.blocks, theta, sigma), f.beta])


@dataclass(frozen=True)
class Bootstrap:
    """bootMer(fit, FUN = lme4's confint statistics): t0 and the replicates' t."""

    names: list[str]
    t0: np.ndarray
    reps: Replicates

    @property
    def t(self) -> pd.DataFrame:
        return pd.DataFrame(self.reps.rows, columns=self.names)

    def confint(self, level: float = 0.95, type: str = "perc") -> pd.DataFrame:
        """confint(bootMer, level, type): boot.ci's percentile, basic or normal interval per statistic."""
        a = (1 - level) / 2
        rows = [_interval(self.reps.rows[:, k], self.t0[k], level, type) for k in range(len(self.names))]
        return pd.DataFrame(rows, index=self.names, columns=[_perc(a), _perc(1 - a)])


def _perc(a: float) -> str:
    return f"{float(f'{100 * a:.3g}'):g} %"


def norm_inter(t: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """boot's norm.inter: order statistics (R + 1) alpha, interpolated on the normal quantile scale."""
    t = np.sort(t[np.isfinite(t)])
    R = len(t)
    out = []
    for a in np.atleast_1d(alpha):
        rk = (R + 1) * a
        k = int(np.trunc(rk))
        if k == rk and 0 < k <= R:
            out.append(t[k - 1])
        elif k <= 0:
            out.append(t[0])
        elif k >= R:
            out.append(t[-1])
        else:
            z, z1, z2 = norm.ppf(a), norm.ppf(k / (R + 1)), norm.ppf((k + 1) / (R + 1))
            out.append(t[k - 1] + (z - z1) / (z2 - z1) * (t[k] - t[k - 1]))
    return np.array(out)


def _interval(t: np.ndarray, t0: float, level: float, type: str) -> tuple[float, float]:
    t = t[np.isfinite(t)]
    if len(t) < 2:
        return (np.nan, np.nan)
    a = (1 - level) / 2
    if type == "perc":
        lo, hi = norm_inter(t, np.array([a, 1 - a]))
    elif type == "basic":
        hi_, lo_ = norm_inter(t, np.array([a, 1 - a]))
        lo, hi = 2 * t0 - lo_, 2 * t0 - hi_
    elif type == "norm":
        bias, merr = t.mean() - t0, t.std(ddof=1) * norm.ppf(0.5 + level / 2)
        lo, hi = t0 - bias - merr, t0 - bias + merr
    else:
        raise ValueError("type must be 'perc', 'basic' or 'norm'")
    return float(lo), float(hi)


def fit_statistics(fit: LmerFit) -> tuple[list[str], np.ndarray]:
    """The names and values of lme4's bootstrap statistics for the fit itself (bootMer's t0)."""
    names = sdcor_names(fit.blocks) + list(fit.fixef.index)
    return names, np.concatenate([theta_to_sdcor(fit.blocks, fit.theta.to_numpy(), fit.sigma),
                                  fit.fixef.to_numpy()])


def parametric_bootstrap(fit: LmerFit, nsim: int, seed: int, resume: Bootstrap | None = None,
                         progress: Callable[[Bootstrap], None] | None = None,
                         should_stop: Callable[[], bool] | None = None) -> Bootstrap:
    """bootMer(fit, nsim, seed, type = "parametric"), resumable and cancellable."""
    names, t0 = fit_statistics(fit)
    refitter = Refitter(fit)

    def statistic(rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
        prob, theta, messages = refitter.refit(simulate_response(fit, rng))
        return statistics(prob, theta, fit.REML), messages

    report = None if progress is None else (lambda r: progress(Bootstrap(names, t0, r)))
    reps = run_replicates(statistic, len(names), nsim, seed, resume.reps if resume else None,
                          report, should_stop)
    return Bootstrap(names, t0, reps)
