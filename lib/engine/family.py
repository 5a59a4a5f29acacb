"""GLM families as lme4's C++ glmFamily evaluates them (binomial and Poisson).

lme4 does not call R's family functions inside its PIRLS loop: src/glmFamily.cpp has
its own inverse links and derivatives, clamped away from 0 and 1 by the machine
epsilon, and its own deviance residuals and AIC terms. These are the same formulas,
with the same clamps, so the Laplace deviance comes out as lme4's. R's family
`initialize` expressions (the starting mu) and link functions (for eta from mu) are
copied from R's stats package, which lme4 does call for those.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

EPS = np.finfo(float).eps  # R's DBL_EPSILON
M_1_SQRT_2PI = 0.398942280401432677939946059934
LINKS = {"binomial": ("logit", "probit"), "poisson": ("log",)}


class FamilyError(ValueError):
    """A family, link or response that glmer cannot use."""


def _ylogy(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """lme4's Y_log_Y: y * log(y / mu), and 0 where y / mu is 0."""
    return special.xlogy(y, y / mu)


def _dnorm(x: np.ndarray) -> np.ndarray:
    """R's dnorm(x): the split of x beyond 5 keeps exp(-x^2/2) accurate, as R does."""
    x = np.abs(x)
    out = M_1_SQRT_2PI * np.exp(-0.5 * x * x)
    far = x >= 5
    if np.any(far):
        x1 = np.ldexp(np.rint(np.ldexp(x[far], 16)), -16)
        x2 = x[far] - x1
        out[far] = M_1_SQRT_2PI * (np.exp(-0.5 * x1 * x1) * np.exp((-0.5 * x2 - x1) * x2))
    return out


@dataclass(frozen=True)
class Family:
    family: str  # "binomial" or "poisson"
    link: str  # "logit", "probit" or "log"

    # -- link ------------------------------------------------------------------
    def linkfun(self, mu: np.ndarray) -> np.ndarray:
        """R's family()$linkfun: eta from mu (used for the start)."""
        if self.link == "logit":
            return np.log(mu / (1.0 - mu))
        if self.link == "probit":
            return special.ndtri(mu)
        return np.log(mu)

    def linkinv(self, eta: np.ndarray) -> np.ndarray:
        """lme4's clamped inverse link."""
        if self.link == "logit":
            return np.clip(1.0 / (1.0 + np.exp(-eta)), EPS, 1.0 - EPS)  # R's plogis
        if self.link == "probit":
            return np.minimum(special.ndtr(eta), 1.0 - EPS)
        return np.maximum(np.exp(eta), EPS)

    def mu_eta(self, eta: np.ndarray) -> np.ndarray:
        """d mu / d eta, clamped as lme4 clamps it."""
        if self.link == "logit":
            x = np.abs(eta)
            e = np.exp(-x)
            f = 1.0 + e
            return np.maximum(e / (f * f), EPS)  # R's dlogis
        if self.link == "probit":
            return _dnorm(eta)
        return np.maximum(np.exp(eta), EPS)

    # -- distribution -------------------------------------------------------------
    def variance(self, mu: np.ndarray) -> np.ndarray:
        if self.family == "binomial":
            return np.maximum(mu * (1.0 - mu), EPS)
        return mu

    def dev_resid(self, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> np.ndarray:
        """Squared deviance residuals (lme4's devResid)."""
        if self.family == "binomial":
            return 2.0 * wt * (_ylogy(y, mu) + _ylogy(1.0 - y, 1.0 - mu))
        return 2.0 * wt * (_ylogy(y, mu) - (y - mu))

    def aic_parts(self, y: np.ndarray, n: np.ndarray, wt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """What aic() needs that does not change with mu: (scale, successes, failures, constant)."""
        if self.family == "binomial":
            m = n if np.any(n > 1) else wt
            yy = np.rint(m * y)
            m = np.rint(m)
            scale = np.where(m <= 0, 0.0, wt / np.where(m <= 0, 1.0, m))
            lchoose = special.gammaln(m + 1) - special.gammaln(yy + 1) - special.gammaln(m - yy + 1)
            return scale, yy, m - yy, float(np.sum(np.where(scale == 0, 0.0, scale * lchoose)))
        return wt, y, np.zeros_like(y), float(-np.sum(wt * special.gammaln(y + 1)))

    def aic(self, y: np.ndarray, n: np.ndarray, mu: np.ndarray, wt: np.ndarray,
            parts: tuple | None = None) -> float:
        """-2 x the conditional log-likelihood, as the family's aic() (lme4's glmResp::aic)."""
        scale, yy, ny, const = self.aic_parts(y, n, wt) if parts is None else parts
        if self.family == "binomial":
            ll = special.xlogy(yy, mu) + special.xlog1py(ny, -mu)
        else:
            ll = special.xlogy(yy, mu) - mu
        return float(-2.0 * (np.sum(scale * ll) + const))

    def initialize(self, y: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """R's family$initialize for a one-column response: (n, mustart)."""
        if self.family == "binomial":
            if np.any((y < 0) | (y > 1)):
                raise FamilyError("y values must be 0 <= y <= 1")
            return np.ones_like(y), (weights * y + 0.5) / (weights + 1.0)
        if np.any(y < 0):
            raise FamilyError("negative values not allowed for the 'Poisson' family")
        return np.ones_like(y), y + 0.1

    @property
    def label(self) -> str:
        return f"{self.family}({self.link})"


def make_family(family: str, link: str | None = None) -> Family:
    """binomial (logit, probit) or poisson (log); the first link is the default."""
    fam = str(family).lower()
    if fam not in LINKS:
        raise FamilyError(f"family {family!r} is not available: use 'binomial' or 'poisson'")
    link = LINKS[fam][0] if link is None else str(link).lower()
    if link not in LINKS[fam]:
        raise FamilyError(f"link {link!r} is not available for the {fam} family "
                          f"(use {' or '.join(repr(k) for k in LINKS[fam])})")
    return Family(fam, link)
