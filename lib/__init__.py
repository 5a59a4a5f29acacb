"""Mixed models as lme4 fits them, for the teaching app and for Python users.

    from lib import load_prepared, lmer, lrtest, anova
    d = load_prepared()
    m = lmer("IgG ~ Sex*Time + (1+Time|FamID) + (1+Time|Sex:IndID)", data=d)
    print(m.summary())

lib is pure computation: it never imports streamlit or altair. Its floors, each importing
only those below it: lib.teach (teaching), lib.api (this API), lib.rprint (R's layouts),
lib.engine (numbers) beside lib.data (data sets and slices).

The public names load on first use (PEP 562), so importing a light module such as
lib.teach.contents does not pull in scipy, pandas and statsmodels: the app's first page
renders before the engine is needed.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lib.api import anova, glmer, lm, lmer, lrtest
    from lib.data.immune import load_prepared, load_raw
    from lib.engine.formula import FormulaError, parse_formula

_HOME = {"anova": "lib.api", "glmer": "lib.api", "lm": "lib.api", "lmer": "lib.api",
         "lrtest": "lib.api", "load_prepared": "lib.data.immune", "load_raw": "lib.data.immune",
         "parse_formula": "lib.engine.formula", "FormulaError": "lib.engine.formula"}

__all__ = list(_HOME)


def __getattr__(name: str) -> object:
    if name not in _HOME:
        raise AttributeError(f"module 'lib' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])
