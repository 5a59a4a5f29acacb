"""The average-information matrix: a Hessian of lmer's profiled criterion for Newton steps.

With V = sigma^2 (Z Lambda Lambda' Z' + I), the REML log-likelihood's average information over
(theta, sigma^2) (Gilmour, Thompson & Cullis 1995) is

    AI_ab = y' P V_a P V_b P y / 2,   P = V^-1 - V^-1 X (X' V^-1 X)^-1 X' V^-1,

the mean of its observed and expected information, exact in expectation at the optimum. Every
piece is a solution of the penalized least squares problem on the factor the criterion was
evaluated with: P y = e / sigma^2 for the PLS residual e, P w = e_w / sigma^2 for the residual of
response w (PlsSystem.residual_for), and with Lambda_a = dLambda/dtheta_a, u and Z'e,

    V_a P y = Z (Lambda_a u + Lambda Lambda_a' Z' e),    V_sigma2 P y = (y - X beta) / sigma^2,

so a matrix costs one solve per parameter, where a Hessian by differences costs a factorization
each. The profiled criterion -2 l(theta, sigma^2(theta)) then has the Hessian 2 (AI_tt - AI_ts
AI_ss^-1 AI_st). ML uses the same matrix: it only shapes the steps, the exact gradient and the
finish's differenced Hessian decide where they end.
"""
from __future__ import annotations

import numpy as np

from lib.engine.pls import Factorization, PlsSystem, term_times


def profiled_hessian(system: PlsSystem, f: Factorization, reml: bool) -> np.ndarray:
    """2 x the average information of the criterion profiled over sigma^2, at f's theta."""
    nu = system.n - system.p if reml else system.n
    sigma2 = f.pwrss / nu
    W = np.column_stack(theta_directions(system, f) + [(system.y - system.X @ f.beta) / sigma2])
    E = np.column_stack([system.residual_for(f, w) for w in W.T])
    AI = W.T @ E / (2 * sigma2)
    AI = (AI + AI.T) / 2
    k = len(AI) - 1
    return 2 * (AI[:k, :k] - np.outer(AI[:k, k], AI[k, :k]) / AI[k, k])


def theta_directions(system: PlsSystem, f: Factorization) -> list[np.ndarray]:
    """V_a P y for every theta_a: Z (Lambda_a u + Lambda Lambda_a' Z' e), term by term."""
    ze = system.products.zt_times(f.resid)
    out, at = [], 0
    for b, T, (Xt, codes, k, q) in zip(system.blocks, system.Ts(f.theta), system.zparts):
        u, a = f.u[at:at + q].reshape(-1, k), ze[at:at + q].reshape(-1, k)
        for r, c in zip(*b.tril_index()):
            v = a[:, [r]] * T[:, c]  # Lambda Lambda_a' Z'e: level j's (Z'e)_j[r] T[:, c]
            v[:, r] += u[:, c]  # Lambda_a u: level j's u_j[c] in row r
            out.append(term_times(Xt, codes, v))
        at += q
    return out
