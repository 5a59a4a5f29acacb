"""CSV text that R's read.csv reads back as exactly the values this app holds.

R's read.csv can be one unit in the last place off on long decimals (row 781 of ImmuneData.csv:
shared/reference/README.md), so a file written for R gives every double its 17 significant digits
("%.17g", as R's sprintf writes them): those digits round to one double under any parser. Text
columns are written as they are, unquoted, as the reference's ImmuneData_exact.csv.
"""
from __future__ import annotations

import pandas as pd

from lib.data.immune import load_raw


def to_r_csv(frame: pd.DataFrame) -> str:
    """The frame as CSV for R: header, one line per row, doubles to 17 significant digits."""
    floats = [pd.api.types.is_float_dtype(frame[c]) for c in frame.columns]
    lines = [",".join(map(str, frame.columns))]
    for row in frame.itertuples(index=False):
        lines.append(",".join(f"{v:.17g}" if is_float else str(v) for v, is_float in zip(row, floats)))
    return "\n".join(lines) + "\n"


def exact_immune_csv() -> str:
    """ImmuneData_exact.csv: ImmuneData.csv with IgG to 17 digits, the doubles pandas reads from it."""
    return to_r_csv(load_raw())
