"""Which of many sorted points a plot needs to draw.

A QQ plot of the 4,860 measurements' residuals puts thousands of points on one rising curve a few
hundred pixels long: in its middle they lie closer than a pixel, and every one the browser parses,
lays out and draws costs the page's first visit time without changing the picture. The tails, where
the points spread apart and departures from the line show, are kept whole.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

QQ_POINTS = 600  # at most, in all
QQ_TAIL = 100  # the smallest and the largest points kept, each


def qq_rows(n: int, most: int = QQ_POINTS, tail: int = QQ_TAIL) -> np.ndarray:
    """Positions (0 .. n-1, increasing) of the sorted points a QQ plot draws: the `tail` smallest and
    largest, and evenly spaced ranks in between, `most` in all; every position when n <= most."""
    if n <= most:
        return np.arange(n)
    if not 0 <= 2 * tail < most:
        raise ValueError(f"tail={tail} leaves no room in most={most}")
    middle = np.linspace(tail, n - 1 - tail, most - 2 * tail).round().astype(int)
    return np.unique(np.concatenate([np.arange(tail), middle, np.arange(n - tail, n)]))


def histogram(values: np.ndarray, lo: float, hi: float, step: float) -> pd.DataFrame:
    """Counts of `values` in bins of width `step` from `lo` to `hi` (columns start, end, count; the
    last bin holds `hi` itself): a histogram's bars, sent to the browser as a few rows instead of
    every value."""
    edges = np.linspace(lo, hi, int(round((hi - lo) / step)) + 1)
    counts, _ = np.histogram(np.asarray(values, float), bins=edges)
    return pd.DataFrame({"start": edges[:-1], "end": edges[1:], "count": counts})
