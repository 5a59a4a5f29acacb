"""How many fixed effects a family-by-sex model needs once it follows IgG over time.

The tutorial's argument for random effects: with FamID fixed, every family needs its own
mean, sex difference and slopes. `tutorial_items` is its itemised list; `design_count`
counts the columns of the full model matrix that list stands for.
"""
from __future__ import annotations

import pandas as pd

from lib.engine.design import fixed_design
from lib.engine.formula import parse_formula

POWER_NAMES = {1: "linear", 2: "quadratic", 3: "cubic"}
MAX_DEGREE = max(POWER_NAMES)


def _check_degree(degree: int) -> None:
    if not 0 <= degree <= MAX_DEGREE:
        raise ValueError(f"the polynomial degree in Time must be 0 to {MAX_DEGREE}, not {degree}")


def tutorial_items(n_families: int, degree: int) -> pd.DataFrame:
    """The tutorial's list for `degree` powers of Time: one row per item, with its count."""
    _check_degree(degree)
    k = n_families - 1
    rows = [("1 intercept", 1)]
    rows += [(f"1 {POWER_NAMES[d]} slope (Time^{d})", 1) for d in range(1, degree + 1)]
    rows += [(f"{k} group means (FamID2..FamID{n_families})", k),
             (f"{k} group:sex means (intercepts)", k)]
    rows += [(f"{k} {POWER_NAMES[d]} slopes, one per family beyond the first", k)
             for d in range(1, degree + 1)]
    return pd.DataFrame(rows, columns=["item", "parameters"])


def time_powers(data: pd.DataFrame, degree: int) -> tuple[pd.DataFrame, list[str]]:
    """`data` with columns Time1..Time<degree> holding the powers of Time."""
    _check_degree(degree)
    out = data.copy()
    names = [f"Time{d}" for d in range(1, degree + 1)]
    for d, name in enumerate(names, start=1):
        out[name] = out["Time"].astype(float) ** d
    return out, names


def crossed_formula(degree: int) -> str:
    """Sex x family x polynomial in Time, the model the tutorial's count describes."""
    _check_degree(degree)
    powers = [f"Time{d}" for d in range(1, degree + 1)]
    return "IgG ~ Sex * FamID" + (f" * ({' + '.join(powers)})" if powers else "")


def design_count(data: pd.DataFrame, degree: int) -> int:
    """Columns of the model matrix of crossed_formula(degree) on `data` (FamID a factor)."""
    frame, _ = time_powers(data, degree)
    formula = parse_formula(crossed_formula(degree), columns=list(frame.columns))
    return len(fixed_design(formula, frame).names)
