"""lib.rprint.rformat against outputs R documents or prints (R 4.2)."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from lib.rprint.rformat import (
    format_c,
    format_numbers,
    format_pvalue,
    format_pvalues,
    format_signif,
    print_coefmat,
    r_round,
    r_signif,
    signif_legend,
    signif_stars,
    zapsmall,
)


@pytest.mark.parametrize("values, digits, expected", [
    ([3.14159], 3, ["3.14"]),
    ([1, 10, 100], 7, ["  1", " 10", "100"]),
    ([1234567.8, 12.12345], 7, ["1.234568e+06", "1.212345e+01"]),  # E is narrower
    ([1234567.8, 123.12345], 7, ["1234567.8000", "    123.1235"]),  # a tie goes to F
    ([1e5], 7, ["1e+05"]),
    ([123456], 7, ["123456"]),
    ([99.96], 3, ["100"]),
    ([0.1 + 0.2], 7, ["0.3"]),
    ([-1.5, 2.25], 7, ["-1.50", " 2.25"]),
    ([2.220446e-16], 1, ["2e-16"]),
    ([float("nan"), 1.5], 7, [" NA", "1.5"]),
])
def test_format_numbers_like_r_format(values, digits, expected):
    assert format_numbers(values, digits) == expected


def test_format_numbers_trim_and_drop0trailing_like_str():
    assert format_numbers([21, 21, 22.8], 3, trim=True, drop0trailing=True) == ["21", "21", "22.8"]


def test_format_signif_keeps_only_needed_digits():
    assert format_signif(0.00700276971439692, 3) == "0.007"
    assert format_signif(6.1473464352827, 4) == "6.147"
    assert format_signif(2.220446e-16, 2) == "2.2e-16"


def test_r_signif_rounds_integer_part_too():
    assert r_signif(123456, 4) == 123500 and r_signif(0.000123456, 2) == 0.00012


def test_format_c_is_percent_g():
    assert format_c(0.0268196409954209, 4) == "0.02682" and format_c(72.4123132653259, 4) == "72.41"


def test_format_pvalue_like_format_pval():
    assert format_pvalue(0.00700276971439692) == "0.0070028"  # default digits 5
    assert format_pvalue(0.00700276971439692, 4) == "0.007003"
    assert format_pvalue(0.00700276971439692, 3) == "0.007"
    assert format_pvalue(1e-30, 4) == "< 2.2e-16"
    # the example of ?format.pval
    assert format_pvalues([0.1, 0.0001, 1e-27]) == ["1e-01", "1e-04", "<2e-16"]


def test_format_pvalues_splits_fixed_and_scientific():
    ps = [2.6041088588614e-10, 7.11789929171275e-11, 0.0163984627999526, 0.000293746497454608,
          1e-30]  # p-values of the tutorial's LMod2, formatted as its summary does
    assert format_pvalues(ps, 3) == ["2.60e-10", "7.12e-11", "0.016398", "0.000294", "< 2e-16"]
    assert format_pvalues([2.6041088588614e-10], 3) == ["2.6e-10"]


@pytest.mark.parametrize("p, stars", [(0, "***"), (0.001, "***"), (0.0011, "**"), (0.01, "**"),
                                      (0.04, "*"), (0.05, "*"), (0.07, "."), (0.1, "."),
                                      (0.5, " "), (float("nan"), "")])
def test_signif_stars_cutpoints(p, stars):
    assert signif_stars(p) == stars


def test_signif_legend_text():
    assert signif_legend() == "---\nSignif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1"


def test_zapsmall_rounds_relative_to_largest():
    # 5 - log10(10127.7) = 0.99 decimals, which R's round() takes to 1
    assert list(zapsmall([279.106400598444, 10127.6846763626], 5)) == [279.1, 10127.7]
    assert list(zapsmall([279.106400598444, 37.789868195383], 5)) == [279.106, 37.79]
    assert list(zapsmall([1.0, 1e-20], 7)) == [1.0, 0.0]


def test_print_coefmat_layout():
    table = pd.DataFrame({"Estimate": [139.918191473506, 2.03344772209552],
                          "Std. Error": [0.52907934149372, 0.748231180311845],
                          "t value": [264.455971912421, 2.71767306094892],
                          "Pr(>|t|)": [0.0, 0.00700276971439692]},
                         index=["(Intercept)", "SexM"])
    text = print_coefmat(table, digits=4)
    assert text.splitlines() == [
        "            Estimate Std. Error t value Pr(>|t|)    ",
        "(Intercept) 139.9182     0.5291 264.456   <2e-16 ***",
        "SexM          2.0334     0.7482   2.718    0.007 ** ",
        "---",
        "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1",
    ]


def test_print_coefmat_without_small_p_has_no_stars():
    table = pd.DataFrame({"Estimate": [1.0], "Std. Error": [2.0], "t value": [0.5],
                          "Pr(>|t|)": [0.62]}, index=["x"])
    text = print_coefmat(table, digits=4)
    assert "Signif." not in text and text.splitlines()[1].endswith("0.62")


def test_print_coefmat_shows_na_for_aliased():
    table = pd.DataFrame({"Estimate": [1.5, math.nan], "Std. Error": [0.5, math.nan],
                          "t value": [3.0, math.nan], "Pr(>|t|)": [0.01, math.nan]},
                         index=["a", "b"])
    assert print_coefmat(table, digits=4).splitlines()[2].split() == ["b", "NA", "NA", "NA", "NA"]


@pytest.mark.parametrize("x, digits, expected", [
    (0.15, 1, 0.1), (0.15, 2, 0.15), (2.675, 2, 2.67), (2.5, 0, 2.0), (3.5, 0, 4.0),
    (-1.005, 2, -1.0), (1234.5678, -2, 1200.0), (123.456, 1, 123.5),
])
def test_r_round_follows_r4(x, digits, expected):
    assert r_round([x], digits)[0] == expected


def test_negative_zero_prints_as_r_does():
    # R: format(c(-0, 0.5)) gives "0.0" "0.5"
    assert format_numbers([-0.0, 0.5], 3) == ["0.0", "0.5"]


def test_print_coefmat_zaps_an_all_float_frame():
    # pandas 3 hands out read-only views: zapping must work on a copy
    df = pd.DataFrame({"Estimate": [1.0, 1e-20], "Std. Error": [0.1, 0.2]}, index=["a", "b"])
    # R 4.2: printCoefmat(x, digits = 4, zap.ind = 1)
    assert print_coefmat(df, digits=4, zap_ind=[0]).splitlines() == [
        "  Estimate Std. Error", "a        1        0.1", "b        0        0.2"]
