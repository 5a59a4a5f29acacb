"""lib.engine.lm against R's summary(lm) and anova(lm) for the tutorial's four fits."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lib.api import lm
from lib.data.immune import load_prepared, load_raw
from lib.engine.formula import FormulaError
from lib.engine.lm import SharedDesign, kept_columns, lm_design

REL = 1e-6
# name in seed_lme4.json -> data the tutorial fitted it on (Time 0; FamID integer or factor)
CASES = {"LMod": load_raw, "LMod2_numericFamID": load_raw, "LMod2": load_prepared,
         "LMod3": load_prepared}


def close(a: float, b: float, rel: float = REL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def p_close(ours: float, r: float) -> bool:
    """p-values: R's exact 0 (underflow) only needs ours to be astronomically small."""
    return ours < 1e-300 if r == 0 else close(ours, r)


@pytest.fixture(scope="module", params=list(CASES))
def case(request, lm_refs):
    name = request.param
    ref = lm_refs[name]
    data = CASES[name]()
    return lm(ref["formula"], data[data["Time"] == 0], "InitIgG"), ref


def test_coefficient_names_follow_r(case):
    fit, ref = case
    assert fit.coef_names == ref["coef_names"]
    assert fit.aliased == []


def test_coefficients_match_r(case):
    fit, ref = case
    for row in ref["coef"]:
        ours = fit.coefficients.loc[row["_row"]]
        for col in ("Estimate", "Std. Error", "t value"):
            assert close(ours[col], row[col]), (row["_row"], col, ours[col], row[col])
        assert p_close(ours["Pr(>|t|)"], row["Pr(>|t|)"]), (row["_row"], ours["Pr(>|t|)"])


def test_fit_statistics_match_r(case):
    fit, ref = case
    assert fit.df_residual == ref["df_resid"]
    assert close(fit.sigma, ref["sigma"])
    assert close(fit.r_squared, ref["r2"])
    assert close(fit.adj_r_squared, ref["adj_r2"])
    value, df1, df2 = fit.fstatistic
    assert close(value, ref["fstat"][0]) and (df1, df2) == tuple(ref["fstat"][1:])


def test_residual_quantiles_match_r_type_7(case):
    fit, ref = case
    assert list(fit.residual_quantiles.index) == ["Min", "1Q", "Median", "3Q", "Max"]
    for ours, r in zip(fit.residual_quantiles, ref["resid_quantiles"]):
        assert close(ours, r)


def test_sequential_anova_matches_r(case):
    fit, ref = case
    assert list(fit.anova.index) == ref["anova_terms"]
    for row in ref["anova"]:
        ours = fit.anova.loc[row["_row"]]
        assert ours["Df"] == row["Df"]
        assert close(ours["Sum Sq"], row["Sum Sq"]) and close(ours["Mean Sq"], row["Mean Sq"])
        if row["F value"] is None:
            assert np.isnan(ours["F value"]) and np.isnan(ours["Pr(>F)"])
        else:
            assert close(ours["F value"], row["F value"])
            assert p_close(ours["Pr(>F)"], row["Pr(>F)"])


def test_summary_text_has_r_layout(case):
    fit, ref = case
    text = fit.summary()
    lines = text.splitlines()
    assert lines[:2] == ["Call:", f"lm(formula = {ref['formula']}, data = InitIgG)"]
    assert lines[3] == "Residuals:" and lines[4].split() == ["Min", "1Q", "Median", "3Q", "Max"]
    header = lines[lines.index("Coefficients:") + 1]
    assert header.split() == ["Estimate", "Std.", "Error", "t", "value", "Pr(>|t|)"]
    for name, row in zip(ref["coef_names"], ref["coef"]):
        line = next(ln for ln in lines if ln.split()[:1] == [name])
        assert line.split()[1] == f"{row['Estimate']:.4f}"
    assert f"Residual standard error: {ref['sigma']:.4g} on {ref['df_resid']} degrees of freedom" in text
    f, df1, df2 = ref["fstat"]
    assert f"Multiple R-squared:  {ref['r2']:.4g},\tAdjusted R-squared:  {ref['adj_r2']:.4g} " in text
    assert f"F-statistic: {f:.4g} on {df1} and {df2} DF,  p-value: " in text
    assert "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1" in text


def test_summary_of_lmod_reads_like_r(lm_refs):
    raw = load_raw()
    text = lm("IgG ~ Sex", raw[raw["Time"] == 0], "InitIgG").summary()
    # the rows R prints for the tutorial's first model (values from seed_lme4.json)
    assert "(Intercept) 139.9182     0.5291 264.456   <2e-16 ***" in text
    assert "SexM          2.0334     0.7482   2.718    0.007 ** " in text
    assert "p-value: 0.007003" in text


def test_anova_text_reads_like_r():
    raw = load_raw()
    text = lm("IgG ~ Sex", raw[raw["Time"] == 0]).anova_text()
    lines = text.splitlines()
    assert lines[:3] == ["Analysis of Variance Table", "", "Response: IgG"]
    assert lines[3].split() == ["Df", "Sum", "Sq", "Mean", "Sq", "F", "value", "Pr(>F)"]
    assert lines[4].split() == ["Sex", "1", "279.1", "279.11", "7.3857", "0.007003", "**"]
    assert lines[5].split() == ["Residuals", "268", "10127.7", "37.79"]


def test_numeric_famid_gives_one_slope_factor_gives_seven_contrasts():
    raw, prep = load_raw(), load_prepared()
    slope = lm("IgG ~ Sex + FamID", raw[raw["Time"] == 0])
    contrasts = lm("IgG ~ Sex + FamID", prep[prep["Time"] == 0])
    assert slope.coef_names == ["(Intercept)", "SexM", "FamID"]
    assert contrasts.coef_names[2:] == [f"FamID{k}" for k in range(2, 9)]


def test_random_terms_are_refused():
    with pytest.raises(FormulaError, match=r"random-effects terms like \(1 \| FamID\)"):
        lm("IgG ~ Sex + (1 | FamID)", load_prepared())


@pytest.mark.parametrize("formula", ["IgG ~ Sex + __import__('os')", "~ Sex", "IgG ~ Nope",
                                     "IgG ~ Sex + IgG"])
def test_bad_formulas_raise_formula_error(formula):
    with pytest.raises(FormulaError):
        lm(formula, load_prepared())


def test_aliased_column_is_reported_like_r():
    prep = load_prepared()
    fit = lm("IgG ~ Sex:FamID", prep[prep["Time"] == 0])
    # R's model.matrix(~ Sex:FamID) has 17 columns of rank 16: the last is aliased
    assert fit.aliased == ["SexM:FamID8"]
    assert np.isnan(fit.coefficients.loc["SexM:FamID8", "Estimate"])
    assert "Coefficients: (1 not defined because of singularities)" in fit.summary()
    full = lm("IgG ~ Sex * FamID", prep[prep["Time"] == 0])
    assert close(fit.sigma, full.sigma)  # same column space as Sex * FamID


def test_kept_columns_drops_exact_copies_only():
    x = np.column_stack([np.ones(5), np.arange(5.0), 2 * np.arange(5.0), np.arange(5.0) ** 2])
    assert kept_columns(x) == [0, 1, 3]


def test_intercept_only_model_has_no_f_statistic():
    prep = load_prepared()
    fit = lm("IgG ~ 1", prep[prep["Time"] == 0])
    assert fit.fstatistic is None and fit.coef_names == ["(Intercept)"]
    assert "F-statistic" not in fit.summary()
    assert list(fit.anova.index) == ["Residuals"]


def test_no_intercept_uses_uncentred_r_squared():
    prep = load_prepared()
    t0 = prep[prep["Time"] == 0]
    fit = lm("IgG ~ 0 + Sex", t0)
    y = t0["IgG"].to_numpy()
    expected = 1 - np.sum(fit.residuals ** 2) / np.sum(y ** 2)
    assert fit.coef_names == ["SexF", "SexM"] and close(fit.r_squared, expected)
    assert fit.fstatistic[1:] == (2, 268)


def test_few_residual_df_prints_every_residual():
    data = pd.DataFrame({"y": [1.0, 3.0, 2.0, 5.0, 4.0], "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    fit = lm("y ~ x", data)
    lines = fit.summary().splitlines()
    block = lines[lines.index("Residuals:") + 1: lines.index("Residuals:") + 3]
    assert block[0].split() == ["1", "2", "3", "4", "5"]
    assert [float(v) for v in block[1].split()] == pytest.approx(fit.residuals, abs=1e-4)
    assert fit.df_residual == 3 and close(fit.coefficients.loc["x", "Estimate"], 0.8)


def test_no_residual_df_is_a_clear_error():
    prep = load_prepared()
    with pytest.raises(ValueError, match="no residual degrees of freedom"):
        lm("IgG ~ Sex:IndID", prep[prep["Time"] == 0])


def test_summary_matches_the_output_printed_in_r_help_for_lm():
    # ?lm's example (Annette Dobson's plant weights): R's summary(lm.D9), line for line
    ctl = [4.17, 5.58, 5.18, 6.11, 4.50, 4.61, 5.17, 4.53, 5.33, 5.14]
    trt = [4.81, 4.17, 4.41, 3.59, 5.87, 3.83, 6.03, 4.89, 4.32, 4.69]
    d9 = pd.DataFrame({"weight": ctl + trt, "group": pd.Categorical(["Ctl"] * 10 + ["Trt"] * 10)})
    assert lm("weight ~ group", d9, "D9").summary().splitlines()[3:] == [
        "Residuals:",
        "    Min      1Q  Median      3Q     Max ",
        "-1.0710 -0.4938  0.0685  0.2462  1.3690 ",
        "",
        "Coefficients:",
        "            Estimate Std. Error t value Pr(>|t|)    ",
        "(Intercept)   5.0320     0.2202  22.850 9.55e-15 ***",
        "groupTrt     -0.3710     0.3114  -1.191    0.249    ",
        "---",
        "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
        "",
        "Residual standard error: 0.6964 on 18 degrees of freedom",
        "Multiple R-squared:  0.07308,\tAdjusted R-squared:  0.02158 ",
        "F-statistic: 1.419 on 1 and 18 DF,  p-value: 0.249",
    ]


# -- one design, many responses (SharedDesign: R's lm with a matrix response) ---------------------

def ls_tolerance(X: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    """How far two backward-stable least-squares solutions may differ, relative to |beta|: twice the
    perturbation bound eps (kappa + kappa^2 |r| / (|X| |beta|)) (Golub & Van Loan, Matrix
    Computations, 4th ed., thm 5.3.1), with a factor 10 for the constants the bound leaves out."""
    kappa, eps = np.linalg.cond(X), np.finfo(float).eps
    r = y - X @ beta
    return 20 * eps * (kappa + kappa ** 2 * np.linalg.norm(r) / (np.linalg.norm(X, 2) * np.linalg.norm(beta)))


@pytest.mark.parametrize("name", list(CASES))
def test_shared_design_matches_r_for_each_response(name, lm_refs):
    """Each response's estimates, sigma and anova.lm rows as R prints them (REL), and as lm() gives them
    (anova: the same QR, so equal; coefficients: within the least-squares bound)."""
    ref, data = lm_refs[name], CASES[name]()
    data = data[data["Time"] == 0].reset_index(drop=True)
    shared = SharedDesign(ref["formula"], data)
    one = lm(ref["formula"], data, "InitIgG")
    y = data[one.response].to_numpy(float)
    fit = shared.fit(y)
    assert shared.names == one.coef_names and fit.df_residual == ref["df_resid"]
    for row in ref["coef"]:
        assert close(fit.coefficients[shared.names.index(row["_row"])], row["Estimate"])
    assert close(fit.sigma, ref["sigma"])
    assert fit.anova_terms == tuple(one.anova.index)
    np.testing.assert_array_equal(fit.sum_sq, one.anova["Sum Sq"].to_numpy())
    for term in fit.anova_terms:
        assert fit.mean_sq(term) == one.anova.loc[term, "Mean Sq"]
    beta = one.coefficients["Estimate"].to_numpy()
    d, _ = lm_design(ref["formula"], data)
    tol = ls_tolerance(d.X, y, beta) * np.linalg.norm(beta)
    assert np.max(np.abs(fit.coefficients - beta)) <= tol
    # another response on the same design: the same as lm() on the data with that response
    y2 = 3.0 * y[::-1] + 1.0
    again = shared.fit(y2)
    other = lm(ref["formula"], data.assign(**{one.response: y2}))
    np.testing.assert_array_equal(again.sum_sq, other.anova["Sum Sq"].to_numpy())
    beta2 = other.coefficients["Estimate"].to_numpy()
    assert np.max(np.abs(again.coefficients - beta2)) <= ls_tolerance(d.X, y2, beta2) * np.linalg.norm(beta2)
    with pytest.raises(ValueError):
        shared.fit(y[:-1])
