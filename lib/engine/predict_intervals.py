"""Predictions with their uncertainty: population-level confidence intervals and unit-level prediction intervals.

Population level (lme4's predict(fit, newdata, re.form = NA)): x0' beta, with
Var = x0' vcov(beta) x0 (the fixed effects' uncertainty only).

Unit level (predict(fit, newdata), every random effect of the unit's groups): x0' beta + z0' b, and
a new observation of that unit y0 = x0' beta + z0' b + e. The prediction error combines the
fixed effects' error, the conditional modes' error and their covariance, which Henderson's mixed
model equations give at once: in lme4's spherical coordinates (b = Lambda u),

    Cov(beta_hat - beta, u_hat - u) = sigma^2 C^-1,   C = [[Lambda' Z' Z Lambda + I, Lambda' Z' X],
                                                             [X' Z Lambda,              X' X      ]],

so Var(y0 - prediction) = sigma^2 (w' C^-1 w + 1), w = (Lambda' z0, x0). A group level not in the
data has no conditional mode: its random effect enters with its full variance z0' Sigma z0 instead.
Both intervals are prediction +- qnorm((1 + level) / 2) SE: they treat theta and sigma as known.
C is formed densely ((q + p) square), which suits the tutorial's models (q + p <= 560).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.linalg as la
import scipy.sparse as sp
from scipy.stats import norm

from lib.engine.fit_views import _new_codes, _new_matrix
from lib.engine.lmer_fit import LmerFit
from lib.engine.pooling import fixed_rows
from lib.engine.retrms import theta_slices


def population_ci(fit: LmerFit, newdata: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """fit, se, lower, upper of x0' beta for each row of newdata."""
    X0 = fixed_rows(fit, newdata)
    est = X0 @ fit.fixef.to_numpy()
    se = np.sqrt(np.einsum("ij,jk,ik->i", X0, fit.vcov.to_numpy(), X0))
    return _band(est, se, level)


def _band(est: np.ndarray, se: np.ndarray, level: float) -> pd.DataFrame:
    z = norm.ppf(0.5 + level / 2)
    return pd.DataFrame({"fit": est, "se": se, "lower": est - z * se, "upper": est + z * se})


def _henderson_factor(fit: LmerFit) -> tuple[np.ndarray, sp.csr_matrix]:
    """The Cholesky factor of Henderson's C in spherical coordinates, and Lambda."""
    theta = fit.theta.to_numpy()
    lam = sp.block_diag([sp.kron(sp.identity(b.nlevels), b.T(theta[s]))
                         for b, s in zip(fit.blocks, theta_slices(fit.blocks))], format="csr")
    Zl = (sp.hstack([b.Z() for b in fit.blocks], format="csr") @ lam).tocsc()
    X = fit.problem.X
    q = Zl.shape[1]
    C = np.empty((q + X.shape[1],) * 2)
    C[:q, :q] = (Zl.T @ Zl).toarray() + np.eye(q)
    C[:q, q:] = (Zl.T @ X)
    C[q:, :q] = C[:q, q:].T
    C[q:, q:] = X.T @ X
    return la.cholesky(C, lower=True), lam


def _plain(newdata: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as text: fit_views' codes of an interaction group (Sex:IndID) join the
    columns as strings, which pandas' Categorical refuses."""
    cats = [c for c in newdata.columns if isinstance(newdata[c].dtype, pd.CategoricalDtype)]
    return newdata.astype({c: str for c in cats}) if cats else newdata


def unit_pi(fit: LmerFit, newdata: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """fit, se, lower, upper of a new observation of each row's units (all random effects)."""
    newdata = _plain(newdata)
    X0 = fixed_rows(fit, newdata)
    L, lam = _henderson_factor(fit)
    q = lam.shape[0]
    est = fit.predict(newdata)
    W = np.zeros((len(newdata), q + X0.shape[1]))
    W[:, q:] = X0
    unknown = np.zeros(len(newdata))
    theta, at = fit.theta.to_numpy(), 0
    for b, s in zip(fit.blocks, theta_slices(fit.blocks)):
        Xb = _new_matrix(b.expr, newdata, fit.problem.frame, b.cnames)
        codes = _new_codes(b.factor, newdata, b.group)
        T = b.T(theta[s])
        known = codes >= 0
        rows = np.flatnonzero(known)
        cols = at + codes[known, None] * b.k + np.arange(b.k)
        W[rows[:, None], cols] = Xb[known] @ T  # Lambda' z0 for this term: T' x per level
        cov = T @ T.T
        unknown[~known] += np.einsum("ij,jk,ik->i", Xb[~known], cov, Xb[~known])
        at += b.q
    V = la.solve_triangular(L, W.T, lower=True)
    se = fit.sigma * np.sqrt(np.sum(V ** 2, axis=0) + unknown + 1.0)
    return _band(est, se, level)
