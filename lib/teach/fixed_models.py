"""The Fixed-effects page's models: formula from chosen terms, data, equivalent code."""
from __future__ import annotations

import pandas as pd

from lib.data.immune import load_prepared, load_raw
from lib.teach.model_builder import fixed_text

TERMS = ("Sex", "FamID", "Sex:FamID")
R_DATA = "subset(ImmuneData, Time == {time})"


def build_formula(terms: list[str]) -> str:
    """IgG ~ the chosen terms, written as the tutorial writes them (Sex * FamID)."""
    unknown = [t for t in terms if t not in TERMS]
    if unknown:
        raise ValueError(f"unknown term(s) {', '.join(unknown)}; choose from {', '.join(TERMS)}")
    return "IgG ~ " + fixed_text([t for t in TERMS if t in terms])


def data_at(time: int, famid_factor: bool) -> pd.DataFrame:
    """The rows of one month, FamID as integers (as read) or as a factor (after as.factor)."""
    if not 0 <= time <= 17:
        raise ValueError(f"Time runs from 0 to 17, not {time}")
    data = load_prepared() if famid_factor else load_raw()
    return data[data["Time"] == time].reset_index(drop=True)


def data_label(time: int) -> str:
    """How R's call names the data: subset(ImmuneData, Time == 0)."""
    return R_DATA.format(time=time)


def r_code(formula: str, time: int, famid_factor: bool) -> str:
    """The R that fits the same model."""
    lines = ['ImmuneData <- read.csv("ImmuneData.csv")']
    if famid_factor:
        lines.append("ImmuneData <- transform(ImmuneData, IndID = as.factor(IndID),\n"
                     "                        FamID = as.factor(FamID), Sex = as.factor(Sex))")
    lines += [f"fit <- lm({formula}, data = {data_label(time)})", "summary(fit)", "anova(fit)"]
    return "\n".join(lines)


def python_code(formula: str, time: int, famid_factor: bool) -> str:
    """The same fit with this project's lib."""
    loader = "load_prepared" if famid_factor else "load_raw"
    return "\n".join([
        f"from lib.data.immune import {loader}",
        "from lib import lm",
        f"data = {loader}()",
        f'fit = lm("{formula}", data[data["Time"] == {time}],',
        f'         data_name="{data_label(time)}")',
        "print(fit.summary())",
        "print(fit.anova_text())",
    ])


def fit_error(formula: str, error: Exception) -> str:
    """What to show when a typed formula cannot be fitted (never an empty or raw message)."""
    if not formula.strip():
        return "Type a formula first: the response, `~`, then the terms, for example `IgG ~ Sex + FamID`."
    return f"Cannot fit `{formula.strip()}`: {error}"
