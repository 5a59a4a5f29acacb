"""The exercises' grading (lib.teach.exercises, lib.teach.exercise_bank) on several model choices.

Expected answers come from R: parameter counts are attr(logLik(fit), "df") and likelihood-ratio
verdicts lmtest::lrtest()'s p-values (shared/reference/seed_lme4.json, tests/reference/exercises.json
made by tests/reference/exercises.R); variances and singular verdicts at the optimum come from
shared/reference/optimum_lme4.json; printed values from lme4's summary(). A question is built from
this engine's fit of the same model, so each test checks that the question's answer is R's.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from band import optimum_cases
from conftest import TESTS

from lib.api import glmer, lm
from lib.data.glmm_data import load_counts, load_months_low
from lib.data.immune import load_prepared, load_raw
from lib.engine.oneway_experiment import Design, replicates
from lib.engine.pooling import pooling
from lib.teach import exercise_bank as bank
from lib.teach.exercises import CHOICE, NUMBER, Feedback, Question, grade, record, solved, totals
from lib.teach.fitting import fit_lmer
from lib.teach.fixed_or_random import summarize
from lib.teach.glmm_residuals import run_checks

EXERCISE_REF = json.loads((TESTS / "reference" / "exercises.json").read_text())


def fitted(formula: str, data: str, REML: bool = True):
    return fit_lmer(formula, REML, data).fit


# -- grading ------------------------------------------------------------------------------------

def test_grading_numbers_and_choices():
    q = Question("params", "How many?", NUMBER, 6, "why", "hint")
    assert grade(q, None) is None
    assert grade(q, 6) == Feedback(True, "Right. why") and grade(q, 6.0).correct
    assert grade(q, 5) == Feedback(False, "Not quite. hint")
    assert not grade(q, "six").correct and not grade(q, float("nan")).correct
    near = Question("v", "?", NUMBER, 30.2746, "w", "h", tolerance=0.15)
    assert grade(near, 30.27).correct and grade(near, 30.4).correct and not grade(near, 5.502).correct
    c = Question("lrt", "?", CHOICE, "b", "w", "h", ("a", "b"))
    assert grade(c, "b").correct and not grade(c, "a").correct
    with pytest.raises(ValueError):
        grade(c, "z")
    with pytest.raises(ValueError):
        Question("x", "?", CHOICE, "z", "w", "h", ("a", "b"))


def test_progress_counts_solved_slots_once():
    progress: dict = {}
    q = Question("params", "?", NUMBER, 4, "w", "h")
    record(progress, "random_effects", q, grade(q, 3))
    assert solved(progress, "random_effects", ("params", "variance")) == 0
    record(progress, "random_effects", q, grade(q, 4))
    record(progress, "random_effects", q, grade(q, 3))  # solved stays solved
    assert progress["random_effects"]["params"] == {"solved": True, "tries": 3}
    assert totals(progress, {"random_effects": ("params", "variance"), "home": ("contrasts", "variance")}) == (1, 4)


# -- questions about the fit on screen -------------------------------------------------------------

@pytest.mark.parametrize("name, REML", [("MMod", True), ("MMod2", True), ("MMod3", False), ("MModTime4", True),
                                        ("MModTime3", False)])
def test_parameter_count_is_logliks_df(lmer_fits, seed_ref, name, REML):
    """attr(logLik(fit), "df") in R, for each model."""
    fit = lmer_fits.get(name, REML)
    q = bank.count_parameters(fit, name)
    ref = seed_ref["lmer_reml" if REML else "lmer_ml"][name]["df"]
    assert q.answer == ref and grade(q, ref).correct and not grade(q, ref - 1).correct


def test_the_question_changes_with_the_model(lmer_fits):
    """A student who changes the model gets a question about the new one (a new key)."""
    a = bank.count_parameters(lmer_fits.get("MMod"), "model")
    b = bank.count_parameters(lmer_fits.get("MMod2"), "model")
    assert a.key != b.key and a.key == bank.count_parameters(lmer_fits.get("MMod"), "model").key


def test_lm_and_glmer_counts(lm_refs):
    """lm: coefficients + sigma (LMod2: 9 + 1; the integer-coded FamID: 3 + 1); glmer: no residual
    variance (SimCounts: Count ~ Dose + (1 | Site), logLik df 3 in R)."""
    data = load_prepared()
    t0 = data[data["Time"] == 0].reset_index(drop=True)
    q = bank.count_parameters(lm("IgG ~ Sex + FamID", t0), "LMod2")
    assert q.answer == len(lm_refs["LMod2"]["coef_names"]) + 1 == 10
    raw0 = load_raw().query("Time == 0").reset_index(drop=True)
    numeric = lm("IgG ~ Sex + FamID", raw0)
    assert bank.count_parameters(numeric, "fit").answer == len(lm_refs["LMod2_numericFamID"]["coef_names"]) + 1
    assert bank.fixed_effects(numeric, famid_factor=False)[1].answer.startswith("FamID is a number")
    assert bank.fixed_effects(lm("IgG ~ Sex + FamID", t0), famid_factor=True)[1].answer == "The model is coded correctly"
    pois = glmer("Count ~ Dose + (1 | Site)", load_counts(), family="poisson")
    ratio, params = bank.glmm(pois)
    assert params.answer == 3 and "no residual variance" in params.why
    assert ratio.prompt.startswith("What is the rate ratio for **Dose**")
    ref = optimum_cases()["SimCounts_poisson"]["optimum"]["fixef"]["Dose"]
    assert grade(ratio, round(float(np.exp(ref)), 2)).correct  # round(exp(fixef(fit))["Dose"], 2) in R


@pytest.mark.parametrize("pair, favoured, conservative", [
    (("MMod2", "MMod"), "MMod2", True),  # lrtest(MMod2, MMod): p = 0.0307, a variance and a correlation dropped
    (("MModTime", "MModTime2"), "MModTime2", True),  # p = 5.1e-135
    (("MModTime2", "MModTime4"), "MModTime4", True),  # p = 0 (R prints < 2.2e-16)
])
def test_lrt_verdicts_follow_r(lmer_fits, seed_ref, pair, favoured, conservative):
    a, b = (lmer_fits.get(n) for n in pair)
    q = bank.lrt_verdict(a, pair[0], b, pair[1])
    ref_p = seed_ref["lrtest_reml"][f"{pair[0]}_vs_{pair[1]}"]["p"]
    assert (ref_p < 0.05) == (favoured == max(pair, key=lambda n: lmer_fits.get(n).df))
    assert q.answer.startswith(favoured + ",") and ("conservative" in q.answer) == conservative


def test_lrt_of_reml_fits_with_other_fixed_effects_is_not_valid(lmer_fits):
    """lrtest(MMod2, MMod3): REML fits with different fixed effects (the tutorial's test; R prints
    p = 0.00065, but the REML likelihoods are of different data)."""
    q = bank.lrt_verdict(lmer_fits.get("MMod2"), "MMod2", lmer_fits.get("MMod3"), "MMod3")
    assert q.answer.startswith("Neither")
    ml = bank.lrt_verdict(lmer_fits.get("MMod2", False), "MMod2_ML", lmer_fits.get("MMod3", False), "MMod3_ML")
    assert ml.answer == "MMod2_ML, and its p-value can be taken as it is"  # anova's p = 0.00105, no variance at 0


def test_lrt_favours_the_simpler_model_when_p_is_large():
    """lrtest(lmer(IgG ~ Sex + (1|FamID) + (1|IndID)), MMod) on InitIgG: p = 0.9999996 in R
    (tests/reference/exercises.json): MMod is kept, and the IndID variance was tested at 0."""
    with_ind = fitted("IgG ~ Sex + (1 | FamID) + (1 | IndID)", "time0")
    q = bank.lrt_verdict(with_ind, "MModInd", fitted("IgG ~ Sex + (1 | FamID)", "time0"), "MMod")
    assert EXERCISE_REF["IndID_vs_MMod"]["p"] > 0.05
    assert q.answer == "MMod, and its p-value is conservative (too large)"


def test_a_correlation_test_is_not_on_the_boundary():
    """(1 + Time | FamID) against (1 + Time || FamID) tests a correlation, inside its range. R's
    optimum of the || model prints REML criterion 37165.1 (tests/golden/lme4/double_bar_optimum.txt)
    and MModTime2's is 37163.29 (seed_lme4.json): chisq = 1.8 on 1 df, p = 0.18, not significant."""
    corr = fitted("IgG ~ Sex * Time + (1 + Time | FamID)", "all")
    uncorr = fitted("IgG ~ Sex * Time + (1 + Time || FamID)", "all")
    assert abs(uncorr.criterion - 37165.1) <= 0.05
    q = bank.lrt_verdict(corr, "MModTime2", uncorr, "MModTime2u")
    assert q.answer == "MModTime2u, and its p-value can be taken as it is"


@pytest.mark.parametrize("name", ["MMod", "MMod2", "MModTime2"])
def test_reml_gives_the_larger_variance(lmer_fits, name):
    """The first variance of VarCorr at the optimum, REML against ML (optimum_lme4.json)."""
    cases = optimum_cases()
    reml, ml = (cases[k]["optimum"]["varcorr"][0]["vcov"] for k in (name, f"{name}_ML"))
    larger, _ = bank.ml_vs_reml(lmer_fits.get(name), lmer_fits.get(name, False), name)
    assert larger.answer == ("REML" if reml > ml else "ML") == "REML"


@pytest.mark.parametrize("name, REML, key", [("MMod", True, "MMod"), ("MMod2", False, "MMod2_ML"),
                                              ("MModTime3", True, "MModTime3"), ("MModTime4", True, "MModTime4")])
def test_singular_question(lmer_fits, name, REML, key):
    """isSingular() at the optimum (optimum_lme4.json)."""
    q = bank.singular_check(lmer_fits.get(name, REML), name)
    assert q.answer == ("Yes" if optimum_cases()[key]["optimum"]["singular"] else "No")


def test_variance_reading_accepts_the_printed_digits(lmer_fits):
    """summary(MMod) prints the FamID variance as 30.27 and its Std.Dev. as 5.502 (lme4 1.1-31)."""
    q = bank.variance_of(lmer_fits.get("MMod"), "MMod", "FamID")
    assert grade(q, 30.27).correct and grade(q, 30.3).correct and not grade(q, 5.502).correct


def test_questions_need_no_fit_where_the_page_has_none():
    for page in ("random_effects", "multiple_factors", "random_regression", "ml_vs_reml", "glmm", "pooling",
                 "fixed_or_random", "glmm_residuals", "variance_components"):
        assert bank.questions(page) == []
    assert [q.slot for q in bank.questions("convergence")] == ["error"]
    with pytest.raises(KeyError):
        bank.questions("nowhere")


def test_every_page_asks_its_slots(lmer_fits):
    """What each builder asks is what SLOTS counts (on the pages whose builders need data only)."""
    raw = load_raw()
    assert [q.slot for q in bank.questions("home", data=raw)] == list(bank.SLOTS["home"])
    assert sorted(q.slot for q in bank.questions("data", raw=raw)) == sorted(bank.SLOTS["data"])
    data_q = bank.questions("data", raw=raw)
    assert data_q[0].answer == 18 and data_q[1].answer.startswith("as.factor")  # str(): FamID int
    assert bank.home(raw)[0].answer == 7
    fit = lmer_fits.get("MModTime4")
    asked = bank.questions("convergence", fit=fit, name="MModTime4", data=load_prepared())
    assert [q.slot for q in asked] == list(bank.SLOTS["convergence"]) and asked[1].answer == 270
    assert "135 IndID codes" in asked[0].why


def test_pooling_question_is_the_longest_arrow(lmer_fits):
    fit = lmer_fits.get("MMod")
    units = pooling(fit, "FamID").units
    q, params = bank.pooling(units=units, group="FamID", fit=fit, name="MMod")
    shift = (units["partial_intercept"] - units["own_intercept"]).abs()
    assert q.answer == str(units["unit"][shift.idxmax()]) and q.answer in q.options and len(q.options) >= 3
    assert params.answer == 4


def test_experiment_questions_follow_the_results():
    design = Design(4, 3, 1.0, 1.0)
    summary = summarize(design, list(replicates(design, 5, 40)))
    coverage, ml = bank.fixed_or_random(summary=summary)
    expected = "lmer's (group as a random effect)" if summary.lmer_coverage > summary.lm_coverage else \
        "lm's (group as a fixed factor)"
    assert coverage.answer == expected
    assert ml.answer == "ML"  # ML's variance is never above REML's in a balanced one-way design


def test_residual_questions_follow_the_tests():
    """The months-of-18 model with (1 | FamID) alone is overdispersed (tests/engine/test_sim_residuals.py)."""
    fit = glmer("cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID)", load_months_low(), family="binomial")
    dispersion, uniform = bank.glmm_residuals(checks=run_checks(fit, 250, 1, True), name="fit")
    assert dispersion.answer == "Yes" and uniform.answer == "No"
