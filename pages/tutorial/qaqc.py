"""QA/QC: residuals of the model on screen, per-individual lines, and residual spread over time."""
import streamlit as st

from lib.data.immune import individual_labels
from lib.data.slices import slice_frame
from lib.teach import model_builder as mb
from lib.teach.qaqc import individual_frame, individuals_in_family, spread_summary
from lib.teach.qaqc import residual_spread as spread_table
from ui import exercises
from ui import mixed as ui
from ui.charts.mixed import (
    individual_fits,
    qq_plot,
    residual_spread,
    residuals_vs_fitted,
)

st.title("QA/QC")
st.markdown(
    """
With the model chosen, check its assumptions as for any linear model: residuals centred on
zero with the same spread everywhere, and roughly normal. For a mixed model, also look at
each individual: does their own line follow their measurements?
""")
ui.tutorial_note("`qplot(x=predict(MModTime4), y=residuals(MModTime4))`; "
                 "`qplot(sample=residuals(MModTime4)) + stat_qq() + stat_qq_line()`")
spec, outcome, name = ui.chosen_model("qa", mb.tutorial_spec("MModTime4"), "MModTime4")
if outcome is None or not outcome.ok:
    st.stop()
fit = outcome.fit
data = slice_frame(outcome.data)


@st.cache_resource(max_entries=8, show_spinner="Drawing the residual plots …")
def residual_charts(formula: str, REML: bool, data_name: str, label: str):
    f = ui.fit(formula, REML, data_name).fit
    d = slice_frame(data_name)
    r = f.residuals()
    return (residuals_vs_fitted(d, f.fitted, r, f"{label}: residuals against fitted values"),
            qq_plot(r, f"{label}: normal QQ plot of the residuals"))


st.header("Residuals of the model on screen")
rf, qq = residual_charts(outcome.formula, outcome.REML, outcome.data, name)
a, b = st.columns(2)
a.altair_chart(rf, width="stretch")
b.altair_chart(qq, width="stretch")
q = fit.scaled_resid_quantiles
st.caption("Scaled residuals (Pearson / σ): min {:.4f}, 1Q {:.4f}, median {:.4f}, 3Q {:.4f}, max {:.4f} — "
           "the summary's *Scaled residuals* line.".format(*q))

st.header("Each individual's line")
labels = individual_labels(data)
everyone = sorted(labels.unique(), key=lambda s: (int(s.split("-")[0]), s))
how = st.radio("Choose", ["Individuals", "A whole family"], horizontal=True, key="qa_how")
if how == "Individuals":
    chosen = st.multiselect("Individuals (IndID-Sex)", everyone, default=["1-F", "1-M"], key="qa_people",
                            max_selections=12)
else:
    fam = st.selectbox("Family", [str(k) for k in range(1, 9)], key="qa_family")
    chosen = individuals_in_family(data, fam)
    st.caption(f"Family {fam}: {len(chosen)} people")
if chosen:
    frame = individual_frame(fit, data, chosen)
    top, bottom = individual_fits(frame)
    st.altair_chart(top, width="stretch")
    st.altair_chart(bottom, width="stretch")
    st.markdown("The dashed line is the **population** prediction (`predict(fit, re.form=NA)`: fixed "
                "effects only, one per sex); the solid line adds the family's and the individual's random "
                "effects. Residuals that trend over time for one person mean the model misses their shape.")
else:
    st.info("Pick at least one individual.")

st.header("Residual spread over time")
lreg_formula, lreg_data = mb.LM_FORMULAS["LReg"]
candidates = {
    "lm LReg (FamID*Time + IndID*Time)": ui.fit_linear(lreg_formula, lreg_data),
    "MModTime2 (1 + Time | FamID)": ui.fit(mb.TUTORIAL_FORMULAS["MModTime2"][0], True, "all"),
    "MModTime4 (… + (1 + Time | Sex:IndID))": ui.fit(mb.TUTORIAL_FORMULAS["MModTime4"][0], True, "all"),
}
if outcome.data == "all" and mb.tutorial_name(outcome.formula, "all") not in ("MModTime2", "MModTime4"):
    candidates[f"{name} (on screen)"] = outcome
residuals = {k: (o.fit.residuals() if callable(o.fit.residuals) else o.fit.residuals)
             for k, o in candidates.items() if o.ok}
spread = spread_table(residuals, slice_frame("all")["Time"].to_numpy())
st.altair_chart(residual_spread(spread), width="stretch")
summary = spread_summary(spread)
st.table(summary.set_index("model").map(lambda v: f"{v:.3f}"))
st.markdown(
    """
A model that leaves out how individuals differ over time pushes those differences into the
residuals, whose spread then **grows with time** as people drift apart. Lines per family
absorb part of it; a line per **person** (`Sex:IndID`) absorbs most, leaving small residuals
of about the same spread at every month. (lm's LReg gives each IndID *code* a line — two
people each — so it cannot get there.)
""")

exercises.show("qaqc", fit=fit, name=name, spread=summary)
