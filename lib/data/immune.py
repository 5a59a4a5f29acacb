"""The tutorial's ImmuneData: loading as R's read.csv does, factors, str(), reshaping."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from lib.data import DATA_DIR
from lib.rprint.rformat import format_numbers

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


def _str_values(col: pd.Series, vec_len: int = 4) -> str:
    """One column of R's str(): type, first values, '...' when cut."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return _str_factor(col, vec_len)
    if pd.api.types.is_bool_dtype(col):
        shown = col.iloc[: round(1.5 * vec_len)]
        return _join("logi", ["TRUE" if v else "FALSE" for v in shown], len(col))
    if pd.api.types.is_integer_dtype(col):
        shown = col.iloc[: round(2.5 * vec_len)]
        return _join("int", [str(v) for v in shown], len(col))
    if pd.api.types.is_float_dtype(col):
        return _str_num(col.to_numpy(float), vec_len)
    shown = col.iloc[:vec_len]
    return _join("chr", [f'"{v}"' for v in shown], len(col))


def _str_num(x: np.ndarray, vec_len: int) -> str:
    head = x[: round(2.5 * vec_len)]
    head = head[~np.isnan(head)]
    ao = np.abs(head)
    signif3 = np.array([float(f"{v:.2e}") for v in head])
    short = (np.all((ao > 1e-10) | (ao == 0)) and np.all((ao < 1e10) | (ao == 0))
             and np.all(np.abs(head - signif3) <= 9e-16 * ao))
    n = round(2.5 * vec_len) if short else round(1.25 * vec_len)
    return _join("num", format_numbers(x[:n], 3, trim=True, drop0trailing=True), len(x))


def _str_factor(col: pd.Series, vec_len: int) -> str:
    levels = [f'"{c}"' for c in col.cat.categories]
    widths = np.cumsum([len(lev) + 1 for lev in levels])
    shown = len(levels) if len(levels) <= 1 or widths[-1] <= 13 else int(np.argmax(widths > 13)) + 1
    head = ",".join(levels[:shown]) + (",.." if shown < len(levels) else "")
    codes = [str(c + 1) for c in col.cat.codes.iloc[: round(2.5 * vec_len)]]
    noun = "level" if len(levels) == 1 else "levels"
    return _join(f"Factor w/ {len(levels)} {noun} {head}:", codes, len(col), gap=" ")


def _join(kind: str, shown: list[str], n: int, gap: str = "  ") -> str:
    return f"{kind}{gap}{' '.join(shown)}{' ...' if n > len(shown) else ''}"


def str_summary(df: pd.DataFrame) -> str:
    """R's str(df) for a data frame, e.g. ' $ FamID: int  1 1 1 ...'."""
    p = df.shape[1]
    head = f"'data.frame':\t{len(df)} obs. of  {p} variable{'s' if p != 1 else ''}{':' if p else ''}"
    width = max((len(str(c)) for c in df.columns), default=0)
    lines = [f" $ {str(c).ljust(width)}: {_str_values(df[c])}" for c in df.columns]
    return "\n".join([head] + lines)


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
