"""Comparing fitted models: lmtest's lrtest() and lme4's anova(), as R computes and prints them.

    lrtest(MMod2, MMod)    # each fit's own log-likelihood (REML for REML fits), as the tutorial does
    anova(MMod2, MMod3)    # lme4: REML fits are refitted by ML first, models ordered by npar

Both take any fits with lib.engine.contract.Comparable's attributes; REML fits (``fit.REML``) are refitted for anova through
``lib.engine.lmer.refit(fit, REML=False)``. Both return a `ModelComparison`:
the table as R's data frame (`table`), R's messages (`messages`) and, where the test is
misleading, a teaching `note`; lib.rprint.compare_print prints it as R does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2

REFIT_MESSAGE = "refitting model(s) with ML (instead of REML)"
MIXED_REML_WARNING = "some models fit with REML = TRUE, some not"
SIZE_ERROR = "models were not all fitted to the same size of dataset"
REML_NOTE = ("Note: these REML fits have different fixed effects ({which}). A REML likelihood "
             "depends on the fixed-effects design, so these likelihoods are not comparable and "
             "this test is not valid; use anova(), which refits the models by maximum likelihood.")
MIXED_NOTE = ("Note: some of these models were fitted by REML and some by maximum likelihood; "
              "their likelihoods are not comparable. Fit them the same way, or use anova(), "
              "which refits REML fits by maximum likelihood.")


@dataclass(frozen=True)
class ModelComparison:
    """A comparison table as R's data frame, with what R says about it.

    lib.rprint.compare_print renders it as R prints it (its heading names each model's formula).
    """

    kind: str  # "lrtest" or "anova"
    table: pd.DataFrame
    fits: tuple = field(repr=False)  # the fits compared, in the table's order (ML refits for anova)
    messages: tuple[str, ...] = ()  # what R says on stderr first
    note: str | None = None  # ours, not R's: why the test may not mean what it seems
    data_name: str | None = None  # anova's "Data:" line


def _check_sizes(fits: Sequence) -> None:
    if len(fits) < 2:
        raise ValueError("give at least two fitted models to compare")
    if len({int(f.nobs) for f in fits}) > 1:
        raise ValueError(SIZE_ERROR)


def _fixed_names(fit) -> list[str]:
    return [str(n) for n in fit.fixef.index]


def _lrtest_note(fits: Sequence) -> str | None:
    reml = [bool(f.REML) for f in fits]
    if any(reml) and not all(reml):
        return MIXED_NOTE
    if not all(reml):
        return None
    for a, b in zip(fits, fits[1:]):
        fa, fb = _fixed_names(a), _fixed_names(b)
        if set(fa) != set(fb):
            only = [f"{n} only in model {i}" for i, names in ((1, fa), (2, fb))
                    for n in names if n not in (fb if i == 1 else fa)]
            return REML_NOTE.format(which=", ".join(only[:6]) + (", ..." if len(only) > 6 else ""))
    return None


def _chisq_sf(x: float, df: float) -> float:
    """R's pchisq(x, df, lower.tail = FALSE), with df = 0 a point mass at 0."""
    if math.isnan(x) or math.isnan(df) or df < 0:
        return math.nan
    if df == 0:
        return 1.0 if x <= 0 else 0.0
    return float(chi2.sf(x, df))


def lrtest(*fits, result: type[ModelComparison] = ModelComparison) -> ModelComparison:
    """lmtest::lrtest(fit1, fit2, ...): consecutive models compared by each fit's own log-likelihood.

    As in lmtest, a REML fit enters with its REML log-likelihood (the tutorial's use);
    `note` says when that makes the test meaningless (REML fits with different fixed
    effects, or REML mixed with ML).
    """
    _check_sizes(fits)
    n = len(fits)
    npar = np.array([float(f.df) for f in fits])
    ll = np.array([float(f.loglik) for f in fits])
    df = np.r_[np.nan, np.diff(npar)]
    stat = np.r_[np.nan, 2 * np.abs(np.diff(ll))]
    p = [math.nan] + [_chisq_sf(s, round(abs(d))) for s, d in zip(stat[1:], df[1:])]
    table = pd.DataFrame({"#Df": npar, "LogLik": ll, "Df": df, "Chisq": stat, "Pr(>Chisq)": p},
                         index=[str(i) for i in range(1, n + 1)])
    return result("lrtest", table, tuple(fits), note=_lrtest_note(fits))


def refit_ml(fit):
    """lme4's refitML(): the same model by maximum likelihood, started from the REML estimates."""
    if not fit.REML:
        return fit
    from lib.engine.lmer import refit
    return refit(fit, REML=False)


def _model_names(fits: Sequence, names: Sequence[str] | None) -> list[str]:
    if names is None:
        names = [f"MODEL{i}" for i in range(1, len(fits) + 1)]
    names = [str(n) for n in names]
    if len(names) != len(fits):
        raise ValueError("model names vector and model list have different lengths")
    if len(set(names)) < len(names):
        names = [f"MODEL{i}" for i in range(1, len(fits) + 1)]
    return names


def anova(*fits, names: Sequence[str] | None = None, refit: bool = True,
          data_name: str | None = None, refit_with: Callable = refit_ml,
          result: type[ModelComparison] = ModelComparison) -> ModelComparison:
    """lme4's anova(fit1, fit2, ...): likelihood ratio tests of nested models.

    REML fits are refitted by ML (message "refitting model(s) with ML (instead of
    REML)") unless `refit` is False; models are ordered by their number of
    parameters; Chisq = 2 max(0, change in logLik) on the change in npar. `names`
    label the rows (R uses the argument expressions); `data_name` gives R's
    "Data:" line; `refit_with` makes the ML refit (a cache of refits, say).
    """
    _check_sizes(fits)
    names = _model_names(fits, names)
    reml = [bool(f.REML) for f in fits]
    messages = []
    if refit:
        if any(reml):
            messages.append(REFIT_MESSAGE)
        fits = tuple(refit_with(f) for f in fits)
    elif any(reml) and not all(reml):
        messages.append(MIXED_REML_WARNING)
    npar = np.array([float(f.df) for f in fits])
    order = np.argsort(npar, kind="stable")
    fits = [fits[i] for i in order]
    names = [names[i] for i in order]
    npar = npar[order]
    ll = np.array([float(f.loglik) for f in fits])
    stat = np.r_[np.nan, 2 * np.maximum(0, np.diff(ll))]
    df = np.r_[np.nan, np.diff(npar)]
    p = [math.nan] + [math.nan if d == 0 else _chisq_sf(s, d) for s, d in zip(stat[1:], df[1:])]
    table = pd.DataFrame({"npar": npar, "AIC": [float(f.aic) for f in fits],
                          "BIC": [float(f.bic) for f in fits], "logLik": ll, "deviance": -2 * ll,
                          "Chisq": stat, "Df": df, "Pr(>Chisq)": p}, index=names)
    return result("anova", table, tuple(fits), tuple(messages), data_name=data_name)
