"""A start for theta from analyses of variance, for the Newton stage of large crossed models.

lme4 starts every T at the identity. On a crossed model with thousands of levels (InstEval) the
optimum is far from there (theta 0.03-0.4), and the Newton stage spent half its steps, each a
factorization of the trailing block and its inverse, getting near. Each random intercept's
one-way analysis of variance of the least-squares residuals (the method of moments: the between-
level mean square less the within, over the effective level size) puts the start in the optimum's
neighbourhood for a few bincounts. Only a start: the optimum is the criterion's, whatever the start.
"""
from __future__ import annotations

import numpy as np

from lib.engine.retrms import ReBlock

FLOOR = 0.05  # a term whose moment estimate is 0 starts here: off the bound, where Newton can move it


def intercepts_only(blocks: list[ReBlock]) -> bool:
    """Whether every term is a random intercept, (1 | g): the terms a one-way analysis speaks for."""
    return all(b.k == 1 and np.all(b.X[:, 0] == 1.0) for b in blocks)


def moment_start(blocks: list[ReBlock], X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """theta_i = sd_i / sigma from each term's one-way analysis of the least-squares residuals,
    sigma^2 the smallest within-level mean square (random intercepts only: see intercepts_only).
    On a balanced one-way layout that is the ANOVA estimator, which REML reproduces where it is
    positive (Searle, Casella & McCulloch 1992, section 3.7)."""
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    parts = [_one_way(b.factor.codes, b.nlevels, resid) for b in blocks]
    sigma2 = min(within for _, within in parts)
    return np.maximum(np.sqrt([between / sigma2 for between, _ in parts]), FLOOR)


def _one_way(codes: np.ndarray, levels: int, r: np.ndarray) -> tuple[float, float]:
    """r's one-way analysis of variance by `codes`: the between-level variance component (0 when
    negative) and the within-level mean square."""
    n = len(r)
    counts = np.bincount(codes, minlength=levels).astype(float)
    sums = np.bincount(codes, r, minlength=levels)
    seen = counts > 0
    groups = int(seen.sum())
    if groups < 2 or n <= groups:  # nothing between or nothing within: no information
        return 0.0, float(r @ r / max(n - 1, 1))
    explained = (sums[seen] ** 2 / counts[seen]).sum()
    msb = (explained - r.sum() ** 2 / n) / (groups - 1)
    msw = (r @ r - explained) / (n - groups)
    n0 = (n - (counts ** 2).sum() / n) / (groups - 1)
    return max((msb - msw) / n0, 0.0), msw
