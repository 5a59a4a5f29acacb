"""The CSV loader: read.csv's reading of good files, each bad file refused in words, and fuzzing with
hypothesis (random bytes and random CSV shapes: an UploadError with a message, or a table)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.data import DATA_DIR
from lib.data.immune import load_raw
from lib.data.upload import UploadError, column_types, id_like, read_csv_bytes, with_types


def test_the_tutorials_file_reads_as_read_csv_reads_it():
    t = read_csv_bytes((DATA_DIR / "ImmuneData.csv").read_bytes(), "ImmuneData.csv")
    pd.testing.assert_frame_equal(t.frame, load_raw())  # R: str(read.csv("ImmuneData.csv"))
    kinds = {c.name: c.kind for c in column_types(t.frame)}
    assert kinds == {"FamID": "whole number", "IndID": "whole number", "Time": "whole number",
                     "Sex": "text", "IgG": "number"}
    assert (t.encoding, t.sep, t.notes) == ("UTF-8", ",", ())


def test_integer_codes_are_flagged_and_factors_follow_rs_factor():
    frame = load_raw()
    types = {c.name: c for c in column_types(frame)}
    assert id_like(types["FamID"]) and id_like(types["IndID"])
    assert not id_like(types["IgG"]) and not id_like(types["Time"])
    typed = with_types(frame, ["FamID"])
    # R: levels(factor(ImmuneDat$FamID)) is "1".."8"; Sex (text) is a factor whatever is asked
    assert list(typed["FamID"].cat.categories) == [str(k) for k in range(1, 9)]
    assert list(typed["Sex"].cat.categories) == ["F", "M"]
    assert typed["IndID"].dtype.kind == "i"


@pytest.mark.parametrize("raw, words", [
    (b"", "is empty"),
    (b"   \n\n", "is empty"),
    (b"PK\x03\x04 rest of a workbook", "zip archive"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"a,b\n1,\x002\n", "not a text file"),
    (b"only\n1\n2\n", "only one column"),
    (b"a b c\n1 2 3\n", "only one column"),
    (b"a,b\n", "no rows of data"),
    (b"a,a\n1,2\n", "appears more than once"),
    (b"a,`b`\n1,2\n", "backtick"),
    (b'a,b\n1,"2\n', "cannot be read as CSV"),
])
def test_bad_files_are_refused_in_words(raw, words):
    with pytest.raises(UploadError, match=words):
        read_csv_bytes(raw, "data.csv")


def test_the_upload_limit_is_stated():
    with pytest.raises(UploadError, match=r"over the upload limit of 0.0001 MB .*maxUploadSize"):
        read_csv_bytes(b"a,b\n" + b"1,2\n" * 100, "big.csv", max_bytes=0.0001 * 2**20)


def test_latin1_is_tried_and_said():
    t = read_csv_bytes("Ort,y\nZürich,1\nGenève,2\n".encode("latin-1"), "cities.csv")
    assert list(t.frame["Ort"]) == ["Zürich", "Genève"] and t.encoding == "latin1"
    assert "not UTF-8" in t.notes[0] and "Latin-1" in t.notes[0]


def test_semicolons_and_decimal_commas_are_read_csv2s():
    t = read_csv_bytes(b"y;x\n1,5;2\n3,25;4\n", "eu.csv")
    assert t.sep == ";" and list(t.frame["y"]) == [1.5, 3.25]  # R: read.csv2(...)$y


def test_missing_values_are_na_as_in_read_csv():
    t = read_csv_bytes(b"y,x\n1,NA\n2,\n3,5\n", "na.csv")
    assert t.frame["x"].isna().tolist() == [True, True, False]


def test_an_unnamed_first_column_is_left_out_and_said():
    t = read_csv_bytes(b',y,x\n1,2,3\n2,4,5\n', "rownames.csv")
    assert list(t.frame.columns) == ["y", "x"] and t.dropped == (1,) and "no name" in t.notes[0]


# -- fuzzing --------------------------------------------------------------------------------

def _read(raw: bytes):
    try:
        return read_csv_bytes(raw, "fuzz.csv", max_bytes=10_000)
    except UploadError as e:
        assert str(e)
        return None


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_give_a_table_or_an_upload_error(raw):
    t = _read(raw)
    if t is not None:
        assert t.frame.shape[0] >= 1 and t.frame.shape[1] >= 2
        assert all(isinstance(c, str) for c in t.frame.columns)


cells = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=False, allow_infinity=False).map(repr),
                  st.sampled_from(["", "NA", "F", "M", "a b", '"q,uoted"', "é", "TRUE", "1e5", "-"]),
                  st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6))


@st.composite
def csv_texts(draw) -> bytes:
    ncol = draw(st.integers(0, 5))
    nrow = draw(st.integers(0, 6))
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    names = draw(st.lists(st.text(min_size=0, max_size=6), min_size=ncol, max_size=ncol))
    rows = [sep.join(names)] + [sep.join(draw(st.lists(cells, min_size=0, max_size=ncol + 1)))
                                for _ in range(nrow)]
    encoding = draw(st.sampled_from(["utf-8", "latin-1", "utf-8-sig"]))
    return "\n".join(rows).encode(encoding, errors="replace")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_texts())
def test_random_csv_shapes_give_a_table_or_an_upload_error(raw):
    _read(raw)


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 6), st.integers(1, 20), st.data())
def test_well_formed_tables_read_back_to_their_shape(ncol, nrow, data):
    frame = pd.DataFrame({f"c {j}" if j % 2 else f"c{j}": data.draw(
        st.lists(st.integers(-100, 100), min_size=nrow, max_size=nrow)) for j in range(ncol)})
    t = read_csv_bytes(frame.to_csv(index=False).encode(), "shape.csv")
    assert t.frame.shape == (nrow, ncol) and np.array_equal(t.frame.to_numpy(), frame.to_numpy())
