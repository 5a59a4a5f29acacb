"""The benchmark's cases: one row each, with the data maker and lme4's reference figures."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Mapping

import pandas as pd

from synthetic import (
    CROSSED_BINARY_FORMULA,
    CROSSED_FORMULA,
    INSTEVAL_FORMULA,
    OBS_POISSON_FORMULA,
    SUBJECTS_ITEMS_FORMULA,
    make_crossed,
    make_crossed_binary,
    make_insteval,
    make_obs_poisson,
    make_subjects_items,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR") or REPO.parent / "shared")  # as tests/conftest.py
REFERENCE = SHARED / "reference"
IMMUNE_CSV = next(p for p in (REPO / "data/ImmuneData.csv", SHARED / "data/ImmuneData.csv") if p.exists())
TIME0_MODELS = ("MMod", "MMod2", "MMod3")
NOTED_LME4_CROSSED_SECONDS = 10.0


@dataclass(frozen=True)
class Reference:
    """lme4's figures for a case: recorded seconds, criterion, and where the seconds come from."""

    seconds: float | None = None
    criterion: float | None = None
    source: str = "—"


@dataclass(frozen=True)
class Target:
    """A speed goal: ours at most `factor` times a yardstick (lme4's time, glmm's, the fastest
    peer's, or `factor` seconds outright when kind is "seconds")."""

    kind: str  # "lme4" | "glmm" | "fastest peer" | "seconds"
    factor: float
    why: str = ""  # where the goal comes from, when not the issue's own figure

    def text(self) -> str:
        return f"≤ {self.factor:g} s" if self.kind == "seconds" else f"≤ {self.factor:g} × {self.kind}"


TUTORIAL_TARGET = Target("lme4", 0.3)
# glmer's tutorial fits on main before this work (7e8bf6e, this machine): "no slower than now"
GLMER_BEFORE_SECONDS = {"LowBinary": 0.181, "MonthsLow_cbind": 0.023, "SimCounts_poisson": 0.027}


@dataclass(frozen=True)
class Case:
    """One fit to time: formula, data maker, family (None = lmer), REML, lme4 reference."""

    name: str
    formula: str
    data: Callable[[], pd.DataFrame]
    family: str | None = None
    reml: bool = True
    reference: Reference = Reference()
    big: bool = False
    spellings: Mapping[str, str] = field(default_factory=dict)
    targets: tuple[Target, ...] = ()

    def formula_for(self, engine: str) -> str:
        """The formula as `engine` spells it (a peer may need an equivalent spelling)."""
        return self.spellings.get(engine, self.formula)


def _factors(df: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """df with `columns` made categorical."""
    return df.assign(**{c: df[c].astype("category") for c in columns})


@lru_cache(maxsize=None)
def immune() -> pd.DataFrame:
    """ImmuneData with factors, Sex:IndID as `SexInd` (for peers) and Low = IgG < 100."""
    df = _factors(pd.read_csv(IMMUNE_CSV), ("FamID", "IndID", "Sex"))
    sex_ind = df["Sex"].astype(str) + ":" + df["IndID"].astype(str)
    return df.assign(SexInd=sex_ind.astype("category"), Low=(df["IgG"] < 100).astype(int))


@lru_cache(maxsize=None)
def immune_time0() -> pd.DataFrame:
    """The Time == 0 subset of immune()."""
    return immune().loc[lambda d: d["Time"] == 0].reset_index(drop=True)


@lru_cache(maxsize=None)
def months_low() -> pd.DataFrame:
    """Per individual: months (of 18) with IgG below 100, plus MonthsHigh for peers."""
    df = _factors(pd.read_csv(REFERENCE / "ImmuneMonthsLow.csv"), ("FamID", "IndID", "Sex"))
    return df.assign(MonthsHigh=df["Months"] - df["MonthsLow"])


@lru_cache(maxsize=None)
def simulated_counts() -> pd.DataFrame:
    """The seeded Poisson data set (12 sites x 25 doses)."""
    return _factors(pd.read_csv(REFERENCE / "SimulatedCounts.csv"), ("Site",))


@lru_cache(maxsize=None)
def crossed() -> pd.DataFrame:
    """The 70,000-row crossed design."""
    return make_crossed()


@lru_cache(maxsize=None)
def crossed_binary() -> pd.DataFrame:
    """The 70,000-row crossed design with a 0/1 response y01 (y above its median)."""
    return make_crossed_binary()


@lru_cache(maxsize=None)
def insteval() -> pd.DataFrame:
    """InstEval's synthetic twin (73,421 ratings)."""
    return make_insteval()


def obs_poisson(n: int, nested: bool = True) -> Callable[[], pd.DataFrame]:
    """A maker of grouseticks-shaped counts with n rows (named for the data file it writes)."""
    def maker() -> pd.DataFrame:
        return make_obs_poisson(n, nested)
    maker.__name__ = f"obs_poisson_{n}{'' if nested else '_crossed'}"
    return lru_cache(maxsize=None)(maker)


@lru_cache(maxsize=None)
def subjects_items() -> pd.DataFrame:
    """Binary responses of 60 subjects to 40 items (crossed)."""
    return make_subjects_items()


@lru_cache(maxsize=None)
def _reference_json(name: str) -> dict:
    """A reference JSON file from the shared folder."""
    return json.loads((REFERENCE / name).read_text())


def _seed_reference(entry: dict, reml: bool) -> Reference:
    """Recorded lme4 seconds and REML criterion / deviance of a seed_lme4.json entry."""
    return Reference(entry["fit_seconds"], entry["REMLcrit" if reml else "deviance"], "recorded")


def glmer_reference(name: str) -> Reference:
    """-2 logLik of an extras_lme4.json glmer fit (no seconds recorded)."""
    entry = next(g for g in _reference_json("extras_lme4.json")["glmer"] if g["name"] == name)
    return Reference(None, -2.0 * entry["logLik"])


def _glmm_spelling(formula: str) -> dict[str, str]:
    """glmm's parser rejects a grouping interaction `| Sex:IndID`: give it the SexInd column."""
    return {"glmm": formula.replace("| Sex:IndID)", "| SexInd)")} if "| Sex:IndID)" in formula else {}


def tutorial_cases() -> list[Case]:
    """The seven lmer models of seed_lme4.json, by REML and by ML."""
    seed = _reference_json("seed_lme4.json")
    return [
        Case(f"{name}/{'REML' if reml else 'ML'}", entry["formula"],
             immune_time0 if name in TIME0_MODELS else immune, None, reml,
             _seed_reference(entry, reml), spellings=_glmm_spelling(entry["formula"]),
             targets=(TUTORIAL_TARGET,) + ((Target("fastest peer", 2.0),) if name == "MModTime4" else ()))
        for section, reml in (("lmer_reml", True), ("lmer_ml", False))
        for name, entry in seed[section].items()
    ]


CBIND = "cbind(MonthsLow, Months - MonthsLow) ~ Sex + (1 | FamID)"
CBIND_SPELLINGS = {"glmm": "cbind(MonthsLow, MonthsHigh) ~ Sex + (1 | FamID)",
                   "mixedlm": "MonthsLow / Months ~ Sex + (1 | FamID)"}


def _glmer_before(name: str) -> tuple[Target, ...]:
    return (Target("seconds", GLMER_BEFORE_SECONDS[name], "main before this work"),)


def obs_poisson_cases() -> list[Case]:
    """grouseticks-shaped counts with an observation-level effect at three sizes, nested and crossed."""
    targets = {403: (Target("lme4", 1.0),), 40000: (Target("seconds", 10.0),)}
    return [Case(f"obs_poisson_{n}{'' if nested else '_crossed'}", OBS_POISSON_FORMULA,
                 obs_poisson(n, nested), "poisson", False, big=n >= 40000,
                 targets=targets.get(n, ()) if nested else ())
            for n, nested in ((403, True), (4000, True), (4000, False), (40000, True))]


def all_cases() -> list[Case]:
    """Every case, in table order."""
    return tutorial_cases() + [
        Case("crossed70k/REML", CROSSED_FORMULA, crossed, None, True,
             Reference(NOTED_LME4_CROSSED_SECONDS, None, "noted"), big=True, targets=(Target("glmm", 1.0),)),
        Case("insteval/REML", INSTEVAL_FORMULA, insteval, None, True, big=True,
             spellings={"glmm": INSTEVAL_FORMULA.replace("dept:service", "dept_service")},
             targets=(Target("seconds", 1.0),)),
        Case("crossed70k_binomial", CROSSED_BINARY_FORMULA, crossed_binary, "binomial", False, big=True,
             targets=(Target("seconds", 20.0),)),
        Case("LowBinary", "Low ~ Sex * Time + (1 | FamID)", immune, "binomial", False,
             glmer_reference("LowBinary_FamID"), targets=_glmer_before("LowBinary")),
        Case("MonthsLow_cbind", CBIND, months_low, "binomial", False,
             glmer_reference("MonthsLow_cbind"), spellings=CBIND_SPELLINGS,
             targets=_glmer_before("MonthsLow_cbind")),
        Case("SimCounts_poisson", "Count ~ Dose + (1 | Site)", simulated_counts, "poisson", False,
             glmer_reference("SimCounts_poisson"), targets=_glmer_before("SimCounts_poisson")),
        *obs_poisson_cases(),
        Case("subjects_items_binomial", SUBJECTS_ITEMS_FORMULA, subjects_items, "binomial", False),
    ]
