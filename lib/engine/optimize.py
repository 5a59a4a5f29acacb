"""From lme4's start to the criterion's optimum: lme4's own stage, then a finish.

Stage 1 is lme4's default optimizer (nloptwrap): NLopt's BOBYQA with
xtol_abs = ftol_abs = 1e-8, maxeval = 1e5 and nloptr's own default xtol_rel = 1e-4, the
initial trust-region radius NLopt's default; then optimizeLmer's restart from an edge
and check.boundary's snap of parameters within 1e-5 of a bound onto it.

Those stopping rules leave lme4 0 to 5e-5 above the optimum, at a point that depends on
the last bits of every evaluation (another CPU's kernels, another row order: another
point, sometimes another verdict). `finish` therefore goes on from there to the optimum
itself: Newton steps on lme4's own finite-difference gradient and Hessian (deriv12),
which lme4 computes at its stop anyway, until the predicted decrease is below
FINISH_TOL; where that cannot work (a parameter at its bound, a Hessian that is not
positive definite, a step that does not lower the criterion) a tight BOBYQA restart. The
answer is then the optimum to within round-off, whatever path led there, and the
convergence checks are run at that point.
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


# -- a quasi-Newton stage on the exact gradient ---------------------------------------------

def quasi_newton(fg: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray,
                 trace: list | None = None) -> OptResult:
    """L-BFGS (scipy's L-BFGS-B, no bounds) on f and its exact gradient, from x0.

    Unbounded, because the bounds on lmer's theta are no constraint on its criterion (see
    lib.engine.retrms.positive_diagonals); a point where a bounded parameter is exactly 0 would
    stop it, since there the criterion's slope is 0 by symmetry. A failed evaluation (a factor
    that is not positive definite, far out on a line search) counts as +inf.
    """
    from scipy.optimize import minimize
    trace = [] if trace is None else trace

    def traced(x: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            f, g = fg(x)
        except np.linalg.LinAlgError:
            f, g = np.inf, np.zeros(len(x))
        trace.append(("L-BFGS", float(f), x.copy()))
        return f, g

    res = minimize(traced, np.asarray(x0, float), jac=True, method="L-BFGS-B",
                   options={"ftol": 1e-12, "gtol": 1e-6, "maxls": 40, "maxiter": 1000})
    return OptResult(res.x, float(res.fun), res.status, res.nfev, trace)


# A Newton step may raise the criterion by its round-off: sums over thousands of rows in
# another order differ by ~3e-14 of the criterion (MModTime4: 5e-10 in 17845), so a step
# predicted to gain 1e-9 can come out 5e-10 higher. It is accepted up to this, relative.
ROUNDOFF = 1e-12


# -- Newton steps on an estimated Hessian ---------------------------------------------------

ESTIMATED_STEPS = 12  # a run of Newton steps that has not converged by then is near a bound: L-BFGS
# a step predicting less decrease than this ends the run: theta then within ~sqrt(2e-12 / H) of the
# optimum, as L-BFGS's gradient tolerance left it (lme4's printed variances need ~1e-7)
ESTIMATED_TOL = 1e-12
ARMIJO = 1e-4  # the share of the predicted decrease a step must deliver
HALVINGS = 8
FIRST_RADIUS = 1.0  # the longest first step, in theta's units (lme4's start: T = I)
LINEAR = 0.2  # a full step that shrinks the predicted decrease by less than this converges linearly
MISSES = 2  # steps near the optimum that needed halving or converged linearly: the estimate is off
NEAR = 1.0  # near: a predicted decrease below one unit of deviance, the scale of a likelihood ratio


def estimated_newton(fn: Objective, gradient: Callable[[np.ndarray], np.ndarray],
                     hessian: Callable[[np.ndarray], np.ndarray], x0: np.ndarray,
                     canonical: Callable[[np.ndarray], np.ndarray], trace: list | None = None) -> OptResult:
    """Newton steps on fn's exact gradient and an estimate of its Hessian (lmer's average
    information), no longer than a radius that doubles after each full step and shrinks to the
    last good one, and halved until fn falls by an Armijo share of the predicted decrease; the
    gradient and the estimate are asked for at the points taken only (after fn there: lmer's come
    from the factor fn made). fn is unchanged by `canonical` (lmer: positive_diagonals), which every
    point is given in before it is evaluated, so that the run ends where the finish starts and the
    latest evaluation is that point's.

    status 0: converged (a step would gain less than ESTIMATED_TOL); 1: stopped at the best point
    where the estimate stops serving: not positive definite, a step no halving makes good, MISSES
    steps near the optimum that had to be halved or converged only linearly (the estimate is off:
    few levels, say), a step near the optimum that `canonical` turns (a bounded parameter crossing
    0: the optimum may be on its bound, where the average information vanishes with the parameter
    and Newton crawls), or ESTIMATED_STEPS used up. The caller goes on from there.
    """
    trace = [] if trace is None else trace

    def traced(x: np.ndarray) -> float:
        try:
            f = float(fn(x))
        except np.linalg.LinAlgError:
            f = np.inf
        trace.append(("Newton", f, x.copy()))
        return f

    x = np.array(x0, float)
    fx = traced(x)
    radius, last, misses, evaluations = FIRST_RADIUS, np.inf, 0, 1
    for _ in range(ESTIMATED_STEPS if np.isfinite(fx) else 0):
        g = gradient(x)
        try:
            L = np.linalg.cholesky(hessian(x))
        except np.linalg.LinAlgError:
            break
        step = -np.linalg.solve(L.T, np.linalg.solve(L, g))
        decrease = -g @ step / 2
        if decrease < ESTIMATED_TOL:
            return OptResult(x, fx, 0, evaluations, trace)
        length = np.linalg.norm(step)
        full, near = length <= radius, decrease < NEAR
        misses += full and decrease > LINEAR * last
        step *= min(1.0, radius / length)
        for halving in range(HALVINGS):
            t = 0.5 ** halving
            landed = canonical(x + t * step)
            f_landed = traced(landed)
            evaluations += 1
            # (the criterion's round-off allowed: a step's last gains are below it)
            if f_landed <= fx + ARMIJO * t * (g @ step) + ROUNDOFF * max(1.0, abs(fx)):
                break
        else:
            break
        misses += near and t < 1
        radius = 2 * t * np.linalg.norm(step) if t == 1 else t * np.linalg.norm(step)
        last = decrease if full and t == 1 else np.inf
        turned = near and np.any(landed != x + t * step)
        x, fx = landed, f_landed
        if misses >= MISSES or turned:
            break
    return OptResult(x, fx, 1, evaluations, trace)


# -- the finish: from lme4's stopping point to the optimum ---------------------------------

FINISH_TOL = 1e-10  # a Newton step predicting less decrease than this ends the finish
NEWTON_STEPS = 30
KEEP_HESSIAN = 8  # Newton steps on one Hessian (renewing the gradient) before a new one
POLISH_RESTARTS = 3
BOUND_TOL = 1e-5  # lme4's boundary.tol: a bounded parameter this close to its bound is tried on it
SLOPE_STEP = 1e-5  # lme4's check.boundary step for the one-sided slope off a bound


@dataclass(frozen=True)
class Finished:
    """The optimum: parameters, criterion, and lme4's derivatives there (None on a bound); newton:
    False when Newton could not finish and the point is BOBYQA's."""

    par: np.ndarray
    fval: float
    derivs: tuple[np.ndarray, np.ndarray] | None
    newton: bool = True


@dataclass(frozen=True)
class Derivatives:
    """How the finish differentiates: both(x, f(x), idx) -> (gradient, Hessian) over x[idx] (what the
    optimum reports), gradient(x, f(x), idx) alone (for a Newton step on a Hessian kept from an
    earlier point), and steps(x, f(x), idx) -> (gradient, Hessian) for Newton's steps on the way,
    where a cheaper Hessian serves (None: both's)."""

    both: Callable[[np.ndarray, float, np.ndarray], tuple[np.ndarray, np.ndarray]]
    gradient: Callable[[np.ndarray, float, np.ndarray], np.ndarray]
    steps: Callable[[np.ndarray, float, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None


def finish(fn: Objective, x: np.ndarray, fx: float, lower: np.ndarray,
           trace: list | None = None, gradient: Callable[[np.ndarray], np.ndarray] | None = None,
           on_bound: bool = False) -> Finished:
    """The optimum of fn (bounded below by `lower`) from a nearby point x, such as lme4's stop.

    Newton steps over the parameters not on their bound (an active set: a parameter whose step
    would cross its bound goes onto it; one whose criterion falls off the bound is released),
    else tight BOBYQA restarts. The derivatives are lme4's deriv12 (Newton's steps on the way
    take a cheaper Hessian from deriv12's central points and one forward point per pair), or,
    given fn's exact `gradient`, that gradient and a Hessian differenced from it (an evaluation
    per parameter where deriv12 takes 2 per pair). Returns them at the optimum when no parameter is on its
    bound (where lme4 checks convergence) or when asked `on_bound` (glmer's standard errors),
    else None. Evaluations are remembered by their point: deriv12's points at the optimum
    include the last Newton step's.
    """
    fn = _remembered(_traced(fn, "finish", trace))
    derivs = _deriv12_of(fn) if gradient is None else _differenced(gradient)
    x = np.array(x, float)
    done = _active_set_newton(fn, derivs, x, fx, lower)
    if done is None:
        x, fx = _polish(fn, x, fx, lower)
        done = _active_set_newton(fn, derivs, x, fx, lower)
    if done is None:  # BOBYQA's point
        done = Finished(x, fx, None, newton=False)
    if done.derivs is None and (on_bound or not np.any(done.par == lower)):
        done = Finished(done.par, done.fval, derivs.both(done.par, done.fval, np.arange(len(x))), done.newton)
    return done


def _remembered(fn: Objective) -> Objective:
    """fn with its values kept by the exact point."""
    seen: dict[bytes, float] = {}

    def f(x: np.ndarray) -> float:
        key = np.asarray(x, float).tobytes()
        if key not in seen:
            seen[key] = float(fn(x))
        return seen[key]
    return f


def _deriv12_of(fn: Objective, delta: float = 1e-4) -> Derivatives:
    """lme4's deriv12 over x[idx], the other parameters held; its gradient alone from the same points."""
    from lib.engine.convergence import deriv12

    def sub_of(x: np.ndarray, idx: np.ndarray) -> Objective:
        def sub(t: np.ndarray) -> float:
            z = x.copy()
            z[idx] = t
            return fn(z)
        return sub

    def both(x: np.ndarray, fx: float, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return deriv12(sub_of(x, idx), x[idx], fx, delta)

    def gradient(x: np.ndarray, fx: float, idx: np.ndarray) -> np.ndarray:
        sub, t = sub_of(x, idx), x[idx]
        return np.array([(sub(_set(t, j, t[j] + delta)) - sub(_set(t, j, t[j] - delta))) / (delta + delta)
                         for j in range(len(t))])

    def steps(x: np.ndarray, fx: float, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """deriv12's central gradient and diagonal, each off-diagonal entry from one forward point
        (its error ~delta times a third derivative, far below what a Newton step needs):
        2k + k(k - 1)/2 evaluations where deriv12 takes 2k^2 (7 parameters: 35, not 98)."""
        sub, t = sub_of(x, idx), x[idx]
        up = np.array([sub(_set(t, j, t[j] + delta)) for j in range(len(t))])
        down = np.array([sub(_set(t, j, t[j] - delta)) for j in range(len(t))])
        H = np.diag((up - 2 * fx + down) / delta ** 2)
        for j in range(len(t)):
            for i in range(j):
                both_up = sub(_set(_set(t, i, t[i] + delta), j, t[j] + delta))
                H[i, j] = H[j, i] = (both_up - up[i] - up[j] + fx) / delta ** 2
        return (up - down) / (delta + delta), H
    return Derivatives(both, gradient, steps)


def _set(t: np.ndarray, j: int, v: float) -> np.ndarray:
    z = t.copy()
    z[j] = v
    return z


def _differenced(gradient: Callable[[np.ndarray], np.ndarray], step: float = 1e-4) -> Derivatives:
    """The exact gradient over x[idx], and a Hessian by forward differences of it (deriv12's step:
    its truncation, ~1e-4 of the third derivative, is below what Newton's steps and lme4's Hessian
    checks resolve; one gradient per parameter where deriv12 takes 2 criteria per pair)."""
    def both(x: np.ndarray, fx: float, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = gradient(x)[idx]
        cols = [(gradient(_set(x, i, x[i] + step))[idx] - g) / step for i in idx]
        H = np.array(cols).reshape(len(idx), len(idx))
        return g, (H + H.T) / 2
    return Derivatives(both, lambda x, fx, idx: gradient(x)[idx])


def _traced(fn: Objective, stage: str, trace: list | None) -> Objective:
    if trace is None:
        return fn

    def f(x: np.ndarray) -> float:
        v = float(fn(x))
        trace.append((stage, v, np.array(x, float)))
        return v
    return f


def _active_set_newton(fn: Objective, derivs: Derivatives, x: np.ndarray, fx: float,
                       lower: np.ndarray) -> Finished | None:
    """Newton on the free parameters until converged and no bound parameter wants off; None on failure."""
    bounded = np.isfinite(lower)
    on = bounded & (x - lower < BOUND_TOL)
    if np.any(x[on] != lower[on]):
        z = np.where(on, lower, x)
        fz = fn(z)
        if fz <= fx:
            x, fx = z, fz
        else:
            on = bounded & (x == lower)
    for _ in range(4):
        res = _newton(fn, derivs, x, fx, lower, ~on)
        if res is None:
            return None
        x, fx, found, hit = res
        near = bounded & ~on & (x - lower < BOUND_TOL)
        if np.any(near) and not np.any(hit):  # lme4's check.boundary: onto the bound if no worse
            z = np.where(near, lower, x)
            fz = fn(z)
            if fz <= fx:
                x, fx, hit = z, fz, near
        if np.any(hit):
            on |= hit
            continue
        if any(fn(_moved(x, i, SLOPE_STEP)) < fx for i in np.flatnonzero(on)):
            return None  # the criterion falls off a bound: leave it to BOBYQA
        return Finished(x, fx, found if not np.any(on) else None)
    return None


def _moved(x: np.ndarray, i: int, step: float) -> np.ndarray:
    z = x.copy()
    z[i] += step
    return z


def _newton(fn: Objective, derivs: Derivatives, x: np.ndarray, fx: float, lower: np.ndarray,
            free: np.ndarray):
    """Newton steps over x[free]: (x, f(x), the derivatives there or None, parameters that hit their
    bound) or None. A Hessian is kept for the steps after it, BFGS-updated by their gradients, and
    renewed where that stops gaining; converged on a kept one, the derivatives are left to the caller
    (the gradient is the point's own, so the predicted decrease is right to a factor of the Hessian's)."""
    idx = np.flatnonzero(free)
    if not len(idx):
        return x, fx, (np.zeros(0), np.zeros((0, 0))), np.zeros(len(x), bool)
    H, kept, moved = None, 0, None  # moved: (step, gradient before it) of the last step taken
    for _ in range(NEWTON_STEPS):
        if H is not None:
            g = derivs.gradient(x, fx, idx)
            step, before = moved
            if np.max(np.abs(g)) > 0.5 * np.max(np.abs(before)) or kept >= KEEP_HESSIAN:
                H = None  # too slow on the kept Hessian
            else:
                H = _bfgs(H, step, g - before)
        fresh = H is None
        kept = 0 if fresh else kept + 1
        if fresh:
            g, H = (derivs.steps or derivs.both)(x, fx, idx)
        final = fresh and derivs.steps is None  # derivatives the optimum may report
        try:
            L = np.linalg.cholesky(H)
        except np.linalg.LinAlgError:
            if fresh:
                return None
            H = None
            continue
        step = -np.linalg.solve(L.T, np.linalg.solve(L, g))
        if -g @ step / 2 < FINISH_TOL:  # (else the caller takes the point's own)
            return x, fx, (g, H) if final else None, np.zeros(len(x), bool)
        xn = x.copy()
        xn[idx] += step
        crossed = xn < lower
        if np.any(crossed):  # go onto the bound, and let the caller hold it there
            xn[crossed] = lower[crossed]
            fn_ = fn(xn)
            return (xn, fn_, None, crossed) if fn_ < fx else None
        fn_ = fn(xn)
        if not fn_ < fx + ROUNDOFF * max(1.0, abs(fx)):
            if fresh and -g @ step / 2 < ROUNDOFF * max(1.0, abs(fx)):
                return x, fx, (g, H) if final else None, np.zeros(len(x), bool)  # at the optimum to round-off
            if fresh:
                return None
            H = None  # a kept Hessian that no longer serves: renew it here
            continue
        x, fx, moved = xn, fn_, (step, g)
    return None


def _bfgs(H: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """H updated by BFGS for a step s that changed the gradient by y (kept if y's is not positive)."""
    ys, Hs = y @ s, H @ s
    if not ys > 1e-12 * np.linalg.norm(y) * np.linalg.norm(s):
        return H
    return H - np.outer(Hs, Hs) / (s @ Hs) + np.outer(y, y) / ys


def bobyqa_restarts(fn: Objective, x: np.ndarray, fx: float, lower: np.ndarray,
                    settings_at: Callable[[np.ndarray], Callable[[nlopt.opt], None]], tol: float,
                    restarts: int) -> tuple[np.ndarray, float]:
    """BOBYQA again and again from the best point so far (each run set up by settings_at(x)),
    until a run gains less than tol, at most `restarts` runs."""
    for _ in range(restarts):
        xn, fn_, _, _ = run_bobyqa(fn, x, lower, settings_at(x))
        gain = fx - fn_
        if gain > 0:
            x, fx = xn, fn_
        if gain < tol:
            break
    return x, fx


def _polish(fn: Objective, x: np.ndarray, fx: float, lower: np.ndarray) -> tuple[np.ndarray, float]:
    """Tight BOBYQA restarts from x until one gains less than FINISH_TOL, then check.boundary."""
    def tight(at: np.ndarray) -> Callable[[nlopt.opt], None]:
        def settings(opt: nlopt.opt) -> None:
            opt.set_initial_step(1e-3 * np.maximum(np.abs(at), 1e-2))
            opt.set_xtol_rel(1e-10)
            opt.set_ftol_abs(1e-14)
            opt.set_maxeval(10_000)
        return settings

    x, fx = bobyqa_restarts(fn, x, fx, lower, tight, FINISH_TOL, POLISH_RESTARTS)
    res = _snap_to_boundary(fn, OptResult(x.copy(), fx, 0, 0), lower)
    return res.par, res.fval
