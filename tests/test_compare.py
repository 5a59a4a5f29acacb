"""lib.engine.compare against lmtest::lrtest and lme4's anova() (seed_lme4.json; printed text in tests/golden/lme4)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lib.engine.compare import (MIXED_NOTE, REFIT_MESSAGE, SIZE_ERROR, anova, lrtest, print_anova_table,
                         refit_ml)

GOLDEN = Path(__file__).resolve().parent / "golden" / "lme4"
LRTESTS = [("MMod2", "MMod"), ("MMod2", "MMod3"), ("MModTime", "MModTime2"), ("MModTime2", "MModTime4")]
ANOVAS = [("MMod2", "MMod3"), ("MModTime2", "MModTime4")]
CRIT_ABS = 1e-3


def _p_close(ours: float, r: float) -> bool:
    return ours < 1e-300 if r == 0 else ours == pytest.approx(r, rel=1e-3)


# ---------------------------------------------------------------------------
# lrtest
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("a, b", LRTESTS, ids=[f"{a}_vs_{b}" for a, b in LRTESTS])
def test_lrtest_table_matches_lmtest(lmer_fits, seed_ref, a, b):
    ref = seed_ref["lrtest_reml"][f"{a}_vs_{b}"]
    t = lrtest(lmer_fits.get(a), lmer_fits.get(b)).table
    assert list(t.columns) == ["#Df", "LogLik", "Df", "Chisq", "Pr(>Chisq)"]
    assert list(t.index) == ["1", "2"]
    assert list(t["#Df"]) == ref["df"]
    assert np.allclose(t["LogLik"], ref["logLik"], atol=CRIT_ABS / 2, rtol=0)
    assert t["Df"].iloc[1] == ref["df"][1] - ref["df"][0]  # signed, as lmtest keeps it
    assert t["Chisq"].iloc[1] == pytest.approx(ref["chisq"], abs=CRIT_ABS)
    assert _p_close(t["Pr(>Chisq)"].iloc[1], ref["p"])
    assert t.iloc[0, 2:].isna().all()


def test_lrtest_text_is_lmtests(lmer_fits):
    text = "".join(lrtest(lmer_fits.get(a), lmer_fits.get(b)).text for a, b in LRTESTS)
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
def test_anova_refits_with_ml_like_lme4(lmer_fits, seed_ref, a, b):
    ref = seed_ref["anova_ml_refit"][f"{a}_vs_{b}"]
    r = anova(lmer_fits.get(a), lmer_fits.get(b))
    assert r.messages == [REFIT_MESSAGE]
    t = r.table
    assert list(t.columns) == ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"]
    assert list(t["npar"]) == ref["npar"]  # ordered by npar
    for col in ("AIC", "BIC", "logLik", "deviance"):
        assert np.allclose(t[col], ref[col], atol=CRIT_ABS, rtol=0), col
    assert t["Chisq"].iloc[1] == pytest.approx(ref["chisq"], abs=CRIT_ABS)
    assert t["Df"].iloc[1] == ref["df"]
    assert _p_close(t["Pr(>Chisq)"].iloc[1], ref["p"])
    assert all(not f.REML for f in r.fits)


def test_anova_ml_refit_is_the_ml_fit(lmer_fits, seed_ref):
    """refitML from the REML estimates lands on lme4's ML fit of the same model."""
    for name in ("MMod2", "MMod3", "MModTime2", "MModTime4"):
        ml = refit_ml(lmer_fits.get(name))
        assert ml.deviance == pytest.approx(seed_ref["lmer_ml"][name]["deviance"], abs=CRIT_ABS)
        assert refit_ml(lmer_fits.get(name)) is ml  # cached
        assert refit_ml(ml) is ml


def test_anova_text_is_lme4s(lmer_fits):
    parts = []
    for a, b in ANOVAS:
        parts.append(str(anova(lmer_fits.get(a), lmer_fits.get(b), names=[f"fits${a}", f"fits${b}"],
                               data_name="dat")))
    three = ["MMod2", "MMod3", "MMod"]
    parts.append(str(anova(*(lmer_fits.get(n) for n in three), names=[f"fits${n}" for n in three],
                           data_name="dat")))
    assert "".join(parts) == (GOLDEN / "anova.txt").read_text()


def test_anova_without_refit_and_of_ml_fits(lmer_fits):
    ml = anova(lmer_fits.get("MMod2", False), lmer_fits.get("MMod3", False))
    assert ml.messages == []
    mixed = anova(lmer_fits.get("MMod2"), lmer_fits.get("MMod3", False), refit=False)
    assert mixed.messages == ["some models fit with REML = TRUE, some not"]
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
    """Anything with loglik, df, nobs and a formula (e.g. glmer fits) can be compared."""
    a = SimpleNamespace(loglik=-100.0, df=3, nobs=50, formula=SimpleNamespace(text="y ~ x + (1|g)"))
    b = SimpleNamespace(loglik=-98.0, df=4, nobs=50, formula=SimpleNamespace(text="y ~ x + (x|g)"))
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
    from lib.engine.glmer import glmer

    sim = pd.read_csv(shared_dir() / "reference" / "SimulatedCounts.csv")
    sim["Site"] = pd.Categorical(sim["Site"])
    m1 = glmer("Count ~ Dose + (1|Site)", sim, family="poisson")
    m0 = glmer("Count ~ 1 + (1|Site)", sim, family="poisson")
    a = anova(m0, m1, names=["m0", "m1"], data_name="sim")
    assert a.messages == [] and a.fits == [m0, m1]
    assert a.text + lrtest(m0, m1).text == (GOLDEN / "glmer_compare.txt").read_text()
