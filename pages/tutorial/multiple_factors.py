"""Multiple factors: MMod2 = lmer(IgG ~ Sex + (Sex | FamID)), its extra variance and correlation, two LRTs."""
import streamlit as st

from lib.rprint.rformat import format_pvalue, format_signif
from lib.teach import model_builder as mb
from lib.teach.lrt_notes import boundary_p, comparison_notes
from ui import exercises
from ui import mixed as ui
from ui.widgets import on_demand

st.title("Multiple factors")
st.markdown(
    """
`formula(LMod3)` is `IgG ~ Sex * FamID`: a Sex difference for every family. The mixed-model
equivalent keeps **Sex** as a fixed effect and lets families vary *by sex*: `(Sex | FamID)`.
A significant Sex × family interaction in lm means the male–female difference differs
among families; as families are a random sample, that is a **variance** among families
in that difference — a second variance component, plus its correlation with the first.
""")
ui.tutorial_note("`MMod2 <- lmer(IgG ~ Sex + (Sex | FamID), data=InitIgG); summary(MMod2)`")
spec, outcome, name = ui.chosen_model("mf", mb.tutorial_spec("MMod2"), "MMod2")

if outcome is not None and outcome.ok:
    vc = outcome.fit.varcorr
    singles = vc[vc["var2"].isna() & (vc["grp"] != "Residual")]
    pairs = vc[vc["var2"].notna()]
    cols = st.columns(max(1, len(singles) + len(pairs) + 1))
    for col, (_, r) in zip(cols, singles.iterrows()):
        col.metric(f"{r['grp']} {r['var1']} variance", format_signif(r["vcov"], 4),
                   help=f"Std.Dev. {format_signif(r['sdcor'], 4)}")
    for col, (_, r) in zip(cols[len(singles):], pairs.iterrows()):
        col.metric(f"Corr({r['var1']}, {r['var2']}) in {r['grp']}", f"{r['sdcor']:.2f}")
    cols[-1].metric("Residual variance", format_signif(float(vc.loc[vc["grp"] == "Residual", "vcov"].iloc[0]), 4))
    st.markdown(
        """
Compared with `(1 | FamID)` there is a second variance, **SexM** within FamID: how much
the male–female difference varies among families. It is small — splitting families by
sex explains little more — and the residual variance is almost unchanged: what the
SexM term explains comes mostly out of the family (intercept) variance. The
**correlation** says whether families with a high female mean also have a large male
excess. Sex is still a fixed effect too: there it is the mean male–female difference;
in the random term it subdivides the family variance.
""")

REML = spec.REML if spec else True
data = spec.data if spec else "time0"
method = "" if REML else "_ML"
mmod = ui.fit(mb.TUTORIAL_FORMULAS["MMod"][0], REML, data)
mmod3 = ui.fit(mb.TUTORIAL_FORMULAS["MMod3"][0], REML, data)

st.header("Is the random Sex term needed? `lrtest(MMod2, MMod)`")
st.markdown("MMod has the same fixed effects and only `(1 | FamID)`: the test asks whether the "
            "variance of the Sex difference among families (and its correlation) is zero.")
if outcome is not None:
    res = ui.show_lrt([outcome, mmod], [name, f"MMod{method}"], f"lrtest({name}, MMod{method})")
    if outcome.ok and mmod.ok:
        for note in comparison_notes(outcome.fit, mmod.fit):
            if note.kind in ("boundary", "ok"):  # lrtest's own note covers REML/ML mix-ups
                st.info(note.text)
        if outcome.fit.nobs == mmod.fit.nobs:
            d = abs(outcome.fit.df - mmod.fit.df)
            chisq = 2 * abs(outcome.fit.loglik - mmod.fit.loglik)
            if d:
                st.caption(f"Boundary-corrected p (50:50 mixture of χ²({d - 1}) and χ²({d})): "
                           f"{format_pvalue(boundary_p(chisq, d), 4)}, against the table's chi-square p.")
with on_demand(f"summary(MMod{method})", "mf_summary") as shown:
    if shown:
        ui.show_fit(mmod, f"MMod{method}")

st.header("Is the fixed Sex effect needed? `lrtest(MMod2, MMod3)`")
st.markdown("MMod3 drops Sex from the fixed effects (`IgG ~ 1 + (Sex | FamID)`), keeping the random "
            "term. The tutorial compares the two REML fits, as `lrtest()` does:")
if outcome is not None:
    ui.show_lrt([outcome, mmod3], [name, f"MMod3{method}"], f"lrtest({name}, MMod3{method})")
    if outcome.ok and mmod3.ok:
        for note in comparison_notes(outcome.fit, mmod3.fit):
            if note.kind in ("boundary", "ok"):
                st.info(note.text)
st.markdown(
    """
**Comparing fixed effects needs ML.** REML maximises the likelihood of the residuals
*after* the fixed effects, so two REML fits with different fixed effects are likelihoods
of different data. R's `anova()` on lmer fits refits both by maximum likelihood first
(it says *refitting model(s) with ML (instead of REML)*):
""")
if outcome is not None:
    ui.show_anova(outcome, mmod3, [name, "MMod3"], f"anova({name}, MMod3)")
with on_demand("summary(MMod3)", "mf_summary3") as shown:
    if shown:
        ui.show_fit(mmod3, f"MMod3{method}")

exercises.show("multiple_factors", fit=exercises.fit_of(outcome), name=name, other=exercises.fit_of(mmod),
               other_name=f"MMod{method}")
