"""Residual checks of a fitted model: per-individual lines and residual spread over time."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from lib.data.immune import individual_labels
from lib.teach import model_builder as mb

# The models whose residual spread the QA/QC page compares: (label, kind, formula, REML, data slice).
SpreadModel = tuple[str, str, str, bool, str]
SPREAD_MODELS: tuple[SpreadModel, ...] = (
    ("lm LReg (FamID*Time + IndID*Time)", "lm", mb.LM_FORMULAS["LReg"][0], False, "all"),
    ("MModTime2 (1 + Time | FamID)", "lmer", mb.TUTORIAL_FORMULAS["MModTime2"][0], True, "all"),
    ("MModTime4 (… + (1 + Time | Sex:IndID))", "lmer", mb.TUTORIAL_FORMULAS["MModTime4"][0], True, "all"),
)


def spread_models(formula: str, REML: bool, data: str, name: str) -> tuple[SpreadModel, ...]:
    """The compared models, with the model on screen added when it is fitted to all times and not one of them."""
    shown = mb.tutorial_name(formula, data)
    if data != "all" or (shown in ("MModTime2", "MModTime4") and REML):
        return SPREAD_MODELS
    return SPREAD_MODELS + ((f"{name} (on screen)", "lmer", formula, REML, data),)


def individuals_in_family(data: pd.DataFrame, family: str) -> list[str]:
    """Labels (IndID-Sex) of everyone in one family, in order of IndID."""
    rows = data[data["FamID"].astype(str) == str(family)]
    labels = individual_labels(rows).unique().tolist()
    return sorted(labels, key=lambda s: (int(s.split("-")[0]), s))


def individual_frame(fit, data: pd.DataFrame, individuals: Sequence[str]) -> pd.DataFrame:
    """Observed IgG, the population line (re.form = NA), the individual's fitted line and residuals.

    `data` must be the rows the model was fitted to, in the same order.
    """
    if len(data) != fit.nobs:
        raise ValueError(f"data has {len(data)} rows but the model was fitted to {fit.nobs}")
    labels = individual_labels(data)
    out = pd.DataFrame({"Individual": labels.to_numpy(), "FamID": data["FamID"].astype(str).to_numpy(),
                        "Sex": data["Sex"].astype(str).to_numpy(), "Time": data["Time"].to_numpy(),
                        "IgG": data["IgG"].to_numpy(float),
                        "population": fit.predict(re_form="NA"), "fitted": fit.fitted})
    out["residual"] = out["IgG"] - out["fitted"]
    return out[out["Individual"].isin(list(individuals))].reset_index(drop=True)


def residual_spread(residuals: Mapping[str, np.ndarray], time: np.ndarray) -> pd.DataFrame:
    """Standard deviation of each model's residuals at every Time (long: Time, model, sd)."""
    frames = []
    for name, r in residuals.items():
        df = pd.DataFrame({"Time": np.asarray(time), "r": np.asarray(r, float)})
        sd = df.groupby("Time")["r"].std(ddof=1).rename("sd").reset_index()
        sd.insert(1, "model", name)
        frames.append(sd)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["Time", "model", "sd"])


def spread_summary(spread: pd.DataFrame) -> pd.DataFrame:
    """Per model: residual SD at the first and last month and their ratio."""
    rows = []
    for name, g in spread.groupby("model", sort=False):
        g = g.sort_values("Time")
        first, last = float(g["sd"].iloc[0]), float(g["sd"].iloc[-1])
        rows.append((name, first, last, last / first if first else np.nan))
    return pd.DataFrame(rows, columns=["model", "SD at first month", "SD at last month", "last / first"])
