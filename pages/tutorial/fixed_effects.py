"""Fixed effects: lm() at one month, the FamID coding error, and the parameter count over time."""
import streamlit as st

from lib.engine.formula import FormulaError
from lib.rprint.lm_print import coef_table_with_stars, lm_anova_cells
from lib.teach.fixed_models import build_formula, fit_error, python_code, r_code
from lib.teach.param_count import MAX_DEGREE, crossed_formula, tutorial_items
from ui import cache
from ui import exercises
from ui.downloads import r_code as show_r_code
from ui.tables import text_table

FACTOR, INTEGER = "a factor (after as.factor)", "an integer (as read.csv reads it)"
fit = cache.fixed_lm

st.title("Fixed effects")
st.markdown(
    """
Before any random effect: an ordinary linear model, `lm()`, on **one month** only, so that
each person appears once and repeated measures cannot fool us. Does IgG differ between
the sexes? Does the family matter?
"""
)

c1, c2, c3 = st.columns([1.2, 1, 1.2])
with c1:
    time = st.slider("Time point (month)", 0, 17, 0, key="time")
with c2:
    st.markdown("Fixed terms")
    terms = [t for t, label, on in (("Sex", "Sex", True), ("FamID", "FamID", False),
                                    ("Sex:FamID", "Sex × FamID", False))
             if st.checkbox(label, value=on, key=f"term_{t}")]
with c3:
    coding = st.radio("FamID is", [INTEGER, FACTOR], key="famid_coding")
famid_factor = coding == FACTOR

formula = build_formula(terms)
if st.toggle("Write the formula myself", key="own_formula"):
    formula = st.text_input("Formula (R syntax, fixed effects only)", formula, key="formula_text")

try:
    model = fit(formula, time, famid_factor)
except (FormulaError, ValueError) as err:
    st.error(fit_error(formula, err))
    st.stop()

st.markdown(f"**The model:** `{model.call}`")
text_tab, tables_tab = st.tabs(["R output", "Tables"])
with text_tab:
    st.code(f"> summary(fit)\n\n{model.summary()}\n\n> anova(fit)\n{model.anova_text()}",
            language=None)
with tables_tab:
    st.markdown(f"**Coefficients** ({len(model.coef_names)}; stars as R prints them)")
    st.dataframe(coef_table_with_stars(model), column_config={
        "Estimate": st.column_config.NumberColumn(format="%.4f"),
        "Std. Error": st.column_config.NumberColumn(format="%.4f"),
        "t value": st.column_config.NumberColumn(format="%.3f"),
        "Pr(>|t|)": st.column_config.NumberColumn(format="%.3g"),
        "signif": st.column_config.TextColumn("", help="R's significance codes: *** < 0.001 < ** < 0.01 "
                                                   "< * < 0.05 < . < 0.1"),
    })
    st.markdown("**Fit**")
    st.dataframe(model.fit_statistics(), column_config={
        "value": st.column_config.NumberColumn(format="%.5g")})
    st.markdown("**Sequential (type I) analysis of variance**, as `anova(fit)` prints it")
    text_table(lm_anova_cells(model).frame())

uses_famid = "FamID" in " ".join(model.coef_names)
if uses_famid and not famid_factor:
    other = fit(formula, time, True)
    st.warning(
        f"**Coding error!** FamID holds the integers 1 to 8, so `lm()` fits **one slope** "
        f"`FamID` — as if IgG changed steadily from family 1 to family 8. This model has "
        f"{len(model.coef_names)} coefficients. With FamID as a factor each family beyond the "
        f"first gets its own contrast (FamID2 … FamID8) and the same formula has "
        f"{len(other.coef_names)}. Switch *FamID is* to a factor to fix it."
    )
elif uses_famid:
    st.info("FamID is a factor: family 1 is the reference (the intercept) and FamID2 … FamID8 "
            "are each family's difference from it.")

st.subheader("The same in R, and with this app's lib")
show_r_code(r_code(formula, time, famid_factor), "fx_r")
st.code(python_code(formula, time, famid_factor), language="python")

st.header("How many parameters would fixed effects need over time?")
st.markdown(
    """
`IgG ~ Sex * FamID` already needs one coefficient per family and sex at a single month.
To follow IgG over the 18 months with families as fixed effects, every family also needs
its own slope (and curvature) in Time. The tutorial itemises it like this:
"""
)
degree = st.slider("Powers of Time (1 = straight line, 2 = quadratic curve)", 0, MAX_DEGREE, 2,
                   key="degree")
items = tutorial_items(n_families=8, degree=degree)
st.dataframe(items, hide_index=True)
total, full = int(items["parameters"].sum()), cache.crossed_count(degree)
st.markdown(
    f"""
That is **{total} parameters** (the tutorial's text says "That's 30 parameters!" for the
quadratic, but its own list adds up to 31). The list leaves out the sex difference itself
and the sex-specific slopes; the full model `{crossed_formula(degree)}` has a model matrix of
**{full} columns** (2 sexes × 8 families × {degree + 1} polynomial coefficient(s)).
Every extra family would add {degree + 2} more to the tutorial's count. A mixed model instead
estimates a **variance** for families (and for their slopes): a handful of parameters,
whatever the number of families.
"""
)

exercises.show("fixed_effects", model=model, famid_factor=famid_factor)
