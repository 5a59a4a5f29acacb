"""The model workbench: any mixed model on any table, built from choices or typed, checked before
fitting with every refusal in words, and the session's list of fits compared and tabulated.

A `Choice` is what the workbench's widgets describe (response, fixed terms, random terms, family,
REML or ML), with names written as R writes them (`quote_name`); `choice_from_formula` reads a typed
formula back into a Choice by the same strict grammar, so the widgets follow what was typed. `fit`
checks the model on the data (`check`: response for the family, slopes that vary within groups,
lme4's checks of the grouping factors, the workbench's limits) and fits it by lmer or glmer, returning
a frozen `Outcome` (lib.teach.fitting) with the error in words when there is no fit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from lib.api import anova, glmer, lmer, lrtest
from lib.engine.formula import Formula, FormulaError, parse_formula, quote_name, term_text
from lib.engine.retrms import check_blocks, make_blocks
from lib.teach.fitting import Outcome, attempt, refused
from lib.teach.model_builder import RandomSpec, fixed_text

FAMILIES = ("gaussian", "binomial", "poisson")
MAX_ROWS = 20_000  # rows a workbench fit may use
MAX_RANDOM_EFFECTS = 5_000  # random effects (levels x effects per level, all terms) it may have
TIME_LIMIT_S = 60.0  # seconds before a fit is stopped


class ModelError(FormulaError):
    """A model that cannot be fitted to these data, with the reason in words."""


# -- the model as the widgets describe it ---------------------------------------------------

@dataclass(frozen=True)
class Choice:
    """A model: terms written as R writes them (`my col` in backticks), family, REML or ML."""

    response: str
    fixed: tuple[str, ...] = ()
    random: tuple[RandomSpec, ...] = ()
    intercept: bool = True
    family: str = "gaussian"
    REML: bool = True

    def formula(self, columns: Sequence[str]) -> str:
        """The formula in lme4's syntax, checked by the strict grammar (FormulaError if it is none)."""
        if not self.random:
            raise FormulaError("No random effects terms specified in formula")
        for r in self.random:
            if r.n_effects == 0:
                raise FormulaError(f"{r.text()} has no random effects: tick the intercept or a slope")
        rhs = fixed_text(self.fixed) if self.intercept else " + ".join(["0", *self.fixed])
        text = f"{self.response} ~ {rhs} + " + " + ".join(r.text() for r in self.random)
        parse_formula(text, columns)
        return text

    @property
    def method(self) -> str:
        return ("REML" if self.REML else "ML") if self.family == "gaussian" else "ML (Laplace)"


def choice_from_formula(text: str, columns: Sequence[str], family: str = "gaussian",
                        REML: bool = True) -> Choice:
    """The choices that a typed formula describes (FormulaError if the grammar refuses it)."""
    f = parse_formula(text, columns)
    if f.response is None:
        raise FormulaError("the formula needs a response on the left of '~'")
    random = tuple(RandomSpec(":".join(map(quote_name, r.group)), r.expr.intercept,
                              tuple(term_text(t) for t in r.expr.terms), r.correlated) for r in f.random)
    return Choice(f.response.label, tuple(term_text(t) for t in f.fixed.terms), random, f.fixed.intercept,
                  family, REML)


def interactions(mains: Sequence[str], limit: int = 3) -> list[str]:
    """The interactions the chosen main effects allow: every pair, and triples (a:b:c) up to `limit`."""
    out = [f"{a}:{b}" for i, a in enumerate(mains) for b in mains[i + 1:]]
    if limit >= 3:
        out += [f"{a}:{b}:{c}" for i, a in enumerate(mains) for j, b in enumerate(mains[i + 1:], i + 1)
                for c in mains[j + 1:]]
    return out


# -- checks before fitting ---------------------------------------------------------------------

@dataclass(frozen=True)
class Checked:
    """A model that passed the checks: its parsed formula, the rows it uses and how many were dropped."""

    formula: Formula
    rows: np.ndarray  # positions (0-based) of the complete rows in the data
    dropped: int  # rows left out for a missing value in a used column
    n_random: int  # random effects in all


def check(formula: str, data: pd.DataFrame, family: str) -> Checked:
    """The workbench's checks of a model on the data, in the order a student meets them (ModelError)."""
    f = parse_formula(formula, [str(c) for c in data.columns])
    if family not in FAMILIES:
        raise ModelError(f"family {family!r} is not one of {', '.join(FAMILIES)}")
    used = data[f.variables]
    complete = used.notna().to_numpy().all(axis=1)
    rows = np.flatnonzero(complete)
    if len(rows) == 0:
        raise ModelError("no complete rows: every row has a missing value in a column the model uses")
    if len(rows) > MAX_ROWS:
        raise ModelError(f"the model uses {len(rows):,} rows; the workbench fits at most {MAX_ROWS:,}. "
                         "Upload a subset, or fit it in R or with lib as the scripts below show.")
    frame = used.iloc[rows].reset_index(drop=True)
    _check_response(f, frame, family)
    _check_slopes(f, frame)
    blocks = make_blocks(f.random, frame)
    check_blocks(blocks, len(frame), allow_n=family != "gaussian")  # lme4's checks and words
    q = sum(b.q for b in blocks)
    if q > MAX_RANDOM_EFFECTS:
        raise ModelError(f"the model has {q:,} random effects; the workbench fits at most "
                         f"{MAX_RANDOM_EFFECTS:,}. Use fewer slopes or a grouping factor with fewer levels.")
    return Checked(f, rows, len(data) - len(rows), q)


def _check_response(f: Formula, frame: pd.DataFrame, family: str) -> None:
    r = f.response
    if r is None:
        raise ModelError("the formula needs a response on the left of '~'")
    if r.is_cbind:
        if family != "binomial":
            raise ModelError(f"{r.label} is successes and failures: it needs the binomial family")
        for c in r.columns:
            _whole_counts(frame[c], c, "binomial counts")
        return
    y = frame[r.name]
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if family == "gaussian" and not numeric:
        raise ModelError(f"the response {r.name!r} is not numeric ({_examples(y)}): a linear mixed model "
                         "(gaussian) needs numbers. For a two-level outcome choose the binomial family.")
    if family == "binomial":
        if not numeric:
            if y.nunique() != 2:
                raise ModelError(f"the response {r.name!r} has {y.nunique()} categories ({_examples(y)}); "
                                 "binomial needs two (failure is the first level, as in R).")
            return
        if ((y < 0) | (y > 1)).any():
            raise ModelError(f"the binomial response {r.name!r} has values outside 0..1 (from {y.min():g} "
                             f"to {y.max():g}): it must be 0/1 or a proportion. For successes out of a "
                             "number of trials write cbind(successes, failures); for counts choose Poisson.")
    if family == "poisson":
        if not numeric:
            raise ModelError(f"the Poisson response {r.name!r} is not numeric ({_examples(y)}): it needs counts")
        _whole_counts(y, r.name, "Poisson counts")


def _whole_counts(y: pd.Series, name: str, what: str) -> None:
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        raise ModelError(f"{what} must be numbers, but {name!r} holds {_examples(y)}")
    v = y.to_numpy(float)
    if (v < 0).any():
        raise ModelError(f"{what} cannot be negative, but {name!r} goes down to {v.min():g}")
    if (np.abs(v - np.round(v)) > 1e-8).any():
        bad = v[np.abs(v - np.round(v)) > 1e-8][0]
        raise ModelError(f"{what} must be whole numbers, but {name!r} holds {bad:g}")


def _examples(y: pd.Series) -> str:
    values = list(dict.fromkeys(map(str, y.dropna().head(50))))[:3]
    return "e.g. " + ", ".join(repr(v) for v in values)


def _check_slopes(f: Formula, frame: pd.DataFrame) -> None:
    """A random slope needs its variable to vary within the groups, or it is the intercept again."""
    for r in f.random:
        group = joined(frame, r.group, ":")
        for term in r.expr.terms:
            if (joined(frame, term, ":").groupby(group.to_numpy()).nunique() <= 1).all():
                raise ModelError(f"the random slope {term_text(term)} does not vary within the groups of "
                                 f"{':'.join(map(quote_name, r.group))}: each group has one value of it, so "
                                 "its slope cannot be told apart from the group's intercept. Drop the slope, "
                                 "or use a grouping factor whose groups hold several values of it.")


# -- fitting -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fitted:
    """One model of the session's list: its name, choices, the data it was fitted to and its outcome."""

    name: str
    choice: Choice
    formula: str
    dataset: str  # the Dataset's key
    factors: tuple[str, ...]  # the columns marked as factors
    outcome: Outcome
    rows: np.ndarray = field(repr=False)  # the data's rows the fit used (0-based)
    dropped: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome.ok

    @property
    def fit(self):
        return self.outcome.fit

    @property
    def data_id(self) -> tuple:
        return self.dataset, tuple(sorted(self.factors))


def fit(name: str, choice: Choice, formula: str, data: pd.DataFrame, dataset: str,
        factors: Sequence[str]) -> Fitted:
    """The model checked and fitted by lmer (gaussian) or glmer (binomial, Poisson), or refused in words,
    as one entry of the session's list."""
    REML = choice.REML and choice.family == "gaussian"
    try:
        c = check(formula, data, choice.family)
    except FormulaError as e:
        return Fitted(name, choice, formula, dataset, tuple(factors), refused(formula, dataset, str(e)),
                      np.arange(0))
    if choice.family == "gaussian":
        outcome = attempt(lambda: lmer(formula, data, REML=REML), formula, dataset, REML)
    else:
        outcome = attempt(lambda: glmer(formula, data, family=choice.family), formula, dataset)
    return Fitted(name, choice, formula, dataset, tuple(factors), outcome, c.rows, c.dropped)


def valid_name(name: str, taken: Sequence[str]) -> str | None:
    """Why `name` cannot name a model (it becomes a variable in R and Python), or None."""
    if not name:
        return "give the model a name"
    if quote_name(name) != name or not name.replace(".", "").replace("_", "").isascii():
        return f"{name!r} is not a plain R name: use letters, digits, '.' and '_', starting with a letter"
    if name in taken:
        return f"a model called {name!r} is already in the list: choose another name or remove it first"
    return None


# -- the list of models, compared ------------------------------------------------------------------

TABLE_COLUMNS = ["model", "formula", "family", "method", "nobs", "npar", "logLik", "AIC", "BIC", "warnings"]


def models_table(models: Sequence[Fitted]) -> pd.DataFrame:
    """One row per fitted model: formula, family, method, nobs, npar, logLik, AIC, BIC and warnings."""
    rows = []
    for m in models:
        f = m.fit
        if f is None:
            rows.append([m.name, m.formula, m.choice.family, m.choice.method, np.nan, np.nan, np.nan,
                         np.nan, np.nan, f"no fit: {m.outcome.error}"])
            continue
        rows.append([m.name, m.formula, m.choice.family, m.choice.method, int(f.nobs), int(f.df),
                     float(f.loglik), float(f.aic), float(f.bic), "; ".join(m.outcome.messages)])
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def compare(a: Fitted, b: Fitted, kind: str):
    """anova(a, b) (ML refits, lme4's table) or lrtest(a, b); ValueError in words when they cannot be."""
    if not (a.ok and b.ok):
        missing = [m.name for m in (a, b) if not m.ok]
        raise ValueError(f"{', '.join(missing)} could not be fitted")
    if a.data_id != b.data_id:
        raise ValueError(f"{a.name} and {b.name} are fitted to different data (another data set, or other "
                         "columns marked as factors): their likelihoods cannot be compared")
    if kind == "anova":
        return anova(a.fit, b.fit, names=[a.name, b.name], data_name="d")
    return lrtest(a.fit, b.fit)


# -- per-row results -------------------------------------------------------------------------------

def residuals(fit) -> np.ndarray:
    """R's residuals(fit): response residuals for lmer, deviance residuals for glmer."""
    return np.asarray(fit.residuals(), float)


def fitted_frame(model: Fitted, data: pd.DataFrame) -> pd.DataFrame:
    """The rows a model used (their row number in the file), its columns, fitted values and residuals."""
    f = model.fit
    used = data.iloc[model.rows][model.outcome.fit.formula.variables].reset_index(drop=True)
    out = pd.concat([pd.DataFrame({"row": model.rows + 1}), used], axis=1)
    out["fitted"] = np.asarray(f.fitted, float)
    out["residual"] = residuals(f)
    return out


def joined(data: pd.DataFrame, columns: Sequence[str], sep: str) -> pd.Series:
    """The columns' values as text, joined by `sep` row by row (IndID 16, Sex M, '-': '16-M')."""
    out = data[columns[0]].astype(str)
    for c in columns[1:]:
        out = out + sep + data[c].astype(str)
    return out


def unit_labels(data: pd.DataFrame, units: Sequence[str]) -> pd.Series:
    """A label per row naming its unit: the unit columns' values joined by '-' (IndID 16, Sex M: '16-M')."""
    if not units:
        return pd.Series(["all"] * len(data), index=data.index)
    return joined(data, units, "-")


def over_time(model: Fitted, data: pd.DataFrame, time: str, units: Sequence[str]) -> pd.DataFrame:
    """Per used row: the time, the unit's label, the response, fitted value and residual."""
    used = data.iloc[model.rows].reset_index(drop=True)
    return pd.DataFrame({"time": used[time].to_numpy(), "unit": unit_labels(used, units).to_numpy(),
                         "fitted": np.asarray(model.fit.fitted, float), "residual": residuals(model.fit)})
