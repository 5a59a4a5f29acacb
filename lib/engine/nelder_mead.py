"""lme4's own Nelder-Mead (src/optimizer.cpp, R/optimizer.R: Nelder_Mead), step by step.

glmer's second stage uses this optimizer, not NLopt's: lme4 carries its own copy of
NLopt 2.2.4's nldrmd with changes of its own (the simplex is built from per-coordinate
steps `xst`, convergence is declared only when every vertex lies within `xt` of the
centroid, coordinate by coordinate; the function tolerances are stored but never
consulted). The same states, tests and arithmetic are written out here, so a fit takes
lme4's path through the parameter space evaluation for evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

ALPHA, BETA, GAMMA, DELTA = 1.0, 0.5, 2.0, 0.5

# return codes of lme4's NelderMead_newf
ACTIVE, MINF_MAX, FCVG, XCVG = 0, 1, 2, 3
EVALS, FORCED, NOFEASIBLE, X0NOTFEASIBLE = -4, -3, -2, -1
MESSAGES = {-3: "nm_forced", -2: "cannot generate a feasible simplex", -1: "initial x is not feasible",
            0: "active", 1: "objective function went below allowed minimum",
            2: "objective function values converged to within tolerance",
            3: "parameter values converged to within tolerance"}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-13 * (abs(a) + abs(b))


class NelderMeadError(ValueError):
    pass


class NelderMead:
    """The state machine: ask `xeval`, tell `newf(f)`, until the code is not ACTIVE."""

    def __init__(self, lb: np.ndarray, ub: np.ndarray, xstep: np.ndarray, x0: np.ndarray,
                 xtol: np.ndarray, maxeval: int = 10000):
        self.lb, self.ub = np.asarray(lb, float), np.asarray(ub, float)
        self.x = np.asarray(x0, float).copy()
        self.n = n = len(self.x)
        self.xtol = np.asarray(xtol, float)
        self.maxeval = maxeval
        self.nevals = 0
        if np.any(self.x < self.lb) or np.any(self.x > self.ub):
            raise NelderMeadError("initial x is not a feasible point")
        self.vals = np.full(n + 1, np.finfo(float).tiny)
        self.pts = np.repeat(self.x[:, None], n + 1, axis=1)
        for i in range(n):
            j = i + 1
            step = xstep[i]
            self.pts[i, j] += step
            if self.pts[i, j] > self.ub[i]:
                self.pts[i, j] = self.ub[i] if self.ub[i] - self.x[i] > abs(step) * 0.1 \
                    else self.x[i] - abs(step)
            if self.pts[i, j] < self.lb[i]:
                if self.x[i] - self.lb[i] > abs(step) * 0.1:
                    self.pts[i, j] = self.lb[i]
                else:
                    self.pts[i, j] = self.x[i] + abs(step)
                    if self.pts[i, j] > self.ub[i]:
                        far = self.ub[i] if self.ub[i] - self.x[i] > self.x[i] - self.lb[i] else self.lb[i]
                        self.pts[i, j] = 0.5 * (far + self.x[i])
            if _close(self.pts[i, j], self.x[i]):
                raise NelderMeadError("cannot generate feasible simplex")
        self.init_pos = 0
        self.xeval = self.x.copy()
        self.xcur = np.zeros(n)
        self.c = np.zeros(n)
        self.minf = np.inf
        self.stage = "restart"
        self.f_old = np.nan
        self.fl = self.fh = np.nan
        self.il = self.ih = 0

    # -- the C++ methods -------------------------------------------------------------
    def newf(self, f: float) -> int:
        self.nevals += 1
        if f < self.minf:
            self.minf = f
            self.x = self.xeval.copy()
        if self.maxeval > 0 and self.nevals > self.maxeval:
            return EVALS
        if self.init_pos <= self.n:
            return self._init(f)
        return getattr(self, "_" + self.stage)(f)

    def _init(self, f: float) -> int:
        self.vals[self.init_pos] = f
        self.init_pos += 1
        if self.init_pos > self.n:
            return self._restart(f)
        self.xeval = self.pts[:, self.init_pos].copy()
        return ACTIVE

    def _restart(self, f: float) -> int:
        self.il = int(np.argmin(self.vals))
        self.fl = self.vals[self.il]
        self.ih = int(np.argmax(self.vals))
        self.fh = self.vals[self.ih]
        self.c = (self.pts.sum(axis=1) - self.pts[:, self.ih]) / self.n
        dev = np.max(np.abs(self.pts - self.c[:, None]), axis=1)
        if np.all(dev < self.xtol):  # nl_stop::x(0, dev): |0 - dev| < xtol_abs
            return XCVG
        ok, self.xcur = self._reflect(self.c, ALPHA, self.pts[:, self.ih])
        if not ok:
            return XCVG
        self.xeval = self.xcur.copy()
        self.stage = "postreflect"
        return ACTIVE

    def _postreflect(self, f: float) -> int:
        if f < self.fl:  # new best point: try to expand
            ok, self.xeval = self._reflect(self.c, GAMMA, self.pts[:, self.ih])
            if not ok:
                return XCVG
            self.stage = "postexpand"
            self.f_old = f
            return ACTIVE
        if f < self.fh:  # accept the reflected point
            self.vals[self.ih] = f
            self.pts[:, self.ih] = self.xeval
            return self._restart(f)
        ok, self.xcur = self._reflect(self.c, -BETA if self.fh <= f else BETA, self.pts[:, self.ih])
        if not ok:
            return XCVG
        self.f_old = f
        self.xeval = self.xcur.copy()
        self.stage = "postcontract"
        return ACTIVE

    def _postexpand(self, f: float) -> int:
        if f < self.vals[self.ih]:
            self.pts[:, self.ih] = self.xeval
            self.vals[self.ih] = f
        else:
            self.pts[:, self.ih] = self.xcur
            self.vals[self.ih] = self.f_old
        return self._restart(f)

    def _postcontract(self, f: float) -> int:
        if f < self.f_old and f < self.fh:
            self.pts[:, self.ih] = self.xeval
            self.vals[self.ih] = f
            return self._restart(f)
        best = self.pts[:, self.il].copy()
        for i in range(self.n + 1):
            if i != self.il:
                ok, xnew = self._reflect(best, -DELTA, self.pts[:, i])
                self.xeval = xnew
                if not ok:
                    return XCVG
                self.pts[:, i] = xnew
        self.init_pos = 0
        self.xeval = self.pts[:, 0].copy()
        return ACTIVE

    def _reflect(self, c: np.ndarray, scale: float, xold: np.ndarray) -> tuple[bool, np.ndarray]:
        """xnew = c + scale (c - xold), pinned to the bounds; False if it hits c or xold."""
        xnew = c + scale * (c - xold)
        equalc = equalold = True
        for i in range(self.n):
            v = min(max(xnew[i], self.lb[i]), self.ub[i])
            equalc = equalc and _close(v, c[i])
            equalold = equalold and _close(v, xold[i])
            xnew[i] = v
        return not (equalc or equalold), xnew


@dataclass
class NMResult:
    par: np.ndarray
    fval: float
    code: int  # lme4's NM.result
    convergence: int
    message: str
    evaluations: int
    warnings: list[str] = field(default_factory=list)


def nelder_mead(fn: Callable[[np.ndarray], float], x0: np.ndarray, lower: np.ndarray,
                xst: np.ndarray, xt: np.ndarray | None = None, upper: np.ndarray | None = None,
                maxfun: int = 10000) -> NMResult:
    """lme4's Nelder_Mead(fn, par, lower, upper, control = list(xst, xt, maxfun))."""
    n = len(x0)
    xt = np.asarray(xst) * 5e-4 if xt is None else np.asarray(xt)
    upper = np.full(n, np.inf) if upper is None else upper
    nm = NelderMead(lower, upper, np.asarray(xst, float), x0, xt, maxfun)
    it = 0
    while True:
        it += 1
        code = nm.newf(float(fn(nm.xeval.copy())))
        if code != ACTIVE:
            break
    warnings = []
    message = MESSAGES.get(code, "")
    if code == EVALS:
        message = f"failure to converge in {maxfun} evaluations"
        warnings.append(message)
        code = 4
    convergence = 4 if code == 4 else min(0, code)
    return NMResult(nm.x.copy(), float(nm.minf), code, convergence, message, it, warnings)
