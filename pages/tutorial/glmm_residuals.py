"""GLMM residuals: QA/QC of binomial and Poisson glmer fits by simulated (DHARMa-style) residuals."""
import streamlit as st

from lib.teach import glmm_residuals as gr
from lib.teach.glmm_page import MODELS
from ui import exercises
from ui import mixed as ui
from ui.downloads import r_code
from ui.cache import glmm_check_charts, glmm_checks, glmm_fit
from ui.widgets import show_chart

st.title("GLMM residuals")
st.markdown(
    """
The QA/QC page checks that a linear mixed model's residuals are normal with one spread. For a
binomial or Poisson model the raw residuals are neither, even when the model is right: a 0/1
outcome leaves residuals in two bands. **Simulated residuals** (R's DHARMa) make them comparable:

1. simulate the response many times from the fitted model;
2. for each observation, see where its observed value falls among its own simulations: below all
   of them gives 0, above all gives 1, in the middle 0.5 (ties among counts are broken at random).

If the model is right these **scaled residuals are uniform** between 0 and 1 — for any family.
""")
ui.tutorial_note("not in the tutorial; R's DHARMa: `res <- simulateResiduals(fit); plot(res); testDispersion(res)`")

a, b = st.columns([1.3, 1])
key = a.radio("Model", list(gr.RANDOM_PARTS), format_func=lambda k: MODELS[k].title, key="gr_model")
random = b.radio("Random part", gr.RANDOM_PARTS[key], key=f"gr_random_{key}")
c, d, e = st.columns([1.2, 1, 1])
how = c.radio("Simulate with", ["conditional", "unconditional"], key="gr_how",
              index=0 if gr.DEFAULT_CONDITIONAL else 1,
              format_func={"conditional": "the fitted random effects (re.form = NULL)",
                           "unconditional": "new random effects (re.form = NA)"}.get)
nsim = d.select_slider("Simulations", gr.NSIM_CHOICES, value=gr.DEFAULT_NSIM, key="gr_nsim")
seed = int(e.number_input("Seed", 1, 99999, gr.DEFAULT_SEED, key="gr_seed"))

outcome = glmm_fit(key, random)
checks = None
model = MODELS[key]
st.markdown(f"**The model:** `glmer({outcome.formula}, family = {model.family})`")
if not outcome.ok:
    ui.show_failure(outcome, "fit")
else:
    for message in outcome.fit.all_messages:
        st.warning(f"lme4: {message}")
    checks = glmm_checks(key, random, nsim, seed, how == "conditional")
    res = checks.residuals
    cols = st.columns(4)
    for col, (label, test) in zip(cols, checks.tests.items()):
        col.metric(label, f"p = {test.p_value:.3g}", delta="flagged" if test.flagged() else "fine",
                   delta_color="inverse" if test.flagged() else "off",
                   help=f"{test.name}: {test.statistic_name} = {test.statistic:.4g}")
    qq, vs_predicted, dispersion, histogram = glmm_check_charts(key, random, nsim, seed, how == "conditional")
    left, right = st.columns(2)
    show_chart(qq, left)
    show_chart(vs_predicted, right)
    left, right = st.columns(2)
    show_chart(dispersion, left)
    show_chart(histogram, right)
    st.markdown(
        f"""
- **Uniformity** (QQ plot, Kolmogorov-Smirnov): {gr.verdict(checks.uniformity)}.
- **Dispersion** (observed spread {checks.dispersion.statistic:.3f} × the simulations'):
  {gr.verdict(checks.dispersion)}. Above 1: the data vary more than the model allows
  (*overdispersion*): standard errors too small, p-values too small.
- **Quantile lines**: the 25%, 50% and 75% quantiles of the residuals along the predicted value
  should lie flat on the dashed lines; a bend shows a missed pattern (a curve, a missing predictor).
- **Outliers** (observations beyond all {res.nsim} simulations): {gr.verdict(checks.outliers)}.
- **Pearson χ²** (sum of squared Pearson residuals / residual df = {checks.pearson.statistic:.3f}):
  {gr.verdict(checks.pearson)}; a mixed model's Pearson test leans towards underdispersion, so
  only a large ratio says much.
""")
    st.info(
        "**Months of 18 with (1 | FamID)**: people of one family differ more than a binomial allows, and "
        "the dispersion test flags it. Add `(1 | Sex:IndID)`, a random effect per person (here one row "
        "per person: an *observation-level* random effect), and simulate with new random effects: the "
        "extra variation is then part of the model. (Simulating with the fitted observation-level effects "
        "reproduces each observation too well, and the residuals crowd around 0.5.)",
        icon=":material/lightbulb:")
    r_code(f"library(lme4); library(DHARMa)\n{model.r_setup}\n"
           f"fit <- glmer({outcome.formula}, data = {model.data_name}, family = {model.family})\n"
           f'res <- simulateResiduals(fit, n = {nsim}, simulateREs = "{how}")  # DHARMa 0.5'
           + "\nplot(res); testDispersion(res); testUniformity(res); testOutliers(res)", "gr_r")

exercises.show("glmm_residuals", checks=checks, name="fit")
