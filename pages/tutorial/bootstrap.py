"""Parametric bootstrap: bootMer intervals for every parameter, and a bootstrap LRT of a variance component."""
import streamlit as st

from lib.engine.boot_lrt import bootstrap_lrt
from lib.engine.bootstrap import parametric_bootstrap
from lib.engine.confint import wald
from lib.rprint.rformat import format_pvalue
from lib.teach import bootstrap_page as bp
from lib.teach import model_builder as mb
from lib.teach.inference import as_text
from ui import cache, exercises
from ui import inference as panel
from ui import mixed as ui
from ui.charts.inference import bootstrap_histograms, lrt_reference

st.title("Parametric bootstrap")
st.markdown(bp.WHAT)
ui.tutorial_note("beyond the tutorial: `bootMer(m, FUN, nsim, seed)`, `confint(m, method=\"boot\")`, "
                 "`pbkrtest::PBmodcomp`")
outcome, name, key = panel.model_on_screen("bt", "MMod")
fit = outcome.fit

st.header("Intervals for every parameter")
c1, c2 = st.columns(2)
nsim = c1.select_slider("Replicates", bp.NSIM_CHOICES, value=200, key="bt_nsim")
seed = int(c2.number_input("Seed", min_value=0, max_value=2 ** 31 - 1, value=1, step=1, key="bt_seed"))
with panel.guarded("bootstrap"):
    boot = panel.run_panel("bt", ("boot",) + key + (nsim, seed), nsim, f"{nsim} replicates",
                           lambda resume, progress: parametric_bootstrap(fit, nsim, seed, resume, progress))
    st.code(f"b <- bootMer({name}, FUN = <lme4's confint statistics>, nsim = {nsim}, seed = {seed})\n"
            f"confint({name}, method = \"boot\", nsim = {nsim})", language="r")
    if boot is not None and boot.reps.done >= 2:
        prof = cache.runs().get(("profile",) + key)
        table = bp.interval_table(boot, prof.confint() if prof else None, wald(fit))
        st.table(as_text(table))
        if prof is None:
            st.caption("Profile intervals appear here once the model has been profiled on the "
                       "*p-values and intervals* page.")
        st.altair_chart(bootstrap_histograms(boot), width="content")
        for line in bp.message_lines(boot.reps.messages, boot.reps.done):
            st.caption(f":material/info: {line}")
        st.caption(f"{boot.reps.done} refits in {boot.reps.seconds:.1f} s. The draws are numpy's, so R's bootMer "
                   "with the same seed gives other numbers (and intervals within Monte Carlo error of these).")

st.header("Is a variance really there? A bootstrap likelihood-ratio test")
st.markdown(bp.LRT_WHAT)
pair = st.selectbox("Comparison", bp.LRT_PAIRS, format_func=lambda p: p.label, key="bt_pair")
l1, l2 = st.columns(2)
lrt_nsim = l1.select_slider("Replicates", bp.NSIM_CHOICES, value=200, key="bt_lrt_nsim")
lrt_seed = int(l2.number_input("Seed", min_value=0, max_value=2 ** 31 - 1, value=1, step=1, key="bt_lrt_seed"))
res = None
with panel.guarded("bootstrap test"):
    null_f, null_d = mb.TUTORIAL_FORMULAS[pair.null]
    alt_f, _ = mb.TUTORIAL_FORMULAS[pair.alt]
    null, alt = ui.fit(null_f, True, null_d), ui.fit(alt_f, True, null_d)
    if null.ok and alt.ok:
        res = panel.run_panel("bt_lrt", ("lrt", null_f, alt_f, null_d, lrt_nsim, lrt_seed), lrt_nsim,
                              f"the test ({lrt_nsim} replicates)",
                              lambda resume, progress: bootstrap_lrt(null.fit, alt.fit, lrt_nsim, lrt_seed, resume,
                                                                     progress))
        observed = 2 * (alt.fit.loglik - null.fit.loglik)
        st.markdown(f"Observed statistic (from `{pair.label.split(':')[0]}`): **{observed:.4f}** on "
                    f"{alt.fit.df - null.fit.df} df.")
        if res is not None and res.reps.done:
            shown = bp.lrt_table(res)
            shown["p-value"] = [format_pvalue(p, 4) for p in shown["p-value"]]
            st.table(shown)
            st.altair_chart(lrt_reference(res), width="stretch")
            st.markdown(bp.lrt_story(res))
            for line in bp.message_lines(res.reps.messages, 2 * res.reps.done):  # two refits each
                st.caption(f":material/info: {line}")
    else:
        st.info("One of the two models could not be fitted.")

exercises.show("bootstrap", nsim=lrt_nsim, res=res)
