"""The variance parameters on lme4's standard-deviation scale (Cv_to_Sv, Sv_to_Cv, profnames).

lme4 optimizes theta, the lower triangles of the relative covariance factors T (one per
random-effects term). Its profiles, its bootstrap intervals and its confint() report instead,
for each term, the lower triangle (column by column) of a matrix holding the standard
deviations on the diagonal and the correlations below it, then sigma: `.sig01, .sig02, ...,
.sigma`, or with lme4's descriptive names `sd_(Intercept)|FamID`, `cor_Time.(Intercept)|FamID`,
`sigma`. Var(b) = sigma^2 T T' per term.
"""
from __future__ import annotations

import numpy as np

from lib.engine.retrms import ReBlock, theta_slices


def theta_to_sdcor(blocks: list[ReBlock], theta: np.ndarray, sigma: float) -> np.ndarray:
    """lme4's Cv_to_Sv(theta, s = sigma): each term's sd and cor (lower triangle), then sigma."""
    theta = np.asarray(theta, float)
    out = []
    for b, s in zip(blocks, theta_slices(blocks)):
        T = b.T(theta[s])
        cov = sigma ** 2 * T @ T.T
        sd = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            m = cov / np.outer(sd, sd)
        np.fill_diagonal(m, sd)
        out.append(np.nan_to_num(m[b.tril_index()], nan=0.0))
    return np.concatenate(out + [[sigma]])


def sdcor_to_theta(blocks: list[ReBlock], sdcor: np.ndarray) -> np.ndarray:
    """lme4's Sv_to_Cv(sdcor, s = sigma): theta from sd/cor and sigma (the last entry)."""
    sdcor = np.asarray(sdcor, float)
    sigma = sdcor[-1]
    out = []
    for b, s in zip(blocks, theta_slices(blocks)):
        m = np.zeros((b.k, b.k))
        m[b.tril_index()] = sdcor[s]
        sd = np.diag(m).copy()
        cor = np.tril(m, -1) + np.tril(m, -1).T + np.eye(b.k)
        T = safe_cholesky(cor * np.outer(sd, sd)) / sigma
        out.append(T[b.tril_index()])
    return np.concatenate(out)


def safe_cholesky(cov: np.ndarray) -> np.ndarray:
    """The lower Cholesky factor of a positive semi-definite matrix: a zero pivot gives a zero column
    (a zero standard deviation, or a correlation of +-1), as lme4's safe_chol."""
    k = len(cov)
    L = np.zeros((k, k))
    for j in range(k):
        d = cov[j, j] - L[j, :j] @ L[j, :j]
        if d <= 1e-14 * max(cov[j, j], 1e-300):
            continue
        L[j, j] = np.sqrt(d)
        L[j + 1:, j] = (cov[j + 1:, j] - L[j + 1:, :j] @ L[j, :j]) / L[j, j]
    return L


def sdcor_names(blocks: list[ReBlock], old: bool = True) -> list[str]:
    """lme4's profile and confint names: `.sig01` ... `.sigma` (old), else `sd_(Intercept)|FamID` ..."""
    if old:
        n = sum(b.ntheta for b in blocks)
        return [f".sig{i:02d}" for i in range(1, n + 1)] + [".sigma"]
    out = []
    for b in blocks:
        rows, cols = b.tril_index()
        out += [f"sd_{b.cnames[r]}|{b.group}" if r == c else f"cor_{b.cnames[r]}.{b.cnames[c]}|{b.group}"
                for r, c in zip(rows, cols)]
    return out + ["sigma"]


def sdcor_bounds(blocks: list[ReBlock]) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on the sd/cor scale: sd >= 0, -1 <= cor <= 1, sigma >= 0 (lme4's profile bounds)."""
    lower, upper = [], []
    for b in blocks:
        rows, cols = b.tril_index()
        diag = rows == cols
        lower.append(np.where(diag, 0.0, -1.0))
        upper.append(np.where(diag, np.inf, 1.0))
    return np.concatenate(lower + [[0.0]]), np.concatenate(upper + [[np.inf]])


def is_correlation(blocks: list[ReBlock]) -> np.ndarray:
    """Which entries of the sd/cor vector (sigma last) are correlations."""
    parts = []
    for b in blocks:
        rows, cols = b.tril_index()
        parts.append(rows != cols)
    return np.concatenate(parts + [[False]])
