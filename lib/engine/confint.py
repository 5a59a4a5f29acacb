"""lme4's confint(fit, method = ...): "Wald", "profile" (lib.engine.profile) or "boot" (lib.engine.bootstrap).

The rows are lme4's: `.sig01` ... `.sigma` (standard deviations and correlations, then sigma), then
the fixed effects. Wald intervals exist for the fixed effects only (estimate -+ qnorm SE, the
fit's own SE: REML's for a REML fit); lme4 gives NA for the variance parameters.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from lib.engine.bootstrap import parametric_bootstrap
from lib.engine.lmer_fit import LmerFit
from lib.engine.profile import _perc, profile
from lib.engine.sdcor import sdcor_names


def wald(fit: LmerFit, level: float = 0.95) -> pd.DataFrame:
    """confint(fit, method = "Wald")."""
    a = (1 - level) / 2
    z = norm.ppf(1 - a)
    est, se = fit.fixef.to_numpy(), fit.se.to_numpy()
    names = sdcor_names(fit.blocks)
    lo = np.concatenate([np.full(len(names), np.nan), est - z * se])
    hi = np.concatenate([np.full(len(names), np.nan), est + z * se])
    return pd.DataFrame({_perc(a): lo, _perc(1 - a): hi}, index=names + list(fit.fixef.index))


def confint(fit: LmerFit, method: str = "profile", level: float = 0.95, nsim: int = 500,
            seed: int = 1, boot_type: str = "perc") -> pd.DataFrame:
    """confint(fit, method, level) as lme4 1.1-31 computes it."""
    if method == "Wald":
        return wald(fit, level)
    if method == "profile":
        return profile(fit, levels=(level,)).confint(level)
    if method == "boot":
        return parametric_bootstrap(fit, nsim, seed).confint(level, boot_type)
    raise ValueError("method must be 'profile', 'Wald' or 'boot'")
