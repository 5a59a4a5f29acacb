"""The result of a glmer fit: lme4's quantities, read off the optimum (mkMerMod, methods)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from lib.engine.convergence import is_singular
from lib.engine.family import Family
from lib.engine.fit_views import MixedFitViews, check_re_form
from lib.engine.formula import Formula
from lib.engine.pls import Factorization

if TYPE_CHECKING:
    from lib.engine.glmer_devfun import Devfuns
    from lib.engine.glmer_problem import GlmerProblem


@dataclass(eq=False, frozen=True)
class GlmerFit(MixedFitViews):
    has_residual = False

    formula: Formula
    family: Family
    nAGQ: int
    theta: pd.Series
    fixef: pd.Series
    laplace_deviance: float  # lme4's opt$fval: -2 log-likelihood (Laplace / AGQ / nAGQ = 0)
    nobs: int
    messages: list[str]  # setup notes and optimizer warnings
    conv_messages: list[str]  # optinfo$conv$lme4$messages
    trace: pd.DataFrame
    problem: "GlmerProblem" = field(repr=False)
    u: np.ndarray = field(repr=False)
    eta: np.ndarray = field(repr=False)  # linear predictor at the optimum (offset included)
    mu: np.ndarray = field(repr=False)
    decomposition: Factorization = field(repr=False)  # the last PIRLS factor
    derivs: tuple[np.ndarray, np.ndarray] | None = field(repr=False, default=None)
    optimizer: str = "Nelder_Mead"
    evaluations: int = 0
    unsc: np.ndarray | None = field(repr=False, default=None)  # pp$unsc() at the final weights
    object_class: str = "glmerMod"

    @classmethod
    def from_optimum(cls, prob: "GlmerProblem", dev: "Devfuns", par: np.ndarray, fval: float,
                     nAGQ: int, messages: list[str], conv_messages: list[str], derivs, trace: list,
                     optimizer: str, evaluations: int) -> "GlmerFit":
        p = dev.pirls
        nth = prob.ntheta
        names = [n for b in prob.blocks for n in b.theta_names()]
        beta = par[nth:] if nAGQ > 0 else p.delb.copy()
        pnames = names + list(prob.xnames)
        tr = pd.DataFrame({"evaluation": np.arange(1, len(trace) + 1),
                           "stage": [t[0] for t in trace], "criterion": [t[1] for t in trace]})
        for i, name in enumerate(pnames):
            tr[name] = [t[2][i] if i < len(t[2]) else np.nan for t in trace]
        return cls(prob.formula, prob.family, nAGQ, pd.Series(p.theta.copy(), index=names),
                   pd.Series(np.asarray(beta, float), index=prob.xnames), float(fval), prob.nobs,
                   list(messages), list(conv_messages), tr, prob, p.delu.copy(),
                   p.resp.eta.copy(), p.resp.mu.copy(), p.decomp, derivs, optimizer, evaluations,
                   p.unsc())

    # -- likelihood ---------------------------------------------------------------
    @property
    def loglik(self) -> float:
        """The Laplace (or AGQ) approximation to the log-likelihood: lme4's logLik()."""
        return -self.laplace_deviance / 2

    @property
    def deviance(self) -> float:
        """lme4's deviance() for a GLMM: the sum of squared deviance residuals.

        Not -2 logLik: that is `minus_two_loglik`, the "deviance" column of summary()
        and of anova(), lme4's devCrit().
        """
        return float(np.sum(self.family.dev_resid(self.problem.y, self.mu, self.problem.weights)))

    @property
    def minus_two_loglik(self) -> float:
        return self.laplace_deviance

    @property
    def df(self) -> int:
        """Fixed effects and theta (no scale parameter for binomial and Poisson)."""
        return len(self.fixef) + len(self.theta)

    @property
    def df_resid(self) -> int:
        return self.nobs - self.df

    @property
    def REML(self) -> bool:
        return False

    @property
    def reml_criterion(self) -> None:
        return None

    @property
    def sigma(self) -> float:
        return 1.0

    @property
    def singular(self) -> bool:
        return is_singular(self.theta.to_numpy(), self.problem.lower)

    @property
    def all_messages(self) -> list[str]:
        return self.messages + [m for m in self.conv_messages if m not in self.messages]

    def refit_ml(self) -> "GlmerFit":
        """A glmer fit is already a maximum-likelihood fit (anova refits nothing)."""
        return self

    # -- fixed effects --------------------------------------------------------------
    @cached_property
    def _vcov(self) -> tuple[pd.DataFrame, tuple[str, ...]]:
        """vcov.merMod: from the finite-difference Hessian when there is one, else from R_X
        (with lme4's warning)."""
        nth, V, warnings = len(self.theta), self.unsc.copy(), ()
        if self.derivs is not None and self.derivs[1].shape[0] > nth:
            H = self.derivs[1]
            try:
                h = np.linalg.solve(H, np.eye(H.shape[0]))[nth:, nth:]
                Vh = h + h.T
                bad = not np.all(np.isfinite(Vh)) or np.linalg.eigvalsh(Vh).min() <= 0
            except np.linalg.LinAlgError:
                bad = True
            if not bad:
                V = Vh
            else:
                warnings = ("variance-covariance matrix computed from finite-difference Hessian is\n"
                            "not positive definite or contains NA values: falling back to var-cov "
                            "estimated from RX",)
        return pd.DataFrame(V, index=self.fixef.index, columns=self.fixef.index), warnings

    @property
    def vcov(self) -> pd.DataFrame:
        return self._vcov[0]

    @property
    def vcov_warnings(self) -> tuple[str, ...]:
        return self._vcov[1]

    @property
    def z(self) -> pd.Series:
        return self.fixef / self.se

    @property
    def p_values(self) -> pd.Series:
        return pd.Series(2 * stats.norm.sf(np.abs(self.z.to_numpy())), index=self.fixef.index)

    @property
    def coef_table(self) -> pd.DataFrame:
        """summary()'s table: Estimate, Std. Error, z value, Pr(>|z|)."""
        return pd.DataFrame({"Estimate": self.fixef, "Std. Error": self.se, "z value": self.z,
                             "Pr(>|z|)": self.p_values})

    def ratio_table(self, level: float = 0.95) -> pd.DataFrame:
        """exp() of the estimates and of their Wald limits: odds ratios (logit) or rate ratios (log)."""
        zq = stats.norm.ppf(0.5 + level / 2)
        est, se = self.fixef, self.se
        lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
        return pd.DataFrame({"Estimate": est, f"{lo:g} %": est - zq * se, f"{hi:g} %": est + zq * se,
                             self.ratio_name: np.exp(est), f"ratio {lo:g} %": np.exp(est - zq * se),
                             f"ratio {hi:g} %": np.exp(est + zq * se)})

    @property
    def ratio_name(self) -> str:
        if self.family.link == "logit":
            return "odds ratio"
        if self.family.link == "log":
            return "rate ratio"
        return "exp(estimate)"

    # -- random effects ---------------------------------------------------------------
    @cached_property
    def b(self) -> np.ndarray:
        return self.problem.pls.lambda_times(self.theta.to_numpy(), self.u)

    @cached_property
    def condvar(self) -> list[np.ndarray]:
        """ranef(condVar = TRUE)'s postVar: per term (levels, k, k)."""
        return self.problem.pls.condvar(self.decomposition)

    # -- fitted values, residuals, predictions ------------------------------------------
    @property
    def fitted(self) -> np.ndarray:
        """fitted(): mu, on the response scale."""
        return self.mu

    @property
    def linear_predictor(self) -> np.ndarray:
        """eta = X beta + Z b (+ offset), on the link scale."""
        return self.eta

    def residuals(self, type: str = "deviance", scaled: bool = False) -> np.ndarray:
        """lme4's residuals(): deviance (default), pearson, working or response."""
        y, mu, wt, fam = self.problem.y, self.mu, self.problem.weights, self.family
        if type == "deviance":
            d = np.sqrt(fam.dev_resid(y, mu, wt))
            return np.where(y > mu, d, -d)
        if type == "pearson":
            return (y - mu) * np.sqrt(wt / fam.variance(mu))
        if type == "working":
            return (y - mu) / fam.mu_eta(self.eta)
        if type == "response":
            return y - mu
        raise ValueError("type must be 'deviance', 'pearson', 'working' or 'response'")

    @property
    def scaled_resid_quantiles(self) -> np.ndarray:
        return np.quantile(self.residuals("pearson", scaled=True), [0, 0.25, 0.5, 0.75, 1])

    def predict(self, newdata: pd.DataFrame | None = None, re_form: str | None = None,
                type: str = "link") -> np.ndarray:
        """lme4's predict.merMod: type "link" (eta) or "response" (mu).

        re_form=None uses every random effect, "NA" or "~0" none; new levels of a
        grouping factor get the population value (allow.new.levels = TRUE).
        """
        if type not in ("link", "response"):
            raise ValueError("type must be 'link' or 'response'")
        population = check_re_form(re_form)
        if newdata is not None:
            eta = self.linear_predictor_for(newdata, population)
        else:
            eta = self.problem.X @ self.fixef.to_numpy() + self.problem.offset if population else self.eta
        return self.family.linkinv(eta) if type == "response" else eta
