"""glmer against lme4 1.1-31 (shared/reference/extras_lme4.json, key "glmer") and R's printed output."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from band import optimum_cases
from conftest import shared_dir
from printed import mismatches, without_control
from test_fidelity_glmer import SE_LME4_REL

from lib.api import anova, glmer
from lib.data.glmm_data import load_binary, load_counts, load_months_low, months_low
from lib.data.immune import load_prepared
from lib.engine.family import FamilyError, make_family
from lib.engine.formula import FormulaError
from lib.engine.nelder_mead import nelder_mead

MODELS = {
    "LowBinary_FamID": ("Low ~ Sex * Time + (1 | FamID)", load_binary, "binomial", "d"),
    "MonthsLow_cbind": ("cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID)", load_months_low,
                        "binomial", "agg"),
    "SimCounts_poisson": ("Count ~ Dose + (1 | Site)", load_counts, "poisson", "sim"),
}


@pytest.fixture(scope="session")
def glmer_ref() -> dict[str, dict]:
    path = shared_dir() / "reference" / "extras_lme4.json"
    return {g["name"]: g for g in json.loads(path.read_text())["glmer"]}


@pytest.fixture(scope="session")
def fits() -> dict:
    return {name: glmer(f, load(), family=fam) for name, (f, load, fam, _) in MODELS.items()}


@pytest.mark.parametrize("name", list(MODELS))
def test_likelihood_matches_lme4(name, fits, glmer_ref):
    fit, ref = fits[name], glmer_ref[name]
    assert fit.formula.text == ref["formula"]
    assert (fit.family.family, fit.family.link) == (ref["family"], ref["link"])
    assert fit.deviance == pytest.approx(ref["deviance"], abs=1e-3)  # lme4's deviance(): sum of dev. residuals
    assert fit.loglik == pytest.approx(ref["logLik"], abs=1e-3)
    assert fit.minus_two_loglik == pytest.approx(-2 * ref["logLik"], abs=2e-3)
    assert fit.df == ref["df"]
    assert fit.aic == pytest.approx(ref["AIC"], abs=1e-3)
    assert fit.bic == pytest.approx(ref["BIC"], abs=1e-3)


@pytest.mark.parametrize("name", list(MODELS))
def test_names_and_layouts_are_lme4s(name, fits, glmer_ref):
    """Values are held to the optimum's band in test_fidelity_glmer.py; here, lme4's names and orders."""
    fit, ref = fits[name], glmer_ref[name]
    assert list(fit.fixef.index) == list(ref["fixef"]) == list(fit.se.index)
    assert list(fit.theta.index) == list(ref["theta"])
    vc = pd.DataFrame(ref["varcorr"])
    assert list(fit.varcorr["grp"]) == list(vc["grp"]) and list(fit.varcorr["var1"]) == list(vc["var1"])
    for group, r in ref["ranef"].items():
        assert list(fit.ranef[group].index) == r["levels"]
        assert list(fit.ranef[group].columns) == list(r["values"])


@pytest.mark.parametrize("name, data", [("LowBinary_FamID", "g[[2]]"), ("MonthsLow_cbind", "g[[2]]"),
                                        ("SimCounts_poisson", "g[[2]]")])
def test_summary_prints_lme4s_determined_digits(fits, name, data):
    """R's print at its stop and at the optimum (optimum_lme4.json), as tests/printed.py compares them;
    in the coefficient table the standard errors (and the z and p that follow from them) are lme4's
    within SE_LME4_REL (test_fidelity_glmer.py says why)."""
    case = optimum_cases()[name]
    ours = fits[name].summary(data).splitlines()[:len(case["lme4_default"]["printed"])]
    stop, optimum = case["lme4_default"]["printed"], without_control(case["optimum"]["printed"])
    table = ours.index("Fixed effects:") + 2
    rows = len(fits[name].fixef)
    keep = [i for i in range(len(ours)) if not table <= i < table + rows]
    assert mismatches([ours[i] for i in keep], [stop[i] for i in keep], [optimum[i] for i in keep]) == []
    for i in range(table, table + rows):
        o, s, p = ours[i].split(), stop[i].split(), optimum[i].split()
        assert o[0] == s[0] and mismatches([o[1]], [s[1]], [p[1]]) == []
        half_unit = 0.5 * 10.0 ** -len(s[2].split(".")[1])
        assert abs(float(o[2]) - float(s[2])) <= SE_LME4_REL * float(s[2]) + half_unit, ours[i]


def test_months_low_table_is_extras_r_aggregate():
    ref = pd.read_csv(shared_dir() / "reference" / "ImmuneMonthsLow.csv", dtype=str)
    got = months_low(load_prepared())
    assert list(got.columns) == ["FamID", "IndID", "Sex", "MonthsLow", "Months"]
    pd.testing.assert_frame_equal(got.astype(str), ref)
    assert (got["Months"] == 18).all()
    low = load_binary()
    assert set(low["Low"].unique()) == {0, 1}
    assert (low["Low"] == (low["IgG"] < 100)).all()


def test_simulated_counts_shipped_in_data():
    ref = pd.read_csv(shared_dir() / "reference" / "SimulatedCounts.csv")
    got = load_counts()
    assert got.shape == (300, 3) and got["Site"].cat.categories.tolist() == sorted(ref["Site"].unique())
    np.testing.assert_array_equal(got["Count"], ref["Count"])
    np.testing.assert_array_equal(got["Dose"], ref["Dose"])


def test_predict(fits):
    fit = fits["LowBinary_FamID"]
    p = fit.predict(type="response")
    assert np.all((p > 0) & (p < 1))
    np.testing.assert_allclose(p, fit.fitted)
    d = load_binary()
    np.testing.assert_allclose(fit.predict(d.head(50), type="response"), fit.fitted[:50], rtol=1e-12)
    np.testing.assert_allclose(fit.predict(d.head(50)), fit.linear_predictor[:50], rtol=1e-12)
    new = pd.DataFrame({"Sex": ["F", "M"], "Time": [5, 5], "FamID": ["3", "99"]})
    eta = fit.predict(new)
    pop = fit.predict(new, re_form="NA")
    b3 = fit.ranef["FamID"].loc["3", "(Intercept)"]
    assert eta[0] == pytest.approx(pop[0] + b3)
    assert eta[1] == pytest.approx(pop[1])  # a new family: the population value
    assert pop[0] == pytest.approx(fit.fixef["(Intercept)"] + 5 * fit.fixef["Time"])
    counts = fits["SimCounts_poisson"].predict(type="response")
    assert np.all(counts > 0)


def test_residuals_and_ratios(fits):
    fit = fits["SimCounts_poisson"]
    assert np.sum(fit.residuals("deviance") ** 2) == pytest.approx(fit.deviance)
    rt = fit.ratio_table()
    assert fit.ratio_name == "rate ratio"
    assert rt.loc["Dose", "rate ratio"] == pytest.approx(np.exp(fit.fixef["Dose"]))
    lo, hi = rt.loc["Dose", "ratio 2.5 %"], rt.loc["Dose", "ratio 97.5 %"]
    assert lo < rt.loc["Dose", "rate ratio"] < hi
    assert np.log(hi) - fit.fixef["Dose"] == pytest.approx(1.959964 * fit.se["Dose"], rel=1e-6)
    assert fits["LowBinary_FamID"].ratio_name == "odds ratio"
    sd = fit.ranef_sd["Site"]["(Intercept)"]
    assert np.all((sd > 0) & (sd < fit.varcorr["sdcor"].iloc[0]))


def test_anova_between_nested_glmer_fits(fits):
    """R: anova(glmer(Low ~ Sex + Time + (1 | FamID), d, binomial), m1): Chisq 0.9017, p 0.3423."""
    small = glmer("Low ~ Sex + Time + (1 | FamID)", load_binary(), family="binomial")
    big = fits["LowBinary_FamID"]
    assert small.refit_ml() is small
    res = anova(small, big, names=["small", "m1"])
    t = res.table
    assert list(t.index) == ["small", "m1"]
    assert t.loc["small", "AIC"] == pytest.approx(2644.2, abs=0.05)
    assert t.loc["small", "deviance"] == pytest.approx(2636.2, abs=0.05)
    assert t.loc["m1", "Chisq"] == pytest.approx(0.9017, abs=5e-4)
    assert t.loc["m1", "Pr(>Chisq)"] == pytest.approx(0.3423, abs=5e-4)
    assert "m1       5 2645.3 2677.7 -1317.6   2635.3 0.9017  1     0.3423" in res.text.split("\n")


def test_binomial_response_forms_agree():
    """Proportions with weights and cbind(s, total - s) and cbind(s, f) are the same model."""
    agg = load_months_low().assign(prop=lambda a: a["MonthsLow"] / a["Months"],
                                   MonthsHigh=lambda a: a["Months"] - a["MonthsLow"])
    a = glmer("cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID)", agg)
    b = glmer("prop ~ Sex + (1 | FamID)", agg, weights="Months")
    c = glmer("cbind(MonthsLow, MonthsHigh) ~ Sex + (1 | FamID)", agg)
    for other in (b, c):
        assert other.loglik == pytest.approx(a.loglik, abs=1e-8)
        np.testing.assert_allclose(other.fixef, a.fixef, rtol=1e-8)
    assert b.loglik == pytest.approx(-721.573223435286, abs=1e-6)  # R, weights = Months
    assert "Weights: Months" in b.summary("agg")


def test_agq_header_and_singular_verdict():
    """Values: test_fidelity_glmer.py (probit, nAGQ = 7, 0 and 5, singular, two terms); here what lme4 prints."""
    f = "cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID)"
    agq = glmer(f, load_months_low(), nAGQ=7)
    assert agq.summary().startswith("Generalized linear mixed model fit by maximum likelihood "
                                    "(Adaptive\n  Gauss-Hermite Quadrature, nAGQ = 7) [glmerMod]")
    d = load_binary()
    s = glmer("Low ~ Sex + (1 | FamID)", d[d["Time"].isin([0, 17])].reset_index(drop=True))
    assert s.conv_messages == ["boundary (singular) fit: see help('isSingular')"] and s.singular


def test_bad_models_are_clear_errors():
    d, agg, sim = load_binary(), load_months_low(), load_counts()
    with pytest.raises(FamilyError, match="0 <= y <= 1"):
        glmer("Count ~ Dose + (1 | Site)", sim, family="binomial")
    with pytest.raises(FamilyError, match="needs the binomial family"):
        glmer("cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID)", agg, family="poisson")
    with pytest.raises(FamilyError, match="link 'log' is not available"):
        glmer("Low ~ Sex + (1 | FamID)", d, link="log")
    with pytest.raises(FamilyError, match="not available"):
        make_family("gaussian")
    with pytest.raises(FamilyError, match="whole counts"):
        glmer("Count ~ Dose + (1 | Site)", sim.assign(Count=sim["Count"] + 0.5), family="poisson")
    with pytest.raises(FamilyError, match="Response is constant"):
        glmer("Low ~ Sex + (1 | FamID)", d.assign(Low=1))
    with pytest.raises(FormulaError, match="No random effects"):
        glmer("Low ~ Sex", d)
    with pytest.raises(FormulaError, match="single, scalar"):
        glmer("Low ~ Time + (1 + Time | FamID)", d, nAGQ=3)


def test_nelder_mead_is_lme4s():
    """lme4's Nelder_Mead on a quadratic: it stops when the simplex is within xt of its centroid."""
    res = nelder_mead(lambda x: (x[0] - 1) ** 2 + 10 * (x[1] + 2) ** 2, np.array([0.0, 0.0]),
                      np.array([-np.inf, -np.inf]), np.array([0.1, 0.1]))
    assert res.convergence == 0 and res.code == 3
    np.testing.assert_allclose(res.par, [1, -2], atol=1e-4)
    bounded = nelder_mead(lambda x: (x[0] + 1) ** 2, np.array([0.5]), np.array([0.0]), np.array([0.1]))
    assert bounded.par[0] == 0.0
