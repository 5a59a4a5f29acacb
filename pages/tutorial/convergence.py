"""Convergence: MModTime3's message, the optimizer's trace, IndID 1's rows, the one-ulp story, and MModTime4."""
import altair as alt
import pandas as pd
import streamlit as st

from lib.data.slices import R_READ_TEXT, slice_frame
from lib.rprint.rformat import format_signif
from lib.teach import model_builder as mb
from lib.teach.convergence_story import (
    GRAD_TOL,
    LME4_STOPS,
    check_at,
    first_divergence,
    gradient_table,
    print_data_frame,
    relative_difference,
    reported_grad,
    verdict,
)
from lib.teach.explain import explain
from ui import exercises
from ui import mixed as ui
from ui.charts.mixed import SEX_COLOURS, optimizer_trace

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
    title="The model — and which reading of ImmuneData.csv (flip row 781 here)")

st.header("What the optimizer did")
st.markdown(
    """
`verbose=T` makes lme4 print the criterion at every evaluation of its search. Here it is as a
plot: a steep fall over the first ~100 evaluations, then a long crawl with hardly any
improvement — the search is wandering along a nearly flat ridge.
""")
if outcome is not None and outcome.ok:
    trace = outcome.fit.trace
    full_chart, gap_chart = optimizer_trace(trace, f"{name}: REML criterion per evaluation")
    c1, c2 = st.columns(2)
    c1.altair_chart(full_chart, width="stretch")
    c2.altair_chart(gap_chart, width="stretch")
    best = trace["criterion"].min()
    st.caption(f"{len(trace)} evaluations; best criterion {best:.6f}; last 100 evaluations improved it "
               f"by {trace['criterion'].iloc[:-100].min() - best if len(trace) > 100 else float('nan'):.2e}.")
    with st.expander("The trace as numbers (lme4's verbose output)"):
        st.dataframe(trace, hide_index=True, height=300)

st.header("Why: one IndID code, two people")
ui.tutorial_note('`Ind1 <- ImmuneDat %>% filter(IndID=="1"); print(Ind1)`')
full = slice_frame("all")
ind1 = full[full["IndID"].astype(str) == "1"]
left, right = st.columns([1, 1.2])
with left:
    st.caption("`print(Ind1)`")
    st.code(print_data_frame(ind1), language=None, height=340)
with right:
    st.altair_chart(alt.Chart(ind1.assign(Sex=ind1["Sex"].astype(str), FamID=ind1["FamID"].astype(str)))
                    .mark_point(filled=True, size=60).encode(
                        x=alt.X("Time:Q", title="Month (Time)"),
                        y=alt.Y("IgG:Q", title="IgG", scale=alt.Scale(zero=False)),
                        color=alt.Color("Sex:N", scale=SEX_COLOURS),
                        tooltip=["FamID:N", "IndID:N", "Sex:N", "Time:Q", alt.Tooltip("IgG:Q", format=".3f")])
                    .properties(title="IndID 1: two people (colour = Sex)", height=320), width="stretch")
fams = ind1.groupby(ind1["Sex"].astype(str), observed=True)["FamID"].first().astype(str).to_dict()
st.markdown(
    f"""
Each IndID code holds **two people, one male and one female** — the tutorial calls them
brother and sister, though in the data the two are often in different families (IndID 1's
female is in family {fams.get('F', '?')}, its male in family {fams.get('M', '?')}). `(1 + Time | IndID)` asks for **one line per code**, i.e. one
intercept and slope shared by two different people. This coding of IndID cannot carry a
slope per code: the model is at the edge of what the data can estimate.
""")

st.header("The whole story: one value, one unit in the last place")
st.markdown(
    f"""
The tutorial's message is not what lme4 says on the exact data. R's `read.csv` reads one of
the 4,860 IgG values of ImmuneData.csv — row 781 (FamID 2, IndID 45, Time 3, M), written
`{R_READ_TEXT}` — as **136.50846181521501**, one unit in the last place (ulp) above the
correctly rounded **136.50846181521499** that pandas (and this app) reads. Every other model is
unmoved. MModTime3 is not:

- on **R's reading**, lme4 stops with *Model failed to converge with max|grad| = 0.0211755*;
- on the **exact values**, lme4 ends with the IndID slope variance at **zero** and reports
  *boundary (singular) fit*.

Both say the same thing — this coding of IndID cannot carry a slope per code. The model sits on
the edge of its parameter space, where the optimizer's stopping point is decided by rounding:
R's own path on the two inputs is bit-identical for 210 evaluations and then diverges, and an
engine running the same algorithm (like this app's) may stop at either verdict. Flip the reading
in the model box above and refit to see this engine's verdict.
""")


@st.cache_data(max_entries=4, show_spinner="Re-running lme4's convergence check …")
def lme4_check(data: str):
    stop = LME4_STOPS[data]
    res = check_at(slice_frame(data), stop.theta)
    return res, gradient_table(res)


rows = []
details = {}
for key, stop in LME4_STOPS.items():
    res, grad = lme4_check(key)
    ours = ui.fit(mb.TUTORIAL_FORMULAS["MModTime3"][0], True, key)
    ours_msg = (ours.messages[0] if ours.messages else "no message") if ours.ok else f"no fit: {ours.error}"
    rows.append({
        "input": stop.label,
        "lme4's message": stop.message,
        "lme4's check, evaluated here at lme4's theta": res.messages[0] if res.messages else "no message",
        "this engine's own fit": ours_msg,
        "IndID.Time theta (lme4 → here)":
            f"{stop.theta[2]:.6g} → {ours.fit.theta.iloc[2]:.6g}" if ours.ok else f"{stop.theta[2]:.6g}",
    })
    details[key] = (stop, res, grad, ours)
table = pd.DataFrame(rows).set_index("input")
st.table(table)

c1, c2 = st.columns(2)
for col, key in zip((c1, c2), LME4_STOPS):
    stop, res, grad, ours = details[key]
    with col:
        st.markdown(f"**At lme4's stopping point on {stop.label}**")
        st.metric("lme4's verdict", verdict([stop.message]))
        if res.max_min_grad is not None:
            skipped = " (lme4 stops at 'singular' and never checks it)" if res.singular else ""
            st.metric("max|grad| by lme4's check, here" + skipped, format_signif(res.max_min_grad, 6),
                      help=f"tolerance {GRAD_TOL:g}: max over parameters of min(|scaled gradient|, |gradient|)")
        same = res.messages[:1] == [stop.message]
        lme4_grad = reported_grad(stop.message)
        if same:
            st.success("lme4's check, evaluated with this engine's criterion, gives lme4's message word for word.")
        elif verdict(res.messages) == verdict([stop.message]):
            rel = relative_difference(res.max_min_grad, lme4_grad) if lme4_grad and res.max_min_grad else None
            st.info("Same verdict as lme4" + (f"; max|grad| agrees to a relative {rel:.0e} "
                    f"({format_signif(res.max_min_grad, 6)} here, {lme4_grad:g} in lme4's message). The 6th "
                    "digit is round-off: the finite-difference Hessian divides criterion differences of "
                    "~1e-11 by 1e-8, so one ulp of the criterion moves it. (lme4 itself gives 0.0211756 "
                    "at the 15-digit theta stored in the reference, 0.0211755 at its unrounded optimum.)" if rel is not None else "."))
        else:
            st.warning(f"Here the check says: {res.messages[0] if res.messages else 'nothing'}")
        st.dataframe(grad.style.format("{:.6g}"))

if all(d[3].ok for d in details.values()):
    (_, _, _, a), (_, _, _, b) = details["all"], details["all_r_read"]
    div = first_divergence(a.fit.trace, b.fit.trace)
    st.markdown(
        f"""
**This engine** on the two inputs: {verdict(a.messages)} (exact) and {verdict(b.messages)} (R's
reading); its two optimizer paths are {'identical throughout' if div is None else
f'identical for {div - 1} evaluations, then diverge'}. lme4's own paths split after 210.
""")
ex = explain(LME4_STOPS["all"].message)
st.info(f"**In plain words.** Both messages are symptoms of one problem: the IndID slope variance "
        f"wants to be zero. Whether the optimizer lands exactly on zero (singular) or stops a hair "
        f"above it on a flat ridge (gradient warning) depends on the last bit of one number. "
        f"What to do is the same either way: {ex.tries[2]}", icon=":material/lightbulb:")

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

exercises.show("convergence", fit=exercises.fit_of(out4), name=name4, data=full)
