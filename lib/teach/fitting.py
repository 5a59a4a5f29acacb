"""Fits by (formula, REML, data-slice name), with failures as lme4's messages, never tracebacks.

`fit_lmer` returns a `FitOutcome`: the fit (or None), lme4's error when no fit could be
made, lme4's warnings and their plain-words explanations. The key is three strings
and a bool, so a page can cache outcomes by it (st.cache_resource) and every student
asking for the same model on the same slice shares one fit.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from lib.teach.explain import Explanation, explain
from lib.engine.formula import FormulaError
from lib.data.slices import load_slice, slice_info


@dataclass(eq=False)
class FitOutcome:
    formula: str
    REML: bool
    data: str
    fit: object | None = None  # lib.engine.lmer_fit.LmerFit or lib.engine.lm.LmFit
    error: str | None = None
    seconds: float = 0.0
    explanations: list[Explanation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.fit is not None

    @property
    def messages(self) -> list[str]:
        if self.fit is None:
            return [self.error] if self.error else []
        return list(getattr(self.fit, "messages", []))

    @property
    def singular(self) -> bool:
        return bool(self.fit is not None and getattr(self.fit, "singular", False))

    @property
    def converged_cleanly(self) -> bool:
        return self.ok and not self.messages


def fit_lmer(formula: str, REML: bool, data: str) -> FitOutcome:
    """lmer(formula, data=<slice>, REML=REML), failures caught as lme4's messages."""
    from lib.api import lmer
    out = FitOutcome(formula, REML, data)
    t0 = time.perf_counter()
    try:
        out.fit = lmer(formula, data=load_slice(data), REML=REML)
    except FormulaError as e:
        out.error = str(e)
    except Exception as e:  # numerical failure: report it, never a traceback
        out.error = f"the fit failed: {type(e).__name__}: {e}"
    out.seconds = time.perf_counter() - t0
    out.explanations = [explain(m) for m in out.messages]
    return out


def fit_lm(formula: str, data: str) -> FitOutcome:
    """lm(formula, data=<slice>), failures caught."""
    from lib.api import lm
    out = FitOutcome(formula, False, data)
    t0 = time.perf_counter()
    try:
        out.fit = lm(formula, load_slice(data), data_name=slice_info(data).r_name)
    except FormulaError as e:
        out.error = str(e)
    except Exception as e:
        out.error = f"the fit failed: {type(e).__name__}: {e}"
    out.seconds = time.perf_counter() - t0
    out.explanations = [explain(m) for m in out.messages]
    return out
