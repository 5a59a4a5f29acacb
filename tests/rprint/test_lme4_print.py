"""lib.rprint.lme4_print against what R 4.2.2 / lme4 1.1-31 prints (tests/golden/lme4, from make_golden.R).

Two layers. The printer alone: summaries built from R's own numbers (seed_lme4.json)
must reproduce R's text character for character, for all fourteen tutorial fits. The
printer on our fits: exact where our numbers agree with lme4's beyond the printed
digits, and otherwise the same layout, the same key lines, and the printed numbers
within the parity tolerances.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from band import optimum_cases
from conftest import GOLDEN
from printed import mismatches, without_control

from lib.rprint.lme4_print import (
    abbreviate,
    cat_fill,
    deparse,
    fixef_table,
    formula_lines,
    lmer_summary,
    print_char_matrix,
    varcorr_table,
)

MODELS = ["MMod", "MMod2", "MMod3", "MModTime", "MModTime2", "MModTime3", "MModTime4"]
FITS = [pytest.param(name, reml, id=f"{name}-{'REML' if reml else 'ML'}")
        for reml in (True, False) for name in MODELS]
# fits whose every printed digit is determined by numbers we match to ~1e-7 or better
EXACT = {("MMod", True), ("MMod", False), ("MMod2", True), ("MMod2", False), ("MMod3", True),
         ("MMod3", False), ("MModTime", True), ("MModTime", False), ("MModTime2", True)}


def golden(name: str) -> str:
    return (GOLDEN / name).read_text()


def golden_summary(name: str, reml: bool) -> str:
    return golden(f"{name}_{'REML' if reml else 'ML'}.txt")


def ref_fit(ref: dict) -> SimpleNamespace:
    """A fit carrying R's own numbers, with lib.engine.contract.MixedFit's attributes."""
    names = list(ref["fixef"])
    msgs = ref["conv_messages"]
    msgs = [] if msgs == {} else ([msgs] if isinstance(msgs, str) else list(msgs))
    return SimpleNamespace(
        formula=SimpleNamespace(text=ref["formula"]), REML=ref["REML"],
        reml_criterion=ref["REMLcrit"], deviance=ref["deviance"], loglik=ref["logLik"],
        df=ref["df"], aic=ref["AIC"], bic=ref["BIC"], nobs=ref["nobs"], ngrps=ref["ngrps"],
        fixef=pd.Series(ref["fixef"]), se=pd.Series(ref["se"]), varcorr=pd.DataFrame(ref["varcorr"]),
        scaled_resid_quantiles=np.array(ref["scaled_resid_quantiles"]),
        cor_fixef=pd.DataFrame(ref["cor_fixef"], index=names, columns=names), messages=msgs,
        all_messages=msgs, family=None, nAGQ=1, optimizer="nloptwrap", object_class="lmerMod")


def mask(text: str) -> str:
    """The layout without the digits: every digit becomes '#'."""
    return re.sub(r"\d", "#", text)


def lines_before_messages(text: str) -> list[str]:
    lines = text.splitlines()
    at = next((i for i, s in enumerate(lines) if s.startswith("optimizer (")), len(lines))
    return lines[:at]


# ---------------------------------------------------------------------------
# the printer on R's own numbers: character for character
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name, reml", FITS)
def test_summary_of_rs_numbers_is_rs_text(seed_ref, name, reml):
    ref = seed_ref["lmer_reml" if reml else "lmer_ml"][name]
    assert lmer_summary(ref_fit(ref), data_name="dat") == golden_summary(name, reml)


def test_summary_of_rs_numbers_as_the_tutorial_printed_it(seed_ref):
    """MModTime3 on R's reading of the CSV: the tutorial's convergence warning in the summary."""
    text = lmer_summary(ref_fit(seed_ref["tutorial_as_printed"]["MModTime3"]))
    assert text.endswith("optimizer (nloptwrap) convergence code: 0 (OK)\n"
                         "Model failed to converge with max|grad| = 0.0211755 (tol = 0.002, component 1)\n\n")
    assert "   Data:" not in text  # no data name given, no Data line


# ---------------------------------------------------------------------------
# the printer on our fits: R's digits wherever they are the model's (tests/printed.py)
# ---------------------------------------------------------------------------
def split_messages(lines: list[str]) -> tuple[list[str], list[str]]:
    """The summary body, and lme4's convergence messages after its optimizer line."""
    at = next((i for i, s in enumerate(lines) if s.startswith("optimizer (")), len(lines))
    return lines[:at], [s for s in lines[at + 1:] if s]


def assert_prints_like_r(ours: str, at_stop: list[str], at_optimum: list[str]) -> None:
    body, messages = split_messages(ours.splitlines())
    stop_body, _ = split_messages(at_stop)
    opt_body, opt_messages = split_messages(without_control(at_optimum))
    assert mismatches(body, stop_body, opt_body) == []
    assert messages == opt_messages  # the verdict at the optimum, word for word


@pytest.mark.parametrize("name, reml", FITS)
def test_summary_prints_lme4s_determined_digits(lmer_fits, name, reml):
    case = optimum_cases()[name if reml else f"{name}_ML"]
    ours = lmer_summary(lmer_fits.get(name, reml), data_name="dat", correlation=False)
    assert_prints_like_r(ours, case["lme4_default"]["printed"], case["optimum"]["printed"])


@pytest.mark.parametrize("name, reml", FITS)
def test_summary_key_lines(lmer_fits, seed_ref, name, reml):
    ref = seed_ref["lmer_reml" if reml else "lmer_ml"][name]
    lines = lmer_summary(lmer_fits.get(name, reml)).splitlines()
    method = "REML" if reml else "maximum likelihood "
    assert lines[0] == f"Linear mixed model fit by {method} ['lmerMod']"
    assert lines[1] == "Formula: " + ref["formula"]  # R's deparse of the formula
    groups = "; ".join(f"{k}, {v}" for k, v in ref["ngrps"].items())
    assert f"Number of obs: {ref['nobs']}, groups:  {groups}" in lines


# ---------------------------------------------------------------------------
# other layouts: ||, rank-deficient X, p > 12, wide correlation matrix, 3 x 3 Corr
# ---------------------------------------------------------------------------
EXTRAS = {"many_coefs": "IgG ~ Sex*FamID + (1|IndID)",
          "rank_deficient": "IgG ~ Sex + SexCopy + Time + (1|FamID)",
          "double_bar": "IgG ~ Sex*Time + (1 + Time || FamID)",
          "three_by_three": "IgG ~ Sex*Time + (1 + Sex + Time | FamID)",
          "wide_correlation": "IgG ~ Sex*Time + FamID + (1|IndID)"}


@pytest.fixture(scope="module")
def extra_fits(lmer_fits):
    from lib.api import lmer
    data = lmer_fits.data["all"].copy()
    data["SexCopy"] = data["Sex"]
    return {k: lmer(f, data) for k, f in EXTRAS.items()}


@pytest.mark.parametrize("name", list(EXTRAS))
def test_other_layouts(extra_fits, name):
    """R's print at lme4's stop and at the optimum (make_golden.R): ours as tests/printed.py says."""
    ours = lmer_summary(extra_fits[name], data_name="dat", name="summary(m)")
    assert_prints_like_r(ours, golden(f"{name}.txt").splitlines(), golden(f"{name}_optimum.txt").splitlines())


def test_double_bar_lme4_stops_far_from_the_optimum(extra_fits):
    """lme4 1.1-31's default stop on (1 + Time || FamID) is 4.4 above the optimum, with no warning:
    REML criterion 37169.5 there, 37165.1 at the optimum (make_golden.R's two prints)."""
    stop, optimum = golden("double_bar.txt"), golden("double_bar_optimum.txt")
    assert "REML criterion at convergence: 37169.5" in stop
    assert "REML criterion at convergence: 37165.1" in optimum
    assert "REML criterion at convergence: 37165.1" in lmer_summary(extra_fits["double_bar"])


def test_many_coefficients_note_instead_of_correlations(extra_fits):
    ours = lmer_summary(extra_fits["many_coefs"], data_name="dat", name="summary(m)")
    assert "Correlation matrix not shown by default, as p = 16 > 12.\n" in ours
    assert "Correlation of Fixed Effects" not in ours
    assert "Correlation of Fixed Effects" in lmer_summary(extra_fits["many_coefs"], correlation=True)


def test_three_by_three_correlation_layout(extra_fits):
    ours = lmer_summary(extra_fits["three_by_three"], data_name="dat").splitlines()
    assert " Groups   Name        Variance Std.Dev. Corr     " in ours


def test_double_bar_formula_is_lme4s_expansion(extra_fits):
    assert formula_lines(extra_fits["double_bar"]) == \
        ["IgG ~ Sex * Time + ((1 | FamID) + (0 + Time | FamID))"]
    assert list(varcorr_table(extra_fits["double_bar"])["Groups"]) == ["FamID", "FamID.1", "Residual"]


def test_rank_deficient_fit_warning(extra_fits):
    fit = extra_fits["rank_deficient"]
    assert "fit warnings:\nfixed-effect model matrix is rank deficient so dropping 1 column / coefficient\n" \
        in lmer_summary(fit)
    assert "optimizer (nloptwrap)" not in lmer_summary(fit)  # a fit warning is not a convergence message


# ---------------------------------------------------------------------------
# the tables as data frames
# ---------------------------------------------------------------------------
def test_varcorr_table(lmer_fits, seed_ref):
    fit = lmer_fits.get("MModTime4")
    t = varcorr_table(fit)
    assert list(t.columns) == ["Groups", "Name", "Variance", "Std.Dev.", "Corr"]
    assert list(t["Groups"]) == ["Sex:IndID", "Sex:IndID", "FamID", "FamID", "Residual"]
    assert list(t["Name"]) == ["(Intercept)", "Time", "(Intercept)", "Time", ""]
    assert np.allclose(t["Variance"], t["Std.Dev."] ** 2)
    vc = fit.varcorr
    corr = vc[vc["var2"].notna()]["sdcor"].to_numpy()
    assert np.allclose(t["Corr"].to_numpy()[[1, 3]], corr) and t["Corr"].isna().sum() == 3
    f = varcorr_table(fit, formatted=True)
    assert list(f["Groups"]) == ["Sex:IndID", "", "FamID", "", "Residual"]
    assert list(f["Corr"]) == ["", "-0.01", "", "0.48", ""]


def test_varcorr_table_three_effects(extra_fits):
    t = varcorr_table(extra_fits["three_by_three"])
    assert list(t.columns) == ["Groups", "Name", "Variance", "Std.Dev.", "Corr 1", "Corr 2"]
    assert np.isnan(t.loc[1, "Corr 2"]) and not np.isnan(t.loc[2, "Corr 2"])


def test_fixef_table(lmer_fits):
    fit = lmer_fits.get("MMod")
    t = fixef_table(fit)
    assert list(t.columns) == ["Estimate", "Std. Error", "t value"]
    assert np.allclose(t["t value"], fit.fixef / fit.se)
    f = fixef_table(fit, formatted=True)
    assert f.loc["(Intercept)"].tolist() == ["139.4593", "1.9691", "70.824"]
    assert f.loc["SexM"].tolist() == ["2.8331", "0.4323", "6.554"]


# ---------------------------------------------------------------------------
# R's primitives, against R's output
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("formula, lines", [
    ("IgG ~ Sex*Time + (1+Time|FamID) + (1+Time|Sex:IndID)",
     ["IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID)"]),
    ("IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID) + (1|FamID:IndID)",
     ["IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID) + ", "    (1 | FamID:IndID)"]),
    ("IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID) + (1|FamID:IndID) + (1 + Sex + Time|FamID)",
     ["IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID) + ",
      "    (1 | FamID:IndID) + (1 + Sex + Time | FamID)"]),
    ("IgG~Sex/Time-1+(0+Sex|FamID/IndID)", ["IgG ~ Sex/Time - 1 + (0 + Sex | FamID/IndID)"]),
    ("IgG ~ -1 + Sex:Time:FamID + (1 + Time + Sex + Time:Sex + FamID | IndID) + (1 | FamID) + (Time || IndID)",
     ["IgG ~ -1 + Sex:Time:FamID + (1 + Time + Sex + Time:Sex + FamID | ",
      "    IndID) + (1 | FamID) + (Time || IndID)"]),
    ("cbind(a, b - a) ~ x + (1|g)", ["cbind(a, b - a) ~ x + (1 | g)"]),
    ("y ~ a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p + q + r + s + t + u + v + w "
     "+ x + yy + zz + aaa + bbb + ccc + ddd + eee",
     ["y ~ a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + ",
      "    p + q + r + s + t + u + v + w + x + yy + zz + aaa + bbb + ", "    ccc + ddd + eee"]),
    ("y ~ (a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p + q + r + s + t + u + v | g)",
     ["y ~ (a + b + c + d + e + f + g + h + i + j + k + l + m + n + ",
      "    o + p + q + r + s + t + u + v | g)"]),
    ("~ x", ["~x"]),
    ("y ~ a*b*c - a:b", ["y ~ a * b * c - a:b"]),
])
def test_deparse_like_r(formula, lines):
    assert deparse(formula) == lines


# R 4.2.2's abbreviate(ABBREV_NAMES, minlength) for minlength 4, 6, 11
ABBREV_NAMES = [
    "(Intercept)", "SexM", "Time", "SexM:Time", "FamID2", "SexM:FamID2", "Sex:IndID",
    "Time:FamIDabcdef", "I(Time^2)", "log(IgG)", "aa bb cc", "Intercept", "x1", "x2",
    "veryLongVariableName:other", "Sexuality", "Sexualitz", "SexM:Time:FamID2", "SexM:Time:FamID3",
    "TimeA", "TimeB", "abcdefghijkl", "abcdefghijkm", "FamID10", "FamID11", "Sex M", "  lead",
    "AAAAAAAAAAAAA", "aeiouaeiou"]


@pytest.mark.parametrize("minlength, expected", [
    (4, [
        "(In)", "SexM", "Time", "SxM:T", "FID2", "SM:F", "S:II", "T:FI", "I(T^", "l(IG", "abbc",
        "Intr", "x1", "x2", "vLVN", "Sxlty", "Sxltz", "SM:T:FID2", "SM:T:FID3", "TimA", "TimB",
        "abcdfghjkl", "abcdfghjkm", "FID10", "FID11", "Sex M", "lead", "AAAA", "aeio"]),
    (6, [
        "(Intr)", "SexM", "Time", "SxM:Tm", "FamID2", "SM:FID", "Sx:IID", "Tm:FID", "I(T^2)",
        "lg(IG)", "aabbcc", "Intrcp", "x1", "x2", "vrLVN:", "Sexlty", "Sexltz", "SM:T:FID2",
        "SM:T:FID3", "TimeA", "TimeB", "abcdfghjkl", "abcdfghjkm", "FmID10", "FmID11", "Sex M",
        "lead", "AAAAAA", "aeioua"]),
    (11, [
        "(Intercept)", "SexM", "Time", "SexM:Time", "FamID2", "SexM:FamID2", "Sex:IndID",
        "Tm:FmIDbcdf", "I(Time^2)", "log(IgG)", "aa bb cc", "Intercept", "x1", "x2", "vryLngVrbN:",
        "Sexuality", "Sexualitz", "SxM:Tm:FID2", "SxM:Tm:FID3", "TimeA", "TimeB", "abcdefghjkl",
        "abcdefghjkm", "FamID10", "FamID11", "Sex M", "lead", "AAAAAAAAAAA", "aeiouaeiou"]),
])
def test_abbreviate_like_r(minlength, expected):
    """R's abbreviate(), clashes resolved as R resolves them (SexM:Time, FamID10, abcdefghijk*)."""
    assert abbreviate(ABBREV_NAMES, minlength) == expected


def test_cat_fill_breaks_like_r():
    """cat(a, b, fill = TRUE) at width 80: the separator stays at the end of the broken line."""
    head = "Number of obs: 4860, groups: "
    assert cat_fill([head, "a" * 49]) == head + " " + "a" * 49 + "\n"
    assert cat_fill([head, "a" * 50]) == head + " \n" + "a" * 50 + "\n"


def test_wide_character_matrix_wraps_like_r():
    cells = [[f"cell{2 * j + i + 1}xxxxxxxx" for j in range(15)] for i in range(2)]
    text = print_char_matrix(cells, ["a", "b"], [f"col{j + 1}" for j in range(15)])
    blocks = text.split("\n")
    assert len(blocks) == 9  # three blocks of header + two rows
    assert blocks[0] == "  col1          col2          col3          col4          col5          "
    assert blocks[2] == "b cell2xxxxxxxx cell4xxxxxxxx cell6xxxxxxxx cell8xxxxxxxx cell10xxxxxxxx"
    assert blocks[3].startswith("  col6           col7")


def test_signed_zero_correlation_prints_as_zero():
    from lib.rprint.lme4_print import _format
    assert _format([-0.0, 0.5], 7, nsmall=3) == ["0.000", "0.500"]


def test_summary_method_of_the_fit(lmer_fits):
    fit = lmer_fits.get("MMod")
    assert fit.summary() == lmer_summary(fit)
