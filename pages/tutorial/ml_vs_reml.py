"""ML vs REML: one model by both, why REML's variances are larger, and the two criteria as curves."""
import streamlit as st

from lib.teach import model_builder as mb
from lib.teach.reml_ml import COMPARISONS, formatted_side_by_side, side_by_side
from ui import cache
from ui import exercises
from ui import mixed as ui
from ui.tables import text_table
from ui.widgets import show_chart

st.title("ML vs REML")
st.markdown(
    """
lme4 finds the variance components by searching for the values that make the data most
likely: **maximum likelihood (ML)**. By default it maximises a slightly different
criterion, the **restricted (residual) likelihood, REML**: the likelihood of what is left
after the fixed effects are taken out. ML treats the estimated fixed effects as if they
were known, so it under-estimates the variances — by about the share of degrees of
freedom the fixed effects use up. REML accounts for them, so **REML's variances are larger**.
""")

spec, problem = ui.model_chooser("mr", mb.tutorial_spec("MMod"), title="The model (fitted both ways)",
                                 allow_reml=False)
if spec is None:
    st.info(problem)
    st.stop()
formula = mb.display_formula(spec)
reml = ui.fit(formula, True, spec.data)
ml = ui.fit(formula, False, spec.data)
base = mb.display_name(spec.with_(REML=True), "model")

if reml.ok and ml.ok:
    st.subheader("Estimates side by side")
    text_table(formatted_side_by_side(side_by_side(reml.fit, ml.fit)))
    n, p = reml.fit.nobs, len(reml.fit.fixef)
    vc_r, vc_m = reml.fit.varcorr, ml.fit.varcorr
    res_r = float(vc_r.loc[vc_r["grp"] == "Residual", "vcov"].iloc[0])
    res_m = float(vc_m.loc[vc_m["grp"] == "Residual", "vcov"].iloc[0])
    st.markdown(
        f"""
- The **fixed effects** barely move; their **standard errors** shrink under ML.
- The **residual variance** shrinks by about (n − p)/n = ({n} − {p})/{n} = {(n - p) / n:.4f}
  (here {res_m / res_r:.4f}).
- The **group variances** shrink more: the fixed effects are estimated from few groups
  (e.g. 8 families), and ML does not charge them the degrees of freedom they use.
""")
else:
    st.info("A fit failed; see below.")

left, right = st.columns(2)
with left:
    st.subheader(f"By REML: `{base}`")
    ui.show_fit(reml, base, tables=False, calls=False)
with right:
    st.subheader(f"By ML: `{base}_ML`")
    ui.show_fit(ml, f"{base}_ML", tables=False, calls=False)
ui.show_calls_pair(formula, spec.data, base, key="mr")

st.header("Which likelihood does a comparison need?")
text_table(COMPARISONS.set_index("comparison"))

st.header("The two criteria as curves")
single = reml.ok and len(reml.fit.theta) == 1
curve_formula, curve_data = (formula, spec.data) if single else mb.TUTORIAL_FORMULAS["MMod"]
if not single:
    st.caption("The chosen model has more than one variance parameter, so the curves are drawn for "
               "the tutorial's MMod (one variance: FamID).")


curves, optima = cache.criterion_curves(curve_formula, curve_data)
group = mb.random_groups(curve_formula)[0]
st.markdown(
    f"""
For a model with one variance, lme4 searches over one number, θ = σ<sub>{group}</sub>/σ. At each
θ the fixed effects and σ are solved for directly (they are *profiled out*), which leaves the
criterion as a curve in θ. Below, θ runs over a grid and each point is converted to the
standard deviation among groups, σ<sub>{group}</sub> = θ·σ(θ), the scale of the summary's *Std.Dev.*;
curves are shifted so that each minimum is 0. The diamonds are lme4's estimates.
""", unsafe_allow_html=True)
zoom = st.toggle("Zoom on the optima", value=True, key="mr_zoom",
                 help="Off: the whole grid from θ = 0, where the criteria are far higher")
show_chart(cache.criterion_chart(curve_formula, curve_data, zoom))
cols = st.columns(4)
for col, (_, o) in zip(cols, optima.iterrows()):
    col.metric(f"{o['method']}: SD of {group} at the optimum", f"{o['sd']:.4g}",
               help=f"theta = {o['theta']:.6g}, sigma = {o['sigma']:.6g}")
for col, (_, o) in zip(cols[2:], optima.iterrows()):
    col.metric(f"{'REML criterion' if o['method'] == 'REML' else 'deviance'} at the optimum",
               ui.r_round1(o["criterion"]))
st.markdown("The ML curve reaches its minimum at a **smaller** standard deviation: the downward bias REML "
            "removes. The two minima are of different criteria — their heights are not comparable.")

exercises.show("ml_vs_reml", reml=exercises.fit_of(reml), ml=exercises.fit_of(ml), name=base)
