"""BOBYQA on the profiled criterion, as lme4's default optimizer (nloptwrap) runs it.

lme4 calls NLopt's BOBYQA through nloptr with xtol_abs = ftol_abs = 1e-8 and
maxeval = 1e5; nloptr adds its own default xtol_rel = 1e-4. The initial trust-region
radius is NLopt's default, derived from the start and the bounds. Then lme4's
optimizeLmer restarts from an edge if the criterion falls off the boundary, and
check.boundary snaps parameters within 1e-5 of a bound onto it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import nlopt
import numpy as np

Objective = Callable[[np.ndarray], float]


@dataclass
class OptResult:
    par: np.ndarray
    fval: float
    status: int  # NLopt's return code
    evaluations: int
    trace: list[tuple[int, float, np.ndarray]] = field(default_factory=list)  # (stage, f, x)
    warnings: list[str] = field(default_factory=list)


_STATUS = {1: "NLOPT_SUCCESS", 2: "NLOPT_STOPVAL_REACHED", 3: "NLOPT_FTOL_REACHED",
           4: "NLOPT_XTOL_REACHED", 5: "NLOPT_MAXEVAL_REACHED", 6: "NLOPT_MAXTIME_REACHED",
           -1: "NLOPT_FAILURE", -2: "NLOPT_INVALID_ARGS", -3: "NLOPT_OUT_OF_MEMORY",
           -4: "NLOPT_ROUNDOFF_LIMITED", -5: "NLOPT_FORCED_STOP"}


def run_bobyqa(fn: Objective, x0: np.ndarray, lower: np.ndarray,
               settings: Callable[[nlopt.opt], None]) -> tuple[np.ndarray, float, int, int]:
    """NLopt's BOBYQA from x0 above `lower`, stopping rules set by `settings`.

    Returns (x, f(x), NLopt's return code, evaluations); a roundoff-limited stop (code -4),
    which NLopt raises, gives the best point seen, as nloptr and minqa report it.
    """
    best = {"f": np.inf, "x": np.asarray(x0, float).copy()}

    def objective(x: np.ndarray, grad: np.ndarray) -> float:
        f = float(fn(x))
        if f < best["f"]:
            best["f"], best["x"] = f, x.copy()
        return f

    opt = nlopt.opt(nlopt.LN_BOBYQA, len(x0))
    opt.set_lower_bounds(np.where(np.isfinite(lower), lower, -np.inf))
    opt.set_min_objective(objective)
    settings(opt)
    try:
        x = opt.optimize(np.asarray(x0, float))
        fval, status = opt.last_optimum_value(), opt.last_optimize_result()
    except nlopt.RoundoffLimited:
        x, fval, status = best["x"], best["f"], -4
    return np.asarray(x), float(fval), status, opt.get_numevals()


def bobyqa(fn: Objective, x0: np.ndarray, lower: np.ndarray, stage: int = 0,
           trace: list | None = None, maxeval: int = 100_000) -> OptResult:
    """One nloptwrap run; every evaluation is appended to `trace`."""
    trace = [] if trace is None else trace

    def traced(x: np.ndarray) -> float:
        f = float(fn(x))
        trace.append((stage, f, x.copy()))
        return f

    def nloptwrap(opt: nlopt.opt) -> None:
        opt.set_xtol_abs(1e-8)
        opt.set_ftol_abs(1e-8)
        opt.set_xtol_rel(1e-4)
        opt.set_maxeval(maxeval)

    x, fval, status, evaluations = run_bobyqa(traced, x0, lower, nloptwrap)
    warnings = []
    if status < 0 or status == 5:
        warnings.append(f"convergence code {status} from nloptwrap: {_STATUS.get(status, '')}")
    return OptResult(x, fval, status, evaluations, trace, warnings)


def optimize_lmer(fn: Objective, x0: np.ndarray, lower: np.ndarray) -> OptResult:
    """lme4's optimizeLmer: BOBYQA, restart_edge, then check.boundary."""
    trace: list = []
    res = bobyqa(fn, x0, lower, stage=0, trace=trace)
    on_edge = np.flatnonzero(res.par == lower)
    if on_edge.size:
        d0 = fn(res.par)
        btol = 1e-5
        slopes = []
        for i in on_edge:
            z = res.par.copy()
            z[i] = lower[i] + btol
            slopes.append((fn(z) - d0) / btol)
        if min(slopes) < 0:  # the criterion falls off the edge: start again from there
            res = bobyqa(fn, res.par, lower, stage=1, trace=trace)
    return _snap_to_boundary(fn, res, lower)


def _snap_to_boundary(fn: Objective, res: OptResult, lower: np.ndarray, tol: float = 1e-5) -> OptResult:
    """lme4's check.boundary: a parameter within tol of its bound goes onto it if that is no worse."""
    gap = res.par - lower
    near = np.flatnonzero((gap > 0) & (gap < tol))
    if near.size:
        par = res.par.copy()
        for i in near:
            z = par.copy()
            z[i] = lower[i]
            if fn(z) < res.fval:
                par[i] = lower[i]
        res.par, res.fval = par, fn(par)
    return res
