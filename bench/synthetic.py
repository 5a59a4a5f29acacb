"""Seeded synthetic data sets for the benchmark (reusable by tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

CROSSED_FORMULA = "y ~ x + (1 | g1) + (1 | g2) + (1 | g3)"
CROSSED_BINARY_FORMULA = "y01 ~ x + (1 | g1) + (1 | g2) + (1 | g3)"
CROSSED_SEED = 20261201


def _balanced_factor(rng: np.random.Generator, n: int, k: int, prefix: str) -> pd.Categorical:
    """A factor of k levels over n rows, every level used, in random order."""
    codes = rng.permutation(np.arange(n) % k)
    width = len(str(k - 1))
    labels = [f"{prefix}{i:0{width}d}" for i in range(k)]
    return pd.Categorical.from_codes(codes, categories=labels)


def make_crossed(
    n: int = 70_000,
    levels: tuple[int, ...] = (3000, 1100, 30),
    sds: tuple[float, ...] = (1.0, 0.7, 0.5),
    sigma: float = 1.0,
    beta: tuple[float, float] = (2.0, 0.5),
    seed: int = CROSSED_SEED,
) -> pd.DataFrame:
    """y = b0 + b1*x + u1[g1] + u2[g2] + u3[g3] + e with crossed factors g1, g2, ..."""
    if len(levels) != len(sds):
        raise ValueError("levels and sds must have the same length")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = beta[0] + beta[1] * x + sigma * rng.standard_normal(n)
    columns: dict[str, object] = {}
    for i, (k, sd) in enumerate(zip(levels, sds), start=1):
        factor = _balanced_factor(rng, n, k, prefix=f"L{i}_")
        y += rng.normal(0.0, sd, size=k)[factor.codes]
        columns[f"g{i}"] = factor
    return pd.DataFrame({"y": y, "x": x, **columns})


def make_crossed_binary(**kwargs) -> pd.DataFrame:
    """make_crossed(**kwargs) with a 0/1 response for glmer: y01 = 1 where y is above its median."""
    df = make_crossed(**kwargs)
    return df.assign(y01=(df["y"] > df["y"].median()).astype(int))
