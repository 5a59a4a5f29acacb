"""The workbench's data: the bundled data sets or a user's CSV, each with the R and Python lines that
read it again, and the columns the user marks as factors.

A `Dataset` holds the table as read.csv reads it (no factors yet) and how to read it in R and with
`lib`; `typed(dataset, factors)` applies the user's marks. An uploaded table lives in the user's
session only: nothing here writes a file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

from lib.data import DATA_DIR
from lib.data.glmm_data import LOW_CUTOFF, with_low
from lib.data.immune import load_raw
from lib.data.upload import CsvTable, read_csv_bytes, with_types
from lib.engine.formula import quote_name


@dataclass(frozen=True, eq=False)
class Dataset:
    """A table as read.csv reads it, with the code that reads it again under `var`."""

    key: str
    label: str
    frame: pd.DataFrame = field(repr=False)
    r_read: str  # R lines that make `d`
    py_read: str  # Python lines that make `d`
    factors: tuple[str, ...] = ()  # the columns that are factors unless the user says otherwise
    time: str | None = None  # the column of time, for the over-time views
    units: tuple[str, ...] = ()  # the columns that name one unit (person, site ...)
    notes: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]


_IMMUNE_R = 'd <- read.csv("ImmuneData.csv")'
_IMMUNE_PY = "from lib.data.immune import load_raw\nd = load_raw()"


def _upload_py(name: str) -> str:
    return ("from lib.data.upload import read_csv_bytes\n"
            f"with open({name!r}, 'rb') as f:\n    d = read_csv_bytes(f.read(), {name!r}).frame")


def _bundled() -> dict[str, Dataset]:
    immune = load_raw()
    counts = read_csv_bytes((DATA_DIR / "SimulatedCounts.csv").read_bytes(), "SimulatedCounts.csv").frame
    ids = ("FamID", "IndID", "Sex")
    return {
        "ImmuneData": Dataset("ImmuneData", "The tutorial's ImmuneData (4,860 rows)", immune, _IMMUNE_R,
                              _IMMUNE_PY, ids, "Time", ("IndID", "Sex")),
        "ImmuneLow": Dataset("ImmuneLow", f"ImmuneData with Low = IgG < {LOW_CUTOFF:g} (0/1, for binomial)",
                             with_low(immune), _IMMUNE_R + f"\nd$Low <- as.integer(d$IgG < {LOW_CUTOFF:g})",
                             _IMMUNE_PY + "\nfrom lib.data.glmm_data import with_low\nd = with_low(d)",
                             ids, "Time", ("IndID", "Sex")),
        "SimulatedCounts": Dataset("SimulatedCounts", "Simulated counts by dose (for Poisson)", counts,
                                   'd <- read.csv("SimulatedCounts.csv")',
                                   _upload_py("SimulatedCounts.csv"), ("Site",), "Dose", ("Site",)),
    }


BUNDLED = MappingProxyType(_bundled())
DEFAULT = "ImmuneData"


def _upload_r(table: CsvTable) -> str:
    """read.csv (or read.csv2 for semicolons) as the loader read the file, names kept as written."""
    fn = "read.csv2" if table.sep == ";" else "read.csv"
    args = [f'"{table.name}"', "check.names = FALSE"]
    if table.sep == "\t":
        args.append('sep = "\\t"')
    if table.encoding != "UTF-8":
        args.append(f'fileEncoding = "{table.encoding}"')
    lines = [f"d <- {fn}({', '.join(args)})"]
    if table.dropped:
        lines.append(f"d <- d[-c({', '.join(map(str, table.dropped))})]  # unnamed columns, left out")
    return "\n".join(lines)


def from_upload(table: CsvTable) -> Dataset:
    """A user's table as a Dataset (text columns are factors; time and units chosen by the user)."""
    return Dataset(f"upload:{table.name}", f"Your file {table.name} ({len(table.frame):,} rows)", table.frame,
                   _upload_r(table), _upload_py(table.name), (), None, (), table.notes)


def typed(data: Dataset, factors: tuple[str, ...]) -> pd.DataFrame:
    """The table with the marked columns as factors (text columns always are)."""
    return with_types(data.frame, factors)


def typing_lines(data: Dataset, factors: tuple[str, ...], var: str = "d") -> tuple[str, str]:
    """R and Python lines that make the marked numeric columns factors (R reads text as character)."""
    numeric = [c for c in data.columns if pd.api.types.is_numeric_dtype(data.frame[c])
               and not pd.api.types.is_bool_dtype(data.frame[c])]
    text = [c for c in data.columns if c not in numeric and not pd.api.types.is_bool_dtype(data.frame[c])]
    cols = [c for c in data.columns if c in factors and c in numeric] + text
    r = "\n".join(f"{var}${quote_name(c)} <- factor({var}${quote_name(c)})" for c in cols)
    py = f"from lib.data.upload import with_types\n{var} = with_types({var}, factors={sorted(set(factors) & set(numeric))!r})"
    return r, py
