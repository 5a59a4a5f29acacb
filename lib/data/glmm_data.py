"""Data for the generalized mixed models: a 0/1 and a months-of-18 outcome from ImmuneData,
and the seeded simulated counts (data/SimulatedCounts.csv).

As extras.R makes them (shared/reference/extras.R):

    d$Low <- as.integer(d$IgG < 100)
    agg <- aggregate(Low ~ FamID + IndID + Sex, data = d, FUN = sum)
    names(agg)[4] <- "MonthsLow"; agg$Months <- 18L
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from lib.data import DATA_DIR
from lib.data.immune import load_prepared

COUNTS_FILE = DATA_DIR / "SimulatedCounts.csv"
LOW_CUTOFF = 100.0
MONTHS = 18


def with_low(df: pd.DataFrame, cutoff: float = LOW_CUTOFF) -> pd.DataFrame:
    """The data with Low = as.integer(IgG < cutoff) added."""
    return df.assign(Low=(df["IgG"] < cutoff).astype("int64"))


def months_low(df: pd.DataFrame, cutoff: float = LOW_CUTOFF) -> pd.DataFrame:
    """Per individual: FamID, IndID, Sex, MonthsLow (months with IgG < cutoff) and Months.

    Rows in the order R's aggregate(Low ~ FamID + IndID + Sex, FUN = sum) gives them:
    by Sex, then IndID, then FamID (the last grouping variable varies slowest), only
    the combinations that occur. Months counts each person's observed months (18 here,
    extras.R's constant).
    """
    low = with_low(df, cutoff)
    keys = ["FamID", "IndID", "Sex"]
    frame = low[keys + ["Low"]].copy()
    for k in keys:
        if not isinstance(frame[k].dtype, pd.CategoricalDtype):
            values = np.sort(frame[k].dropna().unique())
            frame[k] = pd.Categorical(frame[k], categories=values)
    agg = (frame.groupby(keys, observed=True, sort=False)["Low"]
           .agg(["sum", "size"]).reset_index())
    order = np.lexsort([agg[k].cat.codes.to_numpy() for k in keys])  # last key sorts first
    agg = agg.iloc[order].reset_index(drop=True)
    return pd.DataFrame({"FamID": agg["FamID"], "IndID": agg["IndID"], "Sex": agg["Sex"],
                         "MonthsLow": agg["sum"].astype("int64"),
                         "Months": agg["size"].astype("int64")})


@lru_cache(maxsize=1)
def _binary() -> pd.DataFrame:
    return with_low(load_prepared())


@lru_cache(maxsize=1)
def _months() -> pd.DataFrame:
    return months_low(load_prepared())


@lru_cache(maxsize=1)
def _counts() -> pd.DataFrame:
    df = pd.read_csv(COUNTS_FILE, dtype={"Site": "str"})
    df["Site"] = pd.Categorical(df["Site"], categories=sorted(df["Site"].unique()))
    return df


def load_binary() -> pd.DataFrame:
    """ImmuneData (factors as the tutorial makes them) with Low = IgG < 100."""
    return _binary().copy()


def load_months_low() -> pd.DataFrame:
    """The months-below-100 table, one row per individual (270 rows)."""
    return _months().copy()


def load_counts() -> pd.DataFrame:
    """The simulated counts: Site (factor, 12 levels), Dose (0 to 2), Count."""
    return _counts().copy()
