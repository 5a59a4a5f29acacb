"""What the pages say about lme4's stopping point, singular fits, ID codes and nAGQ, against R's numbers."""
from __future__ import annotations

import json

import numpy as np
import pytest
from band import optimum_cases
from conftest import EXTRA_REFERENCE, shared_dir
from scipy.special import gammaln

from lib.data.glmm_data import load_counts, load_months_low
from lib.data.slices import slice_frame
from lib.teach import glmm_page as gp
from lib.teach import model_builder as mb
from lib.teach.convergence_story import (
    DOUBLE_BAR,
    LME4_STOPS,
    far_stop,
    far_stop_story,
    reading,
    readings_story,
)
from lib.teach.determination import digit_table, last_digit_costs
from lib.teach.fidelity import compare_with_lme4, reference_name
from lib.teach.fitting import fit_lmer
from lib.teach.fixed_models import fit_error
from lib.teach.id_pairs import code_pairs, coding_words
from lib.teach.stopping import APP_PATH, LOG_FLOOR, check_problem, paths_to_optimum, replay, singularities

MT3 = mb.TUTORIAL_FORMULAS["MModTime3"][0]


@pytest.fixture(scope="module")
def mt3():
    return {data: fit_lmer(MT3, True, data).fit for data in ("all", "all_r_read")}


# -- the summary beside lme4's own -------------------------------------------------------------

def test_summary_marks_the_digits_lme4s_stop_decides():
    """MModTime2: intercept SE 1.9656 at lme4's stop, 1.9659 at the optimum; lme4 stopped 1.90e-7 above
    (optimum_lme4.json: lme4_default.crit - optimum.crit)."""
    formula, data = mb.TUTORIAL_FORMULAS["MModTime2"]
    cmp = compare_with_lme4(fit_lmer(formula, True, data).fit, formula, True, data)
    case = optimum_cases()["MModTime2"]
    assert cmp.gap == pytest.approx(case["lme4_default"]["crit"] - case["optimum"]["crit"], abs=1e-9)
    assert ("1.9659", "1.9656") in {(d.ours, d.lme4) for d in cmp.differences}
    assert "1.9e-07 above the optimum" in cmp.sentence() and "1.9659 here, 1.9656 in lme4" in cmp.sentence()
    assert cmp.verdict_note() is None
    assert list(cmp.table().columns) == ["lme4's line", "here (the optimum)", "lme4 1.1-31 (its stop)"]


def test_a_different_verdict_at_lme4s_stop_is_said():
    """MModTime3 by ML: lme4 warns 'failed to converge (max|grad| = 0.00707)' at its stop; the optimum is
    singular (optimum_lme4.json)."""
    case = optimum_cases()["MModTime3_ML"]
    assert case["optimum"]["singular"] and "failed to converge" in case["lme4_default"]["conv_messages"]
    cmp = compare_with_lme4(fit_lmer(MT3, False, "all").fit, MT3, False, "all")
    note = cmp.verdict_note()
    assert note and case["lme4_default"]["conv_messages"] in note and "boundary (singular) fit" in note


def test_only_tutorial_models_on_the_exact_values_have_a_printout_to_compare():
    assert reference_name(MT3, True, "all") == "MModTime3"
    assert reference_name(MT3, False, "all") == "MModTime3_ML"
    assert reference_name(MT3, True, "all_r_read") is None
    assert reference_name("IgG ~ Sex + (1 | IndID)", True, "time0") is None


# -- where lme4 stops -------------------------------------------------------------------------------

def test_mmodtime3_is_singular_through_the_correlation(mt3):
    """At the optimum IndID's Cholesky diagonal for Time is 0: Corr 1 with a Time variance of 0.536
    (optimum_lme4.json optimum varcorr; the variance within the band's widest level-set floor, 2e-4
    relative, tests/ui/test_pages_mixed.py)."""
    ref = next(r for r in optimum_cases()["MModTime3"]["optimum"]["varcorr"]
               if r["grp"] == "IndID" and r["var1"] == "Time" and r["var2"] is None)
    for fit in mt3.values():
        (s,) = singularities(fit)
        assert (s.group, s.effect, s.earlier) == ("IndID", "Time", "(Intercept)")
        assert s.through_correlation and s.correlation == pytest.approx(1.0, abs=1e-12)
        assert s.variance == pytest.approx(ref["vcov"], rel=2e-4)
        assert "not zero" in s.words() and "diagonal for Time is 0" in s.words()


def test_mmod2_ml_is_singular_as_lme4_says():
    """MMod2 by ML: singular at the optimum (optimum_lme4.json), in the term lme4's VarCorr shows."""
    formula, data = mb.TUTORIAL_FORMULAS["MMod2"]
    assert optimum_cases()["MMod2_ML"]["optimum"]["singular"]
    sings = singularities(fit_lmer(formula, False, data).fit)
    assert [(s.group, s.effect) for s in sings] == [("FamID", "SexM")]


def test_readings_set_lme4s_point_beside_the_optimum(seed_ref, mt3):
    """On R's reading lme4 stopped 3.0e-4 above the optimum (seed_lme4.json tutorial_as_printed.REMLcrit
    minus optimum_lme4.json's optimum; the one ulp moves the criterion by less than 1e-9), with IndID's
    Time variance 0.5363 and Corr 0.99991 there (seed varcorr; at lme4's theta every number follows to
    1e-8 relative, tests/engine/test_lmer_parity.py)."""
    printed = seed_ref["tutorial_as_printed"]["MModTime3"]
    optimum = optimum_cases()["MModTime3"]["optimum"]["crit"]
    rr = reading(LME4_STOPS["all_r_read"], mt3["all_r_read"])
    assert rr.gap == pytest.approx(printed["REMLcrit"] - optimum, abs=1e-8)
    vc = {(r["var1"], r["var2"]): r for r in printed["varcorr"] if r["grp"] == "IndID"}
    assert rr.slope_variance == pytest.approx(vc[("Time", None)]["vcov"], rel=1e-8)
    assert rr.slope_corr == pytest.approx(vc[("(Intercept)", "Time")]["sdcor"], rel=1e-8)
    assert rr.check.verdict == "failed to converge" and rr.optimum_messages[0].startswith("boundary (singular)")
    ex = reading(LME4_STOPS["all"], mt3["all"])
    assert ex.check.messages == [LME4_STOPS["all"].message] and ex.stop_diagonal == 0
    story = readings_story([ex, rr])
    assert "3.0e-04" in story and "through the correlation" in story and "0.00124" in story


def test_lme4s_check_on_a_shared_problem_leaves_the_fit_as_it_was(mt3):
    fit = mt3["all"]
    before = fit.criterion
    res = check_problem(fit.problem, LME4_STOPS["all"].theta)
    assert res.criterion == pytest.approx(LME4_STOPS["all"].reml_criterion, abs=1e-6)
    assert fit.problem.criterion(fit.theta.to_numpy(), True) == pytest.approx(before, rel=1e-12)  # untouched: the same value, to round-off


def test_the_path_chart_ends_at_the_optimum(mt3):
    """lme4's replayed path (never asserted: path-dependent) beside this app's best-so-far, which starts
    at lme4's start and ends on the optimum itself; the replay leaves the shared fit's problem alone."""
    fit = mt3["all"]
    before = fit.problem.criterion(fit.theta.to_numpy(), True)
    rp = replay(fit)
    paths = paths_to_optimum(rp, fit)
    assert paths["above"].min() >= LOG_FLOOR and paths["above"].iloc[-1] == LOG_FLOOR
    mine = paths[paths["path"] == APP_PATH]
    assert (np.diff(mine["criterion"]) <= 0).all()
    # both paths start at lme4's start (theta = 1 on the diagonals, 0 elsewhere): the same criterion,
    # to the round-off of one evaluation (ROUNDOFF 1e-10 relative, tests/band.py)
    assert mine["criterion"].iloc[0] == pytest.approx(rp.path["criterion"].iloc[0], rel=1e-10)
    assert rp.path["criterion"].min() >= fit.criterion - 1e-6  # CRIT_TOL: nothing below the optimum
    assert fit.problem.criterion(fit.theta.to_numpy(), True) == pytest.approx(before, rel=1e-12)


def test_the_far_stop_is_told_with_rs_numbers():
    """tests/golden/lme4/double_bar.txt (lme4's default stop) against double_bar_optimum.txt."""
    far = far_stop()
    from lib.rprint.lme4_print import formula_text
    assert far.gap == pytest.approx(4.4, abs=1e-9)  # 37169.5 - 37165.1, as printed
    assert far.formula == formula_text(fit_lmer(DOUBLE_BAR, True, "all").fit)  # lme4's expansion of ||
    assert far.messages == ("unable to evaluate scaled gradient",
                            "Model failed to converge: degenerate  Hessian with 1 negative eigenvalues")
    story = far_stop_story(far, None, None)
    assert "**119.3448**" in story and "**29.7667**" in story and "3.88632 instead of 1.97645" in story


def test_digit_table_says_which_digits_the_model_decides():
    formula, data = mb.TUTORIAL_FORMULAS["MModTime2"]
    table = digit_table(last_digit_costs(fit_lmer(formula, True, data).fit))
    se = table.set_index("quantity").loc["(Intercept): Std. Error"]
    assert (se["printed"], se["determined by the model"]) == ("1.9659", "no")  # 1.9656 at lme4's stop


# -- ID codes, nAGQ, formulas -------------------------------------------------------------------

def test_the_id_pairs_are_counted_from_the_data():
    """135 IndID codes, each a female and a male; 107 codes span two families (the Variance components page)."""
    pairs = code_pairs(slice_frame("all"))
    assert (pairs.codes, pairs.two_sexes, pairs.two_families) == (135, 135, 107)
    assert "brother and sister" in pairs.sentence() and "107 of the 135 pairs" in pairs.sentence()
    assert "False" not in coding_words(pairs) and "True" not in coding_words(pairs)


@pytest.mark.parametrize("key, r_laplace, r_agq", [("months", "MonthsLow_cbind", "cbind_agq7"),
                                                   ("counts", "SimCounts_poisson", "poisson_agq5")])
def test_agq_loglik_leaves_out_the_saturated_model(key, r_laplace, r_agq):
    """lme4's logLik with nAGQ > 1 minus its Laplace logLik is the saturated log-likelihood's negative, up
    to the AGQ-vs-Laplace difference itself (below 0.01 here: 0.004 and 0.006 in R's numbers)
    (extras_lme4.json; tests/reference/extra_optimum.json)."""
    laplace = next(g for g in json.loads((shared_dir() / "reference" / "extras_lme4.json").read_text())["glmer"]
                   if g["name"] == r_laplace)["logLik"]
    agq = json.loads(EXTRA_REFERENCE.read_text())["cases"][r_agq]["lme4_default"]["logLik"]
    m = gp.MODELS[key]
    fit = gp.fit_glmm(key, m.family, gp.LINKS[m.family][0], m.default_terms, 1).fit
    sat = gp.saturated_loglik(fit)
    if key == "months":  # an independent count: log choose(n, k) + k log(k/n) + (n - k) log(1 - k/n)
        d = load_months_low()
        k, n = d["MonthsLow"].to_numpy(float), d["Months"].to_numpy(float)
        p = k / n
        ll = np.where(k > 0, k * np.log(np.where(p > 0, p, 1)), 0) + np.where(n > k, (n - k) * np.log(np.where(p < 1, 1 - p, 1)), 0)
        direct = np.sum(gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1) + ll)
    else:  # y log y - y - log y!
        y = load_counts()["Count"].to_numpy(float)
        direct = np.sum(np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0) - y - gammaln(y + 1))
    assert sat == pytest.approx(direct, rel=1e-12)
    assert abs((agq - laplace) + sat) < 0.01
    assert f"{sat:.3f}" in gp.agq_note(fit)


def test_a_0_1_response_has_no_saturated_loglik_to_leave_out():
    m = gp.MODELS["binary"]
    fit = gp.fit_glmm("binary", "binomial", "logit", m.default_terms, 1).fit
    assert gp.saturated_loglik(fit) == 0 and gp.agq_note(fit) is None


def test_an_empty_formula_asks_for_one():
    assert fit_error("  ", ValueError("x")).startswith("Type a formula first")
    assert fit_error("IgG ~ Weight", ValueError("unknown column 'Weight'")) == \
        "Cannot fit `IgG ~ Weight`: unknown column 'Weight'"
