"""lib.engine.optimize.estimated_newton on functions whose minimum is known in closed form."""
from __future__ import annotations

import numpy as np

from lib.engine.optimize import ESTIMATED_TOL, estimated_newton

A = np.array([[4.0, 1.0], [1.0, 3.0]])
C = np.array([0.7, -1.2])


def quadratic(x: np.ndarray) -> tuple[float, np.ndarray]:
    """(x - C)' A (x - C), minimum 0 at C."""
    d = x - C
    return float(d @ A @ d), 2 * A @ d


def test_exact_hessian_converges_to_the_minimum():
    """Newton on a quadratic with its Hessian: one full step, then a predicted decrease of ~0.
    Tolerance: a converged run predicts less than ESTIMATED_TOL, so |x - C| < sqrt(2 tol / min eig)."""
    res = estimated_newton(quadratic, lambda x: 2 * A, np.array([0.9, -1.0]), np.array([False, False]))
    assert res.status == 0
    np.testing.assert_allclose(res.par, C, atol=np.sqrt(2 * ESTIMATED_TOL / np.linalg.eigvalsh(2 * A)[0]))


def test_far_start_is_held_to_the_radius_and_still_converges():
    """From 100 away the first step is cut to the first radius (1.0), later ones grow: it converges."""
    res = estimated_newton(quadratic, lambda x: 2 * A, C + 100.0, np.array([False, False]))
    steps = np.diff(np.array([t[2] for t in res.trace]), axis=0)
    assert abs(np.linalg.norm(steps[0]) - 1.0) < 1e-12  # FIRST_RADIUS, to round-off
    assert res.status == 0 and np.allclose(res.par, C, atol=1e-5)


def test_an_estimate_that_is_off_hands_over_near_the_minimum():
    """A Hessian estimate a third of the true one: steps overshoot 3x and need halving near the
    minimum, so the run stops short (status 1) at a point better than its start."""
    start = C + np.array([0.01, 0.01])
    res = estimated_newton(quadratic, lambda x: 2 * A / 3, start, np.array([False, False]))
    assert res.status == 1
    assert res.fval < quadratic(start)[0]


def test_turning_a_bounded_parameters_sign_near_the_minimum_hands_over():
    """x0 bounded at 0 with its optimum there (a singular fit's variance), its curvature undervalued
    by the estimate: the halved step across 0 near the minimum ends the run (one miss alone would not)."""
    def f(x: np.ndarray) -> tuple[float, np.ndarray]:
        return float(x[0] ** 2 + (x[1] - 2) ** 2), np.array([2 * x[0], 2 * (x[1] - 2)])

    res = estimated_newton(f, lambda x: np.diag([0.8, 2.0]), np.array([0.1, 2.0]), np.array([True, False]))
    assert res.status == 1 and res.par[0] < 0
