"""lib.engine.compare against lmtest::lrtest and lme4's anova() (seed_lme4.json; printed text in tests/golden/lme4)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from band import CRIT_TOL, optimum_cases
from conftest import GOLDEN

from lib.api import anova, lrtest
from lib.engine.compare import MIXED_NOTE, REFIT_MESSAGE, SIZE_ERROR, refit_ml
from lib.rprint.compare_print import print_anova_table

LRTESTS = [("MMod2", "MMod"), ("MMod2", "MMod3"), ("MModTime", "MModTime2"), ("MModTime2", "MModTime4")]
ANOVAS = [("MMod2", "MMod3"), ("MModTime2", "MModTime4")]
# Values: the tables of fits at lme4's own theta (seed_lme4.json), against lmtest's and lme4's, to
# 1e-8 relative (tests/test_lmer_parity.py says why); the p-values to 1e-6 relative (their
# sensitivity to the statistic, at these sizes, is below 1e2).
REL = 1e-8


@pytest.fixture(scope="module")
def at_lme4(lmer_fits, seed_ref):
    """name, REML -> our fit at lme4's theta for it (the REML and the ML fit of seed_lme4.json)."""
    from lib.api import LmerModel
    from lib.engine.lmer import setup

    def make(name: str, reml: bool = True):
        ref = seed_ref["lmer_reml" if reml else "lmer_ml"][name]
        prob = setup(lmer_fits.formula(name), lmer_fits.frame(name))
        return LmerModel.from_optimum(prob, np.array(list(ref["theta"].values())), reml, [], [])
    return make


def _p_close(ours: float, r: float) -> bool:
    return ours < 1e-300 if r == 0 else ours == pytest.approx(r, rel=1e-6)


def _ml_of(at_lme4):
    """anova's ML refit, as lme4's own ML fit of the same model (refit_with)."""
    return lambda fit: at_lme4(next(n for n in ("MMod", "MMod2", "MMod3", "MModTime", "MModTime2",
                                                "MModTime3", "MModTime4")
                                    if fit.formula.text.replace(" ", "") ==
                                    at_lme4(n).formula.text.replace(" ", "")), False)


# ---------------------------------------------------------------------------
# lrtest
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("a, b", LRTESTS, ids=[f"{a}_vs_{b}" for a, b in LRTESTS])
def test_lrtest_table_matches_lmtest(at_lme4, seed_ref, a, b):
    ref = seed_ref["lrtest_reml"][f"{a}_vs_{b}"]
    t = lrtest(at_lme4(a), at_lme4(b)).table
    assert list(t.columns) == ["#Df", "LogLik", "Df", "Chisq", "Pr(>Chisq)"]
    assert list(t.index) == ["1", "2"]
    assert list(t["#Df"]) == ref["df"]
    np.testing.assert_allclose(t["LogLik"], ref["logLik"], rtol=REL)
    assert t["Df"].iloc[1] == ref["df"][1] - ref["df"][0]  # signed, as lmtest keeps it
    assert t["Chisq"].iloc[1] == pytest.approx(ref["chisq"], rel=1e-6)  # a difference of two ~1e3
    assert _p_close(t["Pr(>Chisq)"].iloc[1], ref["p"])
    assert t.iloc[0, 2:].isna().all()


def test_lrtest_text_is_lmtests(at_lme4):
    text = "".join(lrtest(at_lme4(a), at_lme4(b)).text for a, b in LRTESTS)
    assert text == (GOLDEN / "lrtest.txt").read_text()


def test_lrtest_notes_reml_fits_with_different_fixed_effects(lmer_fits):
    # the tutorial's MMod2 vs MMod3: REML fits, fixed effects Sex vs none
    note = lrtest(lmer_fits.get("MMod2"), lmer_fits.get("MMod3")).note
    assert note and "REML" in note and "anova()" in note and "SexM" in note
    # same fixed effects: REML likelihoods comparable, no note
    assert lrtest(lmer_fits.get("MMod2"), lmer_fits.get("MMod")).note is None
    assert lrtest(lmer_fits.get("MModTime2"), lmer_fits.get("MModTime4")).note is None
    # ML fits: fine
    assert lrtest(lmer_fits.get("MMod2", False), lmer_fits.get("MMod3", False)).note is None
    # REML against ML
    assert lrtest(lmer_fits.get("MMod2"), lmer_fits.get("MMod", False)).note == MIXED_NOTE


def test_lrtest_three_models_and_p_values(lmer_fits):
    r = lrtest(lmer_fits.get("MModTime"), lmer_fits.get("MModTime2"), lmer_fits.get("MModTime4"))
    t = r.table
    assert list(t.index) == ["1", "2", "3"] and list(t["Df"].iloc[1:]) == [2, 3]
    ll = t["LogLik"].to_numpy()
    assert np.allclose(t["Chisq"].iloc[1:], 2 * np.abs(np.diff(ll)))
    assert "Model 3: IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID)" in r.text
    assert str(r) == r.text  # lrtest says nothing on stderr


def test_lrtest_needs_same_data_size(lmer_fits):
    with pytest.raises(ValueError, match=SIZE_ERROR):
        lrtest(lmer_fits.get("MMod"), lmer_fits.get("MModTime"))
    with pytest.raises(ValueError):
        lrtest(lmer_fits.get("MMod"))


# ---------------------------------------------------------------------------
# anova
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("a, b", ANOVAS, ids=[f"{a}_vs_{b}" for a, b in ANOVAS])
def test_anova_refits_with_ml_like_lme4(at_lme4, seed_ref, a, b):
    ref = seed_ref["anova_ml_refit"][f"{a}_vs_{b}"]
    r = anova(at_lme4(a), at_lme4(b), refit_with=_ml_of(at_lme4))
    assert list(r.messages) == [REFIT_MESSAGE]
    t = r.table
    assert list(t.columns) == ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"]
    assert list(t["npar"]) == ref["npar"]  # ordered by npar
    for col in ("AIC", "BIC", "logLik", "deviance"):
        np.testing.assert_allclose(t[col], ref[col], rtol=REL, err_msg=col)
    assert t["Chisq"].iloc[1] == pytest.approx(ref["chisq"], rel=1e-6)
    assert t["Df"].iloc[1] == ref["df"]
    assert _p_close(t["Pr(>Chisq)"].iloc[1], ref["p"])
    assert all(not f.REML for f in r.fits)


def test_anova_ml_refit_is_the_ml_fit(lmer_fits):
    """refitML from the REML estimates lands on the ML optimum (optimum_lme4.json, CRIT_TOL), on a
    problem of its own: the REML fit's problem is left as it was."""
    for name in ("MMod2", "MMod3", "MModTime2", "MModTime4"):
        reml = lmer_fits.get(name)
        ml = refit_ml(reml)
        assert abs(ml.deviance - optimum_cases()[f"{name}_ML"]["optimum"]["crit"]) <= CRIT_TOL
        assert type(ml) is type(reml) and ml.problem is not reml.problem
        assert refit_ml(ml) is ml


def test_anova_text_is_lme4s(at_lme4):
    parts, ml = [], _ml_of(at_lme4)
    for a, b in ANOVAS:
        parts.append(str(anova(at_lme4(a), at_lme4(b), names=[f"fits${a}", f"fits${b}"],
                               data_name="dat", refit_with=ml)))
    three = ["MMod2", "MMod3", "MMod"]
    parts.append(str(anova(*(at_lme4(n) for n in three), names=[f"fits${n}" for n in three],
                           data_name="dat", refit_with=ml)))
    assert "".join(parts) == (GOLDEN / "anova.txt").read_text()


def test_anova_without_refit_and_of_ml_fits(lmer_fits):
    ml = anova(lmer_fits.get("MMod2", False), lmer_fits.get("MMod3", False))
    assert list(ml.messages) == []
    mixed = anova(lmer_fits.get("MMod2"), lmer_fits.get("MMod3", False), refit=False)
    assert list(mixed.messages) == ["some models fit with REML = TRUE, some not"]
    assert mixed.table["logLik"].iloc[1] == pytest.approx(lmer_fits.get("MMod2").loglik)


def test_anova_names_and_order(lmer_fits):
    r = anova(lmer_fits.get("MModTime4"), lmer_fits.get("MModTime2"), names=["big", "small"])
    assert list(r.table.index) == ["small", "big"]
    assert r.heading[0] == "Models:" and r.heading[1].startswith("small: IgG ~ Sex * Time")
    r = anova(lmer_fits.get("MModTime4"), lmer_fits.get("MModTime2"))
    assert list(r.table.index) == ["MODEL2", "MODEL1"]
    with pytest.raises(ValueError, match=SIZE_ERROR):
        anova(lmer_fits.get("MMod"), lmer_fits.get("MModTime"))


def test_anova_chisq_is_never_negative_and_df0_has_no_p():
    def fake(ll, df, name):
        return SimpleNamespace(loglik=ll, df=df, nobs=100, aic=-2 * ll + 2 * df, bic=-2 * ll + np.log(100) * df,
                               formula=SimpleNamespace(text=f"y ~ {name} + (1 | g)"), REML=False)
    r = anova(fake(-10.0, 3, "a"), fake(-12.0, 4, "b"), fake(-11.0, 4, "c"), names=["m1", "m2", "m3"])
    t = r.table
    assert list(t.index) == ["m1", "m2", "m3"]
    assert t["Chisq"].iloc[1] == 0.0 and t["Pr(>Chisq)"].iloc[1] == 1.0
    assert t["Df"].iloc[2] == 0 and np.isnan(t["Pr(>Chisq)"].iloc[2])


def test_duck_typed_fits_for_lrtest():
    """Anything with lib.engine.contract.Comparable's attributes can be compared."""
    a = SimpleNamespace(loglik=-100.0, df=3, nobs=50, formula=SimpleNamespace(text="y ~ x + (1|g)"),
                        REML=False, fixef=pd.Series({"(Intercept)": 1.0}))
    b = SimpleNamespace(loglik=-98.0, df=4, nobs=50, formula=SimpleNamespace(text="y ~ x + (x|g)"),
                        REML=False, fixef=pd.Series({"(Intercept)": 1.0}))
    r = lrtest(a, b)
    assert r.table["Chisq"].iloc[1] == pytest.approx(4.0)
    assert r.table["Pr(>Chisq)"].iloc[1] == pytest.approx(0.0455, abs=1e-4)
    assert r.note is None
    assert r.text.startswith("Likelihood ratio test\n\nModel 1: y ~ x + (1 | g)\nModel 2: y ~ x + (x | g)\n")


def test_print_anova_table_zaps_like_r():
    """print.anova zaps LogLik to 5 digits (R 4.2's zapsmall), Chisq to dig.tst 3, p by format.pval."""
    t = pd.DataFrame({"#Df": [8.0, 11.0], "LogLik": [-18581.6449301455, -8922.68513624206],
                      "Df": [np.nan, 3.0], "Chisq": [np.nan, 19317.9195878069], "Pr(>Chisq)": [np.nan, 0.0]},
                     index=["1", "2"])
    assert print_anova_table(t).splitlines()[:3] == [
        "  #Df   LogLik Df Chisq Pr(>Chisq)    ",
        "1   8 -18581.6                        ",
        "2  11  -8922.7  3 19318  < 2.2e-16 ***"]


def test_glmer_fits_compare_like_lme4():
    """anova() and lrtest() of two Poisson glmer fits: no refit, R's printed text."""
    from conftest import shared_dir

    from lib.api import glmer

    sim = pd.read_csv(shared_dir() / "reference" / "SimulatedCounts.csv")
    sim["Site"] = pd.Categorical(sim["Site"])
    m1 = glmer("Count ~ Dose + (1|Site)", sim, family="poisson")
    m0 = glmer("Count ~ 1 + (1|Site)", sim, family="poisson")
    a = anova(m0, m1, names=["m0", "m1"], data_name="sim")
    assert list(a.messages) == [] and list(a.fits) == [m0, m1]
    assert a.text + lrtest(m0, m1).text == (GOLDEN / "glmer_compare.txt").read_text()
