"""The workbench page under AppTest: an upload, two models built with the widgets and compared (the
page's tables equal lib's lrtest and anova of the same fits), then each bad input of issue 16: a clear
message, no exception, and the models fitted before still in the list."""
from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lib import anova, lmer, lrtest
from lib.data import DATA_DIR
from lib.data.upload import read_csv_bytes, with_types
from lib.teach import workbench as wb
from lib.teach.contents import REPO

PAGE = str(REPO / "pages" / "workbench" / "workbench.py")
TIMEOUT = 120
UPLOAD = "Upload a CSV file"


def start() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, raw: bytes, name: str = "mine.csv") -> AppTest:
    at.selectbox(key="wb_source").set_value(UPLOAD).run()
    at.file_uploader(key="wb_file").set_value((name, raw, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def build(at: AppTest, response: str, mains: list[str], groups: list[str], slopes: list[str] = (),
          family: str = "gaussian", method: str = "REML") -> AppTest:
    at.selectbox(key="wb_response").set_value(response).run()
    at.radio(key="wb_family").set_value(family).run()
    if family == "gaussian":
        at.radio(key="wb_method").set_value(method).run()
    at.multiselect(key="wb_mains").set_value(mains).run()
    at.multiselect(key="wb_g0").set_value(groups).run()
    at.multiselect(key="wb_sl0").set_value(list(slopes)).run()
    return at


def fit(at: AppTest, name: str) -> AppTest:
    at.text_input(key="wb_name").set_value(name).run()
    at.button(key="wb_fit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def model_names(at: AppTest) -> list[str]:
    return list(at.session_state["wb_models"][i].name for i in range(len(at.session_state["wb_models"])))


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


def typed(at: AppTest, text: str) -> AppTest:
    at.text_input(key="wb_typed").set_value(text).run()
    at.button(key="wb_use_typed").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# -- the happy path -------------------------------------------------------------------------------

IMMUNE = (DATA_DIR / "ImmuneData.csv").read_bytes().replace(b'"IgG"', b'"Ig G"', 1)


def test_upload_two_models_and_compare_them_as_lib_does():
    at = upload(start(), IMMUNE, "immune.csv")
    assert "upload:immune.csv" in at.session_state["wb_uploads"]
    at.multiselect(key="wb_factors_upload:immune.csv").set_value(["FamID", "IndID"]).run()
    build(at, "`Ig G`", ["Sex", "Time"], ["FamID"])
    fit(at, "small")
    build(at, "`Ig G`", ["Sex", "Time"], ["FamID"], ["Time"])
    fit(at, "big")
    assert model_names(at) == ["small", "big"]
    assert [c.value for c in at.code if c.value.startswith("`Ig G`")] == ["`Ig G` ~ Sex + Time + (1 + Time | FamID)"]

    data = with_types(read_csv_bytes(IMMUNE, "immune.csv").frame, ["FamID", "IndID"])
    small = lmer("`Ig G` ~ Sex + Time + (1 | FamID)", data)
    big = lmer("`Ig G` ~ Sex + Time + (1 + Time | FamID)", data)
    table = wb.models_table(at.session_state["wb_models"])
    # logLik and AIC of the page's fits are those of lib's fits of the same formulas on the same file
    assert np.allclose(table["logLik"], [small.loglik, big.loglik], rtol=0, atol=1e-9)
    assert list(table["npar"]) == [small.df, big.df]

    at.radio(key="wb_cmp_kind").set_value("anova").run()
    assert at.table[0].value.equals(anova(small, big, names=["small", "big"], data_name="d").formatted_table())
    at.radio(key="wb_cmp_kind").set_value("lrtest").run()
    assert at.table[0].value.equals(lrtest(small, big).formatted_table())
    assert any(c.value.startswith("> lrtest(small, big)\nLikelihood ratio test") for c in at.code)
    r_script = next(c.value for c in at.code if c.value.startswith("# Every model"))
    assert 'read.csv("immune.csv", check.names = FALSE)' in r_script
    assert "small <- lmer(`Ig G` ~ Sex + Time + (1 | FamID), data = data1)" in r_script


def test_a_typed_formula_sets_the_widgets():
    at = typed(start(), "IgG ~ Sex*Time + (1 + Time || FamID) + (1 | Sex:IndID)")
    assert at.multiselect(key="wb_mains").value == ["Sex", "Time"]
    assert at.multiselect(key="wb_inter").value == ["Sex:Time"]
    assert at.number_input(key="wb_nrand").value == 2
    assert at.multiselect(key="wb_g0").value == ["FamID"] and at.multiselect(key="wb_sl0").value == ["Time"]
    assert at.radio(key="wb_bar0").value == "||"
    assert at.multiselect(key="wb_g1").value == ["Sex", "IndID"]
    assert "IgG ~ Sex * Time + (1 + Time || FamID) + (1 | Sex:IndID)" in [c.value for c in at.code]


def test_a_poisson_model_on_other_data_and_an_id_left_numeric():
    at = typed(start(), "IgG ~ Sex + (1 | FamID)")
    at.multiselect(key="wb_factors_ImmuneData").set_value(["IndID"]).run()
    assert any("**FamID** holds whole numbers" in w.value and "coding error" in w.value for w in at.warning)
    at.selectbox(key="wb_source").set_value("SimulatedCounts").run()
    at.radio(key="wb_family").set_value("poisson").run()
    fit(typed(at, "Count ~ Dose + (1 | Site)"), "counts")
    at.selectbox(key="wb_source").set_value("ImmuneData").run()  # the detail view keeps counts' own columns
    assert not at.exception, [e.value for e in at.exception]
    assert any(c.value.startswith("> summary(counts)\nGeneralized linear mixed model") for c in at.code)
    assert at.table[0].value["Groups"].tolist() == ["Site"]


# -- bad input: a message, nothing lost -------------------------------------------------------------

@pytest.fixture()
def with_a_model() -> AppTest:
    """The page with one model fitted on the bundled data (which every bad input must leave in place)."""
    at = build(start(), "IgG", ["Sex"], ["FamID"])
    return fit(at, "kept")


def still_there(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert model_names(at) == ["kept"]


def upload_limit_bytes() -> int:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    return int(config["server"]["maxUploadSize"]) * 2**20


@pytest.mark.parametrize("raw, words", [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "is a PNG image, not a CSV file"),
    (b"just one column\n1\n2\n", "has only one column"),
    (b"y,x\n", "has a header line but no rows"),
    (b"y,x\n" + b"1,2\n" * (upload_limit_bytes() // 4 + 1), "over the upload limit of"),
])
def test_bad_files_are_refused_in_words(with_a_model, raw, words):
    at = upload(with_a_model, raw, "bad.csv")
    assert words in errors(at)
    still_there(at)


def test_a_latin1_file_is_read_and_said(with_a_model):
    at = upload(with_a_model, "Ort,y,g\nZürich,1,a\nGenève,2,b\n".encode("latin-1"), "latin.csv")
    assert any("read as Latin-1" in w.value for w in at.warning)
    still_there(at)


SMALL = pd.DataFrame({
    "y": [3.1, 4.2, 5.0, 2.2, 6.3, 4.4, 5.5, 3.3, 4.8, 5.1, 2.9, 4.0],
    "x": [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],
    "x2": [1.5, 0.2, 2.2, 3.1, 0.4, 1.9, 2.6, 0.7, 1.1, 0.3, 2.4, 1.6],
    "w": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4],  # constant within g
    "g": list("aaabbbcccddd"),
    "one": ["A"] * 12,
    "id": [f"r{k}" for k in range(12)],
    "sex": list("FMFMFMFMFMFM"),
    "count": [0, 2, 1, 3, 5, 2, 0, 1, 4, 2, 1, 3],
})


@pytest.fixture()
def small(with_a_model) -> AppTest:
    return upload(with_a_model, SMALL.to_csv(index=False).encode(), "small.csv")


@pytest.mark.parametrize("response, mains, groups, slopes, family, words", [
    ("sex", ["x"], ["g"], [], "gaussian", "is not numeric"),
    ("y", ["x"], ["g"], [], "binomial", "values outside 0..1"),
    ("y", ["x"], ["g"], [], "poisson", "must be whole numbers"),
    ("y", ["x"], ["one"], [], "gaussian", "grouping factors must have > 1 sampled level"),
    ("y", ["x"], ["id"], [], "gaussian",
     "number of levels of each grouping factor must be < number of observations"),
    ("y", ["x"], ["g"], ["w"], "gaussian", "does not vary within the groups of g"),
    ("y", [], ["g"], ["x", "x2"], "gaussian",
     "number of observations (=12) <= number of random effects (=12)"),
])
def test_models_that_cannot_be_fitted_are_refused_in_words(small, response, mains, groups, slopes, family, words):
    at = build(small, response, mains, groups, slopes, family)
    fit(at, "bad")
    assert words in errors(at)
    still_there(at)


def test_missing_values_drop_rows_and_say_how_many(with_a_model):
    frame = SMALL.assign(y=SMALL["y"].mask(SMALL.index.isin([1, 5]))).to_csv(index=False).encode()
    at = build(upload(with_a_model, frame, "holes.csv"), "y", ["x"], ["g"])
    fit(at, "holes")
    assert model_names(at) == ["kept", "holes"]
    at.selectbox(key="wb_detail").set_value("holes").run()
    assert any("2 rows with a missing value" in i.value and "uses 10" in i.value for i in at.info)


@pytest.mark.parametrize("text, words", [
    ("IgG ~ Sex + Weight + (1 | FamID)", "unknown column 'Weight'"),
    ('__import__("os").system("touch {marker}")', "a formula needs a '~'"),
    ('IgG ~ __import__("os").system("touch {marker}") + (1 | FamID)', "unexpected '__import__"),
    ("IgG ~ Sex.__class__ + (1 | FamID)", "unknown column 'Sex.__class__'"),
    ("IgG ~ (lambda: 0)() + (1 | FamID)", "unknown column 'lambda'"),
    ('IgG ~ f"{{open(\'{marker}\', \'w\')}}" + (1 | FamID)', "unexpected"),
    ("IgG ~ exp(Time) + (1 | FamID)", "unknown column 'exp'"),
])
def test_typed_formulas_with_code_or_unknown_columns_are_refused(with_a_model, tmp_path, text, words):
    marker = tmp_path / "ran"
    at = typed(with_a_model, text.format(marker=marker))
    assert words in errors(at) and not marker.exists()
    still_there(at)


def test_a_fit_over_the_time_limit_is_stopped(with_a_model, monkeypatch):
    monkeypatch.setattr(wb, "TIME_LIMIT_S", 0.001)
    at = build(with_a_model, "IgG", ["Sex", "Time"], ["FamID"], ["Time"])
    fit(at, "slow")
    assert "slow was not fitted:** stopped after" in errors(at)
    still_there(at)


def test_the_row_limit_is_stated_and_kept(with_a_model, monkeypatch):
    monkeypatch.setattr(wb, "MAX_ROWS", 100)
    at = fit(with_a_model, "many")
    assert "the workbench fits at most 100" in errors(at)
    assert any("at most 100 rows" in c.value for c in at.caption)
    still_there(at)


def test_an_upload_stays_in_its_session():
    first = upload(start(), SMALL.to_csv(index=False).encode(), "private.csv")
    assert "upload:private.csv" in first.session_state["wb_uploads"]
    second = start()
    assert not any("private" in str(o) for o in second.selectbox(key="wb_source").options)
