"""lmer: linear mixed models fitted as lme4 fits them.

    fit = lmer("IgG ~ Sex*Time + (1+Time|FamID) + (1+Time|Sex:IndID)", data=df)

The steps are lme4's (Bates, Maechler, Bolker & Walker 2015): build X, Z and the
relative covariance factor Lambda(theta); for each theta solve the penalized least
squares problem (lib.engine.pls) and evaluate the profiled REML criterion or ML deviance;
minimize it over theta: lme4's BOBYQA stage from lme4's start, then the finish to the
optimum (lib.engine.optimize); run lme4's convergence checks there (lib.engine.convergence);
then read off beta, sigma and the conditional modes (lib.engine.lmer_fit).

The stages are lme4's modular ones, each callable alone: `setup` (lFormula and
mkLmerDevfun, lib.engine.lmer_problem), `optimize` (optimizeLmer and the finish),
`LmerFit.from_optimum` (mkMerMod).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from lib.engine.convergence import SINGULAR_MESSAGE, check_convergence
from lib.engine.formula import Formula
from lib.engine.lmer_fit import LmerFit
from lib.engine.lmer_problem import LmerProblem, setup
from lib.engine.moment_start import intercepts_only, moment_start
from lib.engine.optimize import OptResult, estimated_newton, finish, optimize_lmer, quasi_newton
from lib.engine.pls import one_blas_thread
from lib.engine.retrms import positive_diagonals

__all__ = ["lmer", "setup", "optimize", "fit_problem", "refit", "lme4_stop", "LmerProblem", "LmerFit"]


# Newton steps on the average information pay where a factorization dwarfs a solve: a dense trailing
# block (the terms after the first, X and y) of a few hundred columns or more, as in crossed designs
# (InstEval: 45 evaluations by L-BFGS, 14 so). On smaller ones an evaluation costs about what the
# estimate's solves do, and L-BFGS's cheaper steps win (the tutorial's fits: 1.1-1.5x slower by Newton).
NEWTON_FROM = 200


@dataclass(frozen=True)
class Optimum:
    """Where the optimizer ended: theta, lme4's messages there, its trace and deriv12 (None: singular)."""

    theta: np.ndarray
    messages: list[str]
    trace: list
    derivs: tuple[np.ndarray, np.ndarray] | None


def lmer(formula: str | Formula, data: pd.DataFrame, REML: bool = True,
         result: type[LmerFit] = LmerFit) -> LmerFit:
    """Fit a linear mixed model by REML (default) or maximum likelihood."""
    return fit_problem(setup(formula, data), REML, result=result)


def fit_problem(prob: LmerProblem, REML: bool, start: np.ndarray | None = None,
                result: type[LmerFit] = LmerFit) -> LmerFit:
    """Optimize theta for a prepared problem and build the fit there (`result`'s class)."""
    with one_blas_thread():
        opt = optimize(prob, REML, start)
        return result.from_optimum(prob, opt.theta, REML, opt.messages, opt.trace, opt.derivs)


def refit(fit: LmerFit, REML: bool) -> LmerFit:
    """The same model and data fitted again (lme4's refitML for REML=False), from the fit's theta,
    on a problem of its own: the fit's problem is never touched."""
    prob = setup(fit.formula, fit.problem.frame)
    return fit_problem(prob, REML, start=fit.theta.to_numpy(), result=type(fit))


def optimize(prob: LmerProblem, REML: bool, start: np.ndarray | None = None) -> Optimum:
    """The criterion's optimum from lme4's start (or `start`), lme4's checks there.

    Newton steps on the criterion's exact gradient and its average-information Hessian
    (lib.engine.average_information: one PLS solve per parameter) where the trailing block is large,
    handing over to L-BFGS on the same gradient where that estimate stops serving (near a bound,
    few levels), or L-BFGS from the start on smaller problems; then the finish:
    Newton steps on that gradient and a Hessian differenced from it, with lme4's check.boundary,
    to the optimum. lme4's own stage (nloptwrap's BOBYQA) runs only if these fail; `lme4_stop`
    replays it on demand.
    """
    def fn(theta: np.ndarray) -> float:
        return prob.criterion(theta, REML)

    def fg(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return prob.criterion_and_gradient(theta, REML)

    def gradient(theta: np.ndarray) -> np.ndarray:
        return fg(theta)[1]

    lower, trace = prob.lower, []
    x0 = prob.start if start is None else np.asarray(start, float)
    messages = list(prob.messages)
    qn = OptResult(x0, np.inf, 1, 0, trace)
    if prob.system.m >= NEWTON_FROM:
        x1 = _newton_start(prob, fn, x0, trace) if start is None else x0
        qn = estimated_newton(fn, gradient, lambda theta: prob.hessian_estimate(theta, REML), x1,
                              lambda theta: positive_diagonals(theta, lower), trace)
    if qn.status != 0:
        qn = quasi_newton(fg, qn.par if np.isfinite(qn.fval) else x0, trace)
    x, fx = positive_diagonals(qn.par, lower), qn.fval  # turned columns: the same criterion
    if not np.isfinite(fx):  # the derivative-based stages failed: lme4's own stage instead
        opt = optimize_lmer(fn, x0, lower)
        x, fx, trace = opt.par, opt.fval, trace + opt.trace
        messages += opt.warnings
    end = finish(fn, x, fx, lower, trace, gradient)
    if end.derivs is None:  # lme4's optwrap computes no derivatives for a singular fit
        messages.append(SINGULAR_MESSAGE)
    else:
        messages += check_convergence(end.par, lower, *end.derivs)
    return Optimum(end.par, messages, trace, end.derivs)


def _newton_start(prob: LmerProblem, fn: Callable[[np.ndarray], float], x0: np.ndarray,
                  trace: list) -> np.ndarray:
    """The Newton stage's start: the moment start where every term is a random intercept and it
    is lower than lme4's start (lib.engine.moment_start), else lme4's; both evaluations traced."""
    if not intercepts_only(prob.blocks):
        return x0
    x1 = moment_start(prob.blocks, prob.X, prob.y)
    f0, f1 = fn(x0), fn(x1)
    trace += [("start", f0, x0.copy()), ("start", f1, x1.copy())]
    return x1 if f1 < f0 else x0


def lme4_stop(prob: LmerProblem, REML: bool) -> OptResult:
    """Where lme4's own default optimizer stops on this problem (nloptwrap's BOBYQA, restart_edge,
    check.boundary), with every evaluation in `trace`: lme4's path replayed on demand, for teaching.
    The stop depends on the last bits of every evaluation (another CPU, another row order: another
    point), so no test asserts it; the fit's answer is `optimize`'s, at the optimum."""
    with one_blas_thread():
        return optimize_lmer(lambda theta: prob.criterion(theta, REML), prob.start, prob.lower)
