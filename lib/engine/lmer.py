"""lmer: linear mixed models fitted as lme4 fits them.

    fit = lmer("IgG ~ Sex*Time + (1+Time|FamID) + (1+Time|Sex:IndID)", data=df)

The steps are lme4's (Bates, Maechler, Bolker & Walker 2015): build X, Z and the
relative covariance factor Lambda(theta); for each theta solve the penalized least
squares problem (lib.engine.pls) and evaluate the profiled REML criterion or ML deviance;
minimize it over theta by BOBYQA from lme4's start (lib.engine.optimize); run lme4's
convergence checks (lib.engine.convergence); then read off beta, sigma and the
conditional modes at the optimum (lib.engine.lmer_fit).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.engine.convergence import SINGULAR_MESSAGE, check_convergence, is_singular
from lib.engine.design import complete_rows, drop_rank_deficient, linear_design
from lib.engine.formula import Formula, FormulaError, parse_formula
from lib.engine.lmer_fit import LmerFit
from lib.engine.optimize import finish, optimize_lmer
from lib.engine.pls import PlsSystem, one_blas_thread, profiled_deviance
from lib.engine.retrms import ReBlock, ThetaLayout, check_blocks, make_blocks


@dataclass
class LmerProblem(ThetaLayout):
    """Everything fixed across theta: data, design matrices and the PLS system."""

    formula: Formula
    frame: pd.DataFrame
    X: np.ndarray
    y: np.ndarray
    xnames: list[str]
    blocks: list[ReBlock]
    system: PlsSystem
    messages: list[str]

    def criterion(self, theta: np.ndarray, reml: bool) -> float:
        """The profiled REML criterion or deviance at theta (lme4's devfun)."""
        f = self.system.factor(np.asarray(theta, float))
        return profiled_deviance(f, *self.X.shape, reml)


def setup(formula: str | Formula, data: pd.DataFrame) -> LmerProblem:
    """Parse and check the model, and build its matrices (lme4's lFormula)."""
    f = formula if isinstance(formula, Formula) else parse_formula(formula, list(data.columns))
    if not f.random:
        raise FormulaError("No random effects terms specified in formula")
    if f.response is None or f.response.is_cbind:
        raise FormulaError("lmer needs a numeric response on the left of '~'")
    frame = complete_rows(f, data)
    if len(frame) == 0:
        raise FormulaError("no complete rows: every row has a missing value in the model's columns")
    y_col = frame[f.response.name]
    if not pd.api.types.is_numeric_dtype(y_col) or pd.api.types.is_bool_dtype(y_col):
        raise FormulaError(f"the response {f.response.name!r} must be numeric")
    y = y_col.to_numpy(float)
    X, names, _ = linear_design(f.fixed, frame)
    X, names, messages = drop_rank_deficient(X, names)
    blocks = make_blocks(f.random, frame)
    check_blocks(blocks, len(frame))
    if np.ptp(y) == 0:
        raise FormulaError("the response is constant: there is no variance to split")
    return LmerProblem(f, frame, X, y, names, blocks, PlsSystem(blocks, X, y), messages)


def lmer(formula: str | Formula, data: pd.DataFrame, REML: bool = True) -> LmerFit:
    """Fit a linear mixed model by REML (default) or maximum likelihood."""
    prob = setup(formula, data)
    return fit_problem(prob, REML)


def fit_problem(prob: LmerProblem, REML: bool, start: np.ndarray | None = None) -> LmerFit:
    """Optimize theta for a prepared problem and check the result as lme4 does."""
    with one_blas_thread():
        return _fit(prob, REML, start)


def _fit(prob: LmerProblem, REML: bool, start: np.ndarray | None) -> LmerFit:
    def fn(theta: np.ndarray) -> float:
        return prob.criterion(theta, REML)

    lower = prob.lower
    opt = optimize_lmer(fn, prob.start if start is None else start, lower)
    messages = prob.messages + opt.warnings
    if not len(opt.par):
        return LmerFit.from_optimum(prob, opt.par, REML, messages, opt.trace)
    end = finish(fn, opt.par, opt.fval, lower, opt.trace)
    if end.derivs is None:  # lme4's optwrap computes no derivatives for a singular fit
        messages.append(SINGULAR_MESSAGE)
    else:
        messages += check_convergence(end.par, lower, *end.derivs)
    return LmerFit.from_optimum(prob, end.par, REML, messages, opt.trace, end.derivs)
