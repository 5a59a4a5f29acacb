"""The workbench's lib: choices to formulas and back (fuzzed), the checks' words, the stoppable runner,
and the R script it writes, whose fits by lme4 (tests/reference/workbench_models.json, made by
tests/reference/make_workbench_reference.py) lib's fits agree with."""
from __future__ import annotations

import json
import threading
import time

import numpy as np
import pandas as pd
import pytest
from band import CRIT_TOL
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.engine.formula import FormulaError, parse_formula, quote_name
from lib.teach import workbench as wb
from lib.teach.model_builder import RandomSpec, canonical
from lib.teach.stoppable import TimeLimit, run_stoppable
from lib.teach.workbench_scripts import python_script, r_script
from tests.reference.make_workbench_reference import CUT, RESULTS, SCRIPT, session

# lme4's default stop lies 0 to 5e-5 above the criterion's optimum (tests/band.py), which is what lib reports
LME4_STOP_ABOVE = 5e-5


@pytest.fixture(scope="module")
def fitted():
    return session()


def test_the_r_script_is_the_one_lme4_ran(fitted):
    models, datasets = fitted
    assert SCRIPT.read_text().split(CUT)[0] == r_script(models, datasets)


def test_libs_fits_agree_with_lme4s_fits_of_the_r_script(fitted):
    models, _ = fitted
    lme4 = json.loads(RESULTS.read_text())
    for m in models:
        ref = lme4[m.name]
        assert m.ok and (m.fit.df, m.fit.nobs) == (ref["df"], ref["nobs"])
        # -2 logLik: at most CRIT_TOL above lme4's, and below it by no more than lme4's stop lies above the optimum
        gap = -2 * m.fit.loglik - (-2 * ref["logLik"])
        assert -LME4_STOP_ABOVE - CRIT_TOL <= gap <= CRIT_TOL, (m.name, gap)
        # R names a backticked column's coefficient with its backticks (`Mois écoulés`); lib without them
        assert [n.replace("`", "") for n in ref["fixef"]] == list(m.fit.fixef.index)
        assert np.allclose(list(ref["fixef"].values()), m.fit.fixef.to_numpy(), rtol=1e-3, atol=1e-4)


def test_the_python_script_refits_every_model_with_lib(fitted):
    models, datasets = fitted
    script = python_script(models, datasets)
    assert "read_csv_bytes(f.read(), 'immune_eu.csv')" in script
    assert "m2 = lmer('`Ig G` ~ Sex * `Mois écoulés` + (1 + `Mois écoulés` | `Fam ID`) + (1 | Sex:IndID)', " \
           "data1, REML=False)" in script
    assert "m4 = glmer('Count ~ Dose + (1 | Site)', data3, family='poisson')" in script


def test_the_models_table_reads_the_fits(fitted):
    models, _ = fitted
    table = wb.models_table(models)
    assert list(table.columns) == wb.TABLE_COLUMNS and list(table["model"]) == ["m1", "m2", "m3", "m4"]
    for (_, row), m in zip(table.iterrows(), models):
        assert (row["npar"], row["logLik"], row["AIC"], row["BIC"]) == (m.fit.df, m.fit.loglik, m.fit.aic, m.fit.bic)
    assert list(table["method"]) == ["REML", "ML", "ML (Laplace)", "ML (Laplace)"]


def test_comparing_models_of_different_data_is_refused_in_words(fitted):
    models, _ = fitted
    with pytest.raises(ValueError, match="fitted to different data"):
        wb.compare(models[0], models[2], "anova")


# -- choices and formulas -------------------------------------------------------------------------

COLUMNS = ["y", "x", "g", "h", "my y", "a b", "2020", "if"]
names = st.sampled_from(COLUMNS).map(quote_name)


@st.composite
def choices(draw) -> wb.Choice:
    response = draw(names)
    rest = [n for n in map(quote_name, COLUMNS) if n != response]
    mains = draw(st.lists(st.sampled_from(rest), max_size=3, unique=True))
    inter = draw(st.lists(st.sampled_from(wb.interactions(mains)), max_size=2, unique=True)) if len(mains) > 1 else []
    random = []
    for _ in range(draw(st.integers(1, 3))):
        group = draw(st.lists(st.sampled_from(rest), min_size=1, max_size=2, unique=True))
        slopes = draw(st.lists(st.sampled_from([n for n in rest if n not in group]), max_size=2, unique=True))
        random.append(RandomSpec(":".join(group), draw(st.booleans()) or not slopes, tuple(slopes), draw(st.booleans())))
    return wb.Choice(response, tuple(mains + inter), tuple(random), draw(st.booleans()))


@settings(max_examples=200, deadline=None)
@given(choices())
def test_a_choices_formula_reads_back_to_the_same_model(choice):
    text = choice.formula(COLUMNS)
    back = wb.choice_from_formula(text, COLUMNS)
    assert canonical(back.formula(COLUMNS), COLUMNS) == canonical(text, COLUMNS)
    assert back.formula(COLUMNS) == wb.choice_from_formula(back.formula(COLUMNS), COLUMNS).formula(COLUMNS)


def test_a_choice_with_no_random_term_is_no_model():
    with pytest.raises(FormulaError, match="No random effects terms"):
        wb.Choice("y", ("x",)).formula(COLUMNS)


# -- checks ---------------------------------------------------------------------------------------

DATA = pd.DataFrame({"y": [3.1, 4.2, 5.0, 2.2, 6.3, 4.4, 5.5, 3.3, 4.8, 5.1, 2.9, 4.0],
                     "x": [0, 1, 2] * 4, "w": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4], "g": list("aaabbbcccddd"),
                     "n": [0, 2, 1, 3, 5, 2, 0, 1, 4, 2, 1, 3], "s": list("FMFMFMFMFMFM")})


@pytest.mark.parametrize("formula, family, words", [
    ("s ~ x + (1 | g)", "gaussian", "is not numeric"),
    ("y ~ x + (1 | g)", "binomial", "values outside 0..1"),
    ("y ~ x + (1 | g)", "poisson", "must be whole numbers"),
    ("cbind(n, y) ~ x + (1 | g)", "binomial", "binomial counts must be whole numbers"),
    ("cbind(n, x) ~ 1 + (1 | g)", "poisson", "needs the binomial family"),
    ("y ~ x + (w | g)", "gaussian", "the random slope w does not vary within the groups of g"),
    # lme4 1.1-31's own words (lme4:::checkNlevels, checkZrank's nobs.vs.nRE)
    ("y ~ x + (1 | y)", "gaussian",
     "number of levels of each grouping factor must be < number of observations (problems: y)"),
    ("y ~ 1 + (1 + x + n | g)", "gaussian",
     "number of observations (=12) <= number of random effects (=12) for term (1 + x + n | g)"),
])
def test_checks_refuse_in_words(formula, family, words):
    with pytest.raises(FormulaError) as e:
        wb.check(formula, DATA, family)
    assert words in str(e.value)


def test_one_level_is_lme4s_error():
    with pytest.raises(FormulaError, match=r"grouping factors must have > 1 sampled level \(g has 1\)"):
        wb.check("y ~ x + (1 | g)", DATA[DATA["g"] == "a"].reset_index(drop=True), "gaussian")


def test_missing_values_are_dropped_and_counted():
    holes = DATA.assign(y=DATA["y"].mask(DATA.index.isin([0, 7])), w=DATA["w"].mask(DATA.index == 3))
    c = wb.check("y ~ x + (1 | g)", holes, "gaussian")  # w is not used: its hole drops nothing
    assert c.dropped == 2 and list(c.rows) == [k for k in range(12) if k not in (0, 7)]


def test_the_limits_are_checked(monkeypatch):
    monkeypatch.setattr(wb, "MAX_ROWS", 11)
    with pytest.raises(wb.ModelError, match="at most 11"):
        wb.check("y ~ x + (1 | g)", DATA, "gaussian")
    monkeypatch.setattr(wb, "MAX_ROWS", 100)
    monkeypatch.setattr(wb, "MAX_RANDOM_EFFECTS", 7)
    with pytest.raises(wb.ModelError, match="8 random effects; the workbench fits at most 7"):
        wb.check("y ~ x + (1 + x | g)", DATA, "gaussian")


@pytest.mark.parametrize("name, ok", [("m1", True), ("my.model_2", True), ("1m", False), ("a b", False),
                                      ("if", False), ("", False), ("kept", False)])
def test_model_names_are_plain_r_names(name, ok):
    assert (wb.valid_name(name, ["kept"]) is None) == ok


# -- stopping -------------------------------------------------------------------------------------

def test_work_past_its_time_limit_is_stopped_and_its_thread_ends():
    def forever() -> None:
        while True:
            sum(range(1000))

    before = threading.active_count()
    with pytest.raises(TimeLimit, match="the limit is 0.2 s"):
        run_stoppable(forever, 0.2)
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == before


def test_work_stopped_by_its_waiter_ends_too():
    class Click(Exception):
        pass

    def wait(elapsed: float) -> None:
        raise Click

    with pytest.raises(Click):
        run_stoppable(lambda: time.sleep(0.01) or [sum(range(1000)) for _ in range(10**7)], 10, wait, 0.05)


def test_work_that_finishes_gives_its_value():
    assert run_stoppable(lambda: parse_formula("y ~ x + (1 | g)", COLUMNS).variables, 10) == ["y", "x", "g"]
