"""Convergence: where lme4's optimizer stops and where the optimum is; MModTime3's two verdicts in lme4,
one here; a model where lme4 stops far off; why IndID cannot carry a slope; and the fix, MModTime4."""
import streamlit as st

from lib.data.slices import slice_frame
from lib.rprint.rformat import format_signif
from lib.teach import model_builder as mb
from lib.teach.convergence_story import (
    DOUBLE_BAR,
    GRAD_TOL,
    LME4_STOPS,
    far_stop,
    far_stop_story,
    first_divergence,
    gradient_table,
    one_ulp_story,
    print_data_frame,
    readings_story,
    readings_table,
    replays_story,
    two_people,
    verdict,
)
from lib.teach.determination import LME4_STOP_GAP, digit_story, digit_table
from lib.teach.explain import explain
from ui import cache
from ui import exercises
from ui import mixed as ui
from ui.tables import text_table
from ui.widgets import on_demand, show_chart

st.title("Convergence")
st.markdown(
    """
Next the tutorial tries a separate random intercept **and slope for each individual**,
`(1 + Time | IndID)`, on top of the family's. Again only variances are estimated — of the
individual intercepts and slopes and their correlation — not one line per person.
""")
ui.tutorial_note("`MModTime3 <- lmer(IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | IndID), "
                 "data=ImmuneDat)` → *Model failed to converge with max|grad| = 0.0211755 (tol = 0.002, component 1)*")
spec, outcome, name = ui.chosen_model(
    "cv", mb.tutorial_spec("MModTime3"), "MModTime3", slices=("all", "all_r_read", "time0"),
    title="The model — and which reading of ImmuneData.csv (row 781: see below)")

st.header("Where lme4 stops, and where the optimum is")
st.markdown(
    """
`verbose=T` makes lme4 print the criterion at every evaluation of its search. lme4's optimizer
(BOBYQA) stops when its steps become small, **not** when the criterion is at its minimum: on a flat
criterion it can stop a little above it. This app takes its own path, with the criterion's exact
gradient (Newton steps on an estimated Hessian, L-BFGS where that estimate fails, then Newton
steps on a differenced one), to the optimum; lme4's checks, and the summary above, are those
of the optimum. Below, lme4's path is replayed on this machine beside this app's, each evaluation
drawn by how far above the optimum it is.
""")
if outcome is not None and outcome.ok:
    fit = outcome.fit
    rp = cache.lme4_replay(outcome.formula, outcome.REML, outcome.data)
    show_chart(cache.lme4_path_chart(outcome.formula, outcome.REML, outcome.data, name))
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("lme4's path: evaluations", rp.evaluations)
    m2.metric("lme4 stops above the optimum", f"{rp.gap:.2e}", help="criterion at lme4's stop minus the optimum's")
    m3.metric("lme4's check where it stops", rp.check.verdict)
    m4.metric("lme4's check at the optimum", verdict(list(fit.all_messages)))
    st.caption("The replay depends on the last bits of every evaluation: another machine, another row order "
               "or one unit in the last place of one value can stop it elsewhere, with another message. "
               "The optimum does not move.")
    with on_demand("How well does the model determine each number summary() prints?", "cv_digits") as shown:
        if shown:
            st.markdown(digit_story(LME4_STOP_GAP))
            text_table(digit_table(cache.digit_costs(outcome.formula, outcome.REML, outcome.data)))

st.header("The tutorial's warning, and one unit in the last place")
st.markdown(one_ulp_story())
readings = [cache.mmodtime3_reading(key) for key in LME4_STOPS]
text_table(readings_table(readings))
st.markdown(readings_story(readings))
for col, r in zip(st.columns(2), readings):
    with col:
        st.markdown(f"**lme4's check at lme4's point, on {r.stop.label}**")
        st.metric("lme4's verdict", verdict([r.stop.message]))
        if r.check.max_min_grad is not None and not r.check.singular:  # lme4 stops at "singular"
            st.metric("max|grad| by lme4's check, here", format_signif(r.check.max_min_grad, 6),
                      help=f"tolerance {GRAD_TOL:g}: max over parameters of min(|scaled gradient|, |gradient|)")
        if r.check.messages[:1] == [r.stop.message]:
            st.success("lme4's check, run here at lme4's point, gives lme4's message word for word.")
        elif r.check.verdict == verdict([r.stop.message]):
            st.info("Same verdict as lme4. The 6th digit of max|grad| is round-off: the finite-difference "
                    "Hessian divides criterion differences of ~1e-11 by 1e-8, so one ulp of the criterion moves "
                    "it. (lme4 itself gives 0.0211756 at the 15-digit theta stored in the reference.)")
with on_demand("The gradient lme4's check computes at each stop, parameter by parameter", "cv_gradients") as shown:
    if shown:
        for col, r in zip(st.columns(2), readings):
            col.caption(f"On {r.stop.label}")
            col.dataframe(gradient_table(r.check).style.format("{:.6g}"))
replays = {key: cache.lme4_replay(mb.TUTORIAL_FORMULAS["MModTime3"][0], True, key) for key in LME4_STOPS}
st.markdown(replays_story(first_divergence(replays["all"].path, replays["all_r_read"].path),
                          {key: rp.check.verdict for key, rp in replays.items()}))
st.info(f"**In plain words.** Both messages are symptoms of one problem: IndID's slopes want to be an exact "
        f"multiple of its intercepts (a correlation of 1), at the edge of what the model allows. Whether "
        f"lme4 stops exactly on that edge (singular) or a hair off it (gradient warning) depends on the last "
        f"bit of one number. What to do is the same either way: {explain(LME4_STOPS['all'].message).tries[2]}",
        icon=":material/lightbulb:")

st.header("When lme4 stops far from the optimum")
far = far_stop()
far_fit = cache.fit_lmer(DOUBLE_BAR, True, "all")
far_replay = cache.lme4_replay(DOUBLE_BAR, True, "all")
st.markdown(far_stop_story(far, far_replay.gap if far_replay else None,
                           far_replay.check.verdict if far_replay else None))
with on_demand("The two summaries side by side: lme4's stop and the optimum", "cv_far") as shown:
    if shown:
        left, right = st.columns(2)
        left.caption("lme4 1.1-31's `summary()` at its default stop (R's print)")
        left.code("> summary(m)  # lme4 1.1-31, its default fit\n" + far.printed + "\n" + "\n".join(far.messages),
                  language=None, wrap_lines=True)
        right.caption("This app's `summary()`: the optimum")
        if far_fit.ok:
            right.code("> print(m.summary())  # this app\n" + cache.fit_texts(DOUBLE_BAR, True, "all")[0],
                       language=None, wrap_lines=True)

st.header("Why: one IndID code, two people")
ui.tutorial_note('`Ind1 <- ImmuneDat %>% filter(IndID=="1"); print(Ind1)`')
ind1, fams = two_people(slice_frame("all"), "1")
left, right = st.columns([1, 1.2])
with left:
    st.caption("`print(Ind1)`")
    st.code(print_data_frame(ind1), language=None, height=340)
with right:
    show_chart(cache.one_code_chart("1"))
st.markdown(
    f"""
In ImmuneData, {cache.id_pairs('all').sentence()} (IndID 1's female is in family
{fams.get('F', '?')}, its male in family {fams.get('M', '?')}). `(1 + Time | IndID)` asks for **one line per
code**, i.e. one intercept and slope shared by two different people. This coding of IndID cannot carry a
slope per code: the model is at the edge of what the data can estimate.
""")

st.header("The fix: a unique code per person")
st.markdown(
    """
Recode so every *individual* has a unique ID, or use the **Sex-by-IndID interaction** as the
grouping factor: `Sex:IndID` has 270 levels, one per person. Compare with the model without
individual regressions:
""")
ui.tutorial_note("`MModTime4 <- lmer(IgG ~ Sex * Time + (1 + Time|FamID) + (1 + Time|Sex:IndID), "
                 "data=ImmuneDat); summary(MModTime4); lrtest(MModTime2, MModTime4)`")
spec4, out4, name4 = ui.chosen_model("cv4", mb.tutorial_spec("MModTime4"), "MModTime4",
                                     title="The fixed model (the tutorial's MModTime4)")
data4 = spec4.data if spec4 else "all"
reml4 = spec4.REML if spec4 else True
out2 = ui.fit(mb.TUTORIAL_FORMULAS["MModTime2"][0], reml4, data4)
name2 = "MModTime2" if reml4 else "MModTime2_ML"
st.subheader(f"`lrtest({name2}, {name4})`")
if out4 is not None:
    ui.show_lrt([out2, out4], [name2, name4], f"lrtest({name2}, {name4})")
    if out4.ok and not out4.messages:
        st.markdown("No more convergence messages, and a highly significant LRT: this model fits far "
                    "better. Fixed effects: the overall intercept and slope (Time), the males' "
                    "deviation in intercept (SexM) and in slope (SexM:Time).")

exercises.show("convergence", fit=exercises.fit_of(out4), name=name4, data=slice_frame("all"))
