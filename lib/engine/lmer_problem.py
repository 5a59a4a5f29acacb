"""lmer's problem: the model parsed and checked, its matrices, and the profiled criterion as a function
of theta (lme4's lFormula and mkLmerDevfun). Fixed during a fit and read-only after it: anything
that refits (an ML refit, a profile, a bootstrap) sets up its own."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from lib.engine.design import complete_rows, drop_rank_deficient, linear_design
from lib.engine.formula import Formula, FormulaError, parse_formula
from lib.engine.average_information import profiled_hessian
from lib.engine.pls import Factorization, PlsSystem, profiled_deviance
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

    # the latest factor and its gradients by REML: an optimizer asks again for the point it has just
    # evaluated (its gradient, its Hessian, the fit built there). One tuple, replaced whole: a
    # reader in another thread sees an old one or the new one, both right for their theta
    _latest: tuple = field(default=(b"", None, {}), init=False, repr=False, compare=False)

    def factor(self, theta: np.ndarray) -> Factorization:
        """The PLS factor at theta, with beta, u and r^2 (lme4's updated pp and resp)."""
        return self._at(np.asarray(theta, float))[1]

    def criterion(self, theta: np.ndarray, reml: bool) -> float:
        """The profiled REML criterion or deviance at theta (lme4's devfun)."""
        return profiled_deviance(self.factor(theta), *self.X.shape, reml)

    def criterion_and_gradient(self, theta: np.ndarray, reml: bool) -> tuple[float, np.ndarray]:
        """The criterion at theta and its exact gradient over theta, from one factorization."""
        _, f, gradients = self._at(np.asarray(theta, float))
        if reml not in gradients:
            gradients[reml] = self.system.gradient(f, reml)
        return profiled_deviance(f, *self.X.shape, reml), gradients[reml]

    def hessian_estimate(self, theta: np.ndarray, reml: bool) -> np.ndarray:
        """The criterion's Hessian over theta by average information (for Newton steps)."""
        return profiled_hessian(self.system, self.factor(theta), reml)

    def _at(self, theta: np.ndarray) -> tuple:
        latest = self._latest
        if latest[0] != theta.tobytes():
            latest = (theta.tobytes(), self.system.factor(theta), {})
            self._latest = latest
        return latest

    def with_response(self, y: np.ndarray) -> LmerProblem:
        """The same model on the same rows with response y (what setup gives for the data with y in
        the response column): new cross products, the same design; this problem is not touched."""
        y = np.asarray(y, float)
        if y.shape != self.y.shape:
            raise ValueError(f"the response must have {len(self.y)} values, one per row")
        if not np.all(np.isfinite(y)):
            raise FormulaError("the new response has missing or infinite values")
        if np.ptp(y) == 0:
            raise FormulaError("the response is constant: there is no variance to split")
        return replace(self, y=y, frame=self.frame.assign(**{self.formula.response.name: y}),
                       system=PlsSystem(self.blocks, self.X, y), messages=list(self.messages))


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
