"""Generalized mixed models: binomial (0/1 and successes out of trials) and Poisson glmer fits."""
import streamlit as st

from lib.api import anova
from lib.engine.family import LINKS
from lib.teach import glmm_page as gp
from ui import cache
from ui import exercises
from ui.downloads import r_code
from ui.widgets import show_chart

fit = cache.fit_glmm


def reset_for_model() -> None:
    m = gp.MODELS[st.session_state["glmm_model"]]
    st.session_state["glmm_family"] = m.family
    st.session_state["glmm_link"] = LINKS[m.family][0]


st.title("Generalized mixed models")
st.markdown(
    """
IgG is a concentration, and a normal residual suits it. Many outcomes are not like that:
*was this person's IgG low (below 100) this month?* is 0 or 1, *how many of 18 months
was it low?* is a count out of 18, and *how many events at this dose?* is a count with no
upper limit. A **generalized** linear mixed model keeps the random effects but models the
mean through a **link** (logit for probabilities, log for rates) and takes the spread from
the distribution (binomial, Poisson) instead of a separate residual variance.
""")

st.header("Why a normal residual does not fit a 0/1 outcome")
nm = cache.glmm_misfit()
st.markdown(
    f"""
Fit the linear mixed model `lmer({nm.formula})` to the 0/1 outcome anyway. Each
observation's residual is either 0 − fitted or 1 − fitted: the residuals lie on **two
lines**, never on a normal cloud, their spread depends on the fitted value, and the
"probabilities" it predicts leave [0, 1].
""")
a, b, c = st.columns(3)
a.metric("Fitted values below 0", f"{nm.below0} of {nm.n}")
b.metric("Fitted values above 1", f"{nm.above1} of {nm.n}")
c.metric("Distinct residual bands", "2")
show_chart(cache.misfit_chart())

st.header("Fit a generalized mixed model")
if "glmm_model" not in st.session_state:
    st.session_state["glmm_model"] = "binary"
    reset_for_model()
left, right = st.columns([1.3, 1])
with left:
    key = st.radio("Model", list(gp.MODELS), format_func=lambda k: gp.MODELS[k].title,
                   key="glmm_model", on_change=reset_for_model)
    model = gp.MODELS[key]
    terms = st.multiselect("Fixed terms", list(model.terms), default=list(model.default_terms),
                           key=f"glmm_terms_{key}")
with right:
    family = st.selectbox("Distribution (R's `family =` argument)", list(gp.FAMILIES), key="glmm_family",
                          help="The distribution of the response, binomial or Poisson: not FamID's families. "
                               "The grouping factor is in the formula, `(1 | FamID)` or `(1 | Site)`.")
    links = list(LINKS[family])
    if st.session_state.get("glmm_link") not in links:
        st.session_state["glmm_link"] = links[0]
    link = st.selectbox("Link", links, key="glmm_link")
    nagq = st.select_slider("nAGQ (1 = Laplace; more = adaptive Gauss-Hermite; 0 = fastest)",
                            [0, 1, 3, 5, 9], value=1, key="glmm_nagq")

terms = tuple(t for t in model.terms if t in terms)
outcome = fit(key, family, link, terms, nagq)
st.markdown(f"**The model:** `glmer({outcome.formula}, family = {gp.family_call(family, link)})`")
if not outcome.ok:
    st.error(f"Cannot fit this model: {outcome.error}")
    st.stop()
g = outcome.fit
est_words, ratio_words = gp.scale_words(g)

cols = st.columns(5)
for col, (label, value) in zip(cols, gp.headline(g).items()):
    col.metric(label, value)
st.caption("summary() prints −2 logLik in its *deviance* column (and anova() uses it); lme4's "
           "`deviance()` of a glmer fit is the sum of squared deviance residuals, a different number.")
for m in g.all_messages:
    st.warning(f"lme4: {m}")
agq = gp.agq_note(g)
if agq and nagq > 1:
    st.info(agq, icon=":material/lightbulb:")
elif agq:
    st.caption(f"With nAGQ > 1 this logLik would move by {abs(gp.saturated_loglik(g)):.1f}: lme4 then reports "
               "it relative to the saturated model (choose nAGQ = 3 to see why).")

# the Tables tab is made only when chosen (a lazy tab): its data grids would cost every first visit
out_tab, tables_tab = st.tabs(["R output", "Tables"], key="glmm_view", on_change="rerun")
with out_tab:
    st.code(f"> summary(fit)\n{g.summary(model.data_name)}", language=None)
with tables_tab:
    if tables_tab.open:
        st.markdown(f"**Fixed effects, as {est_words}**")
        st.dataframe(gp.estimates_table(g), column_config={
            c: st.column_config.NumberColumn(format="%.5f") for c in ("Estimate", "Std. Error")} | {
            "z value": st.column_config.NumberColumn(format="%.3f")})
        if g.family.link in ("logit", "log"):
            st.markdown(f"**The same as {ratio_words}** (exp of the estimates, 95% Wald limits)")
            ratios = gp.ratio_table(g)
            st.dataframe(ratios, column_config={c: st.column_config.NumberColumn(format="%.4f") for c in ratios})
        else:
            st.info("With the probit link the estimates are shifts on the standard-normal scale; "
                    "exp() of them is not an odds ratio. Choose the logit link for odds ratios.")
        st.markdown("**Random effects** (variance on the link scale; no residual variance)")
        st.dataframe(gp.variance_table(g), hide_index=True, column_config={
            c: st.column_config.NumberColumn(format="%.4f") for c in ("Variance", "Std.Dev.")})

st.header("Predicted means per group")
sex = "both"
if model.x == "Time":
    sex = st.radio("Show", ["F", "M", "both"], horizontal=True, key="glmm_sex",
                   format_func=lambda s: {"F": "females", "M": "males", "both": "both sexes (dashed: M)"}[s])
show_chart(cache.glmm_prediction_chart(key, family, link, terms, nagq, sex))
st.markdown(
    f"""
Each {model.group} has its own curve: the random intercept shifts the curve on the
**link** scale, so on the probability (or count) scale the families differ most where the
curves are steep. The black curve sets every random effect to zero; it is not the average
of the coloured curves, because the inverse link is not a straight line.
""")

if key == "binary" and "Sex:Time" in terms:
    st.header("Is the interaction needed?")
    reduced = fit(key, family, link, tuple(t for t in terms if t != "Sex:Time"), nagq)
    if reduced.ok:
        res = anova(reduced.fit, g, names=["fit0", "fit"], data_name=model.data_name)
        st.code(f"> fit0 <- update(fit, . ~ . - Sex:Time)\n> anova(fit0, fit)\n{res.text}", language=None)

st.header("The calls")
a, b = st.columns(2)
a.markdown("**R (lme4)**: runs as it stands beside the files below")
with a:
    r_code(gp.r_code(model, outcome.formula, family, link, nagq), "glmm_r")
b.markdown("**Python (this app's lib)**")
b.code(gp.py_code(model, outcome.formula, family, link, nagq), language="python")

exercises.show("glmm", fit=g)
