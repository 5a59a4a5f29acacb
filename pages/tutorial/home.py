"""Home: what the app teaches, how to move through it, and the fixed-or-random check."""
import streamlit as st

from lib.data.immune import load_raw
from lib.teach.contents import SECTIONS
from lib.teach.quiz import CHOICES, QUESTIONS, check
from ui import exercises

st.title("Linear mixed models, step by step")
st.markdown(
    """
This app follows the tutorial **Mixed Models** (Colautti lab, *R Intro Stats*, chapter 8)
on one data set: **IgG**, an antibody, measured in **270 people from 8 families**, every
month for **18 months** after a vaccine (`data/ImmuneData.csv`).

You will see why ordinary linear models (`lm`) go wrong on such data — repeated measures
on the same person, relatives in the same family — and how **random effects** fix it.
Every number is computed live, in Python, and printed the way R prints it, so you can
put this app beside an R session and compare digit for digit.

**How to move through it:** the pages in the sidebar are the tutorial's sections, in order.
Each page has a few controls; change them and watch the output change. Each shows the R
code that gives the same result.
"""
)

st.header("Fixed or random?")
st.markdown(
    """
The tutorial asks two questions about each predictor:

> Is my hypothesis about these specific groups or estimates? → **fixed effect**
>
> Are these groups or estimates representative of a larger population? → **random effect**

Try them on the variables of this study (and one that is not in it):
"""
)
for q in QUESTIONS:
    choice = st.radio(q.prompt, CHOICES, index=None, horizontal=True, key=f"quiz_{q.key}")
    result = check(q, choice)
    if result is not None:
        right, feedback = result
        (st.success if right else st.warning)(feedback)

st.header("What plays R's part here")
st.markdown(
    """
| In the tutorial (R) | Here (Python) |
| --- | --- |
| `lm()`, `summary(lm)`, `anova(lm)` | `lib.engine.lm.lm()`, `LmFit.summary()`, `LmFit.anova_text()` (statsmodels OLS underneath) |
| **lme4**: `lmer()`, `summary(lmer)` | `lib.engine.lmer`: the same penalised least squares and BOBYQA optimiser (NLopt) as lme4 |
| **lmtest**: `lrtest(m1, m2)` | `lib.lrtest` |
| `anova(m1, m2)` on `lmer` fits (ML refit) | `lib.anova` |
| `str()`, `as.factor()` | `lib.rprint.rstr.str_summary()`, `lib.data.immune.load_prepared()` |
| `format()`, `format.pval()`, `printCoefmat()` | `lib.rprint.rformat` |

Formulas are written in R's syntax (`IgG ~ Sex * FamID`, `(1 | FamID)`) and read by a strict
parser: nothing typed into a formula is ever run as code.
"""
)

st.header("The sections")
rows = [f"| {s.group} | {s.title} | {s.tutorial} | {'ready' if s.available else 'coming'} |"
        for s in SECTIONS]
st.markdown("| Part | Page | Tutorial section | |\n| --- | --- | --- | --- |\n" + "\n".join(rows))

exercises.show("home", data=load_raw())
