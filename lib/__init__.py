"""Mixed models as lme4 fits them, for the teaching app and for Python users.

    from lib import load_prepared, lmer, lrtest, anova
    d = load_prepared()
    m = lmer("IgG ~ Sex*Time + (1+Time|FamID) + (1+Time|Sex:IndID)", data=d)
    print(m.summary())

lib is pure computation: it never imports streamlit.
"""
from .compare import anova, lrtest
from .data import load_prepared, load_raw
from .formula import FormulaError, parse_formula
from .glmer import glmer
from .lm import lm
from .lmer import lmer

__all__ = ["anova", "glmer", "lm", "lmer", "load_prepared", "load_raw", "lrtest", "parse_formula",
           "FormulaError"]
