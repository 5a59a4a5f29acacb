"""The public API: the engine's fits and comparisons, printing themselves as R prints them.

    from lib import load_prepared, lmer, lrtest, anova
    m = lmer("IgG ~ Sex*Time + (1+Time|FamID) + (1+Time|Sex:IndID)", data=load_prepared())
    print(m.summary())

The engine's results are plain values (lib.engine) and R's layouts live in lib.rprint; the
classes here join the two, so that neither needs the other.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from lib.engine import compare
from lib.engine import glmer as _glmer
from lib.engine import lm as _lm
from lib.engine import lmer as _lmer
from lib.engine.compare import ModelComparison
from lib.engine.glmer_fit import GlmerFit
from lib.engine.lm import LmFit
from lib.engine.lmer_fit import LmerFit
from lib.rprint.compare_print import comparison_text, formatted_table, heading
from lib.rprint.glmer_print import glmer_summary
from lib.rprint.lm_print import lm_anova_text, lm_call, lm_summary
from lib.rprint.lme4_print import lmer_summary


class LmerModel(LmerFit):
    """An lmer fit with lme4's summary()."""

    def summary(self, data_name: str | None = None, correlation: bool | None = None) -> str:
        return lmer_summary(self, data_name=data_name, correlation=correlation)


class GlmerModel(GlmerFit):
    """A glmer fit with lme4's summary()."""

    def summary(self, data_name: str | None = None) -> str:
        return glmer_summary(self, data_name)


class LmModel(LmFit):
    """An lm fit with summary(lm) and anova(lm) as R prints them."""

    def summary(self) -> str:
        return lm_summary(self)

    def anova_text(self) -> str:
        return lm_anova_text(self)

    @property
    def call(self) -> str:
        """R's call: lm(formula = ..., data = ...)."""
        return lm_call(self)


class Comparison(ModelComparison):
    """lrtest() or anova(): R's table (`table`), its text (`text`) and its cells (`formatted_table()`)."""

    @property
    def heading(self) -> list[str]:
        return heading(self)

    @property
    def text(self) -> str:
        return comparison_text(self)

    def __str__(self) -> str:
        return "".join(m + "\n" for m in self.messages) + self.text

    def formatted_table(self) -> pd.DataFrame:
        return formatted_table(self)


def lmer(formula, data: pd.DataFrame, REML: bool = True) -> LmerModel:
    """Fit a linear mixed model by REML (default) or maximum likelihood (lme4's lmer)."""
    return _lmer.lmer(formula, data, REML, result=LmerModel)


def glmer(formula, data: pd.DataFrame, family: str = "binomial", link: str | None = None,
          nAGQ: int = 1, weights=None) -> GlmerModel:
    """Fit a GLMM by maximum likelihood: Laplace (nAGQ = 1), AGQ (nAGQ > 1) or nAGQ = 0 (lme4's glmer)."""
    return _glmer.glmer(formula, data, family, link, nAGQ, weights, result=GlmerModel)


def lm(formula: str, data: pd.DataFrame, data_name: str = "data") -> LmModel:
    """Fit `formula` (R syntax, fixed effects only) by least squares (R's lm)."""
    return _lm.lm(formula, data, data_name, result=LmModel)


def lrtest(*fits) -> Comparison:
    """lmtest::lrtest(fit1, fit2, ...)."""
    return compare.lrtest(*fits, result=Comparison)


def anova(*fits, names: Sequence[str] | None = None, refit: bool = True,
          data_name: str | None = None, refit_with=compare.refit_ml) -> Comparison:
    """lme4's anova(fit1, fit2, ...), REML fits refitted by ML."""
    return compare.anova(*fits, names=names, refit=refit, data_name=data_name, refit_with=refit_with,
                         result=Comparison)
