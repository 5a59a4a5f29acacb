"""What every fit offers its readers: the comparisons, R's printers, the charts and the pages.

Declared once, as Protocols, so that no reader has to probe a fit for what it might have. lmer's
and glmer's results (lib.engine.lmer_fit, lib.engine.glmer_fit) are frozen dataclasses that satisfy
`MixedFit`; anything with `Comparable`'s attributes can go into lrtest() and anova().
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from lib.engine.family import Family
from lib.engine.formula import Formula


@runtime_checkable
class Comparable(Protocol):
    """What lrtest() and anova() read."""

    formula: Formula
    REML: bool
    fixef: pd.Series

    @property
    def nobs(self) -> int: ...
    @property
    def df(self) -> int: ...
    @property
    def loglik(self) -> float: ...
    @property
    def aic(self) -> float: ...
    @property
    def bic(self) -> float: ...


@runtime_checkable
class MixedFit(Comparable, Protocol):
    """What lme4's summary() and the pages read of an lmer or glmer fit."""

    theta: pd.Series
    family: Family | None  # None: a linear mixed model
    nAGQ: int
    optimizer: str  # the optimizer lme4 names in its convergence line
    object_class: str  # "lmerMod" or "glmerMod"

    @property
    def sigma(self) -> float: ...
    @property
    def se(self) -> pd.Series: ...
    @property
    def vcov(self) -> pd.DataFrame: ...
    @property
    def varcorr(self) -> pd.DataFrame: ...
    @property
    def ngrps(self) -> dict[str, int]: ...
    @property
    def all_messages(self) -> list[str]: ...
    @property
    def scaled_resid_quantiles(self) -> np.ndarray: ...
    @property
    def cor_fixef(self) -> pd.DataFrame: ...
    @property
    def singular(self) -> bool: ...
