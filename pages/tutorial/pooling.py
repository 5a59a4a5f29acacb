"""Partial pooling: each unit's own estimate, complete pooling and the mixed model's, live."""
import numpy as np
import streamlit as st

from lib.rprint.rformat import format_signif
from lib.teach import model_builder as mb
from lib.teach.pooling import MODES, NOISE_FACTORS, TIMES, groups_of, median_shift
from ui import exercises
from ui import mixed as ui
from ui.cache import caterpillar_chart, pooling_chart, pooling_view, scaled_fit
from ui.widgets import on_demand, show_chart

st.title("Partial pooling")
st.markdown(
    """
A mixed model is said to **borrow strength**: each family's (or person's) estimate leans on the
others. Three ways to estimate a family's line show what that means:

- **no pooling**: fit the model to that family's rows alone (its *own* estimate; R's `lmList()`);
- **complete pooling**: one `lm()` for everybody, families ignored: every family gets the same line;
- **partial pooling**: the mixed model. Each family's line is its own estimate pulled towards the
  population's, the more the less its own rows say: few rows, noisy rows, or families that differ
  little (a small family variance).

Each arrow below runs from a unit's own estimate to the mixed model's. Make the data sparser or
noisier and watch the arrows grow.
""")


def data_controls(data: str) -> tuple[str, float, int]:
    """The slider that makes the data sparser or noisier: (mode, level, seed)."""
    modes = [m for m in MODES if m != "times" or data == "all"]
    mode = right.radio("The data", modes, format_func=MODES.get, horizontal=True, key="pp_mode")
    if mode == "times":
        a, b = st.columns([3, 1])
        level = a.select_slider("Months kept per person", TIMES, value=4, key="pp_times")
        return mode, float(level), int(b.number_input("Random seed", 1, 9999, 1, key="pp_seed"))
    if mode == "noise":
        return mode, float(st.select_slider("Residuals multiplied by", NOISE_FACTORS, value=2.0, key="pp_noise")), 1
    return mode, 1.0, 1


def show_pooling(pool, chart: dict, why_not: str | None, nobs: int) -> None:
    units, group, plane = pool.units, pool.group, len(pool.coords) == 2
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("rows in the fit", f"{nobs:,}")
    c2.metric(f"levels of {group}", f"{len(units)}")
    c3.metric("without an own estimate", f"{int(units['own_intercept'].isna().sum())}",
              help="Units whose rows do not determine the model's fixed part alone")
    c4.metric("median arrow (intercept)", format_signif(median_shift(pool), 3),
              help="The median distance between a unit's own intercept and the mixed model's")
    show_chart(chart, width="content")
    st.caption("Hollow circles: each unit's own estimate; arrowheads: the mixed model's; ✚ complete pooling "
               "(one lm for everybody); " + ("dashed: the model's 50% and 95% ellipses of the units' lines."
                                             if plane else "grey bar: the model's 95% range of the units."))
    if why_not:
        st.caption(f"No ellipse: {why_not}.")
    st.markdown(
        """
Lines are read at month 0 and per month. A unit that mixes both sexes (a family) is read for
females, the reference level; a person keeps their own sex and family, and the mixed model's line
for a person includes the family's random effect, so a person is pulled towards their family's line.
The ellipses show where the model expects the units' lines to lie: around the fixed effects, with
the summed covariance of the random terms that apply. Units with fewer rows have longer arrows.
""")
    with on_demand("The numbers behind the chart", "pp_numbers") as shown:
        if shown:
            st.dataframe(units, hide_index=True)


def show_caterpillar(chart: dict, group: str) -> None:
    st.header("Caterpillar plot: the conditional modes and their uncertainty")
    ui.tutorial_note("`lattice::dotplot(ranef(fit, condVar = TRUE))`")
    show_chart(chart, width="content")
    st.markdown(f"Each point is a level of **{group}** (the units chosen above) at its **conditional mode** "
                "(what `ranef()` prints), the bar ±1.96 conditional standard deviations (`condVar = TRUE`). "
                "Bars crossing 0 mark levels that the data cannot tell apart from the average; with less "
                "data, the bars widen and the points crowd towards 0.")


spec, outcome, name = ui.chosen_model("pp", mb.tutorial_spec("MModTime4"), "MModTime4", show=False,
                                      title="The mixed model")
pool = refit = group = None
if outcome is not None and not outcome.ok:
    ui.show_failure(outcome, name)
elif outcome is not None:
    with on_demand(f"summary({name}) on the data as measured", "pp_summary") as shown:
        if shown:
            ui.show_fit(outcome, name, calls=False)
    left, right = st.columns([1, 1.6])
    group = left.radio("Units", groups_of(outcome.fit), horizontal=True, key="pp_group",
                       help="Whose lines to compare: a grouping factor of the model")
    mode, level, seed = data_controls(spec.data)
    refit = scaled_fit(outcome.formula, spec.REML, spec.data, spec.response, mode, level, seed)
    if refit.ok:
        ui.show_explanations(refit)
    else:
        ui.show_failure(refit, name)

if refit is not None and refit.ok:
    run = (outcome.formula, spec.REML, spec.data, spec.response, mode, level, seed)
    slope = "Time" if spec.data == "all" else None
    try:
        pool, _, why_not = pooling_view(*run, group, slope)
        chart = pooling_chart(*run, group, slope)
    except (ValueError, np.linalg.LinAlgError) as err:
        st.error(f"Cannot compare the estimates for this model: {err}")
    else:
        show_pooling(pool, chart, why_not, refit.fit.nobs)
    show_caterpillar(caterpillar_chart(*run, group), group)

exercises.show("pooling", units=pool.units if pool else None, group=group or "FamID",
               fit=exercises.fit_of(refit), name=name)
