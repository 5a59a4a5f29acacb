"""lib.data.immune: the file, R's types and levels, str(), reshaping, counts."""
from __future__ import annotations

import hashlib

import pandas as pd
from conftest import shared_dir

from lib.data.immune import (
    DATA_FILE,
    individual_labels,
    individuals_per_family,
    load_prepared,
    load_raw,
    to_long,
    to_wide,
)
from lib.rprint.rstr import str_summary

MD5 = "ad1e5a5cc42bf7d63d26d408c7c2bee0"


def test_data_file_is_the_shared_one():
    digest = hashlib.md5(DATA_FILE.read_bytes()).hexdigest()
    assert digest == MD5
    assert DATA_FILE.read_bytes() == (shared_dir() / "data" / "ImmuneData.csv").read_bytes()


def test_raw_types_are_read_csv_types():
    raw = load_raw()
    assert raw.shape == (4860, 5)
    assert list(raw.columns) == ["FamID", "IndID", "Time", "Sex", "IgG"]
    for col in ("FamID", "IndID", "Time"):
        assert pd.api.types.is_integer_dtype(raw[col])
    assert pd.api.types.is_string_dtype(raw["Sex"]) and pd.api.types.is_float_dtype(raw["IgG"])
    assert sorted(raw["Time"].unique()) == list(range(18))


def test_prepared_levels_follow_r_factor():
    prep = load_prepared()
    assert list(prep["FamID"].cat.categories) == [str(k) for k in range(1, 9)]
    assert list(prep["IndID"].cat.categories) == [str(k) for k in range(1, 136)]
    assert list(prep["Sex"].cat.categories) == ["F", "M"]
    raw = load_raw()
    assert (prep["FamID"].astype(int) == raw["FamID"]).all()
    assert (prep["IgG"] == raw["IgG"]).all()


def test_each_indid_code_holds_one_woman_and_one_man():
    raw = load_raw()
    at0 = raw[raw["Time"] == 0]
    assert at0["IndID"].nunique() == 135 and len(at0) == 270
    per_code = at0.groupby("IndID")["Sex"].apply(lambda s: "".join(sorted(s)))
    assert (per_code == "FM").all()


def test_loaders_return_copies():
    a = load_raw()
    a.loc[0, "IgG"] = -1.0
    assert load_raw().loc[0, "IgG"] != -1.0
    b = load_prepared()
    b["FamID"] = b["FamID"].cat.rename_categories(list("abcdefgh"))
    assert list(load_prepared()["FamID"].cat.categories)[0] == "1"


def test_str_summary_of_raw_data_reads_like_r():
    lines = str_summary(load_raw()).splitlines()
    assert lines[0] == "'data.frame':\t4860 obs. of  5 variables:"
    assert lines[1] == " $ FamID: int  1 1 1 1 1 1 1 1 1 1 ..."
    assert lines[2] == " $ IndID: int  16 16 16 16 16 16 16 16 16 16 ..."
    assert lines[3] == " $ Time : int  0 1 2 3 4 5 6 7 8 9 ..."
    assert lines[4] == ' $ Sex  : chr  "M" "M" "M" "M" ...'
    igg = load_raw()["IgG"].iloc[:5]
    assert lines[5] == " $ IgG  : num  " + " ".join(f"{v:.0f}" for v in igg) + " ..."


def test_str_summary_of_prepared_data_shows_factors():
    lines = str_summary(load_prepared()).splitlines()
    assert lines[1] == ' $ FamID: Factor w/ 8 levels "1","2","3","4",..: 1 1 1 1 1 1 1 1 1 1 ...'
    assert lines[2] == ' $ IndID: Factor w/ 135 levels "1","2","3","4",..: 16 16 16 16 16 16 16 16 16 16 ...'
    assert lines[4] == ' $ Sex  : Factor w/ 2 levels "F","M": 2 2 2 2 2 2 2 2 2 2 ...'


def test_str_summary_short_numbers_show_ten_values():
    df = pd.DataFrame({"x": [float(v) / 2 for v in range(12)]})
    assert str_summary(df).splitlines()[1] == " $ x: num  0 0.5 1 1.5 2 2.5 3 3.5 4 4.5 ..."


def test_wide_and_long_round_trip():
    prep = load_prepared()
    wide = to_wide(prep)
    assert wide.shape == (270, 3 + 18)
    assert list(wide.columns[3:]) == [f"IgG.{t}" for t in range(18)]
    back = to_long(wide)[list(prep.columns)]
    expected = prep.sort_values(["FamID", "IndID", "Time"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected, check_categorical=False)


def test_individuals_per_family_at_time_0():
    table = individuals_per_family(load_raw())
    assert list(table["FamID"]) == [str(k) for k in range(1, 9)]
    raw = load_raw()
    expected = raw[raw["Time"] == 0].groupby("FamID").size()
    assert list(table["n"]) == list(expected) and table["n"].sum() == 270
    assert (table["F"] + table["M"] == table["n"]).all()
    pd.testing.assert_frame_equal(table, individuals_per_family(load_prepared()))


def test_individual_labels_tell_siblings_apart():
    labels = individual_labels(load_raw())
    assert labels.nunique() == 270 and labels.iloc[0] == "16-M"
