"""QA/QC: residuals of the model on screen, per-individual lines, and residual spread over time."""
import streamlit as st

from lib.data.immune import individual_choices
from lib.data.slices import slice_frame
from lib.teach import model_builder as mb
from lib.teach.qaqc import individuals_in_family, spread_models
from ui import cache
from ui import exercises
from ui import mixed as ui
from ui.tables import text_table
from ui.widgets import people_picker, show_chart

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

st.header("Residuals of the model on screen")
rf, qq = cache.residual_charts(outcome.formula, outcome.REML, outcome.data, name)
a, b = st.columns(2)
show_chart(rf, a)
show_chart(qq, b)
q = fit.scaled_resid_quantiles
st.caption("Scaled residuals (Pearson / σ): min {:.4f}, 1Q {:.4f}, median {:.4f}, 3Q {:.4f}, max {:.4f} — "
           "the summary's *Scaled residuals* line.".format(*q))

st.header("Each individual's line")
how = st.radio("Choose", ["Individuals", "A whole family"], horizontal=True, key="qa_how")
if how == "Individuals":
    chosen = people_picker("Individuals (IndID-Sex)", individual_choices(data), ["1-F", "1-M"], key="qa_people",
                           max_selections=12)
else:
    fam = st.selectbox("Family (FamID)", [str(k) for k in range(1, 9)], key="qa_family")
    chosen = individuals_in_family(data, fam)
    st.caption(f"Family {fam}: {len(chosen)} people")
if chosen:
    show_chart(cache.individuals_chart(outcome.formula, outcome.REML, outcome.data, tuple(chosen)))
    st.markdown("The dashed line is the **population** prediction (`predict(fit, re.form=NA)`: fixed "
                "effects only, one per sex); the solid line adds the family's and the individual's random "
                "effects. Residuals that trend over time for one person mean the model misses their shape.")
else:
    st.info("Pick at least one individual.")

st.header("Residual spread over time")
chart, summary = cache.spread_over_time(spread_models(outcome.formula, outcome.REML, outcome.data, name))
show_chart(chart)
text_table(summary.set_index("model").map(lambda v: f"{v:.3f}"))
st.markdown(
    """
A model that leaves out how individuals differ over time pushes those differences into the
residuals, whose spread then **grows with time** as people drift apart. Lines per family
absorb part of it; a line per **person** (`Sex:IndID`) absorbs most, leaving small residuals
of about the same spread at every month. (lm's LReg gives each IndID *code* a line — two
people each — so it cannot get there.)
""")

exercises.show("qaqc", fit=fit, name=name, spread=summary)
