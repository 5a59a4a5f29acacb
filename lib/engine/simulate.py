"""New responses from a fitted linear mixed model: lme4's simulate.merMod (use.u = FALSE).

    y* = X beta + sigma (Z Lambda u* + e*),   u* ~ N(0, I_q),  e* ~ N(0, I_n)

with beta, theta and sigma the fit's: new random effects for every group and new residuals, as the
parametric bootstrap needs. The draws come from numpy's generator (PCG64), not R's Mersenne-Twister:
the same seed gives the same responses here on every machine, but not R's.
"""
from __future__ import annotations

import numpy as np

from lib.engine.lmer_fit import LmerFit


def replicate_rng(seed: int, replicate: int) -> np.random.Generator:
    """The generator of one replicate: replicate i of a seeded run is the same however the run is
    split into chunks, resumed or cancelled."""
    return np.random.default_rng([seed, replicate])


def simulate_response(fit: LmerFit, rng: np.random.Generator) -> np.ndarray:
    """One simulated response vector (the fit's problem is only read)."""
    system = fit.problem.system
    u = rng.standard_normal(system.q)
    e = rng.standard_normal(fit.nobs)
    mean = fit.problem.X @ fit.fixef.to_numpy()
    return mean + fit.sigma * (system.z_lambda_times(fit.theta.to_numpy(), u) + e)


def simulate(fit: LmerFit, nsim: int = 1, seed: int = 0) -> np.ndarray:
    """simulate(fit, nsim, seed): an n x nsim array, column i drawn by replicate_rng(seed, i)."""
    return np.column_stack([simulate_response(fit, replicate_rng(seed, i)) for i in range(nsim)])
