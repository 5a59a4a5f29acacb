"""Likelihood profiles of an lmer fit: lme4's profile() and confint(method = "profile").

As lme4 does (profile.merMod, devfun2), the profile is of the maximum-likelihood deviance, also
for a REML fit (lme4 refits it by ML first). For each parameter, on lme4's scale (`.sig01` ...
standard deviations and correlations, `.sigma`, then the fixed effects), the parameter is held at
a value and the deviance minimized over all the others; the signed square root of the rise,

    zeta(x) = sign(x - x_hat) * sqrt(min deviance at x - deviance at the optimum),

is a straight line through the estimate with slope 1 / SE when the Wald approximation holds.
The points follow lme4's stepping (steps of about cutoff / 8 in zeta, until |zeta| passes
cutoff = sqrt(qchisq(1 - alphamax, number of parameters)) or a bound is reached). The confidence
limits are where zeta crosses qnorm((1 +- level) / 2), found by root finding on the profile itself
(lme4 reads them off a spline through its points); a profile that never crosses before a bound
gives the bound, as lme4's confint does.

For a variance parameter the other parameters are optimized on lme4's sd/cor scale (devfun2: the
deviance with the fixed effects profiled out and sigma explicit). For a fixed effect beta_j held at
b the deviance at theta is ldL2 + n (1 + log(2 pi r2 / n)) with r2 = pwrss + (b - beta_j(theta))^2 /
[(R_X' R_X)^-1]_jj, the penalized residual sum of squares minimized over the other coefficients:
the same number as lme4's refit with x_j b moved into the offset, without a new system per point.
Everything runs on a problem of the profile's own (lib.engine.lmer.setup).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import nlopt
import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import chi2, norm

from lib.engine.convergence import deriv12
from lib.engine.lmer import LmerFit, LmerProblem, fit_problem, setup
from lib.engine.optimize import bobyqa_restarts
from lib.engine.pls import one_blas_thread
from lib.engine.sdcor import sdcor_bounds, sdcor_names, sdcor_to_theta, theta_to_sdcor

Progress = Callable[[int, int, str], None]
INNER_TOL = 1e-9  # a restart of the inner optimizer gaining less than this ends it
MAX_RESTARTS = 4
LOWER_DEVIANCE_TOL = 1e-6  # a profile point this far below the optimum means the fit was not at it
BOUND_GAP = 1e-7  # an estimate this close (relative) to its upper bound is on it


@dataclass(frozen=True)
class ParameterProfile:
    """One parameter's profile: its points (value, zeta), its estimate and its limits."""

    name: str  # lme4's name: .sig01, .sigma, (Intercept), SexM
    label: str  # lme4's descriptive name: sd_(Intercept)|FamID, sigma, (Intercept)
    estimate: float  # at the ML optimum
    se: float | None  # the Wald line's standard error at the ML optimum (None at a bound)
    points: pd.DataFrame  # value, zeta; sorted by value
    bounds: tuple[float, float]
    limits: dict[float, tuple[float, float]]  # level -> (lower, upper)

    def wald(self, level: float = 0.95) -> tuple[float, float]:
        """The straight line's interval: estimate -+ z SE (NaN without an SE)."""
        if self.se is None:
            return (np.nan, np.nan)
        z = norm.ppf(0.5 + level / 2)
        return (self.estimate - z * self.se, self.estimate + z * self.se)


@dataclass(frozen=True)
class Profile:
    """lme4's profile of a fit (its ML refit): each parameter's profile, in lme4's order."""

    params: dict[str, ParameterProfile]
    deviance: float  # the ML deviance at the optimum
    REML: bool  # whether the profiled fit was a REML fit (profiled through its ML refit)
    warnings: tuple[str, ...] = field(default=())

    def confint(self, level: float = 0.95) -> pd.DataFrame:
        """confint(profile(fit), level): rows .sig01 ... .sigma, fixed effects; R's column names."""
        a = (1 - level) / 2
        rows = {n: p.limits[level] for n, p in self.params.items()}
        return pd.DataFrame(rows.values(), index=list(rows), columns=[_perc(a), _perc(1 - a)])


def _perc(a: float) -> str:
    """R's format.perc(a, 3): '2.5 %'."""
    return f"{float(f'{100 * a:.3g}'):g} %"


class _Deviance:
    """The ML deviance of the model as functions of lme4's parameters, on the profile's own problem."""

    def __init__(self, fit: LmerFit):
        self.prob: LmerProblem = setup(fit.formula, fit.problem.frame)
        self.ml = fit_problem(self.prob, REML=False, start=fit.theta.to_numpy())
        self.n, self.p = self.prob.X.shape
        self.blocks = self.prob.blocks
        self.base = self.ml.criterion
        self.theta_lower = self.prob.lower

    def sdcor(self, pars: np.ndarray) -> float:
        """lme4's devfun2: the deviance at sd/cor parameters and sigma (the last), beta profiled out."""
        sigma = pars[-1]
        if not sigma > 0:
            return np.inf
        f = self.prob.system.factor(sdcor_to_theta(self.blocks, pars))
        s2 = sigma ** 2
        return f.ldL2 + f.pwrss / s2 + self.n * np.log(2 * np.pi * s2)

    def fixed(self, theta: np.ndarray, j: int, b: float) -> float:
        """The deviance at theta with beta_j = b, the other coefficients and sigma profiled out."""
        f = self.prob.system.factor(theta)
        unsc = self.prob.system.unsc(f)
        r2 = f.pwrss + (b - f.beta[j]) ** 2 / unsc[j, j]
        return f.ldL2 + self.n * (1.0 + np.log(2 * np.pi * r2 / self.n))


def _argmin(fn: Callable[[np.ndarray], float], x0: np.ndarray, lower: np.ndarray,
            upper: np.ndarray) -> tuple[np.ndarray, float]:
    """The minimum of fn over a box, by tight BOBYQA restarts from x0."""
    x = np.clip(np.asarray(x0, float), lower, upper)
    if not len(x):
        return x, float(fn(x))
    fx = float(fn(x))

    def tight(at: np.ndarray) -> Callable[[nlopt.opt], None]:
        room = np.minimum(upper - at, at - lower)
        step = np.maximum(0.01 * np.abs(at), 0.005)
        step = np.where(room > 0, np.minimum(step, np.maximum(room, 1e-3)), step)

        def settings(opt: nlopt.opt) -> None:
            opt.set_upper_bounds(np.where(np.isfinite(upper), upper, np.inf))
            opt.set_initial_step(step)
            opt.set_xtol_rel(1e-8)
            opt.set_ftol_abs(1e-10)
            opt.set_maxeval(20_000)
        return settings

    return bobyqa_restarts(fn, x, fx, lower, tight, INNER_TOL, MAX_RESTARTS)


@dataclass
class _Curve:
    """One parameter's profile as it is computed: zeta at any value, warm-started from the nearest point."""

    estimate: float
    lower: float
    upper: float
    evaluate: Callable[[float, np.ndarray], tuple[float, np.ndarray]]  # (x, start) -> (deviance, nuisance)
    base: float
    opt_nuisance: np.ndarray
    seen: dict[float, tuple[float, np.ndarray]] = field(default_factory=dict)
    low_deviance: float = 0.0

    def _start(self, x: float) -> np.ndarray:
        """The other parameters at the nearest point already profiled (lme4's startmethod "prev")."""
        if not self.seen:
            return self.opt_nuisance
        return self.seen[min(self.seen, key=lambda v: abs(v - x))][1]

    def zeta(self, x: float) -> float:
        if x in self.seen:
            return self.seen[x][0]
        dev, nuis = self.evaluate(x, self._start(x))
        diff = dev - self.base
        self.low_deviance = min(self.low_deviance, diff)
        z = float(np.sign(x - self.estimate) * np.sqrt(max(diff, 0.0)))
        self.seen[x] = (z, nuis)
        return z


def _next_value(xs: list[float], zs: list[float], delta: float, lower: float, upper: float,
                maxmult: float = 10.0) -> float | None:
    """lme4's nextpar: a step of about `delta` in zeta along the secant of the last two points.

    None where zeta stopped rising (lme4 goes on in steps of 1e-6 there, which only repeats the
    last point: the parameter no longer changes the likelihood, e.g. a correlation whose standard
    deviation went to zero)."""
    num = xs[-1] - xs[-2]
    denom = zs[-1] - zs[-2]
    if not np.isfinite(denom) or num * denom <= 0:
        return None
    step = min(delta * num / denom, maxmult * abs(num))
    return float(min(upper, max(lower, xs[-1] + np.sign(num) * step)))


def _walk(curve: _Curve, start: tuple[float, float], cutoff: float, delta: float, maxpts: int) -> None:
    """lme4's fillmat: from two points, on past the second until |zeta| > cutoff or a bound."""
    xs, zs = list(start), [curve.zeta(x) if x != curve.estimate else 0.0 for x in start]
    while (len(xs) < maxpts and curve.lower < xs[-1] < curve.upper and abs(zs[-1]) <= cutoff):
        x = _next_value(xs, zs, delta, curve.lower, curve.upper)
        if x is None:
            return
        xs.append(x)
        zs.append(curve.zeta(x))


def _starts(curve: _Curve, first: float) -> list[tuple[float, float]]:
    """The two points each walk starts from: lme4's (estimate, first) upward and (first, estimate)
    downward. A first point beyond the upper bound (a correlation near 1) is moved halfway to it;
    an estimate on its upper bound is walked downward only."""
    est, upper = curve.estimate, curve.upper
    if upper - est <= BOUND_GAP * max(1.0, abs(est)):
        return [(est, est - 0.01 * max(abs(est), 0.1))]
    if first >= upper:
        first = est + (upper - est) / 2
    return [(est, first)] + ([(first, est)] if est > curve.lower else [])


def _limit(curve: _Curve, z: float) -> float:
    """Where zeta first crosses z going outward from the estimate (the bound if it never does)."""
    side = sorted((x for x in curve.seen if (x - curve.estimate) * z > 0), key=lambda x: abs(x - curve.estimate))
    prev = curve.estimate
    for x in side:
        if abs(curve.seen[x][0]) >= abs(z):
            return float(brentq(lambda v: curve.zeta(v) - z, prev, x, xtol=1e-10 * max(1.0, abs(x)), rtol=1e-12))
        prev = x
    return curve.upper if z > 0 else curve.lower


def _variance_curve(dev: _Deviance, opt: np.ndarray, w: int, lower: np.ndarray,
                    upper: np.ndarray) -> _Curve:
    others = np.delete(np.arange(len(opt)), w)

    def evaluate(x: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        def fn(v: np.ndarray) -> float:
            pars = opt.copy()
            pars[w] = x
            pars[others] = v
            return dev.sdcor(pars)
        nuis, f = _argmin(fn, start, lower[others], upper[others])
        return f, nuis

    return _Curve(float(opt[w]), float(lower[w]), float(upper[w]), evaluate, dev.base, opt[others].copy())


def _fixed_curve(dev: _Deviance, j: int) -> _Curve:
    theta0 = dev.ml.theta.to_numpy()
    tl = dev.theta_lower
    tu = np.full(len(tl), np.inf)

    def evaluate(b: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        th, f = _argmin(lambda t: dev.fixed(t, j, b), start, tl, tu)
        return f, th

    return _Curve(float(dev.ml.fixef.iloc[j]), -np.inf, np.inf, evaluate, dev.base, theta0)


def coefficient_lrt(fit: LmerFit) -> pd.DataFrame:
    """The likelihood-ratio test of each fixed effect against zero: Chisq = zeta(0)^2 on the ML
    deviance (the model refitted by ML with that coefficient held at 0), 1 df."""
    with one_blas_thread():
        dev = _Deviance(fit)
        rows = []
        for j in range(len(dev.ml.fixef)):
            stat = max(0.0, _fixed_curve(dev, j).evaluate(0.0, dev.ml.theta.to_numpy())[0] - dev.base)
            rows.append((stat, float(chi2.sf(stat, 1))))
    return pd.DataFrame(rows, index=list(dev.ml.fixef.index), columns=["Chisq", "Pr(>Chisq)"])


def _sdcor_se(dev: _Deviance, opt: np.ndarray, lower: np.ndarray,
              upper: np.ndarray) -> list[float | None]:
    """Standard errors of the Wald line on the sd/cor scale: sqrt(2 [H^-1]_ww) over the parameters
    off their bounds, H the deviance's Hessian at the optimum (lme4's deriv12 differences)."""
    free = np.flatnonzero((opt - lower > 1e-4) & (upper - opt > 1e-4))

    def fn(v: np.ndarray) -> float:
        pars = opt.copy()
        pars[free] = v
        return dev.sdcor(pars)

    _, H = deriv12(fn, opt[free], fn(opt[free]))
    try:
        cov = 2 * np.linalg.inv(H)
    except np.linalg.LinAlgError:
        return [None] * len(opt)
    out: list[float | None] = [None] * len(opt)
    for i, k in enumerate(free):
        out[k] = float(np.sqrt(cov[i, i])) if cov[i, i] > 0 else None
    return out


def profile(fit: LmerFit, which: list[str] | None = None, levels: tuple[float, ...] = (0.95,),
            alphamax: float = 0.01, maxpts: int = 100, delta_cutoff: float = 1 / 8,
            progress: Progress | None = None) -> Profile:
    """lme4's profile(fit) with the limits of confint(method = "profile") at `levels`.

    `which`: lme4's names (.sig01, .sigma, SexM; default all); `progress(done, total, name)` is
    called before each parameter.
    """
    with one_blas_thread():
        return _profile(fit, which, levels, alphamax, maxpts, delta_cutoff, progress)


def _profile(fit, which, levels, alphamax, maxpts, delta_cutoff, progress) -> Profile:
    dev = _Deviance(fit)
    ml = dev.ml
    opt = theta_to_sdcor(dev.blocks, ml.theta.to_numpy(), ml.sigma)
    names, labels = sdcor_names(dev.blocks), sdcor_names(dev.blocks, old=False)
    lower, upper = sdcor_bounds(dev.blocks)
    fixed_names = list(ml.fixef.index)
    every = names + fixed_names
    chosen = every if which is None else [n for n in every if n in set(which)]
    unknown = set(which or ()) - set(every)
    if unknown:
        raise ValueError(f"no parameter named {', '.join(sorted(unknown))}; the parameters are "
                         f"{', '.join(every)}")
    cutoff = float(np.sqrt(chi2.ppf(1 - alphamax, len(every))))
    delta = cutoff * delta_cutoff
    var_se = _sdcor_se(dev, opt, lower, upper)
    out: dict[str, ParameterProfile] = {}
    warnings: list[str] = []
    for i, name in enumerate(chosen):
        if progress:
            progress(i, len(chosen), name)
        if name in names:
            w = names.index(name)
            curve = _variance_curve(dev, opt, w, lower, upper)
            est = opt[w]
            first = est * 1.01 if est != 0 else 0.001
            se, label = var_se[w], labels[w]
        else:
            j = fixed_names.index(name)
            curve = _fixed_curve(dev, j)
            se = float(ml.se.iloc[j])
            first, label = curve.estimate + delta * se, name
        for start in _starts(curve, first):
            _walk(curve, start, cutoff, delta, maxpts)
        limits = {lv: (_limit(curve, norm.ppf((1 - lv) / 2)), _limit(curve, norm.ppf((1 + lv) / 2)))
                  for lv in levels}
        if curve.low_deviance < -LOWER_DEVIANCE_TOL:
            warnings.append(f"profiling {name} found a deviance {-curve.low_deviance:.3g} below the "
                            "optimum's: the fit was not at the optimum")
        pts = pd.DataFrame({"value": list(curve.seen) + [curve.estimate],
                            "zeta": [v[0] for v in curve.seen.values()] + [0.0]})
        pts = pts.drop_duplicates("value").sort_values("value", ignore_index=True)
        out[name] = ParameterProfile(name, label, float(curve.estimate), se, pts,
                                     (curve.lower, curve.upper), limits)
    if progress:
        progress(len(chosen), len(chosen), "")
    return Profile(out, dev.base, fit.REML, tuple(warnings))
