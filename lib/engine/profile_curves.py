"""The profiled REML criterion and ML deviance of a one-variance model, as curves.

For a model with a single random-effect parameter (e.g. MMod, `(1 | FamID)`), lme4
minimises the profiled criterion over theta = sigma_group / sigma. At each theta the
fixed effects and sigma are profiled out: sigma^2 = pwrss / (n - p) for REML and
pwrss / n for ML. Converting to the standard-deviation scale sigma_group =
theta * sigma(theta) puts both curves on the axis the summary reports (Std.Dev.), and
the optimum of each curve is the fit's estimate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.engine.lmer import LmerProblem, fit_problem, setup


@dataclass(frozen=True)
class Optimum:
    method: str  # "REML" or "ML"
    theta: float
    sigma: float
    sd: float  # theta * sigma: the group standard deviation
    criterion: float


def sigma_at(prob: LmerProblem, theta: np.ndarray, reml: bool) -> float:
    """The profiled residual standard deviation at theta."""
    f = prob.system.factor(np.asarray(theta, float))
    n, p = prob.X.shape
    return float(np.sqrt(f.pwrss / (n - p if reml else n)))


def criterion_curve(prob: LmerProblem, thetas: np.ndarray, reml: bool) -> pd.DataFrame:
    """The profiled criterion over a grid of theta, with sigma and the SD scale.

    Columns: method, theta, criterion, sigma, sd (= theta * sigma), relative
    (criterion minus the curve's minimum on the grid).
    """
    if len(prob.lower) != 1:
        raise ValueError("criterion curves need a model with one variance parameter "
                         f"(this one has {len(prob.lower)}: {', '.join(prob.blocks[0].theta_names())}...)")
    thetas = np.asarray(thetas, float)
    crit = np.array([prob.criterion(np.array([t]), reml) for t in thetas])
    sig = np.array([sigma_at(prob, np.array([t]), reml) for t in thetas])
    out = pd.DataFrame({"method": "REML" if reml else "ML", "theta": thetas, "criterion": crit,
                        "sigma": sig, "sd": thetas * sig})
    out["relative"] = out["criterion"] - out["criterion"].min()
    return out


def optimum(prob: LmerProblem, reml: bool) -> Optimum:
    """The fit's optimum on both scales."""
    fit = fit_problem(prob, reml)
    th = float(fit.theta.iloc[0])
    return Optimum("REML" if reml else "ML", th, fit.sigma, th * fit.sigma, fit.criterion)


def theta_grid(center: float, n: int = 121, upto: float = 3.0) -> np.ndarray:
    """Theta from 0 to `upto` times the optimum, with the optimum itself in the grid."""
    top = max(center * upto, 1e-3)
    return np.unique(np.concatenate([np.linspace(0.0, top, n), [center]]))


def reml_ml_curves(formula: str, data: pd.DataFrame, n: int = 121,
                   upto: float = 3.0) -> tuple[pd.DataFrame, list[Optimum]]:
    """Both curves for a one-variance model, over one theta grid covering both optima."""
    prob = setup(formula, data)
    opts = [optimum(prob, True), optimum(prob, False)]
    grid = theta_grid(max(o.theta for o in opts), n, upto)
    grid = np.unique(np.concatenate([grid, [o.theta for o in opts]]))
    curves = pd.concat([criterion_curve(prob, grid, True), criterion_curve(prob, grid, False)],
                       ignore_index=True)
    return curves, opts
