"""lib.engine.average_information against its textbook definition, computed with dense matrices.

Gilmour, Thompson & Cullis (1995): AI_ab = y' P V_a P V_b P y / 2 over the parameters of
V = sigma^2 (Z Lambda Lambda' Z' + I), here (theta, sigma^2); the criterion profiled over sigma^2
has the Hessian estimate 2 (AI_tt - AI_ts AI_ss^-1 AI_st)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.linalg as la

from lib.engine.average_information import profiled_hessian
from lib.engine.lmer import lmer
from lib.engine.lmer_problem import setup
from lib.engine.retrms import theta_slices


def _dense_hessian(prob, theta: np.ndarray, reml: bool) -> np.ndarray:
    blocks, X, y = prob.blocks, prob.X, prob.y
    n, p = X.shape
    Z = np.hstack([b.Z().toarray() for b in blocks])

    def lam(t: np.ndarray) -> np.ndarray:
        return la.block_diag(*[np.kron(np.eye(b.nlevels), b.T(t[s])) for b, s in zip(blocks, theta_slices(blocks))])

    L = lam(theta)
    H = Z @ L @ L.T @ Z.T + np.eye(n)
    Hi = np.linalg.inv(H)
    XtHiX = X.T @ Hi @ X
    beta = np.linalg.solve(XtHiX, X.T @ Hi @ y)
    sigma2 = (y - X @ beta) @ Hi @ (y - X @ beta) / (n - p if reml else n)
    P = (Hi - Hi @ X @ np.linalg.solve(XtHiX, X.T @ Hi)) / sigma2
    derivs = []
    for a in range(len(theta)):
        La = lam(np.eye(len(theta))[a])  # Lambda is linear in theta: dLambda/dtheta_a = Lambda(e_a)
        derivs.append(sigma2 * Z @ (La @ L.T + L @ La.T) @ Z.T)
    derivs.append(H)  # dV/dsigma^2
    Py = P @ y
    AI = np.array([[Py @ Va @ P @ Vb @ Py / 2 for Vb in derivs] for Va in derivs])
    k = len(theta)
    return 2 * (AI[:k, :k] - np.outer(AI[:k, k], AI[k, :k]) / AI[k, k])


@pytest.fixture(scope="module")
def problems() -> dict:
    rng = np.random.default_rng(3)
    n = 150
    g = rng.integers(0, 12, n)
    x = rng.standard_normal(n)
    df = pd.DataFrame({"x": x, "g": pd.Categorical(g), "h": pd.Categorical(rng.integers(0, 5, n)),
                       "y": x + rng.standard_normal(12)[g] * (1 + 0.5 * x) + rng.standard_normal(n)})
    return {f: setup(f, df) for f in ("y ~ x + (1 | g) + (1 | h)", "y ~ x + (1 + x | g) + (1 | h)")}


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("formula", ["y ~ x + (1 | g) + (1 | h)", "y ~ x + (1 + x | g) + (1 | h)"])
def test_profiled_hessian_is_the_textbook_average_information(problems, formula, reml):
    """At an arbitrary theta and at the optimum; dense inverses of 150 x 150 matrices lose ~1e-12 of
    the entries' size (~10^1 to 10^2) here, so 1e-8 relative is round-off with a wide margin."""
    prob = problems[formula]
    for theta in (prob.start * 0.6 + 0.1, lmer(formula, prob.frame, REML=reml).theta.to_numpy()):
        got = profiled_hessian(prob.system, prob.factor(theta), reml)
        np.testing.assert_allclose(got, _dense_hessian(prob, theta, reml), rtol=1e-8, atol=1e-8)
