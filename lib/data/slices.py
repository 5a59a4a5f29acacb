"""Named data slices: the data a model is fitted to, as a value (its name) and a pure function.

A slice is named by a string: "time0" (ImmuneData at Time 0, the tutorial's InitIgG), "all"
(all 18 times, ImmuneDat), "all_r_read" (all times, row 781 as R's read.csv reads it), or an
ID-coding example, "idcoding:3x4:6:4:3:1:1" (lib.data.idcoding.Example.slice_name). The name
says everything about the data, so it is also the cache key: `slice_frame(name)` always gives the
same frame for the same name, and nothing is registered at run time.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import pandas as pd

from lib.data.idcoding import Example, example_data
from lib.data.immune import load_prepared

# The row R's read.csv reads one unit in the last place off (see shared/reference/README.md):
# row 781 of ImmuneData.csv, 0-based index 780 (FamID 2, IndID 45, Time 3, M).
R_READ_ROW = 780
R_READ_TEXT = "136.508461815215"


@dataclass(frozen=True)
class SliceInfo:
    """What a slice is called: on screen, and in the tutorial's R code."""

    name: str
    label: str
    r_name: str


SLICES = MappingProxyType({
    "time0": SliceInfo("time0", "Time 0 only (InitIgG, 270 rows)", "InitIgG"),
    "all": SliceInfo("all", "All 18 times (ImmuneDat, 4,860 rows)", "ImmuneDat"),
    "all_r_read": SliceInfo("all_r_read", "All times, row 781 as R's read.csv reads it", "ImmuneDat"),
})
MAIN_SLICES = ("time0", "all")


def slice_info(name: str) -> SliceInfo:
    if name in SLICES:
        return SLICES[name]
    Example.from_slice_name(name)  # a ValueError for a name that is neither
    return SliceInfo(name, "small ID-coding example", "toy")


def flip_r_reading(df: pd.DataFrame, row: int = R_READ_ROW) -> pd.DataFrame:
    """ImmuneData with row 781's IgG as R's read.csv parses it: one ulp above pandas' value."""
    out = df.copy()
    col = out.columns.get_loc("IgG")
    out.iloc[row, col] = np.nextafter(out.iloc[row, col], np.inf)
    return out


@lru_cache(maxsize=16)
def slice_frame(name: str) -> pd.DataFrame:
    """The data of a slice. The same frame for the same name: with pandas' copy-on-write a
    caller's change to it never reaches another caller."""
    if name == "time0":
        df = load_prepared()
        return df[df["Time"] == 0].reset_index(drop=True)
    if name == "all":
        return load_prepared()
    if name == "all_r_read":
        return flip_r_reading(load_prepared())
    if name.startswith("idcoding:"):
        return example_data(Example.from_slice_name(name))
    raise KeyError(f"unknown data slice {name!r}; known: {', '.join(SLICES)} and idcoding:...")


def load_slice(name: str) -> pd.DataFrame:
    """A copy of the slice's data, the caller's own."""
    return slice_frame(name).copy()
