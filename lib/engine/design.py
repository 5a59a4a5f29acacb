"""Model matrices as R builds them: treatment contrasts, R's column names and order.

A column is a factor when pandas holds it as categorical, text or boolean; a numeric
column stays numeric (so an integer-coded FamID gives one slope, the tutorial's
coding error). Levels follow R's `factor()`: the categories' order for a
categorical, sorted values otherwise; unused levels are dropped, as `lm` and
`lmer` do through their model frames.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg as la

from lib.engine.formula import Formula, FormulaError, Linear, Term


@dataclass(frozen=True)
class Factor:
    """A grouping or categorical variable: integer codes into `levels`."""

    codes: np.ndarray
    levels: list[str]

    @property
    def nlevels(self) -> int:
        return len(self.levels)


RANK_TOL = 1e-7  # lme4's chkRank.drop.cols tolerance


@dataclass(frozen=True)
class FixedDesign:
    X: np.ndarray
    y: np.ndarray | None
    names: list[str]
    assign: list[int]  # term index per column, 0 for the intercept (R's attr "assign")
    term_labels: list[str]
    has_intercept: bool


def is_factor(col: pd.Series) -> bool:
    return (isinstance(col.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(col)
            or not pd.api.types.is_numeric_dtype(col))


def as_factor(col: pd.Series, keep_levels: bool = False) -> Factor:
    """R's factor(col), unused levels dropped unless `keep_levels`."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes, levels = col.array.codes.astype(np.int64), col.dtype.categories
        used = np.bincount(codes[codes >= 0], minlength=len(levels)) > 0
        if not keep_levels and not used.all():  # pandas' remove_unused_categories, in numpy
            codes = np.where(codes >= 0, (np.cumsum(used) - 1)[codes], -1)
            levels = levels[used]
        return Factor(codes, [str(c) for c in levels])
    values = np.sort(col.dropna().unique())
    codes = pd.Categorical(col, categories=values).codes.astype(np.int64)
    return Factor(codes, [_level_text(v) for v in values])


def _level_text(v: object) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    return str(v)


def interaction(factors: list[Factor]) -> Factor:
    """lme4's a %i% b: observed combinations 'a:b', ordered by a then b."""
    out = factors[0]
    for f in factors[1:]:
        combo = out.codes * f.nlevels + f.codes
        used, codes = np.unique(combo, return_inverse=True)
        levels = [f"{out.levels[u // f.nlevels]}:{f.levels[u % f.nlevels]}" for u in used]
        out = Factor(codes.astype(np.int64), levels)
    return out


def grouping_factor(data: pd.DataFrame, group: Term) -> Factor:
    return interaction([as_factor(data[g]) for g in group])


def complete_rows(formula: Formula, data: pd.DataFrame) -> pd.DataFrame:
    """R's na.omit over the formula's variables, rows renumbered from 0."""
    if not any(pd.isna(data[v].array).any() for v in formula.variables) and data.index.equals(
            pd.RangeIndex(len(data))):
        return data.copy(deep=False)  # nothing to drop: a copy-on-write view, not a copy
    frame = data[formula.variables]
    complete = frame.notna().to_numpy().all(axis=1)
    return (frame if complete.all() else frame[complete]).reset_index(drop=True)


def _term_columns(term: Term, full: set[str], data: pd.DataFrame,
                  factors: dict[str, Factor]) -> tuple[np.ndarray, list[str]]:
    """Columns of one term, the first variable varying fastest, as model.matrix."""
    X, names = np.ones((len(data), 1)), [""]
    for var in term:
        if var in factors:
            f = factors[var]
            keep = range(f.nlevels) if var in full else range(1, f.nlevels)
            block = np.stack([(f.codes == j) for j in keep], axis=1).astype(float) \
                if len(keep) else np.zeros((len(data), 0))
            labels = [f"{var}{f.levels[j]}" for j in keep]
        else:
            block, labels = data[var].to_numpy(float)[:, None], [var]
        X = (X[:, None, :] * block[:, :, None]).reshape(len(data), -1)
        names = [f"{n}:{lab}" if n else lab for lab in labels for n in names]
    return X, names


def _full_coded(term: Term, present: set[frozenset], factors: dict[str, Factor]) -> set[str]:
    """R's rule: a factor gets contrasts if the term without it is in the model."""
    return {v for v in term if v in factors and frozenset(set(term) - {v}) not in present}


def linear_design(lin: Linear, data: pd.DataFrame,
                  keep_levels: bool = False) -> tuple[np.ndarray, list[str], list[int]]:
    """Model matrix of the right-hand side `lin`: X, column names, assign."""
    factors = {v: as_factor(data[v], keep_levels) for v in lin.variables if is_factor(data[v])}
    for v in lin.variables:
        if v not in factors and not pd.api.types.is_numeric_dtype(data[v]):
            raise FormulaError(f"column {v!r} is neither numeric nor categorical")
    present = {frozenset(t) for t in lin.terms} | ({frozenset()} if lin.intercept else set())
    blocks, names, assign = [], [], []
    if lin.intercept:
        blocks.append(np.ones((len(data), 1)))
        names.append("(Intercept)")
        assign.append(0)
    for i, term in enumerate(lin.terms, start=1):
        X, labels = _term_columns(term, _full_coded(term, present, factors), data, factors)
        blocks.append(X)
        names += labels
        assign += [i] * len(labels)
    X = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(data), 0))
    return X, names, assign


def fixed_design(formula: Formula, data: pd.DataFrame) -> FixedDesign:
    """X and y for the formula's fixed part, on its complete rows."""
    frame = complete_rows(formula, data)
    X, names, assign = linear_design(formula.fixed, frame)
    y = None
    if formula.response and not formula.response.is_cbind:
        col = frame[formula.response.name]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            raise FormulaError(f"the response {formula.response.name!r} must be numeric")
        y = col.to_numpy(float)
    return FixedDesign(X, y, names, assign, formula.fixed.labels, formula.fixed.intercept)


def drop_rank_deficient(X: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str], list[str]]:
    """lme4's check.rankX = "message+drop.cols": keep a full-rank set of columns."""
    if X.shape[1] == 0:
        return X, names, []
    _, R, piv = la.qr(X, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > RANK_TOL * d[0])) if d.size else 0
    if rank == X.shape[1]:
        return X, names, []
    keep = np.sort(piv[:rank])
    ndrop = X.shape[1] - rank
    s = "s" if ndrop > 1 else ""
    msg = f"fixed-effect model matrix is rank deficient so dropping {ndrop} column{s} / coefficient{s}"
    return X[:, keep], [names[i] for i in keep], [msg]
