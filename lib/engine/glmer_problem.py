"""glmer's problem: the data, response, design matrices and solver fixed during a fit (lme4's
glFormula and mkRespMod), with lme4's input checks."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.engine.design import drop_rank_deficient, is_factor, linear_design
from lib.engine.family import Family, FamilyError, make_family
from lib.engine.formula import Formula, FormulaError, parse_formula
from lib.engine.pls import PlsSystem
from lib.engine.sparse_pls import SparsePls, glmer_system
from lib.engine.retrms import ReBlock, ThetaLayout, check_blocks, make_blocks


@dataclass
class GlmerProblem(ThetaLayout):
    """Everything fixed during a fit: data, response, design matrices and the solver."""

    formula: Formula
    frame: pd.DataFrame
    family: Family
    y: np.ndarray  # proportions for binomial, counts for Poisson
    weights: np.ndarray  # lme4's resp$weights (prior weights x binomial totals)
    prior_weights: np.ndarray
    n: np.ndarray  # binomial totals (1 for a 0/1 or proportion response)
    offset: np.ndarray
    mustart: np.ndarray
    X: np.ndarray
    xnames: list[str]
    blocks: list[ReBlock]
    pls: PlsSystem | SparsePls  # PIRLS sets its weights and working response (sparse_pls.glmer_system)
    messages: list[str]
    weights_label: str | None = None

    @property
    def ntheta(self) -> int:
        return len(self.lower)

    @property
    def nobs(self) -> int:
        return len(self.y)


def _numeric(frame: pd.DataFrame, col: str, what: str) -> np.ndarray:
    s = frame[col]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(float)
    if not pd.api.types.is_numeric_dtype(s):
        raise FormulaError(f"{what} {col!r} must be numeric")
    return s.to_numpy(float)


def _response(f: Formula, frame: pd.DataFrame, family: Family, prior: np.ndarray,
              messages: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """y, lme4's weights, n and mustart, as the family's initialize sets them up."""
    r = f.response
    if r.is_cbind:
        if family.family != "binomial":
            raise FamilyError("a cbind(successes, failures) response needs the binomial family")
        s = _numeric(frame, r.name, "the successes column")
        fails = _numeric(frame, r.failures, "the failures column") if r.failures else \
            _numeric(frame, r.total, "the totals column") - s
        if np.any(s < 0) or np.any(fails < 0):
            what = "failures" if r.failures else f"{r.total} - {r.name}"
            raise FamilyError(f"counts must not be negative: check {r.name} and {what}")
        if np.any(np.abs(s - np.round(s)) > 1e-3) or np.any(np.abs(fails - np.round(fails)) > 1e-3):
            messages.append("non-integer counts in a binomial glm!")
        n = s + fails
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(n == 0, 0.0, s / np.where(n == 0, 1.0, n))
        weights = prior * n
        return y, weights, n, (n * y + 0.5) / (n + 1.0)
    col = frame[r.name]
    if family.family == "binomial" and (is_factor(col) and not pd.api.types.is_bool_dtype(col)):
        cats = col.astype("category")
        cats = cats.cat.remove_unused_categories() if isinstance(col.dtype, pd.CategoricalDtype) \
            else pd.Categorical(col.astype(str), categories=sorted(col.astype(str).unique()))
        cats = pd.Series(cats)
        y = (cats != cats.cat.categories[0]).to_numpy(float)  # R: failure is the first level
    else:
        y = _numeric(frame, r.name, "the response")
    if family.family == "binomial":
        y = np.where(prior == 0, 0.0, y)
        n, mustart = family.initialize(y, prior)
        m = prior * y
        if np.any(np.abs(m - np.round(m)) > 1e-3):
            messages.append("non-integer #successes in a binomial glm!")
        return y, prior, n, mustart
    n, mustart = family.initialize(y, prior)
    if np.any(np.abs(y - np.round(y)) > 1e-8):
        raise FamilyError(f"the Poisson family needs whole counts: {r.name} has non-integer values")
    return y, prior, n, mustart


def _scale_message(X: np.ndarray) -> list[str]:
    """lme4's checkScaleX warning for continuous columns on very different scales."""
    cont = [j for j in range(X.shape[1]) if not np.all(np.isin(X[:, j], (0.0, 1.0)))]
    if not cont or X.shape[0] < 2:
        return []
    sd = X[:, cont].std(axis=0, ddof=1)
    with np.errstate(divide="ignore"):
        logsd = np.abs(np.log(sd))
        ratios = [abs(np.log(sd[i] / sd[j])) for i in range(len(sd)) for j in range(i)]
    if np.any(np.concatenate([logsd, ratios]) > np.log(1e3)):
        return ["Some predictor variables are on very different scales: consider rescaling"]
    return []


def setup(formula: str | Formula, data: pd.DataFrame, family: str = "binomial",
          link: str | None = None, weights: str | np.ndarray | None = None) -> GlmerProblem:
    """Parse and check the model and build its matrices (lme4's glFormula and mkRespMod)."""
    fam = make_family(family, link)
    f = formula if isinstance(formula, Formula) else parse_formula(formula, list(data.columns))
    if not f.random:
        raise FormulaError("No random effects terms specified in formula")
    if f.response is None:
        raise FormulaError("glmer needs a response on the left of '~'")
    cols = list(f.variables)
    wlabel = None
    frame_src = data
    if isinstance(weights, str):
        if weights not in data.columns:
            raise FormulaError(f"the weights column {weights!r} is not in the data")
        wlabel = weights
        cols = cols + ([weights] if weights not in cols else [])
    elif weights is not None:
        w_arr = np.asarray(weights, float)
        if w_arr.shape != (len(data),):
            raise FormulaError(f"weights must have one value per row ({len(data)})")
        frame_src = data.assign(**{"(weights)": w_arr})
        wlabel = "(weights)"
        cols = cols + ["(weights)"]
    keep = frame_src[cols].notna().all(axis=1)
    frame = frame_src.loc[keep, cols].reset_index(drop=True)
    if len(frame) == 0:
        raise FormulaError("no complete rows: every row has a missing value in the model's columns")
    prior = _numeric(frame, wlabel, "the weights column") if wlabel else np.ones(len(frame))
    if np.any(prior < 0):
        raise FamilyError("negative weights are not allowed")
    messages: list[str] = []
    y, wts, n, mustart = _response(f, frame, fam, prior, messages)
    if not np.all(np.isfinite(y)):
        raise FamilyError("NA/NaN/Inf in 'y'")
    if len(np.unique(y)) < 2:
        raise FamilyError("Response is constant")
    X, names, _ = linear_design(f.fixed, frame)
    X, names, rank_msg = drop_rank_deficient(X, names)
    messages += rank_msg + _scale_message(X)
    blocks = make_blocks(f.random, frame)
    check_blocks(blocks, len(frame), allow_n=True)
    pls = glmer_system(blocks, X, np.zeros(len(y)))  # PIRLS reweights it before every use
    return GlmerProblem(f, frame, fam, y, wts, prior, n, np.zeros(len(y)), mustart, X, names,
                        blocks, pls, messages, wlabel)
