"""Comparing fitted models: lmtest's lrtest() and lme4's anova(), as R computes and prints them.

    lrtest(MMod2, MMod)    # each fit's own log-likelihood (REML for REML fits), as the tutorial does
    anova(MMod2, MMod3)    # lme4: REML fits are refitted by ML first, models ordered by npar

Both take any fits with `loglik`, `df` (number of parameters), `nobs`, `formula` and,
for anova, `aic`, `bic`; REML fits (``fit.REML``) are refitted for anova through
``lib.engine.lmer.fit_problem(fit.problem, REML=False)``. Both return a `ModelComparison`:
the table as R's data frame (`table`), the text R prints (`text`), R's messages
(`messages`) and, where the test is misleading, a teaching `note`.
"""
from __future__ import annotations

import math
import re
import weakref
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2

from lib.rprint.lme4_print import formula_lines, formula_text
from lib.rprint.rformat import print_coefmat, zapsmall

REFIT_MESSAGE = "refitting model(s) with ML (instead of REML)"
MIXED_REML_WARNING = "some models fit with REML = TRUE, some not"
SIZE_ERROR = "models were not all fitted to the same size of dataset"
REML_NOTE = ("Note: these REML fits have different fixed effects ({which}). A REML likelihood "
             "depends on the fixed-effects design, so these likelihoods are not comparable and "
             "this test is not valid; use anova(), which refits the models by maximum likelihood.")
MIXED_NOTE = ("Note: some of these models were fitted by REML and some by maximum likelihood; "
              "their likelihoods are not comparable. Fit them the same way, or use anova(), "
              "which refits REML fits by maximum likelihood.")


@dataclass
class ModelComparison:
    """A comparison table with R's printed form."""

    table: pd.DataFrame
    heading: list[str]
    messages: list[str] = field(default_factory=list)  # what R says on stderr first
    note: str | None = None  # ours, not R's: why the test may not mean what it seems
    fits: list = field(default_factory=list, repr=False)  # the fits compared (ML refits for anova)

    @property
    def text(self) -> str:
        """print(x): the heading lines, then the table as stats' print.anova() lays it out."""
        return "".join(h + "\n" for h in self.heading) + print_anova_table(self.table) + "\n"

    def __str__(self) -> str:
        return "".join(m + "\n" for m in self.messages) + self.text

    def formatted_table(self) -> pd.DataFrame:
        """The table with R's printed precision (cells as print.anova prints them), for display."""
        lines = print_anova_table(self.table).rstrip("\n").split("\n")
        rows = [ln for ln in lines if ln.strip() and not ln.startswith("---") and not ln.startswith("Signif")]
        width = max(len(str(i)) for i in self.table.index)
        header = rows[0]
        # cut the printed rows at the header's column ends (print.anova right-aligns)
        ends, at = [], width
        for name in self.table.columns:
            at = header.index(str(name), at) + len(str(name))
            ends.append(at)
        out = []
        for ln in rows[1:]:
            cells, start = [], width
            for e in ends:
                cells.append(ln[start:e].strip())
                start = e
            stars = ln[ends[-1]:].strip()
            out.append(cells + [stars])
        return pd.DataFrame(out, index=[str(i) for i in self.table.index],
                            columns=[str(c) for c in self.table.columns] + [""])


def print_anova_table(table: pd.DataFrame, digits: int = 5) -> str:
    """stats' print.anova(): which columns are zapped, which are test statistics, stars."""
    cn = [str(c) for c in table.columns]
    nc = len(cn)
    has_p = bool(re.match(r"^(P|Pr)\(", cn[-1]))
    zap = list(range(nc - 1 if has_p else nc))
    tst = [j for j, c in enumerate(cn) if c[1:7] == " value"]
    tst += [j for j, c in enumerate(cn) if c in ("F", "Cp", "Chisq")]
    zap = [j for j in zap if j not in tst and not cn[j].endswith("Df")]
    zapped = table.astype(float).copy()
    for j in zap:  # printCoefmat's zap.ind, done here on a writable copy
        zapped.iloc[:, j] = zapsmall(zapped.iloc[:, j].to_numpy(), digits)
    return print_coefmat(zapped, digits=digits, cs_ind=[], tst_ind=tst, has_pvalue=has_p,
                         na_print="")


def _check_sizes(fits: Sequence) -> None:
    if len(fits) < 2:
        raise ValueError("give at least two fitted models to compare")
    if len({int(f.nobs) for f in fits}) > 1:
        raise ValueError(SIZE_ERROR)


def _fixed_names(fit) -> list[str]:
    return [str(n) for n in getattr(fit, "fixef", pd.Series(dtype=float)).index]


def _lrtest_note(fits: Sequence) -> str | None:
    reml = [bool(getattr(f, "REML", False)) for f in fits]
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


def lrtest(*fits) -> ModelComparison:
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
    labels = [s.rjust(len(str(n))) for s in map(str, range(1, n + 1))]  # R's format(1:n)
    topnote = "\n".join(f"Model {i}: " + "\n".join(formula_lines(f)) for i, f in zip(labels, fits))
    return ModelComparison(table, ["Likelihood ratio test\n", topnote], note=_lrtest_note(fits),
                           fits=list(fits))


_ML_REFITS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def refit_ml(fit):
    """lme4's refitML(): the same model by maximum likelihood, started from the REML estimates."""
    if not getattr(fit, "REML", False):
        return fit
    try:
        return _ML_REFITS[fit]
    except (KeyError, TypeError):
        pass
    from lib.engine.lmer import fit_problem
    ml = fit_problem(fit.problem, REML=False, start=np.asarray(fit.theta, float))
    try:
        _ML_REFITS[fit] = ml
    except TypeError:
        pass
    return ml


def _model_names(fits: Sequence, names: Sequence[str] | None) -> list[str]:
    if names is None:
        names = [getattr(f, "name", None) or f"MODEL{i}" for i, f in enumerate(fits, start=1)]
    names = [str(n) for n in names]
    if len(names) != len(fits):
        raise ValueError("model names vector and model list have different lengths")
    if len(set(names)) < len(names):
        names = [f"MODEL{i}" for i in range(1, len(fits) + 1)]
    return names


def anova(*fits, names: Sequence[str] | None = None, refit: bool = True,
          data_name: str | None = None) -> ModelComparison:
    """lme4's anova(fit1, fit2, ...): likelihood ratio tests of nested models.

    REML fits are refitted by ML (message "refitting model(s) with ML (instead of
    REML)") unless `refit` is False; models are ordered by their number of
    parameters; Chisq = 2 max(0, change in logLik) on the change in npar. `names`
    label the rows (R uses the argument expressions); `data_name` gives R's
    "Data:" line.
    """
    _check_sizes(fits)
    names = _model_names(fits, names)
    reml = [bool(getattr(f, "REML", False)) for f in fits]
    messages = []
    if refit:
        if any(reml):
            messages.append(REFIT_MESSAGE)
        fits = tuple(refit_ml(f) for f in fits)
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
    heading = ([f"Data: {data_name}"] if data_name else []) + ["Models:"]
    heading += [f"{nm}: {formula_text(f)}" for nm, f in zip(names, fits)]
    return ModelComparison(table, heading, messages=messages, fits=fits)
