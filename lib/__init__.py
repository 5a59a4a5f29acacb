"""Mixed models as lme4 fits them, for the teaching app and for Python users.

    from lib import load_prepared, lmer, lrtest, anova
    d = load_prepared()
    m = lmer("IgG ~ Sex*Time + (1+Time|FamID) + (1+Time|Sex:IndID)", data=d)
    print(m.summary())

lib is pure computation: it never imports streamlit or altair. Its floors, each importing
only those below it: lib.teach (teaching), lib.api (this API), lib.rprint (R's layouts),
lib.engine (numbers) beside lib.data (data sets and slices).
"""
from lib.api import anova, glmer, lm, lmer, lrtest
from lib.data.immune import load_prepared, load_raw
from lib.engine.formula import FormulaError, parse_formula

__all__ = ["anova", "glmer", "lm", "lmer", "load_prepared", "load_raw", "lrtest", "parse_formula",
           "FormulaError"]
