"""Fixed or random? An experiment: simulate a one-way design many times, fit lm and lmer, compare."""
import pandas as pd
import streamlit as st

from lib.engine.oneway_experiment import LM_FORMULA, LMER_FORMULA, Design
from lib.teach.fixed_or_random import (
    COUNTS,
    DEFAULT_COUNT,
    DEFAULT_DESIGN,
    DEFAULT_SEED,
    binomial_band,
    replicate_frame,
    summarize_frame,
)
from ui import exercises
from ui.cache import (
    experiment,
    experiment_results,
    finished_experiment,
    replicate_runner,
)
from ui.charts.experiment import experiment_charts
from ui.charts.theme import to_spec
from ui.experiment import owner as experiment_owner
from ui.widgets import on_demand, show_chart

FIRST_WAIT = 0.2  # seconds a page run waits for the replicates before it shows those done so far
FIRST_RESULT = 1.0  # seconds it waits at most for the first replicate, on a busy server
REFRESH = 2.0  # seconds between two showings of a run that is under way

st.title("Fixed or random? An experiment")
st.markdown(
    f"""
The tutorial's rule of thumb — *random* when the groups stand for a larger population — can be
tried out. Below, data are **simulated** with a known truth: `groups` groups drawn from a population
of groups (group effects with SD *σ*<sub>group</sub>), each measured `n` times with residual SD *σ*.
Each replicate is fitted two ways:

- `lm({LM_FORMULA})`: the group as a **fixed** factor, a mean for each group;
- `lmer({LMER_FORMULA})` by REML and by ML: the group as a **random** effect, one variance.

Set the design, and the page repeats the experiment (seeded: the same settings give the same results).
""", unsafe_allow_html=True)

c1, c2, c3, c4 = st.columns(4)
d = DEFAULT_DESIGN
groups = c1.slider("Groups", 2, 30, d.groups, key="fr_groups")
per_group = c2.slider("Observations per group", 2, 30, d.per_group, key="fr_n")
sd_group = c3.slider("Group SD σ_group", 0.0, 5.0, d.sd_group, 0.1, key="fr_sd_group")
sd_resid = c4.slider("Residual SD σ", 0.1, 5.0, d.sd_resid, 0.1, key="fr_sd_resid")
c5, c6, c7 = st.columns([2, 1, 1.2])
count = c5.select_slider("Replicates", COUNTS, value=DEFAULT_COUNT, key="fr_count")
seed = int(c6.number_input("Seed", 1, 99999, DEFAULT_SEED, key="fr_seed"))
design = Design(groups, per_group, sd_group, sd_resid)
run_key = (design, seed)
results = experiment_results(design, seed)
runner, owner = replicate_runner(), experiment_owner()


def _pause(paused: bool) -> None:
    st.session_state["fr_paused"] = run_key if paused else None


def _done() -> int:
    return sum(i in results for i in range(count))


def _want() -> None:
    """Ask the runner for this run's replicates (restated at every showing: see its `patience`)."""
    ex = experiment(design)
    runner.want(owner, results, count, lambda i: ex.replicate(seed, i))


paused = st.session_state.get("fr_paused") == run_key
failed = runner.error(owner, results)  # a replicate of this run could not be fitted: it is not retried
if paused:
    runner.withdraw(owner)
elif _done() < count and failed is None:
    _want()
    if not runner.wait(results, count, FIRST_WAIT):  # a small run is shown whole, a big one as it accrues,
        runner.wait(results, 1, FIRST_RESULT)  # from its first replicate
missing = _done() < count
refreshing = missing and not paused and failed is None  # the results below show themselves again
with c7:
    st.button("Stop", key="fr_stop", on_click=_pause, args=(True,), disabled=not missing or paused,
              help="Stop the simulation; what has run so far is kept")
    st.button("Continue", key="fr_continue", on_click=_pause, args=(False,), disabled=not (missing and paused))


@st.fragment(run_every=REFRESH if refreshing else None)
def show_results() -> None:
    """The results of the replicates done so far; while the run goes on, shown again every REFRESH s."""
    failed = runner.error(owner, results)
    running = not paused and failed is None and _done() < count
    if running:
        _want()
    elif refreshing:  # ended since the page ran: the whole page again, buttons and all
        st.rerun()
    reps = [results[i] for i in range(count) if i in results]
    if failed is not None:
        st.error(f"A replicate could not be fitted, so the run stopped: {failed}")
    elif running:
        st.progress(len(reps) / count, text=f"Simulating: {len(reps)} of {count} replicates so far, each "
                    "simulated and fitted 3 times; the results below are of those and grow as they come")
    with runner.held():  # the student waits for this drawing, not for the next replicate
        if len(reps) == count:  # a finished run: its numbers and charts are made once, for everybody
            show(*finished_experiment(design, seed, count), stopped=False)
        elif reps:
            frame = replicate_frame(design, reps)
            summary = summarize_frame(design, frame)
            charts = tuple(to_spec(c) for c in experiment_charts(frame, summary, design.sd_group))
            show(frame, summary, charts, stopped=not running)
        else:
            show(None, None, (), stopped=not running)


def show(frame: pd.DataFrame | None, summary, charts: tuple, stopped: bool) -> None:
    if summary is None:
        if paused:
            st.info("No replicates yet: press Continue.")
        return
    if stopped:
        st.warning(f"Stopped after {summary.replicates} of {count} replicates; the results below are of those.")

    st.header("Does the interval recover the population mean?")
    coverage_chart, singular_chart, sd_chart, reml_ml_chart = charts
    left, right = st.columns([1, 1.2])
    show_chart(coverage_chart, left)
    right.markdown(
        f"""
The truth is a population of groups with mean {design.mean:g}. lm's interval covered it in
**{summary.lm_coverage:.0%}** of {summary.replicates} replicates, lmer's in **{summary.lmer_coverage:.0%}**.

lm answers a question about **these {groups} groups**: its standard error counts only the residual
noise, as if the next study would measure the same groups again. When groups vary (σ<sub>group</sub> > 0)
the mean of another set of groups differs by more than that, so lm's interval misses the population
mean far more often than 5%. lmer's intercept is an estimate of the population mean; its Wald
interval is a little too narrow with few groups (it ignores the uncertainty of the variance).
""", unsafe_allow_html=True)

    st.header("Whose group means are closer to the truth?")
    m1, m2, m3 = st.columns(3)
    m1.metric("lm: RMSE of the group means", f"{summary.lm_rmse:.3f}")
    m2.metric("lmer: RMSE of the group means", f"{summary.lmer_rmse:.3f}",
              delta=f"{summary.lmer_rmse - summary.lm_rmse:+.3f}", delta_color="inverse")
    m3.metric("lmer better in", f"{(frame['lmer RMSE'] < frame['lm RMSE']).mean():.0%} of replicates")
    st.markdown("lm estimates each group by its own mean; lmer pulls each towards the overall mean "
                "(partial pooling, the previous page). Over many replicates the pulled means are closer to "
                "the true group means on average, most when groups are small and noisy.")

    st.header("The group variance, with few groups")
    a, b = st.columns([1, 1.3])
    show_chart(singular_chart, a, width="content")
    low, high = binomial_band(summary.reml_singular_theory, summary.replicates)
    b.markdown(
        f"""
lmer estimated the group variance as **exactly 0** (a singular fit) in **{summary.reml_singular:.0%}**
of the REML fits and **{summary.ml_singular:.0%}** of the ML fits. That happens whenever the group
means differ less than their residual noise alone would make them: then the ANOVA estimate
(MS<sub>group</sub> − MS<sub>resid</sub>)/n is negative (here in **{summary.anova_negative:.0%}** of
replicates) and lmer stops at the boundary, 0.

For a balanced design the chance is known: {summary.reml_singular_theory:.1%} for REML and
{summary.ml_singular_theory:.1%} for ML (the ratio of the mean squares is a scaled F variable).
With {summary.replicates} replicates the simulated REML share should fall between {low:.1%} and
{high:.1%} about 95% of the time. A singular fit does not mean the groups are identical; with
{groups} groups there is little information about their variance.
""", unsafe_allow_html=True)
    c, d = st.columns(2)
    show_chart(sd_chart, c)
    show_chart(reml_ml_chart, d)
    st.markdown(
        f"""
**REML against ML.** The mean estimated group variance is **{summary.reml_mean_var:.3g}** by REML and
**{summary.ml_mean_var:.3g}** by ML; the truth is {summary.true_var:.3g}. ML's estimate was the smaller in
{summary.ml_below_reml:.0%} of replicates (equal when both are 0): ML treats the estimated mean as
known, so it divides the spread of the {groups} group means by {groups} instead of {groups - 1}. The
fewer the groups, the larger the difference — and the stronger the case for REML.
""")
    with on_demand("The estimates of every replicate", "fr_estimates") as shown:
        if shown:
            st.dataframe(frame, hide_index=True)
    with on_demand("One replicate in R", "fr_r") as shown:
        if shown:
            st.code("library(lme4)\nset.seed(1)  # R's generator: other numbers than here, the same distribution\n"
                    f"J <- {groups}; n <- {per_group}\n"
                    "group <- factor(rep(seq_len(J), each = n))\n"
                    f"y <- {design.mean:g} + rnorm(J, 0, {sd_group:g})[group] + rnorm(J * n, 0, {sd_resid:g})\n"
                    f"summary(lm({LM_FORMULA}))\n"
                    f"fit <- lmer({LMER_FORMULA}); summary(fit); isSingular(fit)\n"
                    f"summary(lmer({LMER_FORMULA}, REML = FALSE))", language="r")


show_results()
with runner.held():
    done_so_far = [results[i] for i in range(count) if i in results]
    if len(done_so_far) == count:
        final = finished_experiment(design, seed, count)[1]
    else:
        final = summarize_frame(design, replicate_frame(design, done_so_far)) if done_so_far else None
    exercises.show("fixed_or_random", summary=final)
