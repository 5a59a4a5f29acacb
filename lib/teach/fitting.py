"""Fits as a page asks for them, with failures in words, never tracebacks.

Every fit a page shows (lmer, lm, glmer) comes as one kind of value, an `Outcome`: the fit (or
None), the error when no fit could be made, lme4's messages and their plain-words explanations.
Outcomes are frozen: a page caches them by what was asked (st.cache_resource) and every student
asking for the same model on the same data shares one.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from lib.data.slices import load_slice, slice_info
from lib.engine.family import FamilyError
from lib.engine.formula import FormulaError
from lib.engine.pirls import PirlsError
from lib.teach.explain import Explanation, explain


@dataclass(frozen=True)
class Outcome:
    formula: str
    data: str  # the data slice's name (or a data set's key)
    fit: object | None  # lib.api's LmerModel, GlmerModel or LmModel
    error: str | None
    seconds: float
    messages: tuple[str, ...]  # lme4's messages for the fit, or the error
    explanations: tuple[Explanation, ...]
    REML: bool = False

    @property
    def ok(self) -> bool:
        return self.fit is not None

    @property
    def singular(self) -> bool:
        return self.ok and bool(getattr(self.fit, "singular", False))

    @property
    def converged_cleanly(self) -> bool:
        return self.ok and not self.messages


def refused(formula: str, data: str, error: str) -> Outcome:
    """An outcome with no fit: the model was refused before fitting."""
    return Outcome(formula, data, None, error, 0.0, (error,), (explain(error),))


def attempt(make: Callable[[], object], formula: str, data: str, REML: bool = False,
            refuse: Callable[[Exception], str] = str) -> Outcome:
    """Run `make`; a model error becomes `refuse(error)`, anything else a plain failure."""
    t0, fit, error = time.perf_counter(), None, None
    try:
        fit = make()
    except (FormulaError, FamilyError) as e:
        error = refuse(e)
    except PirlsError as e:
        error = f"PIRLS failed: {e}. The model does not suit these data."
    except Exception as e:  # a numerical failure: say so, never a traceback
        error = f"the fit failed: {type(e).__name__}: {e}"
    if fit is None:
        return refused(formula, data, error)
    messages = tuple(getattr(fit, "all_messages", ()))  # lm: R's lm says nothing
    return Outcome(formula, data, fit, None, time.perf_counter() - t0, messages,
                   tuple(explain(m) for m in messages), REML)


def fit_lmer(formula: str, REML: bool, data: str) -> Outcome:
    """lmer(formula, data=<slice>, REML=REML)."""
    from lib.api import lmer
    return attempt(lambda: lmer(formula, data=load_slice(data), REML=REML), formula, data, REML)


def fit_lm(formula: str, data: str) -> Outcome:
    """lm(formula, data=<slice>)."""
    from lib.api import lm
    return attempt(lambda: lm(formula, load_slice(data), data_name=slice_info(data).r_name), formula, data)
