"""lme4's simulate.merMod for glmer fits: new responses drawn from a fitted binomial or Poisson GLMM.

    y = simulate(fit, nsim=250, seed=1)               # re.form = NA (lme4's default, use.u = FALSE)
    y = simulate(fit, nsim=250, seed=1, use_u=True)   # re.form = NULL: the fitted conditional modes

As lme4 does it (R/predict.R, simulate.merMod, and the family's simulate function): with use.u =
FALSE every simulation draws spherical random effects u ~ N(0, I) and sets b = Lambda(theta) u
(the scale is 1 for the binomial and Poisson families); with use.u = TRUE b is the fit's
conditional modes. Then eta = X beta + Z b + offset, mu = linkinv(eta), and the response comes from
the family: rbinom(size = weights, prob = mu) / weights for the binomial (proportions, as the model
holds them; successes = proportion x weights), rpois(mu) for the Poisson.

Draws come from numpy's default generator seeded with `seed`: the same seed gives the same
simulations (lme4's come from R's generator, so the numbers differ from R's, not their distribution).
lmer's parametric bootstrap is another module's; this one is glmer's alone.
"""
from __future__ import annotations

import numpy as np

from lib.engine.glmer_fit import GlmerFit
from lib.engine.retrms import theta_slices


def simulate(fit: GlmerFit, nsim: int, seed: int | None = None, use_u: bool = False) -> np.ndarray:
    """nsim simulated responses, one row each (nsim x n), on the scale of the fit's response."""
    if nsim < 1:
        raise ValueError("nsim must be at least 1")
    rng = np.random.default_rng(seed)
    eta = np.broadcast_to(fit.eta, (nsim, fit.nobs)) if use_u else _unconditional_eta(fit, nsim, rng)
    return draw(fit, fit.family.linkinv(eta), rng)


def _unconditional_eta(fit: GlmerFit, nsim: int, rng: np.random.Generator) -> np.ndarray:
    """X beta + offset + Z b with new b = Lambda(theta) u, u ~ N(0, I), for each simulation."""
    prob = fit.problem
    eta = np.tile(prob.X @ fit.fixef.to_numpy() + prob.offset, (nsim, 1))
    theta = fit.theta.to_numpy()
    for blk, s in zip(prob.blocks, theta_slices(prob.blocks)):
        u = rng.standard_normal((nsim, blk.nlevels, blk.k))
        b = u @ blk.T(theta[s]).T  # (nsim, levels, k)
        eta += np.einsum("snk,nk->sn", b[:, blk.factor.codes, :], blk.X)
    return eta


def draw(fit: GlmerFit, mu: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Responses with means mu (nsim x n) from the fit's family, on the response's scale."""
    if fit.family.family == "poisson":
        return rng.poisson(mu).astype(float)
    size = trials(fit)
    successes = rng.binomial(np.broadcast_to(size.astype(np.int64), mu.shape), mu)
    return np.divide(successes, size, out=np.zeros(mu.shape), where=size > 0)


def trials(fit: GlmerFit) -> np.ndarray:
    """The binomial totals lme4's simulate uses (its weights), whole numbers; 1 for a Poisson."""
    if fit.family.family == "poisson":
        return np.ones(fit.nobs)
    w = fit.problem.weights
    if np.any(np.abs(w - np.round(w)) > 1e-8):
        raise ValueError("binomial responses with non-integer totals (weights) cannot be simulated")
    return np.round(w)


def counts(fit: GlmerFit, y: np.ndarray) -> np.ndarray:
    """A response on the model's scale as counts: successes for a binomial (proportion x total)."""
    return np.round(y * trials(fit))
