"""Unit tests of the mixed-model pages' lib modules: formula builder, data slices, recoding,
explanations, criterion curves, the convergence story and residual checks."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lib.data.idcoding import (
    Example,
    example_data,
    id_tables,
    is_uniquely_coded,
    shared_codes,
    unique_ids,
)
from lib.data.slices import R_READ_ROW, load_slice, slice_frame
from lib.engine.formula import FormulaError, parse_formula
from lib.teach import model_builder as mb
from lib.teach.explain import explain

# -- model builder -------------------------------------------------------------------

@pytest.mark.parametrize("name", list(mb.TUTORIAL_FORMULAS))
def test_tutorial_specs_round_trip_to_the_tutorials_formula(name, seed_ref):
    spec = mb.tutorial_spec(name)
    text, data = mb.TUTORIAL_FORMULAS[name]
    assert mb.display_formula(spec) == text == seed_ref["lmer_reml"][name]["formula"]
    assert mb.tutorial_name(spec.formula, data) == name
    assert mb.same_model(spec.formula, text)


def test_build_formula_writes_terms_as_the_tutorial():
    r = mb.RandomSpec
    assert mb.build_formula(["Sex", "Time", "Sex:Time"], [r("FamID", True, ("Time",))]) == \
        "IgG ~ Sex * Time + (1 + Time | FamID)"
    assert mb.build_formula([], [r("FamID", True, ("Sex",))]) == "IgG ~ 1 + (1 + Sex | FamID)"
    assert mb.build_formula(["Sex"], [r("FamID", False, ("Time",))]) == "IgG ~ Sex + (0 + Time | FamID)"
    text = mb.build_formula(["Sex"], [r("FamID", True, ("Time",), correlated=False), r("Sex:IndID")])
    assert text == "IgG ~ Sex + (1 + Time || FamID) + (1 | Sex:IndID)"
    f = parse_formula(text, ["IgG", "Sex", "Time", "FamID", "IndID"])
    assert [t.correlated for t in f.random] == [False, True]


def test_build_formula_refuses_what_lmer_refuses():
    with pytest.raises(FormulaError, match="No random effects"):
        mb.build_formula(["Sex"], [])
    with pytest.raises(FormulaError, match="no random effects"):
        mb.build_formula(["Sex"], [mb.RandomSpec("FamID", intercept=False)])
    with pytest.raises(FormulaError):
        mb.build_formula(["Sex"], [mb.RandomSpec("FamID")], columns=["IgG", "FamID"])  # no Sex column


def test_same_model_ignores_spelling_but_not_structure():
    assert mb.same_model("IgG ~ 1 + (Sex | FamID)", "IgG ~ (1 + Sex | FamID)")
    assert mb.same_model("IgG ~ Sex*Time + (1|FamID)", "IgG ~ Sex + Time + Sex:Time + (1 | FamID)")
    assert not mb.same_model("IgG ~ Sex + (Sex | FamID)", "IgG ~ Sex + (Sex || FamID)")
    assert not mb.same_model("IgG ~ Sex + (1 | FamID)", "IgG ~ Sex + (1 | IndID)")


def test_calls_name_the_tutorials_data_and_method():
    r = mb.lme4_call("IgG ~ Sex + (1 | FamID)", True, "time0", "MMod")
    assert "MMod <- lmer(IgG ~ Sex + (1 | FamID), data=InitIgG)" in r and "filter(Time==0)" in r
    assert "REML=FALSE" in mb.lme4_call("IgG ~ Sex + (1 | FamID)", False, "time0", "m")
    py = mb.lib_call("IgG ~ Sex + (1 | FamID)", False, "all", "m")
    assert 'm = lmer("IgG ~ Sex + (1 | FamID)", data=ImmuneDat, REML=False)' in py


def test_lib_call_reproduces_the_fit():
    code = mb.lib_call("IgG ~ Sex + (1 | FamID)", True, "time0", "MMod")
    scope: dict = {}
    exec(code.replace("print(MMod.summary())", ""), scope)  # the code the page offers to copy
    assert scope["MMod"].reml_criterion == pytest.approx(1475.66969994288, abs=1e-6)


def test_slices_time0_all_and_rs_reading():
    t0, full, r_read = load_slice("time0"), load_slice("all"), load_slice("all_r_read")
    assert len(t0) == 270 and (t0["Time"] == 0).all() and len(full) == 4860
    diff = np.flatnonzero(full["IgG"].to_numpy() != r_read["IgG"].to_numpy())
    assert diff.tolist() == [R_READ_ROW]
    row = full.iloc[R_READ_ROW]
    assert (str(row["FamID"]), str(row["IndID"]), int(row["Time"]), str(row["Sex"])) == ("2", "45", 3, "M")
    assert repr(float(row["IgG"])) == "136.508461815215"
    assert repr(float(r_read["IgG"].iloc[R_READ_ROW])) == "136.50846181521501"
    assert float(r_read["IgG"].iloc[R_READ_ROW]) == np.nextafter(float(row["IgG"]), np.inf)


def test_caveats_flag_choices_that_mislead():
    spec = mb.tutorial_spec("MMod2").with_(random=(mb.RandomSpec("FamID", True, ("Sex",), False),))
    assert any("||" in c and "Sex" in c for c in mb.caveats(spec))
    assert mb.caveats(mb.tutorial_spec("MMod2")) == []
    t0 = mb.tutorial_spec("MModTime").with_(data="time0")
    assert any("rank deficient" in c for c in mb.caveats(t0))


def test_random_groups():
    assert mb.random_groups("IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID)") == \
        ["FamID", "Sex:IndID"]


# -- ID recoding ---------------------------------------------------------------------

def test_id_tables_are_the_tutorials():
    non, uniq = id_tables((3, 4))
    assert non["Individual"].tolist() == [1, 2, 3, 1, 2, 3, 4]
    assert uniq["Individual"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert non["Family"].tolist() == uniq["Family"].tolist() == [1, 1, 1, 2, 2, 2, 2]


def test_unique_ids_recodes_within_families():
    non, _ = id_tables((3, 4))
    codes = unique_ids(non, "Family", "Individual")
    assert codes.astype(str).tolist() == ["1", "2", "3", "4", "5", "6", "7"]
    labels = unique_ids(non, "Family", "Individual", numbered=False)
    assert labels.astype(str).tolist()[3] == "2-1" and labels.nunique() == 7
    assert not is_uniquely_coded(non, "Family", "Individual")
    assert is_uniquely_coded(non.assign(Individual=codes), "Family", "Individual")


def test_immune_data_ids_hold_two_people_each():
    full = slice_frame("all")
    assert full["IndID"].nunique() == 135
    assert len(shared_codes(full, "Sex", "IndID")) == 135
    assert unique_ids(full, "Sex", "IndID").nunique() == 270


def test_example_fits_show_4_vs_7_groups():
    from lib.teach.fitting import fit_lmer
    ex = Example(sizes=(3, 4), reps=6, seed=1)
    sl = ex.slice_name
    data = example_data(ex)
    assert len(data) == 42 and data["Individual"].nunique() == 4 and data["UniqueID"].nunique() == 7
    naive = fit_lmer("y ~ 1 + (1 | Individual)", True, sl)
    fixed = fit_lmer("y ~ 1 + (1 | UniqueID)", True, sl)
    nested = fit_lmer("y ~ 1 + (1 | Family/Individual)", True, sl)
    assert naive.fit.ngrps == {"Individual": 4} and fixed.fit.ngrps == {"UniqueID": 7}
    assert nested.fit.ngrps["Individual:Family"] == 7
    vn, vf = naive.fit.varcorr, fixed.fit.varcorr
    assert vn["vcov"].iloc[-1] > 2 * vf["vcov"].iloc[-1]  # the miscoded people land in the residual
    assert Example.from_slice_name(sl) == ex


# -- explanations --------------------------------------------------------------------

@pytest.mark.parametrize("message, kind, severity", [
    ("boundary (singular) fit: see help('isSingular')", "singular", "warning"),
    ("Model failed to converge with max|grad| = 0.0211755 (tol = 0.002, component 1)", "gradient", "warning"),
    ("fixed-effect model matrix is rank deficient so dropping 1 column / coefficient", "rank", "warning"),
    ("number of levels of each grouping factor must be < number of observations (problems: Sex:IndID)",
     "levels", "error"),
    ("grouping factors must have > 1 sampled level (FamID has 1)", "levels", "error"),
    ("number of observations (=270) <= number of random effects (=540) for term (1 + Sex | Sex:IndID); the "
     "random-effects parameters and the residual variance (or scale parameter) are probably unidentifiable",
     "nobs", "error"),
    ("No random effects terms specified in formula", "no_random", "error"),
    (" Hessian is numerically singular: parameters are not uniquely determined", "hessian", "warning"),
    ("convergence code -4 from nloptwrap: NLOPT_ROUNDOFF_LIMITED", "optimizer", "warning"),
    ("unable to evaluate scaled gradient", "hessian", "warning"),
    ("unknown column 'Weight' at position 7 of the formula", "formula", "error"),
])
def test_explain_classifies_lme4_messages(message, kind, severity):
    e = explain(message)
    assert (e.kind, e.severity) == (kind, severity)
    assert e.message == message.strip() and e.meaning and e.tries
    assert e.title in e.markdown() and "What to try" in e.markdown()


def test_explain_quotes_the_gradient():
    e = explain("Model failed to converge with max|grad| = 0.0211755 (tol = 0.002, component 1)")
    assert "0.0211755" in e.meaning and "0.002" in e.meaning


def test_fit_outcomes_carry_lme4s_message_not_a_traceback():
    from lib.teach.fitting import fit_lmer
    bad = fit_lmer("IgG ~ Sex + (1 | Sex:IndID)", True, "time0")
    assert not bad.ok and "number of levels of each grouping factor" in bad.error
    assert bad.explanations[0].kind == "levels"
    rank = fit_lmer("IgG ~ Sex * Time + (1 | FamID)", True, "time0")
    assert rank.ok and any("rank deficient" in m for m in rank.messages)
    assert [e.kind for e in rank.explanations] == ["rank"]


# -- criterion curves ----------------------------------------------------------------

@pytest.fixture(scope="module")
def mmod_curves():
    from lib.engine.profile_curves import reml_ml_curves
    return reml_ml_curves("IgG ~ Sex + (1 | FamID)", slice_frame("time0"))


def test_curves_have_their_minimum_at_lme4s_estimate(mmod_curves, seed_ref):
    curves, opts = mmod_curves
    for method, key, crit in (("REML", "lmer_reml", "REMLcrit"), ("ML", "lmer_ml", "deviance")):
        ref = seed_ref[key]["MMod"]
        sd_ref = next(r["sdcor"] for r in ref["varcorr"] if r["grp"] == "FamID")
        opt = next(o for o in opts if o.method == method)
        assert opt.sd == pytest.approx(sd_ref, rel=1e-5)
        assert opt.theta == pytest.approx(ref["theta"]["FamID.(Intercept)"], rel=1e-5)
        assert opt.criterion == pytest.approx(ref[crit], abs=1e-6)
        c = curves[curves["method"] == method]
        best = c.loc[c["criterion"].idxmin()]
        assert best["theta"] == pytest.approx(opt.theta, rel=1e-12)  # the optimum is on the grid
        assert (c["criterion"] >= opt.criterion - 1e-9).all()
        assert c["sd"].is_monotonic_increasing and c["sd"].iloc[0] == 0
        assert c["relative"].min() == 0


def test_ml_optimum_is_below_reml(mmod_curves):
    _, opts = mmod_curves
    reml, ml = (next(o for o in opts if o.method == m) for m in ("REML", "ML"))
    assert ml.sd < reml.sd and ml.sigma < reml.sigma


def test_curves_need_one_variance():
    from lib.engine.lmer import setup
    from lib.engine.profile_curves import criterion_curve
    prob = setup("IgG ~ Sex + (Sex | FamID)", slice_frame("time0"))
    with pytest.raises(ValueError, match="one variance parameter"):
        criterion_curve(prob, np.array([1.0]), True)


# -- the convergence story -----------------------------------------------------------

def test_convergence_constants_are_the_references(seed_ref):
    from lib.teach.convergence_story import LME4_STOPS, THETA_NAMES
    for key, ref in (("all", seed_ref["lmer_reml"]["MModTime3"]),
                     ("all_r_read", seed_ref["tutorial_as_printed"]["MModTime3"])):
        stop = LME4_STOPS[key]
        assert list(ref["theta"]) == list(THETA_NAMES)
        assert list(stop.theta) == list(ref["theta"].values())
        assert stop.message == ref["conv_messages"] and stop.reml_criterion == ref["REMLcrit"]


@pytest.mark.parametrize("key", ["all", "all_r_read"])
def test_lme4s_check_at_lme4s_theta_gives_lme4s_verdict(key):
    from lib.teach.convergence_story import (
        LME4_STOPS,
        check_at,
        relative_difference,
        reported_grad,
        verdict,
    )
    stop = LME4_STOPS[key]
    res = check_at(slice_frame(key), stop.theta)
    assert res.criterion == pytest.approx(stop.reml_criterion, abs=1e-6)
    assert verdict(res.messages) == verdict([stop.message])
    if key == "all":
        assert res.messages == [stop.message] and res.singular
    else:  # the 6th digit of max|grad| is round-off (see tests/test_lmer_parity.py)
        assert relative_difference(res.max_min_grad, reported_grad(stop.message)) < 2e-5


def test_first_divergence():
    from lib.teach.convergence_story import first_divergence
    a = pd.DataFrame({"evaluation": [1, 2, 3], "stage": 0, "criterion": [3.0, 2.0, 1.0], "t": [1.0, 0.5, 0.2]})
    assert first_divergence(a, a.copy()) is None
    b = a.copy()
    b.loc[2, "t"] = 0.3
    assert first_divergence(a, b) == 3
    assert first_divergence(a, a.iloc[:2]) == 3


# -- LRT notes, REML vs ML, residual checks ------------------------------------------

def test_boundary_p_halves_a_single_variance():
    from scipy.stats import chi2

    from lib.teach.lrt_notes import boundary_p
    assert boundary_p(3.0, 1) == pytest.approx(0.5 * chi2.sf(3.0, 1))
    assert boundary_p(6.9673, 2) == pytest.approx(0.5 * chi2.sf(6.9673, 1) + 0.5 * chi2.sf(6.9673, 2))
    assert boundary_p(6.9673, 2) < chi2.sf(6.9673, 2)


def test_comparison_notes(lmer_fits):
    from lib.teach.lrt_notes import comparison_notes
    kinds = {n.kind for n in comparison_notes(lmer_fits.get("MMod2"), lmer_fits.get("MMod"))}
    assert kinds == {"ok", "boundary"}
    kinds = {n.kind for n in comparison_notes(lmer_fits.get("MMod2"), lmer_fits.get("MMod3"))}
    assert "reml_fixed" in kinds
    kinds = {n.kind for n in comparison_notes(lmer_fits.get("MMod2", REML=False), lmer_fits.get("MMod3", REML=False))}
    assert "reml_fixed" not in kinds


def test_reml_ml_side_by_side(lmer_fits, seed_ref):
    from lib.teach.reml_ml import side_by_side
    t = side_by_side(lmer_fits.get("MMod"), lmer_fits.get("MMod", REML=False))
    fam = t[(t["quantity"] == "variance") & (t["term"] == "FamID (Intercept)")].iloc[0]
    assert fam["REML"] == pytest.approx(seed_ref["lmer_reml"]["MMod"]["varcorr"][0]["vcov"], rel=1e-6)
    assert fam["ML"] == pytest.approx(seed_ref["lmer_ml"]["MMod"]["varcorr"][0]["vcov"], rel=1e-6)
    assert fam["ML / REML"] < 1
    assert "Residual" in t["term"].tolist()


def test_group_means_and_side_by_side(lmer_fits):
    from lib.api import lm
    from lib.teach.lmm_vs_lm import fixed_side_by_side, group_means
    data = slice_frame("time0")
    lmfit = lm("IgG ~ Sex + FamID", data)
    mm = lmer_fits.get("MMod")
    table = fixed_side_by_side(lmfit, mm)
    assert table.loc["SexM", "lmer estimate"] == pytest.approx(mm.fixef["SexM"])
    assert math.isnan(table.loc["FamID2", "lmer estimate"])
    means = group_means(lmfit, mm, data)
    assert len(means) == 16 and set(means["model"]) == {"lm (fixed contrasts)", "lmer (random effect)"}
    lm_m = means[means["model"] == "lm (fixed contrasts)"]["intercept"].to_numpy()
    mm_m = means[means["model"] == "lmer (random effect)"]["intercept"].to_numpy()
    grand = means.attrs["grand_mean"]
    assert np.all(np.abs(mm_m - grand) <= np.abs(lm_m - grand) + 1e-9)  # shrinkage toward the mean


def test_individual_frame_and_spread(lmer_fits):
    from lib.teach.qaqc import (
        individual_frame,
        individuals_in_family,
        residual_spread,
        spread_summary,
    )
    fit = lmer_fits.get("MModTime4")
    data = slice_frame("all")
    frame = individual_frame(fit, data, ["1-F", "1-M"])
    assert len(frame) == 36 and set(frame["Individual"]) == {"1-F", "1-M"}
    assert np.allclose(frame["IgG"] - frame["fitted"], frame["residual"])
    pop = frame.groupby("Sex")["population"].apply(lambda s: s.diff().dropna().round(8).nunique())
    assert (pop == 1).all()  # the population line is straight within a sex
    fam = individuals_in_family(data, "1")
    assert len(fam) == data[data["FamID"].astype(str) == "1"].shape[0] // 18
    spread = residual_spread({"MModTime4": fit.residuals()}, data["Time"].to_numpy())
    assert len(spread) == 18 and spread_summary(spread)["model"].tolist() == ["MModTime4"]


def test_print_data_frame_as_r_prints_it():
    from lib.teach.convergence_story import print_data_frame
    df = pd.DataFrame({"FamID": ["3", "5"], "Time": [0, 17], "IgG": [132.993509, 65.1]})
    # R: format(c(132.993509, 65.1), digits = 7) gives "132.9935" " 65.1000"
    assert print_data_frame(df).splitlines() == ["  FamID Time      IgG",
                                                 "1     3    0 132.9935",
                                                 "2     5   17  65.1000"]
