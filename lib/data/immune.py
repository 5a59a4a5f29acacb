"""The tutorial's ImmuneData: loading as R's read.csv does, factors, reshaping."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from lib.data import DATA_DIR

DATA_FILE = DATA_DIR / "ImmuneData.csv"
ID_COLUMNS = ["FamID", "IndID", "Sex"]
_RAW_TYPES = {"FamID": "int64", "IndID": "int64", "Time": "int64", "Sex": "str", "IgG": "float64"}


@lru_cache(maxsize=1)
def _raw() -> pd.DataFrame:
    return pd.read_csv(DATA_FILE, dtype=_RAW_TYPES)


@lru_cache(maxsize=1)
def _prepared() -> pd.DataFrame:
    df = _raw().copy()
    for col in ID_COLUMNS:
        df[col] = r_factor(df[col])
    return df


def load_raw() -> pd.DataFrame:
    """The data as read.csv reads it: FamID, IndID and Time integers, Sex text."""
    return _raw().copy()


def load_prepared() -> pd.DataFrame:
    """The data after the tutorial's as.factor() of IndID, FamID and Sex."""
    return _prepared().copy()


def r_factor(col: pd.Series) -> pd.Series:
    """R's factor(x): levels are the sorted distinct values, shown as text ("1".."8")."""
    values = np.sort(col.dropna().unique())
    levels = [str(v) for v in values]
    return pd.Series(pd.Categorical(col.map(str), categories=levels), index=col.index,
                     name=col.name)


def to_wide(long: pd.DataFrame, value: str = "IgG", time: str = "Time") -> pd.DataFrame:
    """One row per person, one column per time point (R's reshape(direction='wide'))."""
    wide = long.pivot_table(index=ID_COLUMNS, columns=time, values=value, observed=True,
                            aggfunc="first", sort=False)
    wide.columns = [f"{value}.{t}" for t in wide.columns]
    return wide.reset_index()


def to_long(wide: pd.DataFrame, value: str = "IgG", time: str = "Time") -> pd.DataFrame:
    """Back from to_wide(): one row per person and time point."""
    stub = f"{value}."
    cols = [c for c in wide.columns if str(c).startswith(stub)]
    long = wide.melt(id_vars=ID_COLUMNS, value_vars=cols, var_name=time, value_name=value)
    long[time] = long[time].str.slice(len(stub)).astype("int64")
    return long.sort_values(ID_COLUMNS[:2] + [time], kind="stable").reset_index(drop=True)


def individuals_per_family(df: pd.DataFrame, time: int = 0) -> pd.DataFrame:
    """The tutorial's count of individuals per FamID at one time point, split by sex too."""
    at = df[df["Time"] == time]
    counts = pd.crosstab(at["FamID"].astype(str), at["Sex"].astype(str))
    counts.insert(0, "n", counts.sum(axis=1))
    counts = counts.reindex(sorted(counts.index, key=int))
    counts.index.name = "FamID"
    counts.columns.name = None
    return counts.reset_index()


def individual_labels(df: pd.DataFrame) -> pd.Series:
    """A label per person: IndID and Sex ('16-M'), since each IndID code holds two siblings."""
    return df["IndID"].astype(str) + "-" + df["Sex"].astype(str)


def individual_choices(df: pd.DataFrame) -> list[str]:
    """Every person's label, by IndID code then sex."""
    people = df[["IndID", "Sex"]].drop_duplicates().astype({"IndID": int, "Sex": str})
    people = people.sort_values(["IndID", "Sex"])
    return list(people["IndID"].astype(str) + "-" + people["Sex"])
