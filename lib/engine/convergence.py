"""lme4's post-fit checks (checkConv, checkHess, deriv12), with lme4's wording.

After the optimizer stops, lme4 takes central finite differences of the criterion
(step 1e-4) for its gradient and Hessian, and warns when the gradient, scaled by the
Hessian's Cholesky factor, is not small. A fit with a variance parameter at its
bound is reported as singular instead, and the gradient is then not checked.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

SINGULAR_TOL = 1e-4  # lme4's isSingular tolerance
GRAD_TOL = 2e-3  # check.conv.grad
HESS_TOL = 1e-6  # check.conv.hess
SINGULAR_MESSAGE = "boundary (singular) fit: see help('isSingular')"


def deriv12(fn: Callable[[np.ndarray], float], x: np.ndarray, fx: float,
            delta: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian by central differences: lme4's deriv12 (no bounds).

    Its order of evaluations and its arithmetic are kept (each term divided by the
    squared step before summing): the sixth digit of lme4's max|grad| depends on them.
    """
    nx = len(x)
    H, g = np.empty((nx, nx)), np.empty(nx)
    xadd, xsub = x + delta, x - delta

    def at(*moves: tuple[int, float]) -> float:
        z = x.copy()
        for i, v in moves:
            z[i] = v
        return fn(z)

    d2 = (delta + delta) ** 2
    for j in range(nx):
        fadd, fsub = at((j, xadd[j])), at((j, xsub[j]))
        H[j, j] = fadd / delta ** 2 - 2 * fx / (delta * delta) + fsub / delta ** 2
        g[j] = (fadd - fsub) / (delta + delta)
        for i in range(j):
            H[i, j] = H[j, i] = (at((i, xadd[i]), (j, xadd[j])) / d2 - at((i, xadd[i]), (j, xsub[j])) / d2
                                 - at((i, xsub[i]), (j, xadd[j])) / d2 + at((i, xsub[i]), (j, xsub[j])) / d2)
    return g, H


def is_singular(theta: np.ndarray, lower: np.ndarray, tol: float = SINGULAR_TOL) -> bool:
    """A bounded parameter (a standard deviation ratio) at, or within tol of, zero."""
    bounded = lower == 0
    return bool(np.any(theta[bounded] < tol))


def check_convergence(theta: np.ndarray, lower: np.ndarray, gradient: np.ndarray,
                      hessian: np.ndarray, n_theta: int | None = None) -> list[str]:
    """lme4's checkConv: singular fit, else gradient and Hessian checks."""
    if is_singular(theta[: len(lower)], lower):
        return [SINGULAR_MESSAGE]
    if np.any(np.isnan(gradient)):
        return ["Gradient contains NAs"]
    messages = [m for m in [_gradient_message(gradient, hessian)] if m]
    n_theta = len(lower) if n_theta is None else n_theta
    if len(theta) > n_theta:  # glmer's second stage also checks the fixed-effect block
        messages += check_hessian(hessian[n_theta:, n_theta:], "fixed-effect")
    return messages + check_hessian(hessian)


def _gradient_message(gradient: np.ndarray, hessian: np.ndarray) -> str | None:
    try:
        R = np.linalg.cholesky(hessian).T  # R's chol(): upper factor, H = R'R
        scaled = np.linalg.solve(R, gradient)
    except np.linalg.LinAlgError:
        return "unable to evaluate scaled gradient"
    if np.any(np.isnan(scaled)):
        return "unable to evaluate scaled gradient"
    maxmin = float(np.max(np.minimum(np.abs(scaled), np.abs(gradient))))
    if maxmin > GRAD_TOL:
        # lme4 reports which.max() of a single number, so always component 1
        return f"Model failed to converge with max|grad| = {maxmin:g} (tol = {GRAD_TOL:g}, component 1)"
    return None


def check_hessian(H: np.ndarray, kind: str = "") -> list[str]:
    """lme4's checkHess: negative, zero or badly spread eigenvalues."""
    if not np.all(np.isfinite(H)):
        return ["Problem with Hessian check (infinite or missing values?)"]
    ev = np.linalg.eigvalsh(H)[::-1]
    negative = int(np.sum(ev < -HESS_TOL))
    if negative:
        # R's paste() leaves two spaces when kind is empty; lme4's text keeps them
        return [f"Model failed to converge: degenerate {kind} Hessian with {negative} negative eigenvalues"]
    try:
        np.linalg.cholesky(H)
        factorable = True
    except np.linalg.LinAlgError:
        factorable = False
    if np.any(np.abs(ev) < HESS_TOL) or not factorable:
        return [f"{kind} Hessian is numerically singular: parameters are not uniquely determined"]
    out = []
    if ev.max() * HESS_TOL > 1:
        out.append("Model is nearly unidentifiable: very large eigenvalue\n - Rescale variables?")
    if ev.min() / ev.max() < HESS_TOL:
        out.append("Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?")
    return out
