"""Penalized least squares on a sparse LDL' factor, for models whose blocked factor would be dense
and large (lib.engine.pls): many levels after the first term, such as counts with an
observation-level effect plus brood and location (thousands of levels each, nested or
sparsely crossed).

lme4's own way (Bates et al. 2015, section 3): M = Lambda' Z' W Z Lambda + I is factored by a
sparse Cholesky whose symbolic analysis (a fill-reducing ordering and the factor's pattern) is
done once per model; per set of weights only M's values change. Here the factor is qdldl's LDL'
(its AMD ordering, analysed once; `update` refactors the values), X enters through the Schur
complement X' W X - (Lambda' Z' W X)' M^-1 (Lambda' Z' W X), as lme4's R_ZX and R_X.

M's values come from precomputed bins: for every pair of terms, the levels that meet in some
row, and every row's bin, so that Z' W Z is a few `bincount`s over the rows and Lambda enters
block by block (T_b' A T_b', k_b x k_b' per pair of levels). Used by glmer's PIRLS through the
methods PlsSystem offers it (`reweight`, `decompose`, `unsc`, `condvar`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import qdldl
import scipy.linalg as la
import scipy.sparse as sp

from lib.engine.pls import PlsSystem, RandomEffectsMap
from lib.engine.retrms import ReBlock


@dataclass
class SparseFactor:
    """M's LDL' factor at one theta and set of weights, the criterion's pieces and the solution."""

    theta: np.ndarray
    ldL2: float  # log-determinant of M
    ldRX2: float  # log-determinant of R_X' R_X (nan when not `fixed`)
    fixed: bool
    u: np.ndarray
    beta: np.ndarray
    values: np.ndarray  # M's upper triangle, in the pattern's order (for conditional variances)
    SX: np.ndarray | None  # R_X' R_X (None when not `fixed`)


@dataclass(frozen=True)
class _BlockPair:
    """Two terms' levels that meet in some row (a term with itself: each level with itself), each
    row's bin, and where each element of T_a' A T_b lands in M's upper triangle (-1: not stored)."""

    a: ReBlock
    b: ReBlock
    bins: np.ndarray
    left: np.ndarray  # level of term a per bin
    right: np.ndarray  # level of term b per bin
    at: np.ndarray  # (bins, k_a, k_b) positions in the pattern's values


class SparsePls(RandomEffectsMap):
    """Cross products of [Z, X] prepared once; `decompose(theta)` per set of weights (glmer's PIRLS)."""

    def __init__(self, blocks: list[ReBlock], X: np.ndarray, y: np.ndarray):
        super().__init__(blocks, X)
        starts = np.cumsum([0] + [b.q for b in blocks])
        pairs = [(i, j) for i in range(len(blocks)) for j in range(i, len(blocks))]
        rows, cols = [], []
        raw = []
        for i, j in pairs:
            a, b = blocks[i], blocks[j]
            key = a.factor.codes * b.nlevels + b.factor.codes
            met, bins = np.unique(key, return_inverse=True)
            left, right = met // b.nlevels, met % b.nlevels
            r = starts[i] + left[:, None, None] * a.k + np.arange(a.k)[None, :, None]
            c = starts[j] + right[:, None, None] * b.k + np.arange(b.k)[None, None, :]
            r, c = np.broadcast_arrays(r, c)
            raw.append((a, b, bins, left, right, r, c))
            keep = r <= c  # the upper triangle (a term with itself: its blocks' upper halves)
            rows.append(r[keep])
            cols.append(c[keep])
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        order = np.lexsort((rows, cols))
        self.indices = rows[order].astype(np.int32)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=self.q))]).astype(np.int32)
        position = np.empty(len(order), np.int64)
        position[order] = np.arange(len(order))
        self.pairs, at = [], 0
        for a, b, bins, left, right, r, c in raw:
            where = np.full(r.shape, -1, np.int64)
            keep = r <= c
            where[keep] = position[at:at + keep.sum()]
            at += keep.sum()
            self.pairs.append(_BlockPair(a, b, bins, left, right, where))
        self.diagonal = self.indptr[1:] - 1  # a column's last stored row is its diagonal
        self.Zt = sp.hstack([b.Z() for b in blocks], format="csr").T.tocsr()
        self._solver = None
        self.reweight(None, y)

    def reweight(self, w: np.ndarray | None, y: np.ndarray, fixed: bool = True) -> None:
        """Z' W Z by blocks, Z' W [X y] and X' W [X y] for observation weights w (None: 1) and y."""
        self.w, self.y, self.fixed = w, y, fixed
        ones = w is None
        w = np.ones(self.n) if ones else w
        self.A = [_block_sums(pr, w) for pr in self.pairs]
        F = np.column_stack([self.X, y]) if fixed else y[:, None]
        WF = F * w[:, None]
        self.ZWF = self.Zt @ WF  # (q, p + 1) or (q, 1)
        self.FWF = WF.T @ F

    def decompose(self, theta: np.ndarray, fixed: bool = True) -> SparseFactor:
        """M's factor at theta and the solution: u and beta, or u alone with beta in the offset."""
        if fixed and not self.fixed:
            raise ValueError("the cross products were made for u alone: reweight with fixed=True")
        theta = np.asarray(theta, float)
        Ts = dict(zip((id(b) for b in self.blocks), self.Ts(theta)))
        values = np.zeros(len(self.indices) + 1)  # the last: where unstored elements go
        for pr, A in zip(self.pairs, self.A):
            values[pr.at] = np.einsum("ca,jcd,db->jab", Ts[id(pr.a)], A, Ts[id(pr.b)])
        values = values[:-1]
        values[self.diagonal] += 1.0
        solver = self._factor(values)
        d = solver.factors()[1]
        if np.any(d <= 0):
            raise np.linalg.LinAlgError("the random-effects system is not positive definite")
        rhs = self._lambda_t(theta, self.ZWF)  # Lambda' Z' W [X y]
        ux = solver.solve(rhs[:, -1])
        if not fixed:
            return SparseFactor(theta.copy(), float(np.log(d).sum()), np.nan, False, ux, np.zeros(0),
                                values, None)
        ZX = rhs[:, :-1]
        Y = np.column_stack([solver.solve(ZX[:, k]) for k in range(self.p)]) if self.p else ZX
        SX = self.FWF[:-1, :-1] - ZX.T @ Y
        RX = la.cholesky(SX, lower=True)
        beta = la.cho_solve((RX, True), self.FWF[:-1, -1] - ZX.T @ ux)
        return SparseFactor(theta.copy(), float(np.log(d).sum()), 2 * float(np.log(RX.diagonal()).sum()),
                            True, ux - Y @ beta, beta, values, SX)

    def _factor(self, values: np.ndarray):
        """qdldl's solver for M with these values (the symbolic analysis once, then refactoring)."""
        M = sp.csc_matrix((values, self.indices, self.indptr), shape=(self.q, self.q))
        if self._solver is None:
            self._solver = qdldl.Solver(M, upper=True)
        else:
            self._solver.update(M, upper=True)
        return self._solver

    def _lambda_t(self, theta: np.ndarray, A: np.ndarray) -> np.ndarray:
        """Lambda' A for A with q rows."""
        out, at = np.empty_like(A), 0
        for b, T in zip(self.blocks, self.Ts(theta)):
            piece = A[at:at + b.q].reshape(b.nlevels, b.k, -1)
            out[at:at + b.q] = np.einsum("kl,jk...->jl...", T, piece).reshape(b.q, -1)
            at += b.q
        return out

    def unsc(self, f: SparseFactor) -> np.ndarray:
        """(R_X' R_X)^{-1}, lme4's pp$unsc()."""
        return np.linalg.inv(f.SX)

    def condvar(self, f: SparseFactor) -> list[np.ndarray]:
        """Lambda M^{-1} Lambda' by term and level, (levels, k, k) per term: lme4's condVar / sigma^2,
        from M's inverse on the pattern of its factor (Takahashi's recurrences)."""
        solver = qdldl.Solver(sp.csc_matrix((f.values, self.indices, self.indptr), shape=(self.q, self.q)),
                              upper=True)
        inverse = _selected_inverse(*solver.factors())
        out, at = [], 0
        for b, T in zip(self.blocks, self.Ts(f.theta)):
            idx = at + np.arange(b.q).reshape(b.nlevels, b.k)
            blocks = np.array([[inverse(idx[:, c], idx[:, d]) for d in range(b.k)] for c in range(b.k)])
            out.append(T @ blocks.transpose(2, 0, 1) @ T.T)
            at += b.q
        return out


def _block_sums(pr: _BlockPair, w: np.ndarray) -> np.ndarray:
    """sum over each bin's rows of w x_a x_b' (bins, k_a, k_b): Z' W Z in level blocks."""
    out = np.empty((len(pr.left), pr.a.k, pr.b.k))
    for c in range(pr.a.k):
        wx = w * pr.a.X[:, c]
        for d in range(pr.b.k):
            out[:, c, d] = np.bincount(pr.bins, wx * pr.b.X[:, d], minlength=len(pr.left))
    return out


def _selected_inverse(L: sp.csc_matrix, d: np.ndarray, perm: np.ndarray):
    """A lookup of M^{-1}'s entries on the pattern of M's factor, M[perm][:, perm] = (I + L) D (I + L)'.

    Takahashi's recurrences from the last column back: with S_j the rows below j in L[:, j],
    Z[S_j, j] = -Z[S_j, S_j] L[S_j, j] and Z[j, j] = 1/d_j - L[S_j, j]' Z[S_j, j]; S_j is a clique
    of the factor's pattern, so Z[S_j, S_j] is known when column j is reached.
    """
    L = L.tocsc()
    L.sort_indices()
    n = len(d)
    Z = [None] * n  # column j: values at rows (j, S_j)
    rows_of = [L.indices[L.indptr[j]:L.indptr[j + 1]] for j in range(n)]

    def entry(i: np.ndarray, k: np.ndarray) -> np.ndarray:
        lo, hi = np.minimum(i, k), np.maximum(i, k)
        return np.array([Z[a][0] if a == b else Z[a][1][np.searchsorted(rows_of[a], b)]
                         for a, b in zip(lo, hi)])

    for j in range(n - 1, -1, -1):
        S, l = rows_of[j], L.data[L.indptr[j]:L.indptr[j + 1]]
        if len(S):
            ii, kk = np.meshgrid(S, S, indexing="ij")
            zS = -(entry(ii.ravel(), kk.ravel()).reshape(len(S), len(S)) @ l)
            Z[j] = (1.0 / d[j] - l @ zS, zS)
        else:
            Z[j] = (1.0 / d[j], np.zeros(0))
    where = np.empty(n, np.int64)
    where[perm] = np.arange(n)  # M's index -> the factor's

    def inverse(i: np.ndarray, k: np.ndarray) -> np.ndarray:
        return entry(where[i], where[k])
    return inverse


# The blocked factor's trailing block is dense (m x m, m = the random effects after the first term,
# plus X and y): fine for crossed designs with up to a few thousand such levels (70,000 rows, 3,000 x
# 1,100 x 30: one PIRLS iteration in ~40 ms, where qdldl's factor takes 210 ms), hopeless for
# thousands of nested levels (m = 1,801 at 4,000 rows of counts with an observation-level effect:
# 70 ms against 0.5 ms). And when the first term has a level per row, its elimination alone costs
# the blocked factor m^2 q1 (counts at 403 rows: 1.0 ms against 0.17 ms per iteration).
DENSE_TRAILING_MAX = 2000


def glmer_system(blocks: list[ReBlock], X: np.ndarray, y: np.ndarray) -> PlsSystem | SparsePls:
    """The PLS system for glmer's PIRLS: the blocked factor, or the sparse one where that is dense
    and large, or the first term has fewer than two rows per level; one term keeps the blocked factor
    (adaptive quadrature reads its per-level factors)."""

    n, first = X.shape[0], blocks[0]
    m = sum(b.q for b in blocks[1:]) + X.shape[1] + 1
    if len(blocks) > 1 and (m > DENSE_TRAILING_MAX or n < 2 * first.nlevels):
        return SparsePls(blocks, X, y)
    return PlsSystem(blocks, X, y)
