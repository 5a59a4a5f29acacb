"""tests/reference/inference_lme4.json (made by tests/reference/inference.R) and fits at lme4's own theta.

Each tutorial fit there carries lme4's theta at its default stop (`theta`). The same model evaluated
at that theta (`at_lme4_theta`) gives lme4's numbers to round-off, so lmerTest's, pbkrtest's and
performance's figures can be matched tightly there, and at our optimum within the reference band.
"""
from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
from conftest import TESTS

from lib.engine.lmer_fit import LmerFit


@lru_cache(maxsize=None)
def inference_models() -> dict:
    return json.loads((TESTS / "reference" / "inference_lme4.json").read_text())["models"]


def at_lme4_theta(fit: LmerFit, theta) -> LmerFit:
    """The fit's model at lme4's theta (the fit's problem is only read)."""
    return LmerFit.from_optimum(fit.problem, np.atleast_1d(np.asarray(theta, float)), fit.REML, [], [])


def band_thetas(name: str) -> list[np.ndarray]:
    """theta at lme4's stop and at every run that reaches the optimum (tests/band.py's reference points)."""
    from band import lmer_crit, optimum_cases, reference_points, values
    return [values(p, "theta") for p in reference_points(optimum_cases()[name], lmer_crit)]


def within_band(ours: np.ndarray, at_points: list[np.ndarray], rel: float) -> np.ndarray:
    """How far outside [min, max] of the values at the reference points (widened by rel) ours lie; <= 0 inside."""
    v = np.array(at_points)
    lo, hi = v.min(axis=0), v.max(axis=0)
    return np.maximum(lo - ours, ours - hi) - rel * np.maximum(np.abs(lo), np.abs(hi))
