"""Every cached computation of the app, in one place.

All caches are process-wide (`st.cache_resource`): fits and story figures are read-only values shared
by every session, so no session pays twice and none holds a copy. Each cache is bounded by
max_entries and a TTL; when a TTL expires, an entry in use is refreshed in the background
(refresh_mode="background") while the old value is still served. Arguments are plain values (formula
text, slice names), so that keys are cheap to hash.

`compute_defaults()` computes what every page shows before any widget is touched (the tutorial's
fits, lm's LReg, the Convergence page's story, every default chart); ui.warmup's thread calls it once
per process after the imports, so that a student's first visit to a page finds it ready. A session
asking for something the thread is computing waits for that one computation (Streamlit holds a lock
per key) instead of repeating it.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from collections import OrderedDict
from typing import Callable

import numpy as np
import pandas as pd
import streamlit as st

from lib.api import LmModel, lm
from lib.data.idcoding import Example
from lib.data.immune import individual_choices, load_prepared, load_raw
from lib.data.slices import slice_frame, slice_info
from lib.engine import kenward_roger as kr
from lib.engine.oneway_experiment import Design, Experiment, Replicate
from lib.engine.pooling import Ellipse, Pooling, caterpillar, covariance_ellipses, pooling
from lib.engine.profile import Profile, coefficient_lrt, profile
from lib.engine.r2 import Explained, explained
from lib.engine.sim_residuals import dispersion_statistics, predicted_rank, quantile_lines, uniform_qq
from lib.engine.satterthwaite import (
    anova_table,
    coef_table,
    hypotheses,
    varpar_covariance,
)
from lib.rprint.lme4_print import fixef_table, lmer_summary, varcorr_table
from lib.teach import fixed_or_random as fr
from lib.teach import glmm_page as gp
from lib.teach import glmm_residuals as gr
from lib.teach import model_builder as mb
from lib.teach.convergence_story import (
    DOUBLE_BAR,
    LME4_STOPS,
    Reading,
    reading,
    two_people,
)
from lib.teach.determination import last_digit_costs
from lib.teach.downloads import FILES, file_text
from lib.teach.fidelity import Lme4Comparison, compare_with_lme4, reference_name
from lib.teach.fitting import Outcome
from lib.teach.fitting import fit_lm as _fit_lm
from lib.teach.fitting import fit_lmer as _fit_lmer
from lib.teach.fixed_models import data_at, data_label
from lib.teach.fixed_or_random import Summary
from lib.teach.id_pairs import PER_CODE, TOY_NAIVE, TOY_RECODED, CodePairs, code_pairs
from lib.teach.inference import band_widths, coverage, population_band, unit_bands
from lib.teach.lmm_vs_lm import group_means
from lib.teach.param_count import design_count
from lib.teach.pooling import Scaling, band_frame, ellipse_frame, fit_scaled, groups_of
from lib.teach.qaqc import (
    SPREAD_MODELS,
    SpreadModel,
    individual_frame,
    residual_spread,
    spread_summary,
)
from lib.teach.reml_ml import criterion_frames
from lib.teach.replicate_runner import ReplicateRunner
from lib.teach.stopping import Replay, paths_to_optimum, replay
from ui import offload
from ui.charts import immune, mixed
from ui.charts import inference as inference_charts
from ui.charts import pooling as pooling_charts
from ui.charts import sim_residuals as sim_charts
from ui.charts.experiment import experiment_charts as experiment_chart_list
from ui.charts.theme import to_spec

TTL = "12h"
DEFAULT_PREDICTED = ("1-F", "1-M", "7-F")  # the people the p-values page predicts for, until a student picks
KEEP = {"ttl": TTL, "refresh_mode": "background"}
_LOG = logging.getLogger(__name__)


# -- fits ---------------------------------------------------------------------------------

@st.cache_resource(max_entries=64, show_spinner="Fitting the model …", **KEEP)
def fit_lmer(formula: str, REML: bool, data: str) -> Outcome:
    """lmer on a named data slice; shared by all sessions; treat the result as read-only."""
    return offload.run(_fit_lmer, formula, REML, data)


@st.cache_resource(max_entries=12, show_spinner="Fitting the linear model …", **KEEP)
def fit_lm(formula: str, data: str) -> Outcome:
    return offload.run(_fit_lm, formula, data)


@st.cache_resource(max_entries=64, show_spinner=False, **KEEP)
def fixed_lm(formula: str, time: int, famid_factor: bool) -> LmModel:
    """lm() at one month (the Fixed effects page); raises FormulaError or ValueError for a bad formula."""
    return lm(formula, data_at(time, famid_factor), data_label(time))


@st.cache_resource(max_entries=8, show_spinner=False, **KEEP)
def crossed_count(degree: int) -> int:
    return design_count(load_prepared(), degree)


@st.cache_resource(max_entries=24, show_spinner="Fitting the model (glmer) …", **KEEP)
def fit_glmm(key: str, family: str, link: str, terms: tuple, nAGQ: int) -> Outcome:
    return offload.run(gp.fit_glmm, key, family, link, terms, nAGQ)


@st.cache_resource(max_entries=1, show_spinner="Fitting a normal model to the 0/1 outcome …", **KEEP)
def glmm_misfit() -> gp.NormalMisfit:
    return gp.normal_misfit()


@st.cache_resource(max_entries=24, show_spinner=False, **KEEP)
def glmm_predictions(key: str, family: str, link: str, terms: tuple, nAGQ: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return gp.prediction_frame(fit_glmm(key, family, link, terms, nAGQ).fit, key), gp.observed_frame(key)


# -- charts (Vega-Lite specs made once: ui.charts.theme.to_spec) -------------------------------

@st.cache_resource(max_entries=1, show_spinner="Drawing 4,860 measurements …", **KEEP)
def over_time_charts() -> tuple[dict, dict]:
    data = slice_frame("all")
    return to_spec(mixed.igg_scatter_smooth(data)), to_spec(mixed.igg_lines(data))


@st.cache_resource(max_entries=1, show_spinner=False, **KEEP)
def family_tick_chart() -> dict:
    return to_spec(immune.igg_by_family(load_raw()))


@st.cache_resource(max_entries=64, show_spinner=False, **KEEP)
def people_over_time_chart(people: tuple[str, ...]) -> dict:
    return to_spec(immune.igg_over_time(load_raw(), list(people)))


@st.cache_resource(max_entries=2, show_spinner=False, **KEEP)
def one_code_chart(code: str) -> dict:
    rows, _ = two_people(slice_frame("all"), code)
    return to_spec(immune.one_code_two_people(rows, code))


@st.cache_resource(max_entries=8, show_spinner="Drawing the residual plots …", **KEEP)
def residual_charts(formula: str, REML: bool, data: str, label: str) -> tuple[dict, dict]:
    f = fit_lmer(formula, REML, data).fit
    r = f.residuals()
    return (to_spec(mixed.residuals_vs_fitted(slice_frame(data), f.fitted, r, f"{label}: residuals against fitted values")),
            to_spec(mixed.qq_plot(r, f"{label}: normal QQ plot of the residuals")))


@st.cache_resource(max_entries=1, show_spinner=False, **KEEP)
def lreg_residuals_chart() -> dict | None:
    formula, data = mb.LM_FORMULAS["LReg"]
    out = fit_lm(formula, data)
    if not out.ok:
        return None
    return to_spec(mixed.residuals_vs_fitted(slice_frame(data), out.fit.fitted, out.fit.residuals,
                                             "LReg: residuals against predictions"))


@st.cache_resource(max_entries=64, show_spinner=False, **KEEP)
def individuals_chart(formula: str, REML: bool, data: str, people: tuple[str, ...]) -> dict:
    """Observed, population and own lines of the chosen people, with their residuals below."""
    fit = fit_lmer(formula, REML, data).fit
    return to_spec(mixed.individual_fits(individual_frame(fit, slice_frame(data), list(people))))


@st.cache_resource(max_entries=8, show_spinner="Comparing the residual spread …", **KEEP)
def spread_over_time(models: tuple[SpreadModel, ...]) -> tuple[dict, pd.DataFrame]:
    """Residual SD per month for each (label, kind "lm"/"lmer", formula, REML, data) on all times:
    the chart, and the first-to-last summary."""
    residuals = {}
    for label, kind, formula, REML, data in models:
        out = fit_lm(formula, data) if kind == "lm" else fit_lmer(formula, REML, data)
        if out.ok:
            residuals[label] = out.fit.residuals() if callable(out.fit.residuals) else out.fit.residuals
    spread = residual_spread(residuals, slice_frame("all")["Time"].to_numpy())
    return to_spec(mixed.residual_spread(spread)), spread_summary(spread)


@st.cache_resource(max_entries=16, show_spinner=False, **KEEP)
def criterion_chart(formula: str, data: str, zoom: bool) -> dict:
    curves, optima = criterion_curves(formula, data)
    return to_spec(mixed.criterion_curves(curves, optima, y_max=6.0 if zoom else None))


@st.cache_resource(max_entries=16, show_spinner=False, **KEEP)
def lme4_path_chart(formula: str, REML: bool, data: str, name: str) -> dict | None:
    """lme4's replayed path beside this app's, by distance above the optimum."""
    rp, out = lme4_replay(formula, REML, data), fit_lmer(formula, REML, data)
    if rp is None:
        return None
    paths = paths_to_optimum(rp, out.fit)
    stops = paths.iloc[[rp.evaluations - 1]].assign(label=f"lme4 stops: {rp.gap:.1e} above")
    return to_spec(mixed.optimizer_paths(paths, stops, f"{name}: lme4's path and this app's", "Path"))


@st.cache_resource(max_entries=16, show_spinner=False, **KEEP)
def family_effects_chart(formula: str, REML: bool, data: str, lm_formula: str, lm_data: str) -> dict | None:
    """lm's family contrasts beside the mixed model's family predictions (None: no FamID intercept)."""
    out, lm_out = fit_lmer(formula, REML, data), fit_lm(lm_formula, lm_data)
    frame = slice_frame(data) if "FamID" in slice_frame(data) else slice_frame(lm_data)
    means = group_means(lm_out.fit, out.fit, frame)
    return to_spec(mixed.family_effects(means)) if means["model"].nunique() == 2 else None


@st.cache_resource(max_entries=32, show_spinner=False, **KEEP)
def toy_chart(data: str, coding: str) -> dict:
    return to_spec(mixed.toy_data(slice_frame(data), coding))


@st.cache_resource(max_entries=1, show_spinner=False, **KEEP)
def misfit_chart() -> dict:
    return to_spec(immune.normal_model_residuals(glmm_misfit().frame, "lmer on Low: residuals against fitted values"))


@st.cache_resource(max_entries=48, show_spinner=False, **KEEP)
def glmm_prediction_chart(key: str, family: str, link: str, terms: tuple, nAGQ: int, sex: str) -> dict:
    """predict(type = "response") per group and for the population, over the observed means."""
    model = gp.MODELS[key]
    pred, observed = glmm_predictions(key, family, link, terms, nAGQ)
    pred, observed = gp.for_sex(pred, sex), gp.for_sex(observed, sex)
    fit = fit_glmm(key, family, link, terms, nAGQ).fit
    y_title = "Expected count" if fit.family.family == "poisson" else "Probability of low IgG"
    x_title = {"Time": "Month (Time)", "Dose": "Dose", "Sex": "Sex"}[model.x]
    return to_spec(immune.glmm_predictions(pred, observed, x_title, y_title, model.group,
                                           f"predict(fit, type = \"response\") per {model.group}; black: "
                                           "population (re.form = NA); dots: observed"))


# -- refits and simulations (partial pooling, the fixed-or-random experiment, GLMM residuals) --------

@st.cache_resource(max_entries=32, show_spinner="Refitting the model on the changed data …", **KEEP)
def scaled_fit(formula: str, REML: bool, data: str, response: str, mode: str, level: float, seed: int) -> Outcome:
    """lmer on the data scaled as the slider says (the model on screen's fit for mode "none")."""
    if mode == "none":
        return fit_lmer(formula, REML, data)
    base = fit_lmer(formula, REML, data)
    fitted = np.asarray(base.fit.fitted) if base.ok else None
    return offload.run(fit_scaled, formula, REML, data, Scaling(mode, level, seed), response, fitted)


@st.cache_resource(max_entries=32, show_spinner="Comparing own, pooled and mixed-model estimates …", **KEEP)
def pooling_view(formula: str, REML: bool, data: str, response: str, mode: str, level: float, seed: int,
                 group: str, slope: str | None) -> tuple[Pooling, list[Ellipse], str | None]:
    fit = scaled_fit(formula, REML, data, response, mode, level, seed).fit
    pool = pooling(fit, group, slope)
    ellipses, why_not = covariance_ellipses(fit, pool)
    return pool, ellipses, why_not


@st.cache_resource(max_entries=32, show_spinner=False, **KEEP)
def pooling_chart(formula: str, REML: bool, data: str, response: str, mode: str, level: float, seed: int,
                  group: str, slope: str | None) -> dict:
    """The arrows from each unit's own estimate to the mixed model's: a plane (intercept and slope) or
    one axis, with the model's ellipses or ranges."""
    pool, ellipses, _ = pooling_view(formula, REML, data, response, mode, level, seed, group, slope)
    if len(pool.coords) == 2:
        chart = pooling_charts.pooling_plane(pool.units, ellipse_frame(ellipses), group,
                                             f"{response} at Time 0 (intercept)", f"change in {response} per month (slope)")
    else:
        chart = pooling_charts.pooling_slopes(pool.units, band_frame(ellipses), group, f"{response} (intercept)")
    return to_spec(chart)


@st.cache_resource(max_entries=32, show_spinner=False, **KEEP)
def caterpillar_chart(formula: str, REML: bool, data: str, response: str, mode: str, level: float,
                      seed: int, group: str) -> dict:
    """The refit's caterpillar plot for one grouping factor (lme4's dotplot(ranef(fit, condVar = TRUE)))."""
    fit = scaled_fit(formula, REML, data, response, mode, level, seed).fit
    return to_spec(pooling_charts.caterpillar(caterpillar(fit), group))


@st.cache_resource(max_entries=12, show_spinner="Fitting the GLMM (glmer) …", **KEEP)
def glmm_fit(key: str, random: str) -> Outcome:
    return offload.run(gr.fit_model, key, random)


@st.cache_resource(max_entries=24, show_spinner="Simulating from the fitted model …", **KEEP)
def glmm_checks(key: str, random: str, nsim: int, seed: int, conditional: bool) -> gr.Checks:
    return gr.run_checks(glmm_fit(key, random).fit, nsim, seed, conditional)


@st.cache_resource(max_entries=24, show_spinner=False, **KEEP)
def glmm_check_charts(key: str, random: str, nsim: int, seed: int, conditional: bool) -> tuple[dict, ...]:
    """The GLMM residuals page's four charts of glmm_checks(...): uniform QQ, residuals against the
    predicted value, dispersion and residual histograms (Vega-Lite specs, made once)."""
    checks = glmm_checks(key, random, nsim, seed, conditional)
    res = checks.residuals
    observed, simulated = dispersion_statistics(res)
    return (to_spec(sim_charts.uniform_qq(uniform_qq(res), f"Uniform QQ plot (KS: {gr.verdict(checks.uniformity)})")),
            to_spec(sim_charts.residuals_vs_predicted(predicted_rank(res), res.residuals, quantile_lines(res),
                                                      "Residuals against the predicted value, with quantile lines")),
            to_spec(sim_charts.dispersion_histogram(simulated, observed)),
            to_spec(sim_charts.residual_histogram(res.residuals)))


class Store:
    """A process-wide map of results that grow while a page runs (replicates, profiles), shared by
    every session and bounded: the least recently used of more than `size` keys are dropped.
    A run's result is replaced whole at each report; the experiments' replicates accrue in one dict
    per key, each replicate a pure function of its key (two sessions writing one agree)."""

    def __init__(self, size: int) -> None:
        self.size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key]

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._items

    def __setitem__(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def setdefault(self, key, default):
        with self._lock:
            value = self._items.setdefault(key, default)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return value


@st.cache_resource(max_entries=1)  # one store per process, itself bounded
def _experiments() -> Store:
    return Store(64)


def experiment_results(design: Design, seed: int) -> dict[int, Replicate]:
    """The replicates of the fixed-or-random experiment (design, seed) computed so far, by index:
    shared by every session (a replicate is a pure function of its key, so two sessions writing one
    agree)."""
    return _experiments().setdefault((design, seed), {})


@st.cache_resource(max_entries=32, show_spinner=False, **KEEP)
def experiment(design: Design) -> Experiment:
    """A design's lm and lmer set-up, shared by its replicates (read-only)."""
    return Experiment(design)


@st.cache_resource(max_entries=1)  # one worker thread per process
def replicate_runner() -> ReplicateRunner:
    """The thread that computes the experiments' replicates while the pages show them accrue."""
    return ReplicateRunner()


@st.cache_resource(max_entries=32, show_spinner=False, **KEEP)
def finished_experiment(design: Design, seed: int, count: int) -> tuple[pd.DataFrame, Summary, tuple[dict, ...]]:
    """A finished run's replicate frame, summary and the page's four charts as specs (a finished run
    is a pure function of its key; the page calls this only when all `count` replicates are in)."""
    results = experiment_results(design, seed)
    frame = fr.replicate_frame(design, [results[i] for i in range(count)])
    summary = fr.summarize_frame(design, frame)
    return frame, summary, tuple(to_spec(c) for c in experiment_chart_list(frame, summary, design.sd_group))


def default_pooling() -> None:
    """The Partial pooling page before any change: MModTime4 on the data as measured."""
    spec = mb.tutorial_spec("MModTime4")
    formula = mb.display_formula(spec)
    out = fit_lmer(formula, spec.REML, spec.data)
    if out.ok:
        run = (formula, spec.REML, spec.data, spec.response, "none", 1.0, 1)
        group = groups_of(out.fit)[0]
        pooling_chart(*run, group, "Time" if spec.data == "all" else None)
        caterpillar_chart(*run, group)


def default_experiment(design: Design, seed: int, count: int) -> None:
    """The replicates a first visit shows, computed here (the warm-up thread), not by the runner."""
    results, ex = experiment_results(design, seed), experiment(design)
    for i in range(count):
        if i not in results:
            results[i] = ex.replicate(seed, i)
    finished_experiment(design, seed, count)


@st.cache_resource(max_entries=1)  # one store per process, itself bounded
def runs() -> Store:
    """Profiles and bootstrap runs by (kind, formula, REML, data, ...): a cancelled run keeps its
    replicates here and continues from them (ui.inference.run_panel)."""
    return Store(64)


# -- inference (the p-values and bootstrap pages) -----------------------------------------------------

@st.cache_resource(max_entries=16, show_spinner="Satterthwaite's degrees of freedom …", **KEEP)
def satterthwaite(formula: str, REML: bool, data: str) -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    """lmerTest's summary table and type III anova, with its warnings."""
    fit = fit_lmer(formula, REML, data).fit
    vc = varpar_covariance(fit)
    return coef_table(fit, vc), anova_table(fit, vc), vc.warnings


@st.cache_resource(max_entries=16, show_spinner="Kenward-Roger's adjustment …", **KEEP)
def kenward_roger(formula: str, data: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """pbkrtest's table and type III anova, of the REML fit."""
    fit = fit_lmer(formula, True, data).fit
    adj = kr.vcov_adjusted(fit)
    return kr.coef_table(fit, adj), kr.anova_table(fit, hypotheses(fit), adj)


@st.cache_resource(max_entries=16, show_spinner="Likelihood-ratio tests of each coefficient (ML refits) …",
                   **KEEP)
def coefficient_lrts(formula: str, REML: bool, data: str) -> pd.DataFrame:
    return coefficient_lrt(fit_lmer(formula, REML, data).fit)


@st.cache_resource(max_entries=16, show_spinner=False, **KEEP)
def variance_explained(formula: str, REML: bool, data: str) -> Explained:
    return explained(fit_lmer(formula, REML, data).fit)


def profiled(formula: str, REML: bool, data: str, progress=None) -> Profile:
    """The fit's profile, from the runs' store, or computed (with `progress`) and stored."""
    key = ("profile", formula, REML, data)
    found = runs().get(key)
    if found is None:
        found = profile(fit_lmer(formula, REML, data).fit, progress=progress)
        runs()[key] = found
    return found


@st.cache_resource(max_entries=16, show_spinner=False, **KEEP)
def zeta_chart(formula: str, REML: bool, data: str) -> dict:
    return to_spec(inference_charts.zeta_plots(profiled(formula, REML, data)))


@st.cache_resource(max_entries=32, show_spinner="Predicting with intervals …", **KEEP)
def prediction_view(formula: str, REML: bool, data: str, people: tuple[str, ...]) -> tuple[dict, dict, float, int]:
    """The over-time chart with the population's confidence band and the people's prediction bands,
    the bands' half-widths, the share of the people's measurements inside their bands and their number."""
    fit, frame = fit_lmer(formula, REML, data).fit, slice_frame(data)
    population, units = population_band(fit), unit_bands(fit, frame, list(people))
    chart = inference_charts.prediction_bands(mixed.rows_frame(frame, IgG=frame["IgG"]), population, units)
    return to_spec(chart), band_widths(population, units), coverage(units), len(units)


# -- stories -------------------------------------------------------------------------------

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


@st.cache_resource(max_entries=64, show_spinner=False, **KEEP)
def fit_texts(formula: str, REML: bool, data: str) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """An lmer fit's summary() (the data line naming the slice as the tutorial does) and its random-
    and fixed-effects tables as lme4 prints their cells."""
    f = fit_lmer(formula, REML, data).fit
    return (lmer_summary(f, data_name=slice_info(data).r_name), varcorr_table(f, formatted=True),
            fixef_table(f, formatted=True))


@st.cache_resource(max_entries=4, show_spinner=False, **KEEP)
def id_pairs(data: str) -> CodePairs:
    return code_pairs(slice_frame(data))


@st.cache_resource(max_entries=8, show_spinner=False, **KEEP)
def download_text(name: str, data: str | None = None) -> str:
    """A file the R code reads (lib.teach.downloads), made once."""
    return file_text(name, data)


# -- warming up (ui.warmup's thread) ----------------------------------------------------------------------------

def default_work() -> list[tuple[Callable, tuple]]:
    """What the pages show before anyone touches a widget, in the order a student meets it."""
    work: list[tuple[Callable, tuple]] = [(fixed_lm, ("IgG ~ Sex", 0, False)), (crossed_count, (2,))]
    for name, (formula, data) in mb.TUTORIAL_FORMULAS.items():
        work += [(fit_lmer, (formula, True, data)), (lme4_comparison, (formula, True, data)),
                 (fit_texts, (formula, True, data))]
    work += [(id_pairs, ("all",))] + [(download_text, (name, None)) for name in FILES if name != "toy.csv"]
    toy = Example().slice_name
    work += [(fit_lmer, (TOY_NAIVE, True, toy)), (fit_lmer, (TOY_RECODED, True, toy)), (fit_texts, (TOY_NAIVE, True, toy)),
             (download_text, ("toy.csv", toy)), (fit_lmer, (PER_CODE, True, "all")), (fit_texts, (PER_CODE, True, "all"))]
    for name, (formula, data) in mb.LM_FORMULAS.items():
        work.append((fit_lm, (formula, data)))
    mmod, mt3 = mb.TUTORIAL_FORMULAS["MMod"], mb.TUTORIAL_FORMULAS["MModTime3"]
    people = tuple(individual_choices(load_raw())[:4])
    work += [(family_tick_chart, ()), (people_over_time_chart, (people,)),
             (family_effects_chart, (mmod[0], True, mmod[1], *mb.LM_FORMULAS["LMod2"])),
             (toy_chart, (Example().slice_name, "Individual")),
             (fit_lmer, (mmod[0], False, mmod[1])), (lme4_comparison, (mmod[0], False, mmod[1])),
             (fit_texts, (mmod[0], False, mmod[1])), (criterion_chart, (*mmod, True)), (over_time_charts, ()),
             (lreg_residuals_chart, ()), (fit_lmer, (mt3[0], True, "all_r_read")),
             (mmodtime3_reading, ("all",)), (mmodtime3_reading, ("all_r_read",)),
             (lme4_path_chart, (mt3[0], True, "all", "MModTime3")), (lme4_replay, (mt3[0], True, "all_r_read")),
             (lme4_replay, (DOUBLE_BAR, True, "all")), (fit_texts, (DOUBLE_BAR, True, "all")),
             (digit_costs, (mt3[0], True, "all")), (one_code_chart, ("1",))]
    m4 = mb.TUTORIAL_FORMULAS["MModTime4"]
    work += [(residual_charts, (m4[0], True, "all", "MModTime4")), (spread_over_time, (SPREAD_MODELS,)),
             (individuals_chart, (m4[0], True, "all", ("1-F", "1-M")))]
    work += [(f, (*mmod[:1], True, mmod[1])) for f in (satterthwaite, coefficient_lrts, variance_explained,
                                                      zeta_chart)]
    work += [(kenward_roger, mmod), (prediction_view, (m4[0], True, "all", DEFAULT_PREDICTED))]
    work += [(default_pooling, ()), (default_experiment, (fr.DEFAULT_DESIGN, fr.DEFAULT_SEED, fr.DEFAULT_COUNT))]
    g = gp.MODELS["binary"]
    work += [(misfit_chart, ()), (fit_glmm, ("binary", g.family, "logit", g.default_terms, 1)),
             (glmm_prediction_chart, ("binary", g.family, "logit", g.default_terms, 1, "F")),
             (fit_glmm, ("binary", g.family, "logit", tuple(t for t in g.default_terms if t != "Sex:Time"), 1))]
    first = next(iter(gr.RANDOM_PARTS))  # the GLMM residuals page's first model, simulated as it opens
    checks = (first, gr.RANDOM_PARTS[first][0], gr.DEFAULT_NSIM, gr.DEFAULT_SEED, gr.DEFAULT_CONDITIONAL)
    work += [(glmm_fit, checks[:2]), (glmm_checks, checks), (glmm_check_charts, checks)]
    return work


WARM_UP_DONE = "warm-up finished"  # printed to the server's log (bench/page_times.py waits for it)
_CONTEXT_LOG = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")


class _QuietThread(logging.Filter):
    """Streamlit warns of a missing ScriptRunContext whenever a cached function runs outside a page;
    the warm-up does so by design."""

    def __init__(self, thread: int) -> None:
        super().__init__()
        self.thread = thread

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread


def compute(work: list[tuple[Callable, tuple]]) -> None:
    """Call each cached function; a failure is logged (the page computes it again and says why)."""
    for func, args in work:
        try:
            func(*args)
        except Exception:
            _LOG.exception("warm-up of %s%r failed", getattr(func, "__name__", func), args)


def compute_defaults() -> None:
    """Every page's default content, into the caches (ui.warmup's thread calls it once per process)."""
    t0, quiet = time.perf_counter(), _QuietThread(threading.get_ident())
    _CONTEXT_LOG.addFilter(quiet)
    try:
        compute(default_work())
    finally:
        _CONTEXT_LOG.removeFilter(quiet)
    print(f"{WARM_UP_DONE} in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
