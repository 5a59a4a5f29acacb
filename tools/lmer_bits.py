"""Bit-identity check of lmer's criterion: `save` the values at random thetas, `check` them later.

    python tools/lmer_bits.py save /tmp/lmer_bits.npy    # before a change to lib/pls.py
    python tools/lmer_bits.py check /tmp/lmer_bits.npy   # after it: every value must be ==

The tutorial's lmer models (seed_lme4.json) by REML and ML at 20 random thetas each, through
both coupling strategies of lib.pls (the dense one they use, and the sparse one forced),
plus the 70,000-row crossed design (sparse coupling) at a few thetas.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR") or REPO.parent / "shared")  # as tests/conftest.py
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import lib.pls as pls  # noqa: E402
from lib.lmer import setup  # noqa: E402

MODELS = ("MModTime4", "MModTime3", "MModTime2", "MMod2", "MModTime", "MMod", "MMod3")
TIME0 = ("MMod", "MMod2", "MMod3")
NTHETA = 20


def _data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """ImmuneData with factors, and its Time == 0 rows."""
    d = pd.read_csv(REPO / "data/ImmuneData.csv")
    for c in ("FamID", "IndID", "Sex"):
        d[c] = pd.Categorical(d[c])
    return d, d[d["Time"] == 0].reset_index(drop=True)


def _thetas(prob, count: int, rng: np.random.Generator) -> np.ndarray:
    """Random thetas: diagonals in (0, 2), off-diagonals in (-1, 1)."""
    lower = prob.lower
    draws = rng.uniform(-1.0, 1.0, size=(count, len(lower)))
    return np.where(np.isfinite(lower), np.abs(draws) * 2.0, draws)


def _values(prob, thetas: np.ndarray) -> list[float]:
    return [prob.criterion(t, reml) for t in thetas for reml in (True, False)]


def criteria() -> np.ndarray:
    """Every criterion value of the check, in a fixed order."""
    seed = json.loads((SHARED / "reference/seed_lme4.json").read_text())["lmer_reml"]
    full, time0 = _data()
    rng = np.random.default_rng(20240611)
    out: list[float] = []
    for name in MODELS:
        data = time0 if name in TIME0 else full
        thetas = _thetas(setup(seed[name]["formula"], data), NTHETA, rng)
        out += _values(setup(seed[name]["formula"], data), thetas)
        limit, pls._DENSE_LIMIT = pls._DENSE_LIMIT, 0  # the sparse coupling on the same models
        try:
            out += _values(setup(seed[name]["formula"], data), thetas)
        finally:
            pls._DENSE_LIMIT = limit
    from synthetic import CROSSED_FORMULA, make_crossed
    big = setup(CROSSED_FORMULA, make_crossed())
    out += _values(big, _thetas(big, 3, rng))
    return np.array(out)


def main() -> None:
    mode, path = sys.argv[1], sys.argv[2]
    with pls.one_blas_thread():  # as lmer's fits run
        values = criteria()
    if mode == "save":
        np.save(path, values)
        print(f"saved {len(values)} criterion values to {path}")
        return
    ref = np.load(path)
    assert len(ref) == len(values), f"{path} holds {len(ref)} values, this check makes {len(values)}"
    same = values == ref
    print(f"{same.sum()} of {len(ref)} criterion values bit-identical")
    assert same.all(), np.flatnonzero(~same)


if __name__ == "__main__":
    main()
