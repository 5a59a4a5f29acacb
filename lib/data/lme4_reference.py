"""What lme4 1.1-31 itself printed for the tutorial's fits (data/lme4_reference.json), beside ours.

lme4's printed digits are a property of the model where they do not depend on where its optimizer
stopped; elsewhere its last digit is the path's. `printed_differences` lists the numbers our summary
prints differently from lme4's, and `criterion_gap` says how far above the optimum lme4 stopped.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from lib.data import DATA_DIR

FILE = DATA_DIR / "lme4_reference.json"


@lru_cache(maxsize=1)
def _fits() -> dict:
    return json.loads(FILE.read_text())["fits"]


def lme4_fit(name: str) -> dict | None:
    """lme4's record for a tutorial fit: "MModTime4", "MMod_ML", "LowBinary_FamID", "MModTime3_R_reading"."""
    return _fits().get(name)


@dataclass(frozen=True)
class PrintedDifference:
    line: str  # lme4's line, for context
    ours: str
    lme4: str


def _is_number(token: str) -> bool:
    try:
        float(token.rstrip("*"))
        return True
    except ValueError:
        return False


def printed_differences(ours: str, name: str) -> list[PrintedDifference]:
    """Numbers in our summary text that lme4 printed otherwise (same layout assumed, line by line).

    Our text must be printed as lme4's was (`print(summary(m), correlation = FALSE)`, Data: dat, or
    g[[2]] for the GLMMs); lines whose layout differs are skipped.
    """
    ref = lme4_fit(name)
    if ref is None or "printed" not in ref:
        return []
    out = []
    for o, r in zip(ours.splitlines(), ref["printed"]):
        to, tr = o.split(), r.split()
        if o == r or len(to) != len(tr):
            continue
        out += [PrintedDifference(r, a, b) for a, b in zip(to, tr) if a != b and _is_number(a) and _is_number(b)]
    return out


def criterion_gap(name: str) -> float | None:
    """How far lme4's default stop lies above the criterion's optimum (REML criterion or deviance)."""
    ref = lme4_fit(name)
    return None if ref is None or "optimum_crit" not in ref else ref["crit"] - ref["optimum_crit"]
