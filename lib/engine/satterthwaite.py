"""Satterthwaite's degrees of freedom for t- and F-tests of fixed effects, as lmerTest computes them.

lmerTest (Kuznetsova, Brockhoff & Christensen 2017) treats the variance parameters
varpar = (theta, sigma) as estimated: their covariance is 2 H^-1, H the Hessian of the deviance
(the REML criterion for a REML fit) as a function of varpar with sigma explicit (devfun_vp); and
vcov(beta) = sigma^2 (R_X' R_X)^-1 changes with them (its Jacobian, get_covbeta). For a contrast
L, Var(L beta) = L V L', and

    df = 2 (L V L')^2 / (g' (2 H^-1) g),   g_k = L (dV / d varpar_k) L'.

F-tests of several rows (contestMD) split L V L' by its eigenvectors into independent t-tests and
combine their df (get_Fstat_ddf). The derivatives are central differences with one Richardson
step (lmerTest uses numDeriv's Richardson extrapolation); the Hessian is pseudo-inverted over its
eigenvalues above 1e-8, with lmerTest's warnings for negative or near-zero ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy.stats import f as f_dist
from scipy.stats import t as t_dist

from lib.engine.contrasts import type3
from lib.engine.lmer_fit import LmerFit
from lib.engine.pls import one_blas_thread

EIGEN_TOL = 1e-8  # lmerTest's tol in as_lmerModLT
RICHARDSON_STEP, STEP_FLOOR = 1e-2, 1e-4  # steps of 1% (numDeriv starts at 10% and halves four
# times); one Richardson step leaves a truncation error of order 1e-8 relative, where much smaller
# steps lose more to round-off in a deviance of 37,000 (MModTime's intercept df: 7e-8 from numDeriv's,
# 2e-6 with steps of 0.1%); the floor serves a theta at 0 (a singular fit)


@dataclass(frozen=True)
class VarparCovariance:
    """What lmerTest adds to a fit (lmerModLmerTest): varpar's covariance and d vcov(beta) / d varpar."""

    beta: np.ndarray
    names: list[str]
    vcov_beta: np.ndarray
    sigma: float
    varpar: np.ndarray  # theta, sigma
    vcov_varpar: np.ndarray  # 2 H^-1
    jacobian: np.ndarray  # (len(varpar), p, p): d vcov(beta) / d varpar_k
    warnings: tuple[str, ...]


def _central(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, i: int, h: float) -> np.ndarray:
    up, down = x.copy(), x.copy()
    up[i] += h
    down[i] -= h
    return (f(up) - f(down)) / (2 * h)


def _steps(x: np.ndarray) -> np.ndarray:
    return RICHARDSON_STEP * np.abs(x) + STEP_FLOOR


def jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """d f / d x_k for each k (stacked on the first axis), by Richardson-extrapolated central differences."""
    h = _steps(x)
    return np.stack([(4 * _central(f, x, i, h[i] / 2) - _central(f, x, i, h[i])) / 3
                     for i in range(len(x))])


def _second(f: Callable[[np.ndarray], float], x: np.ndarray, fx: float, i: int, j: int,
            hi: float, hj: float) -> float:
    """d2 f / dx_i dx_j by central differences."""
    def at(di: float, dj: float) -> float:
        z = x.copy()
        z[i] += di
        z[j] += dj
        return f(z)
    if i == j:
        return (at(hi, 0) - 2 * fx + at(-hi, 0)) / hi ** 2
    return (at(hi, hj) - at(hi, -hj) - at(-hi, hj) + at(-hi, -hj)) / (4 * hi * hj)


def hessian(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """The Hessian of a scalar function by Richardson-extrapolated central differences."""
    h, fx, k = _steps(x), f(x), len(x)
    H = np.empty((k, k))
    for i in range(k):
        for j in range(i + 1):
            coarse = _second(f, x, fx, i, j, h[i], h[j])
            fine = _second(f, x, fx, i, j, h[i] / 2, h[j] / 2)
            H[i, j] = H[j, i] = (4 * fine - coarse) / 3
    return H


def _devfun_vp(fit: LmerFit) -> Callable[[np.ndarray], float]:
    """lmerTest's devfun_vp: the deviance (REML criterion for a REML fit) at (theta, sigma)."""
    prob = fit.problem
    n, p = prob.X.shape

    def dev(varpar: np.ndarray) -> float:
        sigma2 = varpar[-1] ** 2
        f = prob.system.factor(varpar[:-1])
        d = f.ldL2 + f.pwrss / sigma2 + n * np.log(2 * np.pi * sigma2)
        return d + f.ldRX2 - p * np.log(2 * np.pi * sigma2) if fit.REML else d
    return dev


def _covbeta(fit: LmerFit) -> Callable[[np.ndarray], np.ndarray]:
    """lmerTest's get_covbeta: sigma^2 (R_X' R_X)^-1 at (theta, sigma)."""
    system = fit.problem.system

    def cov(varpar: np.ndarray) -> np.ndarray:
        return varpar[-1] ** 2 * system.unsc(system.factor(varpar[:-1]))
    return cov


def varpar_covariance(fit: LmerFit) -> VarparCovariance:
    """lmerTest's as_lmerModLT for an lmer fit."""
    varpar = np.append(fit.theta.to_numpy(), fit.sigma)
    with one_blas_thread():
        H = hessian(_devfun_vp(fit), varpar)
        J = jacobian(_covbeta(fit), varpar)
    evals, evecs = np.linalg.eigh(H)
    warnings = []
    neg, zero = evals < -EIGEN_TOL, np.abs(evals) < EIGEN_TOL
    if neg.any():
        warnings.append(f"Model failed to converge with {neg.sum()} negative eigenvalue"
                        f"{'s' if neg.sum() > 1 else ''}: {' '.join(f'{v:.1e}' for v in evals[neg])}")
    if zero.any():
        warnings.append(f"Model may not have converged with {zero.sum()} eigenvalue"
                        f"{'s' if zero.sum() > 1 else ''} close to zero: "
                        f"{' '.join(f'{v:.1e}' for v in evals[zero])}")
    pos = evals > EIGEN_TOL
    h_inv = (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
    return VarparCovariance(fit.fixef.to_numpy(), list(fit.fixef.index), fit.vcov.to_numpy(), fit.sigma,
                            varpar, 2 * h_inv, J, tuple(warnings))


def _qform(L: np.ndarray, V: np.ndarray) -> float:
    return float(L @ V @ L)


def contest1d(vc: VarparCovariance, L: np.ndarray) -> tuple[float, float, float, float, float]:
    """lmerTest's contest1D: (estimate, Std. Error, df, t value, Pr(>|t|)) for L beta = 0."""
    L = np.asarray(L, float)
    est = float(L @ vc.beta)
    var = _qform(L, vc.vcov_beta)
    grad = np.array([_qform(L, J) for J in vc.jacobian])
    df = 2 * var ** 2 / _qform(grad, vc.vcov_varpar)
    t = est / np.sqrt(var)
    return est, float(np.sqrt(var)), float(df), float(t), float(2 * t_dist.sf(abs(t), df))


def fstat_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's get_Fstat_ddf: the F-test's df from its t-tests' df."""
    nu = np.asarray(nu, float)
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(nu.mean())
    if np.any(nu <= 2):
        return 2.0
    E = np.sum(nu / (nu - 2))
    return float(2 * E / (E - len(nu)))


def contest_md(vc: VarparCovariance, L: np.ndarray, eps: float = np.sqrt(np.finfo(float).eps)) -> dict:
    """lmerTest's contestMD: the row of anova() for the hypothesis L beta = 0 (Satterthwaite)."""
    L = np.atleast_2d(np.asarray(L, float))
    if len(L) == 0:
        return _f_row(np.nan, 0, np.nan, vc.sigma)
    if len(L) == 1:
        _, _, df, t, _ = contest1d(vc, L[0])
        return _f_row(t ** 2, 1, df, vc.sigma)
    d, P = np.linalg.eigh(L @ vc.vcov_beta @ L.T)
    d, P = d[::-1], P[:, ::-1]  # R's eigen(): decreasing
    q = int(np.sum(d > max(eps * d[0], 0)))
    PtL = (P.T @ L)[:q]
    if q == 1:
        _, _, df, t, _ = contest1d(vc, PtL[0])
        return _f_row(t ** 2, 1, df, vc.sigma)
    F = float(np.sum((PtL @ vc.beta) ** 2 / d[:q]) / q)
    nu = [2 * d[m] ** 2 / _qform(np.array([_qform(PtL[m], J) for J in vc.jacobian]), vc.vcov_varpar)
          for m in range(q)]
    return _f_row(F, q, fstat_ddf(np.array(nu)), vc.sigma)


def _f_row(F: float, ndf: int, ddf: float, sigma: float, scale: float = 1.0) -> dict:
    """lmerTest's mk_Ftable: Sum Sq and Mean Sq are F sigma^2 per numerator df."""
    ms = F * sigma ** 2
    Fs = F * scale
    p = float(f_dist.sf(Fs, ndf, ddf)) if ndf > 0 and np.isfinite(Fs) else np.nan
    return {"Sum Sq": ms * ndf, "Mean Sq": ms, "NumDF": ndf, "DenDF": ddf, "F value": Fs, "Pr(>F)": p}


def coef_table(fit: LmerFit, vc: VarparCovariance | None = None) -> pd.DataFrame:
    """summary(lmerTest::lmer(...))$coefficients: Estimate, Std. Error, df, t value, Pr(>|t|)."""
    vc = vc or varpar_covariance(fit)
    rows = [contest1d(vc, row) for row in np.eye(len(vc.beta))]
    return pd.DataFrame(rows, index=vc.names, columns=["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"])


def hypotheses(fit: LmerFit) -> dict[str, np.ndarray]:
    """lmerTest's type III contrasts for the fit's fixed-effects terms."""
    return type3(fit.formula.fixed, fit.problem.X, list(fit.fixef.index), fit.problem.frame)


def anova_table(fit: LmerFit, vc: VarparCovariance | None = None) -> pd.DataFrame:
    """anova(lmerTest::lmer(...)): the type III table with Satterthwaite's method."""
    vc = vc or varpar_covariance(fit)
    rows = {term: contest_md(vc, L) for term, L in hypotheses(fit).items()}
    return pd.DataFrame(rows.values(), index=list(rows),
                        columns=["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"])
