"""R's str() of a data frame, as the tutorial shows it before and after as.factor()."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.rprint.rformat import format_numbers


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
