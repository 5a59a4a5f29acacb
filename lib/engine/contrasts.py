"""The hypotheses of lmerTest's anova(): one contrast matrix L per fixed-effects term (L beta = 0).

Type III (lmerTest's default; get_contrasts_type3 / extract_contrasts_type3): each column of the
"complete" design (every term coded with all its levels, rdX) is written in the model's columns,
L = zapsmall(t(ginv(X) rdX)); a term's columns are then made orthogonal to those of the terms that
contain it (same numeric variables, more variables); its rows of L' are the term's hypothesis. For
Sex * Time this tests Sex at Time = 0, Time averaged over the sexes (Time + SexM:Time / 2) and the
interaction. A model with at most one term or one column gets type I (get_contrasts_type1): the
rows of the unit upper triangular factor of X'X (lmerTest's doolittle) that belong to each term.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.engine.design import is_factor, linear_design
from lib.engine.formula import Linear, Term


def zapsmall(x: np.ndarray, digits: int = 7) -> np.ndarray:
    """R's zapsmall(x): round to `digits` significant digits of the largest entry."""
    mx = np.max(np.abs(x)) if x.size else 0.0
    if not mx > 0:
        return np.round(x, digits)
    return np.round(x, max(0, digits - int(np.ceil(np.log10(mx)))))


def doolittle_L(x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """lmerTest's doolittle(x)$L: the unit lower triangular factor of x = L U, small entries zeroed."""
    n = len(x)
    L, U = np.eye(n), np.zeros((n, n))
    for i in range(n):
        U[i] = x[i] - L[i, :i] @ U[:i]
        for j in range(i + 1, n):
            L[j, i] = 0.0 if abs(U[i, i]) < eps else (x[j, i] - L[j, :i] @ U[:i, i]) / U[i, i]
    L[np.abs(L) < eps] = 0.0
    return L


def term_columns(fixed: Linear, names: list[str], frame: pd.DataFrame) -> dict[str, list[int]]:
    """lmerTest's term2colX: each term's columns among the model's (after lme4 dropped any)."""
    _, full_names, assign = linear_design(fixed, frame)
    where = dict(zip(full_names, assign))
    labels = ["(Intercept)"] + fixed.labels if fixed.intercept else [""] + fixed.labels
    out: dict[str, list[int]] = {lab: [] for lab in fixed.labels}
    for i, n in enumerate(names):
        lab = labels[where[n]]
        if lab != "(Intercept)":
            out[lab].append(i)
    return out


def _contains(inner: Term, outer: Term, numeric: set[str]) -> bool:
    """lmerTest's term_contain: outer has all of inner's variables, more, and the same numeric ones."""
    return (set(inner) <= set(outer) and len(set(outer) - set(inner)) > 0
            and {v for v in inner if v in numeric} == {v for v in outer if v in numeric})


def type1(X: np.ndarray, cols: dict[str, list[int]]) -> dict[str, np.ndarray]:
    """lmerTest's get_contrasts_type1."""
    Lt = doolittle_L(X.T @ X).T if X.shape[1] > 1 else np.ones((1, 1))
    return {term: Lt[idx] for term, idx in cols.items()}


def type3(fixed: Linear, X: np.ndarray, names: list[str], frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """lmerTest's get_contrasts_type3 for treatment-coded X (every X this engine builds)."""
    cols = term_columns(fixed, names, frame)
    if X.shape[1] <= 1 or len(fixed.terms) <= 1:
        return type1(X, cols)
    parts, rd_names = ([np.ones((len(frame), 1))], ["(Intercept)"]) if fixed.intercept else ([], [])
    for term in fixed.terms:
        Xt, nt, _ = linear_design(Linear((term,), False), frame)
        parts.append(Xt)
        rd_names += nt
    rdX = np.concatenate(parts, axis=1)
    L = zapsmall((np.linalg.pinv(X) @ rdX).T)  # rows: rdX's columns, columns: X's
    numeric = {v for v in fixed.variables if not is_factor(frame[v])}
    order = sorted(range(len(fixed.terms)), key=lambda i: -len(fixed.terms[i]))  # higher order first
    for i in order:
        term = fixed.terms[i]
        outer = [j for j, t in enumerate(fixed.terms) if _contains(term, t, numeric)]
        own = cols[fixed.labels[i]]
        against = [c for j in outer for c in cols[fixed.labels[j]]]
        if own and against:
            A, B = L[:, against], L[:, own]
            coef, *_ = np.linalg.lstsq(A, B, rcond=None)
            L[:, own] = zapsmall(B - A @ coef)
    rows = [rd_names.index(n) for n in names]
    L = L[rows]
    out = {}
    for label in fixed.labels:
        Lt = L[:, cols[label]].T
        out[label] = Lt[np.abs(Lt).sum(axis=1) > 1e-8]
    return out
