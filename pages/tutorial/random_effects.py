"""Random effects & the LMM: MMod = lmer(IgG ~ Sex + (1 | FamID)) beside lm(IgG ~ Sex + FamID)."""
import streamlit as st

from lib.rprint.rformat import format_signif
from lib.teach import model_builder as mb
from lib.teach.lmm_vs_lm import fixed_side_by_side, residual_variances
from ui import cache
from ui import exercises
from ui import mixed as ui
from ui.downloads import r_code
from ui.tables import text_table
from ui.widgets import on_demand, show_chart

st.title("Random effects & the LMM")
st.markdown(
    """
A **random effect** treats the levels of a factor as a random sample from a larger
population: these 8 families stand for families in general. Instead of estimating a
mean for each family, the model assumes the family effects are drawn from one normal
distribution, centred on zero, and estimates a single number, its **variance**.

What that assumes:
- the families are an unbiased, random sample of families (exchangeable: none is special);
- family effects are normal, with mean 0 and one common variance σ²<sub>FamID</sub>;
- they are independent of each other and of the residuals, which are normal with variance σ².
""", unsafe_allow_html=True)

st.header("The linear mixed model MMod")
ui.tutorial_note("`MMod <- lmer(IgG ~ Sex + (1 | FamID), data=InitIgG); summary(MMod)`")
spec, outcome, name = ui.chosen_model("re", mb.tutorial_spec("MMod"), "MMod")

lm_formula, lm_data = mb.LM_FORMULAS["LMod2"]
lm_out = ui.fit_linear(lm_formula, lm_data)

st.header("Beside the linear model with family as a fixed factor")
st.markdown(
    """
The tutorial asks to compare two things with `lm(IgG ~ Sex + FamID)` at Time 0 (LMod2):
**the fixed effects**, and **what replaces the family contrasts**.
""")
if outcome is None or not outcome.ok or not lm_out.ok:
    st.info("Fit a model above to compare it with the linear model.")
else:
    fit = outcome.fit
    lmfit = lm_out.fit
    table = fixed_side_by_side(lmfit, fit, "lm LMod2", name)
    text_table(table.map(lambda v: "" if v != v else f"{v:.4f}"))
    n_contrasts = sum(1 for c in lmfit.coef_names if c.startswith("FamID"))
    vc = fit.varcorr
    fam = vc[(vc["grp"] == "FamID") & vc["var2"].isna()]
    res = residual_variances(lmfit, fit)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("lm: family contrasts", f"{n_contrasts}", help="FamID2 … FamID8, each against family 1")
    if len(fam):
        c2.metric(f"{name}: FamID variance", format_signif(float(fam["vcov"].iloc[0]), 4),
                  help=f"Std.Dev. {format_signif(float(fam['sdcor'].iloc[0]), 4)}")
    c3.metric(f"{name}: residual variance", format_signif(res["lmer"], 4))
    c4.metric("lm: residual variance (σ²)", format_signif(res["lm"], 4),
              help=f"Residual standard error {format_signif(lmfit.sigma, 4)}")
    st.markdown(
        f"""
- **Fixed effects.** The intercept means different things: in lm it is family 1's
  female mean; in the mixed model it is the mean over the population of families. The
  **SexM** estimate is nearly the same in both, because each family holds both sexes.
- **Random effects.** Where lm estimates {n_contrasts} contrasts (FamID2 … FamID8), the
  mixed model estimates **one variance** among families. The family predictions below
  come from that variance: they are pulled toward the overall mean (shrinkage), the
  more so the fewer people a family has.
- **Residual.** The *Residual* variance is what family does not explain: about the same
  as lm's σ² here, since both models take the family differences out of it.
""")
    chart = cache.family_effects_chart(outcome.formula, outcome.REML, outcome.data, lm_formula, lm_data)
    if chart is not None:
        show_chart(chart)
    else:
        st.caption("The chosen model has no random intercept for FamID, so there are no family "
                   "predictions to set beside lm's contrasts.")
    with on_demand("summary(LMod2): the linear model with FamID as a factor", "re_lmod2") as shown:
        if shown:
            st.code(lmfit.summary(), language=None)
            r_call, py_call = mb.lm_calls(lm_formula, lm_data, "LMod2")
            a, b = st.columns(2)
            with a:
                r_code(r_call, "re_lm_r")
            b.code(py_call, language="python")

exercises.show("random_effects", fit=exercises.fit_of(outcome), name=name)
