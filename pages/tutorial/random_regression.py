"""Random regression over time: IgG by month, LReg's residuals, MModTime and MModTime2 with their LRT."""
import streamlit as st

from lib.teach import model_builder as mb
from lib.teach.lrt_notes import comparison_notes
from ui import cache
from ui import exercises
from ui import mixed as ui
from ui.widgets import show_chart

st.title("Random regression over time")
st.markdown(
    """
So far only Time 0. Time is the number of months since vaccination, so it can be a
**continuous** predictor: a regression of IgG on Time — and, in a mixed model, a
regression whose intercept and slope vary at random among families (**random regression**).
""")


st.header("IgG over time")
ui.tutorial_note("`qplot(x=Time, y=IgG, data=ImmuneDat) + geom_smooth()` and the same with `group=IndID`")
scatter, lines = cache.over_time_charts()
view = st.radio("Show", ["All measurements with a smooth", "One line per individual"], horizontal=True,
                key="rr_view")
show_chart(scatter if view.startswith("All") else lines)
st.markdown("A general **linear decline**, and the spread **grows** with time: people start alike "
            "and drift apart, each along a line of their own.")

st.header("A fixed-effects regression and its residuals")
lreg_formula, lreg_data = mb.LM_FORMULAS["LReg"]
ui.tutorial_note(f"`LReg <- lm({lreg_formula}, data=ImmuneDat); qplot(predict(LReg), residuals(LReg))`")
lreg = ui.fit_linear(lreg_formula, lreg_data)
if lreg.ok:
    show_chart(cache.lreg_residuals_chart())
    st.markdown(f"LReg spends **{len(lreg.fit.coef_names)} coefficients** on a line per family and per "
                "IndID code. Its residuals are centred on zero but **heteroskedastic**: their spread "
                "changes along the predictions.")
else:
    ui.show_failure(lreg, "LReg")

st.header("Time in a mixed model")
st.markdown("Start with Time as a fixed effect (a slope, and a different slope for males), with a "
            "random intercept per family:")
ui.tutorial_note("`MModTime <- lmer(IgG ~ Sex * Time + (1 | FamID), data=ImmuneDat); summary(MModTime)`")
spec_a, out_a, name_a = ui.chosen_model("rra", mb.tutorial_spec("MModTime"), "MModTime", custom="modelA",
                                        title="Model A (the tutorial's MModTime)")
st.markdown(
    """
**Time** is the average monthly change in IgG (negative: IgG declines), and **SexM:Time**
the change in that slope for males (also negative: males decline slightly faster — a
claim to test by model selection).

Next, let the **slopes differ among families** too: `(1 + Time | FamID)`.
""")
ui.tutorial_note("`MModTime2 <- lmer(IgG ~ Sex * Time + (1 + Time | FamID), data=ImmuneDat)`")
spec_b, out_b, name_b = ui.chosen_model("rrb", mb.tutorial_spec("MModTime2"), "MModTime2", custom="modelB",
                                        title="Model B (the tutorial's MModTime2)")

st.header(f"`lrtest({name_a}, {name_b})`")
if out_a is not None and out_b is not None:
    ui.show_lrt([out_a, out_b], [name_a, name_b], f"lrtest({name_a}, {name_b})")
    if out_a.ok and out_b.ok:
        for note in comparison_notes(out_a.fit, out_b.fit):
            if note.kind in ("boundary", "ok"):
                st.info(note.text)
        ddf = out_b.fit.df - out_a.fit.df
        st.markdown(
            f"""
The difference in degrees of freedom is **{ddf}**, although both models have a random
family effect: `(1 + Time | FamID)` adds the **variance of the slopes** and the
**correlation** between intercepts and slopes across families. The two are estimated
together because they are not independent — change a line's slope and, for the same
points, its intercept changes too.
""")

exercises.show("random_regression", a=exercises.fit_of(out_a), name_a=name_a, b=exercises.fit_of(out_b),
               name_b=name_b)
