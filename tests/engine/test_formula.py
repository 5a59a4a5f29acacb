"""The strict formula grammar: backticked column names as R writes them, code refused, and the parser
fuzzed with hypothesis (formulas from the grammar parse; any other text is a FormulaError, never
anything else)."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.engine.formula import FormulaError, parse_formula, quote_name
from lib.rprint.lme4_print import deparse, lme4_formula

COLUMNS = ["y", "x", "g", "my y", "a b", "g 1", "h", "2020", "if", "Sex.M", "é"]


@pytest.mark.parametrize("name, quoted", [
    ("x", "x"), ("Sex.M", "Sex.M"), (".x", ".x"), ("my y", "`my y`"), ("2020", "`2020`"),
    ("if", "`if`"), ("TRUE", "`TRUE`"), (".2a", "`.2a`"), ("a-b", "`a-b`"), ("_a", "`_a`")])
def test_quote_name_follows_rs_syntactic_names(name, quoted):
    # R: make.names(name) == name (and not a reserved word) decides whether deparse() adds backticks
    assert quote_name(name) == quoted


def test_backticked_names_parse_to_the_columns():
    f = parse_formula("`my y` ~ `a b` * x + (1 + x || `g 1`:h)", COLUMNS)
    assert f.response.name == "my y"
    assert f.fixed.terms == (("a b",), ("x",), ("a b", "x"))
    assert f.random[0].group == ("g 1", "h") and not f.random[0].correlated
    assert f.random[0].label == "(1 + x || `g 1`:h)"


def test_deparse_of_backticked_names_is_rs():
    text = "`my y` ~ `a b`*x + (1 + x || `g 1`:h)"
    # R 4.2.2: deparse(`my y` ~ `a b`*x + (1 + x || `g 1`:h))
    assert deparse(text) == ["`my y` ~ `a b` * x + (1 + x || `g 1`:h)"]
    # lme4 1.1-31: deparse(lme4:::expandDoubleVerts(<the same formula>))
    assert deparse(lme4_formula(text)) == ["`my y` ~ `a b` * x + ((1 | `g 1`:h) + (0 + x | `g 1`:h))"]


def test_a_backticked_cbind_is_a_column_not_the_function():
    f = parse_formula("`cbind` ~ x + (1 | g)", ["cbind", "x", "g"])
    assert f.response.name == "cbind" and not f.response.is_cbind


@pytest.mark.parametrize("text", [
    '__import__("os").system("touch {marker}")',
    'y ~ __import__("os").system("touch {marker}") + (1 | g)',
    "y ~ x.__class__.__bases__ + (1 | g)",
    "y ~ (lambda: open('{marker}', 'w'))() + (1 | g)",
    'y ~ f"{{open(\'{marker}\', \'w\')}}" + (1 | g)',
    "y ~ exp(x) + (1 | g)",
    "y ~ x[0] + (1 | g)",
    "y ~ x; import os",
    "y ~ `x` + `os.system('touch {marker}')`",
    "y ~ x + (1 | g) # comment",
])
def test_python_in_a_formula_is_refused_and_never_run(text, tmp_path: Path):
    marker = tmp_path / "ran"
    with pytest.raises(FormulaError) as err:
        parse_formula(text.format(marker=marker), COLUMNS)
    assert str(err.value) and not marker.exists()


# -- fuzzing ---------------------------------------------------------------------------------

names = st.sampled_from(COLUMNS)


@st.composite
def terms(draw) -> str:
    return ":".join(quote_name(n) for n in draw(st.lists(names, min_size=1, max_size=3, unique=True)))


@st.composite
def sums(draw) -> str:
    parts = draw(st.lists(terms(), min_size=1, max_size=4))
    ops = draw(st.lists(st.sampled_from([" + ", " * ", " - ", " / ", ":"]), min_size=len(parts) - 1,
                        max_size=len(parts) - 1))
    text = parts[0] + "".join(o + p for o, p in zip(ops, parts[1:]))
    return draw(st.sampled_from(["", "1 + ", "0 + ", "-1 + "])) + text


@st.composite
def formulas(draw) -> str:
    lhs = quote_name(draw(names))
    random = draw(st.lists(st.tuples(st.sampled_from(["1", "0 + x", "1 + x", "x"]),
                                     st.sampled_from(["|", "||"]), terms()), max_size=3))
    rhs = draw(sums())
    return lhs + " ~ " + rhs + "".join(f" + ({a} {b} {g})" for a, b, g in random)


@settings(max_examples=300, deadline=None)
@given(formulas())
def test_formulas_from_the_grammar_parse_or_are_refused_in_words(text):
    try:
        f = parse_formula(text, COLUMNS)
    except FormulaError as e:  # e.g. a grouping factor that is also a slope in its own term
        assert str(e)
        return
    assert set(f.variables) <= set(COLUMNS)
    # what the parser writes back parses to the same model
    again = parse_formula(f.fixed_text() + "".join(" + " + r.label for r in f.random), COLUMNS)
    assert again.fixed == f.fixed and again.random == f.random and again.response == f.response


formula_chars = st.lists(st.sampled_from(list("yxgh~+-*:/()|,01 `._\"'[]{};#=@$\\\n")
                                         + ["cbind", "lambda", "__import__", "my y", "if"]),
                         max_size=40).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(formula_chars, st.text(max_size=40)))
def test_any_text_parses_or_is_a_formula_error(text):
    try:
        f = parse_formula(text, COLUMNS)
    except FormulaError as e:
        assert str(e)
    else:
        assert set(f.variables) <= set(COLUMNS)
