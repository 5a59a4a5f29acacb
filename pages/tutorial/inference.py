"""p-values and intervals: Wald, Satterthwaite, Kenward-Roger and the LRT; profile intervals and zeta
plots; ICC and R2; predictions over time with their bands."""
import streamlit as st

from lib.data.immune import individual_choices
from lib.data.slices import slice_frame
from lib.engine.confint import wald
from lib.rprint.rformat import format_pvalue
from lib.teach import inference as inf
from lib.teach import model_builder as mb
from ui import cache, exercises
from ui import inference as panel
from ui import mixed as ui
from ui.widgets import on_demand, people_picker, show_chart

st.title("p-values and intervals")
st.markdown(inf.WHY_NO_P)
ui.tutorial_note("beyond the tutorial: `library(lmerTest)`, `pbkrtest`, `confint(m, method=\"profile\")`, "
                 "`performance::icc(m)`, `r2_nakagawa(m)`")
outcome, name, key = panel.model_on_screen("inf", "MMod")
fit = outcome.fit
table = ptable = None  # what the checks at the end ask about, once shown
with on_demand(f"summary({name})", "inf_summary") as shown:
    if shown:
        ui.show_fit(outcome, name, tables=False)

st.header("Is each coefficient zero? Four answers")
st.markdown(inf.METHODS)
with panel.guarded("p-values"):
    satt, satt_anova, satt_warnings = cache.satterthwaite(*key)
    kr = cache.kenward_roger(outcome.formula, outcome.data) if outcome.REML else None
    table = inf.p_value_table(fit, satt, kr[0] if kr else None, cache.coefficient_lrts(*key))
    shown = table.copy()
    for c in shown.columns:
        shown[c] = [format_pvalue(v, 3) if c.startswith("p (") else f"{v:.4g}" for v in table[c]]
    st.table(shown)
    if kr is None:
        st.caption("Kenward-Roger needs a REML fit (pbkrtest refits by REML): switch *Fit by* to REML to see it.")
    for w in satt_warnings:
        st.warning(f"lmerTest says: {w}")
    notes = inf.disagreements(table)
    for note in notes:
        st.info(note, icon=":material/balance:")
    if not notes:
        st.success("The methods agree on every coefficient here, within a factor of 10 or below 1e-6 (where the "
                   "exact value no longer matters).", icon=":material/check_circle:")

    st.subheader("Type III F-tests: `anova(m)` with lmerTest")
    st.markdown("One test per term: for `Sex * Time` lmerTest tests Sex at Time 0, Time averaged over the two "
                "sexes, and the interaction.")
    f_cols = st.columns(2 if kr else 1)
    f_cols[0].caption("Satterthwaite's method")
    f_cols[0].table(inf.as_text(satt_anova))
    if kr:
        f_cols[1].caption("Kenward-Roger's method")
        f_cols[1].table(inf.as_text(kr[1]))

st.header("How sure are we? Profile intervals and zeta plots")
st.markdown(
    """
A **profile** holds one parameter at a value and refits everything else by maximum likelihood;
ζ is the signed square root of how much worse the fit gets. If the Wald (± 1.96 SE) interval were
right, ζ would be a **straight line** (orange, dashed); where the profile bends, the Wald interval is
wrong. The 95% profile interval is where ζ crosses ±1.96 (lme4's `confint(m)`, which profiles the
ML refit). Watch a standard deviation estimated from 8 families: its profile is curved, its interval
lopsided, and the lower end may reach 0.
""")
with panel.guarded("profile"):
    n_par = len(fit.theta) + 1 + len(fit.fixef)
    auto = n_par <= 6 or ("profile",) + key in cache.runs()
    if auto or st.button(f"Profile all {n_par} parameters (for this model, a minute or more)", key="inf_profile"):
        prof = panel.cached_profile(*key, name)
        show_chart(cache.zeta_chart(*key))
        ptable = inf.profile_table(prof, wald(fit))
        st.table(inf.as_text(ptable))
        for note in inf.shape_notes(ptable):
            st.info(note, icon=":material/show_chart:")
        for w in prof.warnings:
            st.warning(w)
        with on_demand("The same in R", "inf_profile_r") as shown:
            if shown:
                st.code(f"pr <- profile({name})\nlattice::xyplot(pr)   # the zeta plots\nconfint(pr)\n"
                        f"confint({name}, method = \"Wald\")", language="r")

st.header("How much variance is explained? ICC and R²")
with panel.guarded("ICC or R²"):
    ex = cache.variance_explained(*key)
    for line in inf.variance_story(ex, list(fit.ngrps)):
        st.markdown(f"- {line}")
    for w in ex.warnings:
        st.caption(f":material/info: performance says: {w}")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("ICC (adjusted)", "NA" if ex.icc_adjusted is None else f"{ex.icc_adjusted:.3f}")
    m2.metric("ICC (unadjusted)", "NA" if ex.icc_unadjusted is None else f"{ex.icc_unadjusted:.3f}")
    m3.metric("R² marginal", f"{ex.r2_marginal:.3f}")
    m4.metric("R² conditional", "NA" if ex.r2_conditional is None else f"{ex.r2_conditional:.3f}")
    with on_demand("The same in R", "inf_r2_r") as shown:
        if shown:
            st.code(f"library(performance)\nicc({name}); icc({name}, by_group = TRUE)\nr2_nakagawa({name})",
                    language="r")

st.header("Predictions over time, with their uncertainty")
with panel.guarded("predictions"):
    over_time = outcome.data == "all" and "Time" in fit.fixef.index
    p_out, p_name = (outcome, name) if over_time else (ui.fit(mb.TUTORIAL_FORMULAS["MModTime4"][0], True, "all"),
                                                       "MModTime4")
    if not over_time:
        st.caption("The model on screen has no Time trend over all 18 months, so this section shows the tutorial's "
                   "MModTime4.")
    if p_out.ok:
        chosen = people_picker("Individuals (IndID-Sex)", individual_choices(slice_frame("all")),
                               cache.DEFAULT_PREDICTED, key="inf_people", max_selections=8)
        spec, w, inside, n = cache.prediction_view(p_out.formula, p_out.REML, p_out.data, tuple(chosen))
        show_chart(spec)
        st.markdown(inf.PREDICTION_STORY.format(name=p_name, pop_first=w["population_first"],
                                                pop_last=w["population_last"], unit=w["unit"]))
        if chosen:
            st.caption(f"{inside:.0%} of these people's {n} measurements lie inside their "
                       "bands (about 95% expected).")

exercises.show("inference", table=table, profile=ptable)
