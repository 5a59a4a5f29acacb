"""The result of an lmer fit: lme4's quantities, read off the optimum."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lib.engine.fit_views import MixedFitViews, check_re_form
from lib.engine.formula import Formula
from lib.engine.pls import Factorization, profiled_deviance

if TYPE_CHECKING:
    from lib.engine.lmer_problem import LmerProblem


def evaluation_frame(evaluations: list, names: list[str]) -> pd.DataFrame:
    """(stage, criterion, theta) of every evaluation as a table: evaluation, stage, criterion, theta."""
    tr = pd.DataFrame({"evaluation": np.arange(1, len(evaluations) + 1),
                       "stage": [t[0] for t in evaluations], "criterion": [t[1] for t in evaluations]})
    for i, name in enumerate(names):
        tr[name] = [t[2][i] for t in evaluations]
    return tr


@dataclass(eq=False, frozen=True)
class LmerFit(MixedFitViews):
    formula: Formula
    REML: bool
    theta: pd.Series
    fixef: pd.Series
    sigma: float
    criterion: float  # REML criterion or ML deviance at the optimum
    nobs: int
    messages: list[str]
    evaluations: list = field(repr=False)  # (stage, criterion, theta) of every optimizer step
    problem: "LmerProblem" = field(repr=False)
    factorization: Factorization = field(repr=False)
    u: np.ndarray = field(repr=False)  # spherical random effects
    # lme4's finite-difference gradient and Hessian of the criterion at theta (None: singular fit)
    derivs: tuple[np.ndarray, np.ndarray] | None = field(repr=False, default=None)

    family = None  # lib.engine.contract.MixedFit: a linear mixed model
    nAGQ = 1
    optimizer = "nloptwrap"
    object_class = "lmerMod"

    @property
    def all_messages(self) -> list[str]:
        """lme4's messages for the fit (setup notes, optimizer warnings, convergence checks)."""
        return list(self.messages)

    @classmethod
    def from_optimum(cls, prob: "LmerProblem", theta: np.ndarray, REML: bool,
                     messages: list[str], trace: list,
                     derivs: tuple[np.ndarray, np.ndarray] | None = None) -> "LmerFit":
        f = prob.factor(theta)
        beta, u = f.beta, f.u
        n, p = prob.X.shape
        sigma = float(np.sqrt(f.pwrss / (n - p if REML else n)))
        names = [n for b in prob.blocks for n in b.theta_names()]
        return cls(prob.formula, REML, pd.Series(theta, index=names), pd.Series(beta, index=prob.xnames),
                   sigma, profiled_deviance(f, n, p, REML), n, messages, trace, prob, f, u, derivs)

    @cached_property
    def trace(self) -> pd.DataFrame:
        """The optimizer's trace (as lme4's verbose output): evaluation, stage, criterion, theta."""
        return evaluation_frame(self.evaluations, list(self.theta.index))

    # -- likelihood -------------------------------------------------------
    @property
    def reml_criterion(self) -> float | None:
        return self.criterion if self.REML else None

    @property
    def deviance(self) -> float | None:
        """-2 log-likelihood of an ML fit (lme4 reports none for REML fits)."""
        return None if self.REML else self.criterion

    @property
    def loglik(self) -> float:
        return -self.criterion / 2

    @property
    def df(self) -> int:
        """Number of parameters: fixed effects, theta and sigma."""
        return len(self.fixef) + len(self.theta) + 1

    @property
    def singular(self) -> bool:
        from lib.engine.convergence import is_singular
        return is_singular(self.theta.to_numpy(), self.problem.lower)

    # -- fixed effects ------------------------------------------------------
    @cached_property
    def vcov(self) -> pd.DataFrame:
        """sigma^2 (R_X' R_X)^{-1}."""
        V = self.sigma ** 2 * self.problem.system.unsc(self.factorization)
        return pd.DataFrame(V, index=self.fixef.index, columns=self.fixef.index)

    @property
    def coef_table(self) -> pd.DataFrame:
        """lme4's fixed-effects table: Estimate, Std. Error, t value."""
        return pd.DataFrame({"Estimate": self.fixef, "Std. Error": self.se,
                             "t value": self.fixef / self.se})

    # -- random effects -----------------------------------------------------
    @cached_property
    def b(self) -> np.ndarray:
        """Random effects on the response scale, b = Lambda u."""
        return self.problem.system.lambda_times(self.theta.to_numpy(), self.u)

    @cached_property
    def condvar(self) -> list[np.ndarray]:
        """Conditional covariance of each term's random effects: (levels, k, k) per term."""
        return [self.sigma ** 2 * c for c in self.problem.system.condvar(self.factorization)]

    # -- fitted values and residuals ---------------------------------------
    @cached_property
    def fitted(self) -> np.ndarray:
        return self.problem.X @ self.fixef.to_numpy() + self.problem.system.z_times(self.b)

    def residuals(self, type: str = "response", scaled: bool = False) -> np.ndarray:
        """Raw residuals, or Pearson residuals (divided by sigma when scaled)."""
        r = self.problem.y - self.fitted
        if type not in ("response", "pearson"):
            raise ValueError("type must be 'response' or 'pearson'")
        return r / self.sigma if scaled else r

    @property
    def scaled_resid_quantiles(self) -> np.ndarray:
        return np.quantile(self.residuals(scaled=True), [0, 0.25, 0.5, 0.75, 1])

    def predict(self, newdata: pd.DataFrame | None = None, re_form: str | None = None) -> np.ndarray:
        """lme4's predict: re_form=None includes every random effect, "NA" or "~0" none.

        New levels of a grouping factor get the population prediction (allow.new.levels).
        """
        population = check_re_form(re_form)
        if newdata is not None:
            return self.linear_predictor_for(newdata, population)
        return self.problem.X @ self.fixef.to_numpy() if population else self.fitted
