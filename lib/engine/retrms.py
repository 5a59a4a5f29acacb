"""Random-effects terms as lme4 sets them up (mkReTrms).

Each term ``(x | g)`` contributes, for every level of g, a block of k random effects
(k = columns of x's model matrix). Its relative covariance factor is a k x k lower
triangular T, so that Var(b) = sigma^2 (I_levels (x) T T'). theta is the stack of the
lower triangles of the T's, column by column, terms ordered by decreasing number of
levels as lme4 does; the diagonal of each T is bounded below by 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import scipy.sparse as sp

from lib.engine.design import Factor, grouping_factor, linear_design
from lib.engine.formula import FormulaError, Linear, RandomTerm, linear_text


@dataclass(frozen=True)
class ReBlock:
    """One random-effects term: grouping factor, its model matrix and names."""

    group: str  # lme4's name of the grouping factor, e.g. "Sex:IndID"
    expr: Linear  # the term's left-hand side
    factor: Factor
    X: np.ndarray  # n x k model matrix of the term's left-hand side
    cnames: list[str]  # column names, e.g. ["(Intercept)", "Time"]

    @property
    def k(self) -> int:
        return len(self.cnames)

    @property
    def nlevels(self) -> int:
        return self.factor.nlevels

    @property
    def q(self) -> int:
        return self.k * self.nlevels

    @property
    def ntheta(self) -> int:
        return self.k * (self.k + 1) // 2

    def lower(self) -> np.ndarray:
        """Bounds on this block's theta: 0 on the diagonal of T, none below it."""
        rows, cols = self.tril_index()
        return np.where(rows == cols, 0.0, -np.inf)

    def start(self) -> np.ndarray:
        """lme4's start: T = identity."""
        rows, cols = self.tril_index()
        return (rows == cols).astype(float)

    def tril_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions of theta in T, column by column (R's lower.tri order)."""
        return _tril_index(self.k)

    def T(self, theta: np.ndarray) -> np.ndarray:
        out = np.zeros((self.k, self.k))
        out[self.tril_index()] = theta
        return out

    def theta_names(self) -> list[str]:
        rows, cols = self.tril_index()
        return [f"{self.group}.{self.cnames[r]}" if r == c else
                f"{self.group}.{self.cnames[r]}.{self.cnames[c]}" for r, c in zip(rows, cols)]

    def Z(self) -> sp.csc_matrix:
        """n x q indicator-times-covariate matrix, columns level by level."""
        n, k = len(self.factor.codes), self.k
        cols = (self.factor.codes[:, None] * k + np.arange(k)).ravel()  # of X's entries, row by row
        order = np.argsort(cols, kind="stable")  # column by column, rows ascending in each
        indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=self.q))])
        return sp.csc_matrix((self.X.ravel()[order], order // k, indptr), shape=(n, self.q))


@lru_cache(maxsize=None)
def _tril_index(k: int) -> tuple[np.ndarray, np.ndarray]:
    cols, rows = np.triu_indices(k)  # the upper triangle row by row is the lower one column by column
    return rows, cols


def _split_uncorrelated(term: RandomTerm) -> list[RandomTerm]:
    """(a + b || g) is (1 | g) + (0 + a | g) + (0 + b | g), as lme4's expandDoubleVerts."""
    if term.correlated:
        return [term]
    parts = [RandomTerm(Linear((), True), term.group)] if term.expr.intercept else []
    return parts + [RandomTerm(Linear((t,), False), term.group) for t in term.expr.terms]


def lme4_order(nlevels: list[int]) -> list[int]:
    """lme4 reorders terms only if some term has more levels than the one before it."""
    if not any(b > a for a, b in zip(nlevels, nlevels[1:])):
        return list(range(len(nlevels)))
    ascending = sorted(range(len(nlevels)), key=lambda i: nlevels[i])  # R's order() is stable
    return ascending[::-1]


def make_blocks(terms: tuple[RandomTerm, ...], frame: pd.DataFrame) -> list[ReBlock]:
    """Random-effects blocks in lme4's order."""
    blocks = []
    for term in (t for r in terms for t in _split_uncorrelated(r)):
        X, names, _ = linear_design(term.expr, frame)
        if not names:
            raise FormulaError(f"{term.label} has no random effects: its left-hand side is empty")
        blocks.append(ReBlock(term.group_label, term.expr, grouping_factor(frame, term.group), X, names))
    return [blocks[i] for i in lme4_order([b.nlevels for b in blocks])]


def check_blocks(blocks: list[ReBlock], nobs: int, allow_n: bool = False) -> None:
    """lme4's checks on grouping factors (check.nlev.gtr.1, nobs.vs.nlev, nobs.vs.nRE) with lme4's
    words; `allow_n` is glmer's: as many levels, or random effects, as observations are allowed."""
    for b in blocks:
        if b.nlevels < 2:
            raise FormulaError(f"grouping factors must have > 1 sampled level ({b.group} has {b.nlevels})")
    bad = [b.group for b in blocks if (b.nlevels > nobs if allow_n else b.nlevels >= nobs)]
    if bad:
        raise FormulaError(f"number of levels of each grouping factor must be {'<=' if allow_n else '<'} "
                           f"number of observations (problems: {', '.join(bad)})")
    for b in blocks:
        if (b.q > nobs) if allow_n else (b.q >= nobs):
            what = ("< number of random effects" if allow_n else "<= number of random effects")
            who = ("the random-effects parameters are probably unidentifiable" if allow_n else
                   "the random-effects parameters and the residual variance (or scale parameter) "
                   "are probably unidentifiable")
            raise FormulaError(f"number of observations (={nobs}) {what} (={b.q}) for term "
                               f"({linear_text(b.expr)} | {b.group}); {who}")


def theta_lower(blocks: list[ReBlock]) -> np.ndarray:
    """lme4's lower bounds on theta: 0 on the diagonals of the T's, none below them."""
    return np.concatenate([b.lower() for b in blocks])


def theta_start(blocks: list[ReBlock]) -> np.ndarray:
    """lme4's start: every T the identity."""
    return np.concatenate([b.start() for b in blocks])


class ThetaLayout:
    """lme4's bounds and start for a problem's `blocks` (shared by lmer's and glmer's problems)."""

    blocks: list[ReBlock]

    @property
    def lower(self) -> np.ndarray:
        return theta_lower(self.blocks)

    @property
    def start(self) -> np.ndarray:
        return theta_start(self.blocks)


def positive_diagonals(theta: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """theta with every column of every T turned so that its diagonal is >= 0: the same model.

    Lambda enters lme4's criteria only through Z Lambda u and ||u||^2, which T D with
    D = diag(+-1) leaves unchanged (u's elements change sign with the column), so lmer's
    bounds at 0 are a convention, not a constraint. theta lists each T's lower triangle
    column by column, so a column starts at its diagonal (the bounded entries) and runs to
    the next one.
    """
    out = np.array(theta, float)
    starts = np.flatnonzero(lower == 0)
    for a, b in zip(starts, np.append(starts[1:], len(out))):
        if out[a] < 0:
            out[a:b] = -out[a:b]
    return out


def theta_names(blocks: list[ReBlock]) -> list[str]:
    return [n for b in blocks for n in b.theta_names()]


def theta_slices(blocks: list[ReBlock]) -> list[slice]:
    out, at = [], 0
    for b in blocks:
        out.append(slice(at, at + b.ntheta))
        at += b.ntheta
    return out

