"""Every cached computation of the app, in one place.

All caches are process-wide (`st.cache_resource`): fits and story figures are read-only values shared
by every session, so no session pays twice and none holds a copy. Each cache is bounded by
max_entries and a TTL; when a TTL expires, an entry in use is refreshed in the background
(refresh_mode="background") while the old value is still served. Arguments are plain values (formula
text, slice names), so that keys are cheap to hash.

`warm_up()` starts, once per process, a thread that computes what every page shows by default (the
tutorial's fits, lm's LReg, the Convergence page's story, the GLMM page's fits), so that a student's
first visit to a page finds them ready. A session asking for something the thread is computing
waits for that one computation (Streamlit holds a lock per key) instead of repeating it.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

import altair as alt
import pandas as pd
import streamlit as st

from lib.api import LmModel, lm
from lib.data.immune import load_prepared
from lib.data.slices import slice_frame
from lib.teach import glmm_page as gp
from lib.teach import model_builder as mb
from lib.teach.convergence_story import DOUBLE_BAR, LME4_STOPS, Reading, reading
from lib.teach.determination import last_digit_costs
from lib.teach.downloads import file_text
from lib.teach.fidelity import Lme4Comparison, compare_with_lme4, reference_name
from lib.teach.fitting import Outcome
from lib.teach.fitting import fit_lm as _fit_lm
from lib.teach.fitting import fit_lmer as _fit_lmer
from lib.teach.fixed_models import data_at, data_label
from lib.teach.param_count import design_count
from lib.teach.qaqc import SPREAD_MODELS, residual_spread
from lib.teach.reml_ml import criterion_frames
from lib.teach.stopping import Replay, replay
from ui.charts.mixed import igg_lines, igg_scatter_smooth, qq_plot, residuals_vs_fitted

TTL = "12h"
KEEP = {"ttl": TTL, "refresh_mode": "background"}
_LOG = logging.getLogger(__name__)


# -- fits ---------------------------------------------------------------------------------

@st.cache_resource(max_entries=64, show_spinner="Fitting the model …", **KEEP)
def fit_lmer(formula: str, REML: bool, data: str) -> Outcome:
    """lmer on a named data slice; shared by all sessions; treat the result as read-only."""
    return _fit_lmer(formula, REML, data)


@st.cache_resource(max_entries=12, show_spinner="Fitting the linear model …", **KEEP)
def fit_lm(formula: str, data: str) -> Outcome:
    return _fit_lm(formula, data)


@st.cache_resource(max_entries=64, show_spinner=False, **KEEP)
def fixed_lm(formula: str, time: int, famid_factor: bool) -> LmModel:
    """lm() at one month (the Fixed effects page); raises FormulaError or ValueError for a bad formula."""
    return lm(formula, data_at(time, famid_factor), data_label(time))


@st.cache_resource(max_entries=8, show_spinner=False, **KEEP)
def crossed_count(degree: int) -> int:
    return design_count(load_prepared(), degree)


@st.cache_resource(max_entries=24, show_spinner="Fitting the model (glmer) …", **KEEP)
def fit_glmm(key: str, family: str, link: str, terms: tuple, nAGQ: int) -> Outcome:
    return gp.fit_glmm(key, family, link, terms, nAGQ)


@st.cache_resource(max_entries=1, show_spinner="Fitting a normal model to the 0/1 outcome …", **KEEP)
def glmm_misfit() -> gp.NormalMisfit:
    return gp.normal_misfit()


@st.cache_resource(max_entries=24, show_spinner=False, **KEEP)
def glmm_predictions(key: str, family: str, link: str, terms: tuple, nAGQ: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return gp.prediction_frame(fit_glmm(key, family, link, terms, nAGQ).fit, key), gp.observed_frame(key)


# -- figures and stories -------------------------------------------------------------------

@st.cache_resource(max_entries=1, show_spinner="Drawing 4,860 measurements …", **KEEP)
def over_time_charts() -> tuple[alt.LayerChart, alt.LayerChart]:
    data = slice_frame("all")
    return igg_scatter_smooth(data), igg_lines(data)


@st.cache_resource(max_entries=8, show_spinner="Drawing the residual plots …", **KEEP)
def residual_charts(formula: str, REML: bool, data: str, label: str) -> tuple[alt.LayerChart, alt.LayerChart]:
    f = fit_lmer(formula, REML, data).fit
    r = f.residuals()
    return (residuals_vs_fitted(slice_frame(data), f.fitted, r, f"{label}: residuals against fitted values"),
            qq_plot(r, f"{label}: normal QQ plot of the residuals"))


@st.cache_resource(max_entries=8, show_spinner=False, **KEEP)
def lreg_residuals_chart() -> alt.LayerChart | None:
    formula, data = mb.LM_FORMULAS["LReg"]
    out = fit_lm(formula, data)
    if not out.ok:
        return None
    return residuals_vs_fitted(slice_frame(data), out.fit.fitted, out.fit.residuals,
                               "LReg: residuals against predictions")


@st.cache_resource(max_entries=8, show_spinner="Comparing the residual spread …", **KEEP)
def spread_over_time(models: tuple[tuple[str, str, str, bool, str], ...]) -> pd.DataFrame:
    """Residual SD per month for each (label, kind "lm"/"lmer", formula, REML, data) on all times."""
    residuals = {}
    for label, kind, formula, REML, data in models:
        out = fit_lm(formula, data) if kind == "lm" else fit_lmer(formula, REML, data)
        if out.ok:
            residuals[label] = out.fit.residuals() if callable(out.fit.residuals) else out.fit.residuals
    return residual_spread(residuals, slice_frame("all")["Time"].to_numpy())


@st.cache_resource(max_entries=16, show_spinner="Evaluating the criteria over a grid …", **KEEP)
def criterion_curves(formula: str, data: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    return criterion_frames(formula, slice_frame(data))


@st.cache_resource(max_entries=2, show_spinner="Re-running lme4's convergence check …", **KEEP)
def mmodtime3_reading(data: str) -> Reading | None:
    """lme4's stop on one reading of ImmuneData.csv beside this engine's MModTime3 on it."""
    out = fit_lmer(mb.TUTORIAL_FORMULAS["MModTime3"][0], True, data)
    return reading(LME4_STOPS[data], out.fit) if out.ok else None


@st.cache_resource(max_entries=16, show_spinner="Replaying lme4's optimizer …", **KEEP)
def lme4_replay(formula: str, REML: bool, data: str) -> Replay | None:
    """lme4's default optimizer path, replayed on this machine (path-dependent: shown, never asserted)."""
    out = fit_lmer(formula, REML, data)
    return replay(out.fit) if out.ok else None


@st.cache_resource(max_entries=16, show_spinner="Pricing each printed digit …", **KEEP)
def digit_costs(formula: str, REML: bool, data: str) -> pd.DataFrame | None:
    out = fit_lmer(formula, REML, data)
    return last_digit_costs(out.fit) if out.ok else None


@st.cache_resource(max_entries=64, show_spinner=False, **KEEP)
def lme4_comparison(formula: str, REML: bool, data: str) -> Lme4Comparison | None:
    """A tutorial model's summary beside lme4 1.1-31's own (None for other models)."""
    if reference_name(formula, REML, data) is None:
        return None
    out = fit_lmer(formula, REML, data)
    return compare_with_lme4(out.fit, formula, REML, data) if out.ok else None


@st.cache_resource(max_entries=8, show_spinner=False, **KEEP)
def download_text(name: str, data: str | None = None) -> str:
    """A file the R code reads (lib.teach.downloads), made once."""
    return file_text(name, data)


# -- warming up ----------------------------------------------------------------------------

def _default_work() -> list[tuple[Callable, tuple]]:
    """What the pages show before anyone touches a widget, in the order a student meets it."""
    work: list[tuple[Callable, tuple]] = [(fixed_lm, ("IgG ~ Sex", 0, False)), (crossed_count, (2,))]
    for name, (formula, data) in mb.TUTORIAL_FORMULAS.items():
        work += [(fit_lmer, (formula, True, data)), (lme4_comparison, (formula, True, data))]
    for name, (formula, data) in mb.LM_FORMULAS.items():
        work.append((fit_lm, (formula, data)))
    mmod, mt3 = mb.TUTORIAL_FORMULAS["MMod"], mb.TUTORIAL_FORMULAS["MModTime3"]
    work += [(fit_lmer, (mmod[0], False, mmod[1])), (criterion_curves, mmod), (over_time_charts, ()),
             (lreg_residuals_chart, ()), (fit_lmer, (mt3[0], True, "all_r_read")),
             (mmodtime3_reading, ("all",)), (mmodtime3_reading, ("all_r_read",)),
             (lme4_replay, (mt3[0], True, "all")), (lme4_replay, (mt3[0], True, "all_r_read")),
             (lme4_replay, (DOUBLE_BAR, True, "all")), (digit_costs, (mt3[0], True, "all"))]
    m4 = mb.TUTORIAL_FORMULAS["MModTime4"]
    work += [(residual_charts, (m4[0], True, "all", "MModTime4")), (spread_over_time, (SPREAD_MODELS,))]
    g = gp.MODELS["binary"]
    work += [(glmm_misfit, ()), (fit_glmm, ("binary", g.family, "logit", g.default_terms, 1)),
             (glmm_predictions, ("binary", g.family, "logit", g.default_terms, 1)),
             (fit_glmm, ("binary", g.family, "logit", tuple(t for t in g.default_terms if t != "Sex:Time"), 1))]
    return work


def _run(work: list[tuple[Callable, tuple]]) -> None:
    for func, args in work:
        try:
            func(*args)
        except Exception:  # a page computes it again and shows the error in words
            _LOG.exception("warm-up of %s%r failed", getattr(func, "__name__", func), args)


@st.cache_resource(max_entries=1, show_spinner=False)
def warm_up() -> threading.Thread:
    """Start computing every page's default content, once per process, in a background thread."""
    thread = threading.Thread(target=_run, args=(_default_work(),), name="warm-up", daemon=True)
    thread.start()
    return thread
