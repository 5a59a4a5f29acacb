"""Kenward and Roger's adjusted covariance of the fixed effects and denominator df (pbkrtest's).

Kenward & Roger (1997), as pbkrtest 0.5.2 computes it (vcovAdj_internal, Lb_ddf, .KR_adjust): the
marginal covariance Sigma = sum_i gamma_i G_i is linear in the variance parameters gamma (each
term's variances and covariances on the variance scale, then sigma^2; G_i = Z E_i Z' and, for
sigma^2, the identity). With Phi = vcov(beta),

    P_i = -X' Sigma^-1 G_i Sigma^-1 X,   Q_ij = X' Sigma^-1 G_i Sigma^-1 G_j Sigma^-1 X,
    W = 2 I^-1,  I_ij = tr(G_i Sigma^-1 G_j Sigma^-1) - 2 tr(Phi Q_ij) + tr(Phi P_i Phi P_j),
    Phi_A = Phi + 2 Phi U Phi,   U = sum_ij W_ij (Q_ij - P_i Phi P_j),

and a contrast's denominator df and F scaling from A1 and A2 (Lb_ddf). pbkrtest forms the n x n
Sigma^-1; here every product reduces to (q + p)-square matrices through Woodbury's identity,
Sigma^-1 = sigma^-2 (I - Z Lambda K Lambda' Z'), K = (Lambda' Z' Z Lambda + I)^-1, so that
[Z X]' Sigma^-k [Z X] (k = 1, 2, 3) and tr(Sigma^-2) cost no n x n work.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import f as f_dist
from scipy.stats import t as t_dist

from lib.engine.lmer_fit import LmerFit
from lib.engine.retrms import theta_slices

CONDITION_TOL = 1e-10  # pbkrtest: below this smallest |eigenvalue| of I, a generalized inverse


@dataclass(frozen=True)
class AdjustedVcov:
    """pbkrtest's vcovAdj: Phi_A with the P_i and W that Lb_ddf needs."""

    beta: np.ndarray
    names: list[str]
    phi: np.ndarray  # vcov(beta)
    phi_adj: np.ndarray  # Phi_A
    P: list[np.ndarray]
    W: np.ndarray


def _unit_covariances(fit: LmerFit) -> list[sp.csr_matrix]:
    """E_i for each term's (a, b) entry, lower triangle column by column (pbkrtest's order)."""
    out, at = [], 0
    for b in fit.blocks:
        rows, cols = b.tril_index()
        levels = np.arange(b.nlevels) * b.k + at
        for r, c in zip(rows, cols):
            i, j = levels + r, levels + c
            ri, ci = (np.concatenate([i, j]), np.concatenate([j, i])) if r != c else (i, j)
            out.append(sp.csr_matrix((np.ones(len(ri)), (ri, ci)), shape=(fit.problem.system.q,) * 2))
        at += b.q
    return out


def _lambda(fit: LmerFit) -> sp.csr_matrix:
    theta = fit.theta.to_numpy()
    return sp.block_diag([sp.kron(sp.identity(b.nlevels), b.T(theta[s]))
                          for b, s in zip(fit.blocks, theta_slices(fit.blocks))], format="csr")


def vcov_adjusted(fit: LmerFit) -> AdjustedVcov:
    """pbkrtest's vcovAdj(fit) for a REML fit."""
    if not fit.REML:
        raise ValueError("Kenward-Roger's method is only available for REML model fits")
    X = fit.problem.X
    n, p = X.shape
    Z = sp.hstack([b.Z() for b in fit.blocks], format="csc")
    q = Z.shape[1]
    s2 = fit.sigma ** 2
    U = sp.hstack([Z, sp.csc_matrix(X)], format="csc")
    S = (U.T @ U).toarray()
    Lam = _lambda(fit)
    F = (Lam.T @ S[:q].copy()).T  # U' Z Lambda
    N = (Lam.T @ (Lam.T @ S[:q, :q]).T).T  # Lambda' Z'Z Lambda
    K = np.linalg.inv(N + np.eye(q))
    FK, KN = F @ K, K @ N
    W1 = FK @ F.T
    W2 = FK @ N @ FK.T
    W3 = FK @ N @ KN @ FK.T
    inv1 = (S - W1) / s2
    inv2 = (S - 2 * W1 + W2) / s2 ** 2
    inv3 = (S - 3 * W1 + 3 * W2 - W3) / s2 ** 3
    tr_inv2 = (n - 2 * np.trace(KN) + np.trace(KN @ KN)) / s2 ** 2
    A, B, C3 = inv1[:q, :q], inv1[:q, q:], inv3[q:, q:]
    A2, B2, C2 = inv2[:q, :q], inv2[:q, q:], inv2[q:, q:]
    phi = fit.vcov.to_numpy()
    E = _unit_covariances(fit)
    EA = [Ei @ A for Ei in E]
    EB = [Ei @ B for Ei in E]
    P = [-(B.T @ eb) for eb in EB] + [-C2]
    m = len(P)

    def Q(i: int, j: int) -> np.ndarray:
        if i < m - 1 and j < m - 1:
            return B.T @ (E[i] @ (A @ EB[j]))
        if i < m - 1:
            return B.T @ (E[i] @ B2)
        if j < m - 1:
            return B2.T @ EB[j]
        return C3

    def ktrace(i: int, j: int) -> float:
        if i < m - 1 and j < m - 1:
            return float(np.sum(EA[i] * EA[j].T))
        if i < m - 1 or j < m - 1:
            return float((E[min(i, j)].multiply(A2)).sum())
        return float(tr_inv2)

    Qs = {(i, j): Q(i, j) for i in range(m) for j in range(i, m)}
    info = np.empty((m, m))
    for i in range(m):
        for j in range(i, m):
            info[i, j] = info[j, i] = (ktrace(i, j) - 2 * np.sum(phi * Qs[i, j])
                                       + np.sum((phi @ P[i]) * (P[j] @ phi)))
    cond = np.min(np.abs(np.linalg.eigvalsh(info)))
    W = 2 * (np.linalg.inv(info) if cond > CONDITION_TOL else np.linalg.pinv(info))
    W = (W + W.T) / 2
    Uu = np.zeros((p, p))
    for i in range(m - 1):
        for j in range(i + 1, m):
            Uu += W[i, j] * (Qs[i, j] - P[i] @ phi @ P[j])
    Uu = Uu + Uu.T
    for i in range(m):
        Uu += W[i, i] * (Qs[i, i] - P[i] @ phi @ P[i])
    return AdjustedVcov(fit.fixef.to_numpy(), list(fit.fixef.index), phi, phi + 2 * phi @ Uu @ phi, P, W)


def _a1_a2(adj: AdjustedVcov, L: np.ndarray) -> tuple[float, float]:
    theta = L.T @ np.linalg.solve(L @ adj.phi @ L.T, L)
    u = [theta @ adj.phi @ Pi @ adj.phi for Pi in adj.P]
    A1 = A2 = 0.0
    m = len(u)
    for i in range(m):
        for j in range(i, m):
            e = 1.0 if i == j else 2.0
            A1 += e * adj.W[i, j] * np.trace(u[i]) * np.trace(u[j])
            A2 += e * adj.W[i, j] * np.sum(u[i] * u[j].T)
    return A1, A2


def _div_zero(x: float, y: float, tol: float = 1e-14) -> float:
    return 1.0 if abs(x) < tol and abs(y) < tol else x / y


def ddf(adj: AdjustedVcov, L: np.ndarray) -> tuple[float, float]:
    """pbkrtest's denominator df for L beta = 0 (Lb_ddf, .KR_adjust), and the F scaling."""
    L = np.atleast_2d(np.asarray(L, float))
    q = np.linalg.matrix_rank(L)
    A1, A2 = _a1_a2(adj, L)
    B = (A1 + 6 * A2) / (2 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    c1 = g / (3 * q + 2 * (1 - g))
    c2 = (q - g) / (3 * q + 2 * (1 - g))
    c3 = (q + 2 - g) / (3 * q + 2 * (1 - g))
    V0 = 1 + c1 * B
    V0 = 0.0 if abs(V0) < 1e-10 else V0
    V1, V2 = 1 - c2 * B, 1 - c3 * B
    rho = _div_zero(1 - A2 / q, V1) ** 2 * V0 / V2 / q
    df2 = 4 + (q + 2) / (q * rho - 1)
    scaling = 1.0 if abs(df2 - 2) < 0.01 else df2 * (1 - A2 / q) / (df2 - 2)
    return float(df2), float(scaling)


def coef_table(fit: LmerFit, adj: AdjustedVcov | None = None) -> pd.DataFrame:
    """summary(fit, ddf = "Kenward-Roger")$coefficients (lmerTest): adjusted SE, KR df, t, p."""
    adj = adj or vcov_adjusted(fit)
    rows = []
    for k, L in enumerate(np.eye(len(adj.beta))):
        se = float(np.sqrt(L @ adj.phi_adj @ L))
        df2, _ = ddf(adj, L)
        t = adj.beta[k] / se
        rows.append((adj.beta[k], se, df2, t, float(2 * t_dist.sf(abs(t), df2))))
    return pd.DataFrame(rows, index=adj.names, columns=["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"])


def f_test(adj: AdjustedVcov, L: np.ndarray, sigma: float) -> dict:
    """anova(fit, ddf = "Kenward-Roger")'s row for L beta = 0 (pbkrtest's KRmodcomp, lmerTest's table)."""
    L = np.atleast_2d(np.asarray(L, float))
    q = np.linalg.matrix_rank(L)
    df2, scaling = ddf(adj, L)
    Lb = L @ adj.beta
    F_u = float(Lb @ np.linalg.solve(L @ adj.phi_adj @ L.T, Lb)) / q
    F = F_u * scaling
    ms = F_u * sigma ** 2
    return {"Sum Sq": ms * q, "Mean Sq": ms, "NumDF": q, "DenDF": df2, "F value": F,
            "Pr(>F)": float(f_dist.sf(F, q, df2))}


def anova_table(fit: LmerFit, hypotheses: dict[str, np.ndarray],
                adj: AdjustedVcov | None = None) -> pd.DataFrame:
    """The type III table with Kenward-Roger's method, for lmerTest's hypotheses."""
    adj = adj or vcov_adjusted(fit)
    rows = {term: f_test(adj, L, fit.sigma) for term, L in hypotheses.items() if len(L)}
    return pd.DataFrame(rows.values(), index=list(rows),
                        columns=["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"])
