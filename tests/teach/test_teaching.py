"""lib modules behind the pages: quiz, contents, parameter count, model helpers, charts."""
from __future__ import annotations

import pytest

from lib.api import lm
from lib.data.immune import individual_choices, load_prepared, load_raw
from lib.teach.contents import REPO, SECTIONS, available_sections, groups
from lib.teach.fixed_models import build_formula, data_at, python_code, r_code
from lib.teach.param_count import crossed_formula, design_count, tutorial_items
from lib.teach.quiz import QUESTIONS, check
from ui.charts.immune import igg_by_family, igg_over_time


def test_quiz_answers_and_feedback():
    answers = {q.key: q.answer for q in QUESTIONS}
    assert answers == {"family": "Random", "sex": "Fixed", "individual": "Random",
                       "time": "Fixed", "dose": "Fixed"}
    q = QUESTIONS[0]
    assert check(q, None) is None
    assert check(q, q.answer)[0] is True
    assert check(q, "Fixed" if q.answer == "Random" else "Random")[0] is False
    with pytest.raises(ValueError):
        check(q, "Maybe")


def test_sections_are_grouped_in_tutorial_order():
    sections = available_sections()
    assert sections[0].title == "Home"
    assert list(groups(list(SECTIONS))) == ["Start", "Linear models", "Mixed models", "Over time",
                                           "Checking and beyond", "Your own models"]
    # nothing directly in pages/: Streamlit's legacy mode would run it without app.py
    assert all(s.page.startswith(("pages/tutorial/", "pages/workbench/")) for s in SECTIONS)
    assert not list((REPO / "pages").glob("*.py"))


def test_tutorial_count_of_quadratic_family_model():
    items = tutorial_items(n_families=8, degree=2)
    assert list(items["parameters"]) == [1, 1, 1, 7, 7, 7, 7]
    assert tutorial_items(8, 0)["parameters"].sum() == 15
    with pytest.raises(ValueError):
        tutorial_items(8, 4)


def test_design_count_is_the_full_model_matrix():
    prep = load_prepared()
    counts = [design_count(prep, d) for d in range(3)]
    assert counts == [16, 32, 48]
    t0 = prep[prep["Time"] == 0]
    assert counts[0] == len(lm(crossed_formula(0), t0).coef_names)  # = LMod3's coefficients


def test_build_formula_from_terms():
    assert build_formula(["Sex"]) == "IgG ~ Sex"
    assert build_formula(["FamID", "Sex"]) == "IgG ~ Sex + FamID"
    assert build_formula(["Sex", "FamID", "Sex:FamID"]) == "IgG ~ Sex * FamID"
    assert build_formula([]) == "IgG ~ 1"
    with pytest.raises(ValueError):
        build_formula(["Weight"])


def test_data_at_one_month():
    assert len(data_at(3, True)) == 270 and set(data_at(3, True)["Time"]) == {3}
    assert data_at(0, False)["FamID"].dtype.kind == "i"
    assert str(data_at(0, True)["FamID"].dtype) == "category"
    with pytest.raises(ValueError):
        data_at(18, True)


def test_equivalent_code_names_the_same_model():
    r = r_code("IgG ~ Sex + FamID", 0, True)
    assert "lm(IgG ~ Sex + FamID, data = subset(ImmuneData, Time == 0))" in r
    assert "FamID = as.factor(FamID)" in r and "as.factor" not in r_code("IgG ~ Sex", 0, False)
    py = python_code("IgG ~ Sex", 4, False)
    assert "load_raw()" in py and 'data[data["Time"] == 4]' in py


def test_python_code_runs_and_matches_the_page_fit(lm_refs):
    scope: dict = {}
    exec(python_code("IgG ~ Sex + FamID", 0, True).replace("print(", "str("), scope)  # noqa: S102
    est = scope["fit"].coefficients.loc["SexM", "Estimate"]
    ref = next(r["Estimate"] for r in lm_refs["LMod2"]["coef"] if r["_row"] == "SexM")
    assert abs(est - ref) < 1e-8 * abs(ref)


def test_charts_carry_the_chosen_people_and_tooltips():
    raw = load_raw()
    chosen = individual_choices(raw)[:3]
    spec = igg_over_time(raw, chosen).to_dict()
    layers = spec["layer"]
    assert len(layers) == 3 and layers[1]["encoding"]["tooltip"]
    picked = {row["Individual"] for row in spec["datasets"][layers[1]["data"]["name"]]}
    assert picked == set(chosen)
    assert spec["layer"][0]["encoding"]["x"]["axis"]["title"].startswith("Month")
    fam = igg_by_family(raw).to_dict()
    assert len(fam["datasets"][fam["data"]["name"]]) == 270
