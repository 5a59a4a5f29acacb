"""Widgets and displays shared by the mixed-model pages.

Pages stay thin: `model_chooser` turns widgets into a `ModelSpec`, `fit` gets the
cached outcome of lmer for it (ui.cache), `show_fit` draws its lme4 summary (beside
lme4 1.1-31's own for the tutorial's models), tidy tables, the calls that reproduce it
with the files they read, and any lme4 message with its plain-words explanation, and
`show_lrt` draws a likelihood-ratio table.
"""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from lib.api import anova, lrtest
from lib.data.slices import MAIN_SLICES, slice_info
from lib.engine.formula import FormulaError
from lib.rprint.rformat import format_signif
from lib.teach import model_builder as mb
from lib.teach.explain import explain
from lib.teach.fidelity import Lme4Comparison
from lib.teach.fitting import Outcome
from lib.teach.stopping import singularities
from ui import cache
from ui.downloads import r_code
from ui.tables import text_table
from ui.widgets import on_demand

NONE = "(none)"
BARS = ("|", "||")
BAR_LABELS = {"|": "| correlated", "||": "|| uncorrelated"}
METHODS = ("REML", "ML")


# -- fits (cached process-wide in ui.cache) ---------------------------------------------

fit = cache.fit_lmer
fit_linear = cache.fit_lm


def fit_spec(spec: mb.ModelSpec) -> Outcome:
    return fit(mb.display_formula(spec), spec.REML, spec.data)


# -- the model chooser -----------------------------------------------------------------

def _state_defaults(key: str, spec: mb.ModelSpec, n_terms: int) -> dict[str, object]:
    d: dict[str, object] = {f"{key}_data": spec.data, f"{key}_fixed": list(spec.fixed),
                            f"{key}_reml": "REML" if spec.REML else "ML"}
    for i in range(n_terms):
        r = spec.random[i] if i < len(spec.random) else None
        d[f"{key}_g{i}"] = r.group if r else NONE
        d[f"{key}_int{i}"] = r.intercept if r else True
        d[f"{key}_sl{i}"] = list(r.slopes) if r else []
        d[f"{key}_bar{i}"] = ("|" if r.correlated else "||") if r else "|"
    return d


def reset_model(key: str, spec: mb.ModelSpec, n_terms: int) -> None:
    for k, v in _state_defaults(key, spec, n_terms).items():
        st.session_state[k] = v


def model_chooser(key: str, default: mb.ModelSpec, *, title: str = "Choose the model",
                  slices: Sequence[str] = MAIN_SLICES, allow_reml: bool = True,
                  n_terms: int | None = None, groups: Sequence[str] = mb.GROUP_OPTIONS,
                  fixed_options: Sequence[str] = mb.FIXED_OPTIONS,
                  slope_options: Sequence[str] = mb.SLOPE_OPTIONS,
                  response: str = mb.RESPONSE) -> tuple[mb.ModelSpec | None, str | None]:
    """Widgets for one model; returns (spec, None) or (None, why the choices are no model)."""
    n_terms = n_terms or max(2, len(default.random))
    for k, v in _state_defaults(key, default, n_terms).items():
        if k not in st.session_state:
            st.session_state[k] = v
    label = mb.display_name(default, "the default")
    with st.container(border=True):
        head, button = st.columns([4, 1.3])
        head.markdown(f"**{title}**")
        button.button(f"Reset to {label}", key=f"{key}_reset", on_click=reset_model,
                      args=(key, default, n_terms), width="stretch")
        c_data, c_reml, c_fixed = st.columns([1.6, 0.9, 1.6])
        if len(slices) > 1:
            data = c_data.radio("Data", list(slices), key=f"{key}_data",
                                format_func=lambda s: slice_info(s).label)
        else:
            data = slices[0]
            c_data.markdown(f"Data: **{slice_info(data).label}**")
        if allow_reml:
            method = c_reml.radio("Fit by", METHODS, key=f"{key}_reml", horizontal=False,
                                  help="REML (lme4's default) or maximum likelihood (REML=FALSE)")
        else:
            method = "REML" if default.REML else "ML"
        if fixed_options:
            fixed = c_fixed.multiselect("Fixed effects (none = intercept only)", list(fixed_options),
                                        key=f"{key}_fixed")
        else:
            fixed = list(default.fixed)
            c_fixed.markdown(f"Fixed part: `{mb.fixed_text(fixed)}`")
        terms: list[mb.RandomSpec] = []
        for i in range(n_terms):
            cg, ci, cs, cb = st.columns([1.2, 0.8, 1.6, 1.3])
            group = cg.selectbox(f"Random term {i + 1}: grouping factor", [NONE, *groups], key=f"{key}_g{i}")
            off = group == NONE
            icpt = ci.checkbox("intercept", key=f"{key}_int{i}", disabled=off)
            sl = cs.multiselect("slopes", list(slope_options),
                                key=f"{key}_sl{i}", disabled=off or not slope_options)
            bar = cb.radio("bar", BARS, key=f"{key}_bar{i}", format_func=BAR_LABELS.get,
                           horizontal=True, disabled=off or len(sl) + int(icpt) < 2,
                           help="`|` estimates the correlation between intercept and slope; "
                                "`||` fixes it at zero")
            if not off:
                terms.append(mb.RandomSpec(group, bool(icpt), tuple(sl), bar == "|"))
        spec = mb.ModelSpec(tuple(fixed), tuple(terms), method == "REML", data, response)
        try:
            formula = mb.display_formula(spec)
        except FormulaError as e:
            st.markdown(":red[No model yet:] " + str(e))
            return None, str(e)
        st.markdown(f"Formula: `{formula}` on **{slice_info(data).r_name}**, fit by **{method}**")
        for note in mb.caveats(spec):
            st.caption(f":material/info: {note}")
    return spec, None


# -- displaying a fit ------------------------------------------------------------------

def r_round1(x: float) -> str:
    """round(x, 1) as R prints it (7 significant digits: 36297, 1475.7)."""
    return format_signif(round(float(x), 1), 7)


def criterion_label(f) -> tuple[str, str]:
    return ("REML criterion", r_round1(f.reml_criterion)) if f.REML else ("deviance", r_round1(f.deviance))


def show_explanations(outcome: Outcome) -> None:
    """lme4's messages with their plain words; for a singular fit, which term is singular and how."""
    for e in outcome.explanations:
        box = st.error if e.severity == "error" else st.warning
        box(f"**lme4 says:** {e.message}", icon=":material/warning:")
        st.info(e.markdown(), icon=":material/lightbulb:")
        if e.kind == "singular" and outcome.ok:
            for s in singularities(outcome.fit):
                st.info(f"**In this fit:** {s.words()}.", icon=":material/info:")


def show_failure(outcome: Outcome, name: str) -> None:
    st.error(f"**No fit for {name}.** lme4 stops with: {outcome.error}", icon=":material/block:")
    st.info(explain(outcome.error or "").markdown(), icon=":material/lightbulb:")


def show_calls(formula: str, REML: bool, data: str, name: str, key: str) -> None:
    """The R call (with the files it reads) beside the same fit with this app's lib, on demand."""
    with on_demand(f"{name} in R and in Python: the calls that reproduce this fit", f"{key}_calls") as shown:
        if shown:
            r_col, py_col = st.columns(2)
            with r_col:
                st.caption("The same fit in R (lme4): runs as it stands beside the files below")
                r_code(mb.lme4_call(formula, REML, data, name), f"{key}_r", data, wrap_lines=True)
            with py_col:
                st.caption("The same fit with this app's lib")
                st.code(mb.lib_call(formula, REML, data, name), language="python", wrap_lines=True)


def show_calls_pair(formula: str, data: str, name: str, key: str) -> None:
    """The REML and ML calls of one model, R beside Python, on demand."""
    with on_demand(f"{name} by REML and ML in R and in Python", f"{key}_calls") as shown:
        if shown:
            r_col, py_col = st.columns(2)
            with r_col:
                st.caption("Both fits in R (lme4)")
                r_code(mb.lme4_call(formula, True, data, name) + "\n"
                       + mb.lme4_fit_lines(formula, False, data, f"{name}_ML"), f"{key}_r", data, wrap_lines=True)
            with py_col:
                st.caption("Both fits with this app's lib")
                st.code(mb.lib_call(formula, True, data, name) + "\n"
                        + mb.lib_fit_lines(formula, False, data, f"{name}_ML"), language="python", wrap_lines=True)


def show_lme4_comparison(cmp: Lme4Comparison, key: str) -> None:
    """Under a tutorial model's summary: how far lme4 stopped from this optimum, which digits differ."""
    st.caption(f":material/compare_arrows: {cmp.sentence()}")
    note = cmp.verdict_note()
    if note:
        st.info(note, icon=":material/compare_arrows:")
    with on_demand(f"{cmp.name} as lme4 1.1-31 printed it, and the numbers that differ", f"{key}_lme4") as shown:
        if shown:
            if cmp.differences:
                text_table(cmp.table())
            st.code(f"> print(summary({cmp.name}), correlation = FALSE)  # lme4 1.1-31, at its own stop\n"
                    + cmp.lme4_printed, language=None)


def show_fit(outcome: Outcome, name: str, *, key: str | None = None, calls: bool = True,
             tables: bool = True) -> None:
    """The fit of one model: messages, lme4's summary (beside lme4's own for a tutorial model),
    tidy tables, reproducing calls. `key` makes its download buttons unique on the page."""
    key = key or name
    if not outcome.ok:
        show_failure(outcome, name)
        if calls:
            show_calls(outcome.formula, outcome.REML, outcome.data, name, key)
        return
    f = outcome.fit
    show_explanations(outcome)
    left, right = st.columns([1.2, 1]) if tables else (st.container(), None)
    summary, varcorr, fixef = cache.fit_texts(outcome.formula, outcome.REML, outcome.data)
    with left:
        st.caption(f"`summary({name})`, in lme4's layout")
        st.code(summary, language=None, wrap_lines=True)
        cmp = cache.lme4_comparison(outcome.formula, outcome.REML, outcome.data)
        if cmp is not None:
            show_lme4_comparison(cmp, key)
    if right is not None:
        with right:
            crit_name, crit = criterion_label(f)
            vc = f.varcorr
            resid = float(vc.loc[vc["grp"] == "Residual", "vcov"].iloc[0])
            st.markdown(f"**{crit_name}** {crit} · **log-likelihood** {f.loglik:.2f} (df = {f.df}) · "
                        f"**Residual variance** {format_signif(resid, 4)}")
            st.markdown("**Random effects** (variances and standard deviations)")
            text_table(varcorr)
            st.markdown("**Fixed effects**")
            text_table(fixef)
            st.caption(f"{f.nobs} observations; groups: "
                       + ", ".join(f"{k} {v}" for k, v in f.ngrps.items())
                       + f"; fitted in {outcome.seconds:.2f} s")
    if calls:
        show_calls(outcome.formula, outcome.REML, outcome.data, name, key)


def chosen_model(key: str, default: mb.ModelSpec, name: str | None = None, *, custom: str = "model",
                 show: bool = True, **chooser) -> tuple[mb.ModelSpec | None, Outcome | None, str]:
    """Chooser, fit and display in one: what most pages need for their model on screen.

    The model is called by the tutorial's name when it is one of the tutorial's models, by `name`
    when it is the page's own default (not a tutorial model), and `custom` otherwise."""
    spec, problem = model_chooser(key, default, **chooser)
    if spec is None:
        st.info(explain(problem or "").markdown(), icon=":material/lightbulb:")
        return None, None, custom
    own = name if name and name not in mb.TUTORIAL_FORMULAS and spec == default else custom
    label = mb.display_name(spec, own)
    outcome = fit_spec(spec)
    if show:
        show_fit(outcome, label, key=key)
    return spec, outcome, label


# -- likelihood-ratio tests ---------------------------------------------------------------

def lrt(outcomes: Sequence[Outcome]):
    """lib.engine.compare.lrtest on the fits (None if a fit is missing)."""
    if any(not o.ok for o in outcomes):
        return None
    return lrtest(*[o.fit for o in outcomes])


def show_lrt(outcomes: Sequence[Outcome], names: Sequence[str], call: str) -> object | None:
    """lmtest::lrtest for fitted models: R's printout, a table, and the note when it misleads."""
    missing = [n for o, n in zip(outcomes, names) if not o.ok]
    if missing:
        st.info(f"No likelihood-ratio test: {', '.join(missing)} could not be fitted.")
        return None
    if len({o.fit.nobs for o in outcomes}) > 1:
        st.warning("No likelihood-ratio test: the models are fitted to different data "
                   "(lrtest: models were not all fitted to the same size of dataset).")
        return None
    st.caption(f"`{call}`")
    try:
        res = lrt(outcomes)
    except ValueError as e:
        st.error(f"No likelihood-ratio test: {e}")
        return None
    st.code(str(res), language=None)
    text_table(res.formatted_table())
    if res.note:
        st.warning(res.note, icon=":material/balance:")
    return res


def show_anova(a: Outcome, b: Outcome, names: Sequence[str], call: str) -> object | None:
    """lme4's anova() of two lmer fits: both refitted by ML, ordered by number of parameters."""
    if not (a.ok and b.ok):
        st.info("No anova(): a model could not be fitted.")
        return None
    if a.fit.nobs != b.fit.nobs:
        st.warning("No anova(): the models are fitted to different data.")
        return None
    st.caption(f"`{call}`")
    try:
        res = anova(a.fit, b.fit, names=list(names), data_name=slice_info(a.data).r_name)
    except ValueError as e:
        st.error(f"No anova(): {e}")
        return None
    st.code(str(res), language=None)
    text_table(res.formatted_table())
    return res


def tutorial_note(text: str) -> None:
    st.caption(f":material/menu_book: Tutorial: {text}")
