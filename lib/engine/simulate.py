"""lme4's simulate.merMod: new responses from a fitted linear or generalized linear mixed model.

    y = simulate(fit, nsim=250, seed=1)               # re.form = NA (lme4's default, use.u = FALSE)
    y = simulate(fit, nsim=250, seed=1, use_u=True)   # re.form = NULL: the fitted conditional modes

One row per simulation (nsim x n). With use.u = FALSE every simulation draws spherical random
effects u ~ N(0, I) and sets b = Lambda(theta) u, scaled by sigma for lmer (1 for the binomial and
Poisson families); with use.u = TRUE b is the fit's conditional modes. Then eta = X beta + Z b +
offset, and the response comes from the family: y = eta + sigma e for lmer, rbinom(size = weights,
prob = mu) / weights for the binomial (proportions, as the model holds them), rpois(mu) for the
Poisson, with mu = linkinv(eta).

The draws come from numpy's generator (PCG64), not R's Mersenne-Twister: the same seed gives the
same responses here on every machine, but not R's numbers (only their distribution). The parametric
bootstrap draws replicate i from `replicate_rng(seed, i)`, so a run split into chunks, cancelled or
resumed gives the same replicates.
"""
from __future__ import annotations

import numpy as np

from lib.engine.glmer_fit import GlmerFit
from lib.engine.lmer_fit import LmerFit
from lib.engine.retrms import theta_slices


def replicate_rng(seed: int, replicate: int) -> np.random.Generator:
    """The generator of one replicate of a seeded run."""
    return np.random.default_rng([seed, replicate])


def simulate_response(fit: LmerFit, rng: np.random.Generator) -> np.ndarray:
    """One response vector simulated from an lmer fit (use.u = FALSE; the fit's problem is only read)."""
    system = fit.problem.system
    u = rng.standard_normal(system.q)
    e = rng.standard_normal(fit.nobs)
    mean = fit.problem.X @ fit.fixef.to_numpy()
    return mean + fit.sigma * (system.z_lambda_times(fit.theta.to_numpy(), u) + e)


def simulate(fit: LmerFit | GlmerFit, nsim: int = 1, seed: int | None = None, use_u: bool = False) -> np.ndarray:
    """nsim simulated responses, one row each (nsim x n), on the scale of the fit's response."""
    if nsim < 1:
        raise ValueError("nsim must be at least 1")
    if isinstance(fit, LmerFit):
        if use_u:
            raise ValueError("lmer's simulate here draws new random effects (use.u = FALSE) only")
        return np.vstack([simulate_response(fit, replicate_rng(seed or 0, i)) for i in range(nsim)])
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
