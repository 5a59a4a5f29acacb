"""glmer against lme4 1.1-31 (shared/reference/extras_lme4.json, key "glmer") and R's printed output."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import shared_dir
from lib.compare import anova
from lib.formula import FormulaError
from lib.glmer import glmer
from lib.glmfamily import FamilyError, make_family
from lib.glmm_data import load_binary, load_counts, load_months_low, months_low
from lib.data import load_prepared
from lib.nelder_mead import nelder_mead

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
def test_estimates_match_lme4(name, fits, glmer_ref):
    fit, ref = fits[name], glmer_ref[name]
    assert list(fit.fixef.index) == list(ref["fixef"])
    for k, v in ref["fixef"].items():
        assert fit.fixef[k] == pytest.approx(v, rel=1e-4), k
    for k, v in ref["se"].items():  # from the finite-difference Hessian, as vcov.merMod
        assert fit.se[k] == pytest.approx(v, rel=1e-3), k
    assert list(fit.theta.index) == list(ref["theta"])
    np.testing.assert_allclose(fit.theta.to_numpy(), list(ref["theta"].values()), atol=1e-3)
    vc = pd.DataFrame(ref["varcorr"])
    assert list(fit.varcorr["grp"]) == list(vc["grp"]) and list(fit.varcorr["var1"]) == list(vc["var1"])
    np.testing.assert_allclose(fit.varcorr["vcov"], vc["vcov"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(fit.varcorr["sdcor"], vc["sdcor"], rtol=1e-3, atol=1e-3)
    assert fit.conv_messages == list(ref["conv_messages"] or [])
    for group, r in ref["ranef"].items():
        got = fit.ranef[group]
        assert list(got.index) == r["levels"]
        for col, values in r["values"].items():
            np.testing.assert_allclose(got[col], values, atol=1e-3)


def test_cbind_and_poisson_follow_lme4s_path_closely(fits, glmer_ref):
    """One theta: stage 1 is Powell's BOBYQA as minqa runs it, stage 2 lme4's own Nelder-Mead."""
    for name in ("MonthsLow_cbind", "SimCounts_poisson"):
        fit, ref = fits[name], glmer_ref[name]
        for k, v in ref["fixef"].items():
            assert fit.fixef[k] == pytest.approx(v, rel=1e-7)
        for k, v in ref["se"].items():
            assert fit.se[k] == pytest.approx(v, rel=1e-5)
        assert fit.loglik == pytest.approx(ref["logLik"], abs=1e-8)
    nm = {"MonthsLow_cbind": 96, "SimCounts_poisson": 85, "LowBinary_FamID": 232}  # optinfo$feval
    for name, n in nm.items():
        assert fits[name].evaluations == n


R_SUMMARY_CBIND = """\
Generalized linear mixed model fit by maximum likelihood (Laplace
  Approximation) [glmerMod]
 Family: binomial  ( logit )
Formula: cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID)
   Data: agg

     AIC      BIC   logLik deviance df.resid 
  1449.1   1459.9   -721.6   1443.1      267 

Scaled residuals: 
    Min      1Q  Median      3Q     Max 
-3.4534 -0.9396  0.1498  0.9332  3.4021 

Random effects:
 Groups Name        Variance Std.Dev.
 FamID  (Intercept) 0.3459   0.5881  
Number of obs: 270, groups:  FamID, 8

Fixed effects:
            Estimate Std. Error z value Pr(>|z|)    
(Intercept) -0.63843    0.21266  -3.002  0.00268 ** 
SexM         0.30816    0.06192   4.977 6.47e-07 ***
---
Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1

Correlation of Fixed Effects:
     (Intr)
SexM -0.150
"""

R_SUMMARY_POISSON_TAIL = """\
     AIC      BIC   logLik deviance df.resid 
  1375.0   1386.1   -684.5   1369.0      297 

Scaled residuals: 
     Min       1Q   Median       3Q      Max 
-2.12713 -0.78588 -0.05804  0.64915  2.59912 

Random effects:
 Groups Name        Variance Std.Dev.
 Site   (Intercept) 0.1712   0.4138  
Number of obs: 300, groups:  Site, 12

Fixed effects:
            Estimate Std. Error z value Pr(>|z|)    
(Intercept)  1.05086    0.13182   7.972 1.57e-15 ***
Dose         0.57908    0.04099  14.129  < 2e-16 ***
"""

R_SUMMARY_BINARY_LINES = [
    " Family: binomial  ( logit )",
    "Formula: Low ~ Sex * Time + (1 | FamID)",
    "     AIC      BIC   logLik deviance df.resid ",
    "  2645.3   2677.7  -1317.6   2635.3     4855 ",
    "-8.2958 -0.2237 -0.0420  0.2284  6.6264 ",
    " FamID  (Intercept) 2.679    1.637   ",
    "Number of obs: 4860, groups:  FamID, 8",
    "            Estimate Std. Error z value Pr(>|z|)    ",
    "SexM:Time  0.280 -0.949 -0.641",
]


def test_summary_is_lme4s_print(fits):
    assert fits["MonthsLow_cbind"].summary("agg") == R_SUMMARY_CBIND
    assert R_SUMMARY_POISSON_TAIL in fits["SimCounts_poisson"].summary("sim")
    text = fits["LowBinary_FamID"].summary("d")
    lines = text.split("\n")
    for line in R_SUMMARY_BINARY_LINES:
        assert line in lines, line
    # the estimates as R prints them (the SEs agree to 5e-4: lme4's Hessian is a finite difference)
    assert any(line.startswith("(Intercept) -7.4402") for line in lines)
    assert any(line.startswith("Time         0.66730    0.0254") for line in lines)


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


def test_probit_agq_and_nagq0_match_lme4():
    """R: glmer(..., binomial(link = "probit")), nAGQ = 7 and nAGQ = 0 (values from lme4 1.1-31)."""
    d, agg = load_binary(), load_months_low()
    probit = glmer("Low ~ Sex * Time + (1 | FamID)", d, link="probit")
    assert probit.loglik == pytest.approx(-1310.88951133741, abs=1e-6)
    assert probit.theta.iloc[0] == pytest.approx(0.921516743654949, abs=1e-5)
    f = "cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID)"
    agq = glmer(f, agg, nAGQ=7)
    assert agq.loglik == pytest.approx(-326.334129390353, abs=1e-6)
    assert agq.summary().startswith("Generalized linear mixed model fit by maximum likelihood "
                                    "(Adaptive\n  Gauss-Hermite Quadrature, nAGQ = 7) [glmerMod]")
    zero = glmer(f, agg, nAGQ=0)
    assert zero.loglik == pytest.approx(-721.573288774062, abs=1e-6)
    assert zero.theta.iloc[0] == pytest.approx(0.588108503130422, abs=1e-7)
    pois = glmer("Count ~ Dose + (1 | Site)", load_counts(), family="poisson", nAGQ=5)
    assert pois.loglik == pytest.approx(-179.490444829713, abs=1e-6)


def test_singular_fit_and_two_terms_match_lme4():
    d = load_binary()
    sub = d[d["Time"].isin([0, 17])].reset_index(drop=True)
    s = glmer("Low ~ Sex + (1 | FamID)", sub)
    assert s.conv_messages == ["boundary (singular) fit: see help('isSingular')"]
    assert s.theta.iloc[0] == 0 and s.singular
    assert s.loglik == pytest.approx(-372.571331777167, abs=1e-6)
    two = glmer("cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID) + (1 | IndID)",
                load_months_low())
    assert list(two.theta.index) == ["IndID.(Intercept)", "FamID.(Intercept)"]
    np.testing.assert_allclose(two.theta, [0.397741793562386, 0.595961344750535], atol=1e-5)
    assert two.loglik == pytest.approx(-698.183002362421, abs=1e-6)


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
