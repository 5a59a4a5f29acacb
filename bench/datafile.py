"""Hand a data frame to another process (Python or R) as CSV plus a JSON list of factors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def write_frame(df: pd.DataFrame, csv_path: Path) -> Path:
    """Write df as CSV (17 significant digits, so R and pandas read the same doubles) and its factors."""
    df.to_csv(csv_path, index=False, float_format="%.17g")
    factors = {c: [str(v) for v in df[c].cat.categories] for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)}
    meta_path = csv_path.with_suffix(".factors.json")
    meta_path.write_text(json.dumps(factors))
    return meta_path


def read_factors(csv_path: Path) -> dict[str, list[str]]:
    """The factor columns write_frame recorded beside csv_path, with their levels in order."""
    return json.loads(csv_path.with_suffix(".factors.json").read_text())


def read_frame(csv_path: Path) -> pd.DataFrame:
    """Read back what write_frame wrote, factors as categoricals with their level order."""
    factors = read_factors(csv_path)
    df = pd.read_csv(csv_path, dtype={c: str for c in factors})
    for col, levels in factors.items():
        df[col] = pd.Categorical(df[col], categories=levels)
    return df
