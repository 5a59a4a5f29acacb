"""Every page runs under AppTest, and its widgets change what it shows."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.teach.contents import REPO, SECTIONS, available_sections
from lib.teach.downloads import files_read
from ui.charts.contract import drawn_charts, problems
from tests.ui.on_demand import open_on_demand
from lib.teach.param_count import tutorial_items
from lib.teach.quiz import QUESTIONS

TIMEOUT = 60
FACTOR, INTEGER = "a factor (after as.factor)", "an integer (as read.csv reads it)"


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(REPO / page), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# charts each page draws before any widget is touched
CHARTS_ON = {"home": 0, "data": 2, "fixed_effects": 0, "random_effects": 1, "pooling": 2, "fixed_or_random": 4,
             "variance_components": 1, "multiple_factors": 0, "random_regression": 2, "ml_vs_reml": 1,
             "convergence": 2, "qaqc": 4, "glmm": 2, "glmm_residuals": 4, "workbench": 0,
             "inference": 2, "bootstrap": 0}


@pytest.mark.parametrize("page", [s.page for s in available_sections()])
def test_every_page_runs_and_its_charts_keep_the_contract(page):
    """No exception, no error box, and every chart drawn keeps the chart contract (ui/charts/contract.py)."""
    at = run(page)
    assert at.title, f"{page} shows no title"
    assert not at.error
    charts = drawn_charts(at)
    assert len(charts) == CHARTS_ON[Path(page).stem]
    for i, (spec, data) in enumerate(charts):
        assert problems(spec, data) == [], (page, i, spec.get("title"))
    open_on_demand(at)
    assert not at.exception and not at.error
    assert_r_code_files_offered(at)


def assert_r_code_files_offered(at: AppTest) -> None:
    """Every file an R snippet on the page reads can be downloaded from the page (issue 15: the R code
    read ImmuneData_exact.csv, which the student did not have)."""
    offered = {b.proto.label for b in at.get("download_button")}
    for code in (c.value for c in at.code if c.language == "r"):
        assert set(files_read(code)) <= offered, (files_read(code), offered)


@pytest.mark.parametrize("page, widget, value", [
    ("convergence", ("radio", "cv_data"), "all_r_read"),
    ("glmm", ("radio", "glmm_model"), "counts"),
    ("variance_components", ("selectbox", "vc_g0"), "UniqueID"),
])
def test_r_code_files_are_offered_after_a_widget_change(page, widget, value):
    at = run(f"pages/tutorial/{page}.py")
    kind, key = widget
    getattr(at, kind)(key=key).set_value(value).run()
    open_on_demand(at)
    assert not at.exception
    assert any(c.language == "r" for c in at.code)
    assert_r_code_files_offered(at)


def test_app_registers_existing_pages_and_switches_to_each():
    at = run("app.py")
    assert at.title[0].value == "Linear mixed models, step by step"  # home is the default
    for section in available_sections()[1:]:
        at.switch_page(section.page).run()
        assert not at.exception and at.title[0].value == section.title


def test_contents_keep_room_for_future_sections():
    titles = [s.title for s in SECTIONS]
    assert titles.index("Fixed effects") < titles.index("Random effects & the LMM") \
        < titles.index("Generalized mixed models")
    assert {s.title for s in available_sections()} >= {"Home", "Data and repeated measures",
                                                       "Fixed effects"}


def test_home_quiz_gives_feedback():
    at = run("pages/tutorial/home.py")
    assert not at.success and not at.warning
    family = next(q for q in QUESTIONS if q.key == "family")
    at.radio(key="quiz_family").set_value("Fixed").run()
    assert at.warning[0].value.startswith("Not quite: random.") and family.why in at.warning[0].value
    at.radio(key="quiz_family").set_value("Random").run()
    assert at.success[0].value.startswith("Right.") and not at.warning


def test_data_page_pivots_between_long_and_wide():
    at = run("pages/tutorial/data.py")
    assert at.dataframe[0].value.shape == (4860, 5)
    at.radio(key="layout").set_value("Wide (one row per person)").run()
    assert at.dataframe[0].value.shape == (270, 21)


def test_data_page_shows_both_str_views_and_family_counts():
    at = run("pages/tutorial/data.py")
    codes = [c.value for c in at.code]
    assert any(" $ FamID: int  1 1 1" in c for c in codes)
    assert any(' $ FamID: Factor w/ 8 levels "1","2","3","4",..:' in c for c in codes)
    families = at.dataframe[1].value
    assert len(families) == 8 and families["n"].sum() == 270


def test_data_page_highlights_the_chosen_people():
    at = run("pages/tutorial/data.py")
    at.multiselect(key="individuals").set_value(["16-M", "16-F"]).run()
    assert not at.exception and at.multiselect(key="individuals").value == ["16-M", "16-F"]


def coefs(at: AppTest):
    return at.dataframe[0].value


def sexm(ref: dict) -> float:
    return next(r["Estimate"] for r in ref["coef"] if r["_row"] == "SexM")


def test_fixed_effects_page_follows_the_tutorial(lm_refs):
    at = run("pages/tutorial/fixed_effects.py")
    assert list(coefs(at).index) == lm_refs["LMod"]["coef_names"]
    assert math.isclose(coefs(at).loc["SexM", "Estimate"], sexm(lm_refs["LMod"]), rel_tol=1e-6)
    assert "SexM          2.0334" in at.code[0].value and not at.warning

    at.checkbox(key="term_FamID").check().run()  # FamID as read: the coding error
    assert list(coefs(at).index) == ["(Intercept)", "SexM", "FamID"]
    assert math.isclose(coefs(at).loc["SexM", "Estimate"], sexm(lm_refs["LMod2_numericFamID"]),
                        rel_tol=1e-6)
    assert "Coding error!" in at.warning[0].value and "has 9." in at.warning[0].value

    at.radio(key="famid_coding").set_value(FACTOR).run()
    assert len(coefs(at)) == 9 and not at.warning
    assert math.isclose(coefs(at).loc["SexM", "Estimate"], sexm(lm_refs["LMod2"]), rel_tol=1e-6)

    at.checkbox(key="term_Sex:FamID").check().run()
    assert list(coefs(at).index) == lm_refs["LMod3"]["coef_names"]
    assert "lm(formula = IgG ~ Sex * FamID, data = subset(ImmuneData, Time == 0))" in at.code[0].value


def test_fixed_effects_page_time_point_changes_the_fit(lm_refs):
    at = run("pages/tutorial/fixed_effects.py")
    at.slider(key="time").set_value(5).run()
    assert "subset(ImmuneData, Time == 5)" in at.code[0].value
    assert not math.isclose(coefs(at).loc["SexM", "Estimate"], sexm(lm_refs["LMod"]), rel_tol=1e-3)
    assert 'data[data["Time"] == 5]' in at.code[-1].value


@pytest.mark.parametrize("formula, message", [
    ("IgG ~ Sex + (1 | FamID)", "random-effects terms"),
    ("IgG ~ Sex + os.system('ls')", "position"),
    ("IgG ~ Weight", "unknown column 'Weight'"),
    ("IgG ~", "ends too early"),
    ("", "Type a formula first"),  # issue 15: an empty formula said "Cannot fit ``"
])
def test_fixed_effects_page_reports_bad_formulas(formula, message):
    at = run("pages/tutorial/fixed_effects.py")
    at.toggle(key="own_formula").set_value(True).run()
    at.text_input(key="formula_text").input(formula).run()
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value


def test_fixed_effects_page_counts_parameters_over_time():
    at = run("pages/tutorial/fixed_effects.py")
    items = at.dataframe[-1].value
    assert items["parameters"].sum() == tutorial_items(8, 2)["parameters"].sum() == 31
    at.slider(key="degree").set_value(1).run()
    assert at.dataframe[-1].value["parameters"].sum() == 1 + 1 + 7 * 3
    assert any("**32 columns**" in m.value for m in at.markdown)
