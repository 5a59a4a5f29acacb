"""The partial-pooling page: the data made sparser or noisier, the model refitted, shrinkage in numbers.

A `Scaling` names a change to the data the student makes with a slider: keep only some of each
person's 18 months (chosen at random, seeded) or scale the residuals of the model on screen
(y' = fitted + factor x residual: the same people and families, more or less noise). The refit is
an lmer fit of its own on the new data (lib.api.lmer), never a change to a shared fit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.data.slices import load_slice
from lib.engine.pooling import Ellipse, Pooling, ellipse_points
from lib.teach.fitting import Outcome, attempt

PERSON = ("Sex", "IndID")  # one person: an IndID code holds a brother and a sister
MODES = {"none": "the data as measured", "times": "fewer months per person (random subsample)",
         "noise": "more or less residual noise (residuals scaled)"}
TIMES = tuple(range(1, 19))
NOISE_FACTORS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
ELLIPSE_LEVELS = (0.5, 0.95)


@dataclass(frozen=True)
class Scaling:
    mode: str = "none"  # a key of MODES
    level: float = 1.0  # months kept per person ("times") or the factor on the residuals ("noise")
    seed: int = 1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if self.mode == "times" and (self.level != int(self.level) or self.level < 1):
            raise ValueError("the months kept per person must be a whole number from 1")
        if self.mode == "noise" and self.level <= 0:
            raise ValueError("the factor on the residuals must be positive")

    @property
    def label(self) -> str:
        if self.mode == "times":
            return f"{int(self.level)} random month(s) per person (seed {self.seed})"
        if self.mode == "noise":
            return f"residuals × {self.level:g}"
        return MODES["none"]


def subsample_times(data: pd.DataFrame, per_person: int, seed: int) -> pd.DataFrame:
    """At most `per_person` of each person's rows, chosen at random (seeded), in the data's order.
    The draws go to the rows sorted by person and month, so the choice does not depend on row order."""
    person = (data[PERSON[0]].astype(str) + ":" + data[PERSON[1]].astype(str)).to_numpy()
    order = np.lexsort((data["Time"].to_numpy(), person))
    key = np.empty(len(data))
    key[order] = np.random.default_rng(seed).random(len(data))
    rank = pd.Series(key).groupby(person).rank(method="first")
    return data[(rank <= per_person).to_numpy()].reset_index(drop=True)


def rescale_noise(data: pd.DataFrame, fitted: np.ndarray, factor: float, response: str) -> pd.DataFrame:
    """The data with response = fitted + factor x (response - fitted)."""
    y = data[response].to_numpy(float)
    return data.assign(**{response: fitted + factor * (y - fitted)})


def scaled_data(data_name: str, scaling: Scaling, response: str, fitted: np.ndarray | None) -> pd.DataFrame:
    """The slice's data after the scaling (`fitted`: the base fit's fitted values, for "noise")."""
    data = load_slice(data_name)
    if scaling.mode == "times":
        return subsample_times(data, int(scaling.level), scaling.seed)
    if scaling.mode == "noise":
        if fitted is None or len(fitted) != len(data):
            raise ValueError("scaling the noise needs the fitted values of the model on these data")
        return rescale_noise(data, fitted, scaling.level, response)
    return data


def fit_scaled(formula: str, REML: bool, data_name: str, scaling: Scaling, response: str,
               fitted: np.ndarray | None = None) -> Outcome:
    """lmer on the scaled data: a fit of its own, with lme4's words if it cannot be made."""
    from lib.api import lmer

    def make():
        return lmer(formula, scaled_data(data_name, scaling, response, fitted), REML=REML)

    return attempt(make, formula, f"{data_name} ({scaling.label})", REML)


def median_shift(pool: Pooling) -> float:
    """How far the mixed model moved the units' intercepts from their own estimates: the median
    |model - own| over the units that have an own estimate (the arrows' typical length)."""
    shift = (pool.units["partial_intercept"] - pool.units["own_intercept"]).abs().dropna()
    return float(shift.median()) if len(shift) else float("nan")


def groups_of(fit) -> list[str]:
    """The fit's grouping factors, in lme4's order, each once."""
    return list(dict.fromkeys(blk.group for blk in fit.blocks))


def ellipse_frame(ellipses: list[Ellipse], levels=ELLIPSE_LEVELS) -> pd.DataFrame:
    """Points along each ellipse (2-d): pattern, level, curve, order, x, y."""
    parts = []
    for e in ellipses:
        for level in levels:
            pts = ellipse_points(e, level)
            parts.append(pd.DataFrame({"pattern": e.pattern or "all units", "level": level,
                                       "curve": f"{e.pattern} {level}", "order": np.arange(len(pts)),
                                       "x": pts[:, 0], "y": pts[:, 1]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["pattern", "level", "curve", "order", "x", "y"])


def band_frame(ellipses: list[Ellipse], level: float = 0.95) -> pd.DataFrame:
    """The 1-d ellipses as ranges: pattern, lower, upper."""
    rows = [(e.pattern or "all units", *ellipse_points(e, level)[:, 0]) for e in ellipses]
    return pd.DataFrame(rows, columns=["pattern", "lower", "upper"])
