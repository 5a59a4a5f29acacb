"""The partial-pooling, experiment and GLMM-residual pages, and the exercises every page ends with,
under AppTest.

Expected numbers: R's attr(logLik(MMod), "df") = 4 (shared/reference/seed_lme4.json) for the
parameter check; nobs of a subsample is 270 people x the months kept; the months-of-18 model with
(1 | FamID) is flagged as overdispersed (tests/engine/test_sim_residuals.py); the experiment's
theoretical singular share is pf(1 / (1 + n sd_group^2 / sd^2), J - 1, J (n - 1)) in R.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.engine.oneway_experiment import Design
from lib.teach.contents import REPO, available_sections
from lib.teach.exercise_bank import SLOTS

TIMEOUT = 120


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(REPO / "pages" / "tutorial" / f"{page}.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def exercise(at: AppTest, page: str, slot: str):
    """The answer widget of a page's question in `slot` (its key carries the question's hash)."""
    prefix = f"ex_{page}_{slot}_"
    return next(w for w in list(at.number_input) + list(at.radio) if (w.key or "").startswith(prefix))


def sidebar_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.sidebar.markdown)


# -- partial pooling ---------------------------------------------------------------------------

def test_pooling_page_refits_on_sparser_data():
    at = run("pooling")
    assert metric(at, "rows in the fit") == "4,860" and metric(at, "levels of Sex:IndID") == "270"
    at.radio(key="pp_group").set_value("FamID").run()
    assert metric(at, "levels of FamID") == "8"
    full = float(metric(at, "median arrow (intercept)"))
    at.radio(key="pp_mode").set_value("times").run()
    at.select_slider(key="pp_times").set_value(3).run()
    assert not at.exception and metric(at, "rows in the fit") == f"{270 * 3:,}"
    assert float(metric(at, "median arrow (intercept)")) > full
    assert "a level of **FamID**" in " ".join(m.value for m in at.markdown)  # the caterpillar of the units chosen


def test_pooling_page_says_when_the_data_cannot_carry_the_model():
    """One month per person and a random line per person: lme4's check refuses, the page explains."""
    at = run("pooling")
    at.radio(key="pp_mode").set_value("times").run()
    at.select_slider(key="pp_times").set_value(1).run()
    assert not at.exception
    assert any("number of observations" in e.value for e in at.error)


def test_pooling_page_at_time_zero_is_one_dimensional():
    at = run("pooling")
    at.radio(key="pp_data").set_value("time0").run()
    at.selectbox(key="pp_g1").set_value("(none)").run()
    at.multiselect(key="pp_sl0").set_value([]).run()
    assert not at.exception and metric(at, "levels of FamID") == "8"
    assert "times" not in at.radio(key="pp_mode").options
    at.radio(key="pp_mode").set_value("noise").run()
    at.select_slider(key="pp_noise").set_value(4.0).run()
    assert not at.exception and metric(at, "rows in the fit") == "270"


def test_pooling_page_draws_people_in_one_dimension_without_time():
    """IgG ~ Sex + (1 | FamID) + (1 | Sex:IndID) on all months: intercepts only, 270 people of 18 rows."""
    at = run("pooling")
    at.multiselect(key="pp_fixed").set_value(["Sex"]).run()
    at.multiselect(key="pp_sl0").set_value([]).run()
    at.multiselect(key="pp_sl1").set_value([]).run()
    assert not at.exception and metric(at, "levels of Sex:IndID") == "270"
    assert any("grey bar: the model's 95% range" in c.value for c in at.caption)


# -- the experiment ------------------------------------------------------------------------------

def simulating(at: AppTest) -> str | None:
    """The experiment's progress text while its run is under way (None when it is not)."""
    texts = [p.proto.text for p in at.get("progress") if p.proto.text.startswith("Simulating")]
    return texts[0] if texts else None


def run_to_the_end(at: AppTest) -> AppTest:
    """Show the page again until its run has finished (the replicates accrue in the runner's thread)."""
    for _ in range(int(TIMEOUT / 0.25)):
        if simulating(at) is None:
            return at
        time.sleep(0.25)
        at.run()
    raise AssertionError(f"the experiment did not finish in {TIMEOUT} s: {simulating(at)}")


def test_experiment_runs_and_compares_with_theory():
    at = AppTest.from_file(str(REPO / "pages" / "tutorial" / "fixed_or_random.py"), default_timeout=TIMEOUT)
    at.run()
    at.select_slider(key="fr_count").set_value(20).run()
    at.slider(key="fr_groups").set_value(3).run()
    run_to_the_end(at)
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "For a balanced design the chance is known: 37.8% for REML" in text  # pf(1/2, 2, 9) = 0.3776
    assert "covered it in" in text and "of 20 replicates" in text
    assert metric(at, "lmer better in").endswith("of replicates")


def test_experiment_shows_its_replicates_as_they_accrue():
    """A big run: the page returns with the replicates done so far and a progress bar, shows more at
    each run, and ends with all of them (no Stop warning); the numbers are those of all replicates."""
    at = AppTest.from_file(str(REPO / "pages" / "tutorial" / "fixed_or_random.py"), default_timeout=TIMEOUT)
    at.session_state["fr_seed"] = 4242
    at.session_state["fr_count"] = 1000
    at.run()
    first = simulating(at)
    assert first is not None and not at.exception and not at.warning
    assert first.startswith("Simulating: ") and first.split()[3] == "1000"
    run_to_the_end(at)
    assert not at.exception and not at.warning and simulating(at) is None
    text = " ".join(m.value for m in at.markdown)
    assert "of 1000 replicates" in text
    assert int(first.split()[1]) < 1000  # it was shown before the end (0.2 s for 1,000 x 3 fits: no)


def test_experiment_can_stop_and_continue():
    at = AppTest.from_file(str(REPO / "pages" / "tutorial" / "fixed_or_random.py"), default_timeout=TIMEOUT)
    at.session_state["fr_paused"] = (Design(5, 4, 1.0, 2.0), 77)  # as if Stop had been pressed
    at.session_state["fr_seed"] = 77
    at.run()
    assert any("No replicates yet" in i.value for i in at.info)
    at.button(key="fr_continue").click().run()
    run_to_the_end(at)
    assert not at.exception and not at.info and metric(at, "lm: RMSE of the group means")
    at.session_state["fr_count"] = 1000
    at.run()
    assert simulating(at) is not None
    at.button(key="fr_stop").click().run()
    stopped = [w.value for w in at.warning if w.value.startswith("Stopped after")]
    assert stopped and simulating(at) is None and "of 1000 replicates" in stopped[0]


def test_a_replicate_that_cannot_be_fitted_stops_the_run_with_its_reason(monkeypatch):
    """The runner's error is shown, the run is not retried at every showing, the page does not loop."""
    from lib.engine import oneway_experiment

    def no_fit(self, seed, index):
        if index >= 3:
            raise ValueError("no fit for this replicate")
        return original(self, seed, index)

    original = oneway_experiment.Experiment.replicate
    monkeypatch.setattr(oneway_experiment.Experiment, "replicate", no_fit)
    at = AppTest.from_file(str(REPO / "pages" / "tutorial" / "fixed_or_random.py"), default_timeout=TIMEOUT)
    at.session_state["fr_seed"] = 5151
    at.run()
    for _ in range(int(TIMEOUT / 0.25)):
        if at.error:
            break
        time.sleep(0.25)
        at.run()
    assert not at.exception and "no fit for this replicate" in at.error[0].value
    at.run()
    assert "no fit for this replicate" in at.error[0].value and simulating(at) is None
    assert any(w.value.startswith("Stopped after 3 of 100") for w in at.warning)


def test_leaving_the_experiment_stops_its_run():
    """Another page: this session's run stops (its replicates so far are kept); back on the page, it goes on."""
    from ui.cache import replicate_runner
    from ui.experiment import OWNER

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/tutorial/fixed_or_random.py")
    at.session_state["fr_seed"] = 4343
    at.session_state["fr_count"] = 1000
    at.run()
    owner = at.session_state[OWNER]
    assert simulating(at) is not None and replicate_runner().running(owner)
    at.switch_page("pages/tutorial/pooling.py").run()
    assert not at.exception and not replicate_runner().running(owner)
    at.switch_page("pages/tutorial/fixed_or_random.py").run()
    assert simulating(at) is not None and replicate_runner().running(owner)
    at.switch_page("pages/tutorial/data.py").run()


# -- simulated residuals -------------------------------------------------------------------------

def test_glmm_residual_page_flags_the_overdispersed_model():
    at = run("glmm_residuals")
    assert not [m for m in at.metric if m.delta == "flagged" and m.label == "dispersion"]
    at.radio(key="gr_model").set_value("months").run()
    assert next(m for m in at.metric if m.label == "dispersion").delta == "flagged"
    exercise(at, "glmm_residuals", "dispersion").set_value("Yes").run()
    assert at.success and at.success[0].value.startswith("Right.")
    at.radio(key="gr_random_months").set_value("(1 | FamID) + (1 | Sex:IndID)").run()
    at.radio(key="gr_how").set_value("unconditional").run()
    assert not at.exception
    assert next(m for m in at.metric if m.label == "dispersion").delta == "fine"


# -- exercises ---------------------------------------------------------------------------------

# every page of the sidebar ends with two checks (lib.teach.exercise_bank.SLOTS)
ALL_CHECKS = 2 * sum(Path(s.page).stem in SLOTS for s in available_sections())


def test_an_exercise_grades_the_model_on_screen_and_counts_progress():
    at = run("random_effects")
    assert f"Checks solved: 0 of {ALL_CHECKS}" in sidebar_text(at)
    exercise(at, "random_effects", "params").set_value(3).run()
    assert at.error and at.error[0].value.startswith("Not quite.")
    exercise(at, "random_effects", "params").set_value(4).run()  # attr(logLik(MMod), "df") = 4
    assert at.success and "the df of `logLik(MMod)`" in at.success[0].value
    assert f"Checks solved: 1 of {ALL_CHECKS}" in sidebar_text(at)
    # another model, another question: (Sex | FamID) adds two parameters
    at.multiselect(key="re_sl0").set_value(["Sex"]).run()
    widget = exercise(at, "random_effects", "params")
    assert widget.value is None and "MMod2" in " ".join(m.value for m in at.markdown)


def test_progress_carries_across_pages():
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT).run()
    exercise(at, "home", "contrasts").set_value(7).run()
    at.switch_page("pages/tutorial/data.py").run()
    assert not at.exception and f"Checks solved: 1 of {ALL_CHECKS}" in sidebar_text(at)
    assert any("Home: 1/2" in c.value for c in at.sidebar.caption)


@pytest.mark.parametrize("page, slot, answer", [
    ("fixed_effects", "error", "The model is coded correctly"),  # the default: Sex alone
    ("multiple_factors", "lrt", "MMod2, and its p-value is conservative (too large)"),  # p = 0.0307 in R
    ("ml_vs_reml", "larger", "REML"),  # VarCorr: 30.27 by REML, 26.44 by ML (seed_lme4.json)
])
def test_choice_exercises_on_existing_pages(page, slot, answer):
    at = run(page)
    exercise(at, page, slot).set_value(answer).run()
    assert at.success and at.success[-1].value.startswith("Right.")
