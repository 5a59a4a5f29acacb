"""lib.engine.optimize.estimated_newton on functions whose minimum is known in closed form, and
lmer's Newton stage against its L-BFGS stage on a crossed design."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lib.engine.lmer as lmer_module
from lib.engine.lmer_problem import setup
from lib.engine.optimize import ESTIMATED_TOL, estimated_newton

A = np.array([[4.0, 1.0], [1.0, 3.0]])
C = np.array([0.7, -1.2])


def IDENTITY(x: np.ndarray) -> np.ndarray:
    return x


def split(fg):
    """(f, gradient) from a function giving both."""
    return (lambda x: fg(x)[0]), (lambda x: fg(x)[1])


def quadratic(x: np.ndarray) -> tuple[float, np.ndarray]:
    """(x - C)' A (x - C), minimum 0 at C."""
    d = x - C
    return float(d @ A @ d), 2 * A @ d


def test_exact_hessian_converges_to_the_minimum():
    """Newton on a quadratic with its Hessian: one full step, then a predicted decrease of ~0.
    Tolerance: a converged run predicts less than ESTIMATED_TOL, so |x - C| < sqrt(2 tol / min eig)."""
    res = estimated_newton(*split(quadratic), lambda x: 2 * A, np.array([0.9, -1.0]), IDENTITY)
    assert res.status == 0
    np.testing.assert_allclose(res.par, C, atol=np.sqrt(2 * ESTIMATED_TOL / np.linalg.eigvalsh(2 * A)[0]))


def test_far_start_is_held_to_the_radius_and_still_converges():
    """From 100 away the first step is cut to the first radius (1.0), later ones grow: it converges."""
    res = estimated_newton(*split(quadratic), lambda x: 2 * A, C + 100.0, IDENTITY)
    steps = np.diff(np.array([t[2] for t in res.trace]), axis=0)
    assert abs(np.linalg.norm(steps[0]) - 1.0) < 1e-12  # FIRST_RADIUS, to round-off
    assert res.status == 0 and np.allclose(res.par, C, atol=1e-5)


def test_an_estimate_that_is_off_hands_over_near_the_minimum():
    """A Hessian estimate a third of the true one: steps overshoot 3x and need halving near the
    minimum, so the run stops short (status 1) at a point better than its start."""
    start = C + np.array([0.01, 0.01])
    res = estimated_newton(*split(quadratic), lambda x: 2 * A / 3, start, IDENTITY)
    assert res.status == 1
    assert res.fval < quadratic(start)[0]


def test_turning_a_bounded_parameters_sign_near_the_minimum_hands_over():
    """x0 bounded at 0 with its optimum there (a singular fit's variance), its curvature undervalued
    by the estimate: the halved step across 0 near the minimum ends the run (one miss alone would not)."""
    def f(x: np.ndarray) -> tuple[float, np.ndarray]:
        return float(x[0] ** 2 + (x[1] - 2) ** 2), np.array([2 * x[0], 2 * (x[1] - 2)])

    def canonical(x: np.ndarray) -> np.ndarray:  # f is even in x0, as lmer's criterion in a diagonal
        return np.array([abs(x[0]), x[1]])

    res = estimated_newton(*split(f), lambda x: np.diag([0.8, 2.0]), np.array([0.1, 2.0]), canonical)
    assert res.status == 1 and res.par[0] > 0
    assert res.fval < f(np.array([0.1, 2.0]))[0]


@pytest.fixture(scope="module")
def crossed() -> pd.DataFrame:
    """A crossed design whose trailing block is large enough for the Newton stage (lmer.NEWTON_FROM)."""
    rng = np.random.default_rng(11)
    n = 4000
    g1, g2, g3 = rng.integers(0, 400, n), rng.integers(0, 260, n), rng.integers(0, 6, n)
    x = rng.standard_normal(n)
    y = (1 + 0.5 * x + 0.8 * rng.standard_normal(400)[g1] + 0.5 * rng.standard_normal(260)[g2]
         + 0.2 * rng.standard_normal(6)[g3] + rng.standard_normal(n))
    return pd.DataFrame({"y": y, "x": x, "g1": pd.Categorical(g1), "g2": pd.Categorical(g2),
                         "g3": pd.Categorical(g3)})


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_newton_on_the_average_information_reaches_lbfgs_optimum(crossed, reml, monkeypatch):
    """The Newton stage's fit against the L-BFGS-only fit of the same problem, and the exact gradient
    at its optimum. Both runs end with the finish (a Newton step predicting under 1e-10), so their
    criteria agree to ~1e-10 and theta to ~sqrt(2e-10 / H) (H's eigenvalues 180 to 2200 here: ~1e-6),
    and the Newton stage stops predicting under ESTIMATED_TOL = 1e-12, so the gradient is below
    sqrt(2e-12 x 2200) ~ 7e-5 (2e-5 here)."""
    formula = "y ~ x + (1 | g1) + (1 | g2) + (1 | g3)"
    prob = setup(formula, crossed)
    assert prob.system.m >= lmer_module.NEWTON_FROM
    newton = lmer_module.fit_problem(prob, reml)
    stages = newton.trace["stage"]
    assert list(stages.iloc[:3]) == ["start", "start", "Newton"]  # lme4's start, then the moment start
    assert newton.trace["criterion"].iloc[1] < newton.trace["criterion"].iloc[0]
    monkeypatch.setattr(lmer_module, "NEWTON_FROM", np.inf)
    lbfgs = lmer_module.lmer(formula, crossed, REML=reml)
    assert lbfgs.trace["stage"].iloc[0] == "L-BFGS"
    assert len(newton.trace) < len(lbfgs.trace)
    assert newton.criterion == pytest.approx(lbfgs.criterion, abs=1e-8)
    np.testing.assert_allclose(newton.theta, lbfgs.theta, atol=1e-5)
    gradient = setup(formula, crossed).criterion_and_gradient(newton.theta.to_numpy(), reml)[1]
    assert np.max(np.abs(gradient)) < 1e-4


def test_derivative_free_finish_steps_on_a_cheaper_hessian_and_reports_deriv12s():
    """The finish without a gradient (glmer's): Newton's fresh Hessians by `steps` (2k + k(k-1)/2
    evaluations), the reported derivatives lme4's deriv12 at the optimum. f = sum exp(b_i x_i) +
    (x'Ax)/2 - c'x has a closed-form Hessian diag(b^2 exp(b x)) + A; `steps`' off-diagonal error is
    ~delta |f'''| (~1e-4 here: 1e-3 asserted), deriv12's ~delta^2 (1e-6 asserted)."""
    from lib.engine.convergence import deriv12
    from lib.engine.optimize import _deriv12_of, finish

    b, c = np.array([0.5, -0.3, 0.8]), np.array([1.0, 0.2, -0.5])
    A3 = np.array([[3.0, 0.5, 0.2], [0.5, 2.0, -0.3], [0.2, -0.3, 1.5]])

    def f(x: np.ndarray) -> float:
        return float(np.exp(b * x).sum() + x @ A3 @ x / 2 - c @ x)

    def hessian(x: np.ndarray) -> np.ndarray:
        return np.diag(b * b * np.exp(b * x)) + A3

    x = np.array([0.3, -0.2, 0.1])
    g, H = _deriv12_of(f).steps(x, f(x), np.arange(3))
    np.testing.assert_allclose(H, hessian(x), atol=1e-3)
    np.testing.assert_allclose(g, b * np.exp(b * x) + A3 @ x - c, atol=1e-6)
    end = finish(f, x, f(x), np.full(3, -np.inf))
    gradient = b * np.exp(b * end.par) + A3 @ end.par - c
    assert np.max(np.abs(gradient)) < 1e-4  # a last step predicting < 1e-10: |g| < sqrt(2e-10 x 5)
    # deriv12's own numbers at the optimum (the same evaluations again: round-off at most)
    np.testing.assert_allclose(end.derivs[1], deriv12(f, end.par, end.fval)[1], atol=1e-9)
    np.testing.assert_allclose(end.derivs[1], hessian(end.par), atol=1e-6)
