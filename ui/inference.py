"""The inference pages' shared parts: the model on screen, guarded sections, and the run panel of
long computations.

Profiles and bootstraps take seconds to minutes: they run in the page with a progress bar, and what
they have so far is kept in ui.cache's runs store after every report, so a cancelled run (the Cancel
button reruns the page, which stops the loop at its next progress report) keeps its replicates and
can be continued.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import streamlit as st

from lib.engine.profile import Profile
from lib.teach import model_builder as mb
from ui import cache
from ui import mixed as ui


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """A section of a page: should its computation fail on an unusual model, it says so in words and
    the page goes on (Streamlit's own stop and rerun are BaseExceptions and pass through)."""
    try:
        yield
    except Exception as e:  # noqa: BLE001 - a message, never a traceback
        st.error(f"No {what} for this model: {type(e).__name__}: {e}", icon=":material/block:")


def model_on_screen(key: str, default: str) -> tuple[object, str, tuple[str, bool, str]]:
    """The chooser (the tutorial's `default` model first), its fit and (formula, REML, data); the
    page stops with lme4's message when there is no fit."""
    _, outcome, name = ui.chosen_model(key, mb.tutorial_spec(default), default, show=False)
    if outcome is None or not outcome.ok:
        if outcome is not None:
            ui.show_failure(outcome, name)
        st.stop()
    return outcome, name, (outcome.formula, outcome.REML, outcome.data)


def cached_profile(formula: str, REML: bool, data: str, label: str) -> Profile:
    """The fit's profile, computed here with a progress bar unless a session already has."""
    if ("profile", formula, REML, data) in cache.runs():
        return cache.profiled(formula, REML, data)
    bar = st.progress(0.0, text=f"Profiling {label} …")

    def progress(done: int, total: int, name: str) -> None:
        bar.progress(done / max(total, 1), text=f"Profiling {name} ({done + 1} of {total}) …" if name else "Done")

    prof = cache.profiled(formula, REML, data, progress)
    bar.empty()
    return prof


def run_panel(key: str, run_key: tuple, nsim: int, label: str,
              compute: Callable[[object, Callable[[object], None]], object]) -> object | None:
    """Start / Continue and Cancel buttons, a progress bar, and the run's result so far.

    compute(resume, progress) runs (or continues) the replicates, calling progress(result so far).
    """
    results = cache.runs()
    current = results.get(run_key)
    done = current.reps.done if current is not None else 0
    running = f"{key}_running"
    left, right = st.columns([1, 1])
    verb = "Continue" if 0 < done < nsim else "Run"
    start = left.button(f"{verb} {label}", key=f"{key}_start", type="primary", disabled=done >= nsim,
                        width="stretch")
    cancel = right.button("Cancel", key=f"{key}_cancel", width="stretch")
    if cancel:
        st.session_state[running] = False
    elif start:
        st.session_state[running] = True
    if st.session_state.get(running) and done < nsim:
        bar = st.progress(done / nsim, text=f"{done} of {nsim} replicates …")

        def progress(res) -> None:
            results[run_key] = res  # kept before the bar moves: a rerun stops the loop at the bar
            bar.progress(res.reps.done / nsim, text=f"{res.reps.done} of {nsim} replicates …")

        results[run_key] = compute(current, progress)
        st.session_state[running] = False
        st.rerun()  # the buttons above were drawn before the run: draw them for its end
    current = results.get(run_key)
    if current is not None and not current.reps.complete:
        st.warning(f"Stopped after {current.reps.done} of {nsim} replicates (cancelled, or the page was left). "
                   "The results below use those; **Continue** picks up where it stopped "
                   "with the same draws.", icon=":material/pause_circle:")
    return current
