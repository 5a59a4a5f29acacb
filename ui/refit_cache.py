"""Cached refits and simulations of the partial-pooling, experiment and GLMM-residual pages.

Everything here is computed from hashable arguments and shared by all sessions as a read-only
value (st.cache_resource), like ui.mixed.fit; refits build problems of their own.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import streamlit as st

from lib.engine.oneway_experiment import Design, Replicate
from lib.engine.pooling import Ellipse, Pooling, covariance_ellipses, pooling
from lib.teach import glmm_residuals as gr
from lib.teach.fitting import Outcome
from lib.teach.pooling import Scaling, fit_scaled
from ui import mixed


@st.cache_resource(max_entries=32, show_spinner="Refitting the model on the changed data …")
def scaled_fit(formula: str, REML: bool, data: str, response: str, mode: str, level: float, seed: int) -> Outcome:
    """lmer on the data scaled as the slider says (the model on screen's fit for mode "none")."""
    if mode == "none":
        return mixed.fit(formula, REML, data)
    base = mixed.fit(formula, REML, data)
    fitted = np.asarray(base.fit.fitted) if base.ok else None
    return fit_scaled(formula, REML, data, Scaling(mode, level, seed), response, fitted)


@st.cache_resource(max_entries=32, show_spinner="Comparing own, pooled and mixed-model estimates …")
def pooling_view(formula: str, REML: bool, data: str, response: str, mode: str, level: float, seed: int,
                 group: str, slope: str | None) -> tuple[Pooling, list[Ellipse], str | None]:
    fit = scaled_fit(formula, REML, data, response, mode, level, seed).fit
    pool = pooling(fit, group, slope)
    ellipses, why_not = covariance_ellipses(fit, pool)
    return pool, ellipses, why_not


@st.cache_resource(max_entries=12, show_spinner="Fitting the GLMM (glmer) …")
def glmm_fit(key: str, random: str) -> Outcome:
    return gr.fit_model(key, random)


@st.cache_resource(max_entries=24, show_spinner="Simulating from the fitted model …")
def glmm_checks(key: str, random: str, nsim: int, seed: int, conditional: bool) -> gr.Checks:
    return gr.run_checks(glmm_fit(key, random).fit, nsim, seed, conditional)


MAX_EXPERIMENTS = 64


@st.cache_resource
def _experiments() -> tuple[OrderedDict, threading.Lock]:
    return OrderedDict(), threading.Lock()


def experiment_results(design: Design, seed: int) -> dict[int, Replicate]:
    """The replicates of the fixed-or-random experiment (design, seed) computed so far, by index:
    shared by every session (a replicate is a pure function of its key, so two sessions writing one
    agree); the least recently used of more than MAX_EXPERIMENTS experiments are dropped."""
    store, lock = _experiments()
    with lock:
        results = store.setdefault((design, seed), {})
        store.move_to_end((design, seed))
        while len(store) > MAX_EXPERIMENTS:
            store.popitem(last=False)
    return results
