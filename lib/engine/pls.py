"""Penalized least squares for a linear mixed model, by a blocked Cholesky factor.

For given theta, lme4 (Bates et al. 2015, section 3) solves

    min_{u, beta}  || y - X beta - Z Lambda u ||^2 + || u ||^2

through the Cholesky factor of the cross-product matrix of [Z Lambda, X, y], with
the identity added to the u-block. Its pieces give everything the profiled
criteria need: log|L_Z|^2, log|R_X|^2 and the penalized residual sum of squares r^2.

The factor is computed in two blocks, as MixedModels.jl does. The first block is the
term with the most levels: its cross product is block diagonal (one k x k block per
level, since each observation belongs to one level), so its factor is a batch of
small Cholesky factors L1_j. Everything after it (the other terms, X and y: m columns)
forms a dense m x m trailing block S, updated by the first block's contribution

    S = G' (D - C W C') G + [I 0; 0 0],   W = blockdiag_j(T1 (T1' A_j T1 + I)^-1 T1'),

with C = [Z_rest X y]' Z_1, D = [Z_rest X y]'[Z_rest X y] and G the trailing Lambda,
and factored by LAPACK. Nothing n x q or q x q is ever dense.

glmer's PIRLS solves the same problem with observation weights and a working
response, new at every iteration: `PlsSystem.reweight(w, y)` rebuilds A, C and D
from sparsity patterns and bins computed once per model (`_CrossProducts`, and the
pair lists of `_SparseCoupling`), and `decompose(theta, fixed=False)` solves for u
alone with beta held in the offset.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

# The gufuncs behind np.linalg's stacked cholesky, inv and solve. Their Python wrappers'
# checks and error-state switches cost more than the arithmetic on a few small factors,
# several times per evaluation; the numbers are the same (tests/test_pls.py checks it).
# The matrices handed to them are positive definite or triangular with a positive
# diagonal by construction, so the wrappers' LinAlgError cannot arise.
from numpy.linalg import _umath_linalg as _gufuncs
from threadpoolctl import ThreadpoolController

from lib.engine.retrms import ReBlock, theta_slices

_potrf, _potri, _trtrs = la.get_lapack_funcs(("potrf", "potri", "trtrs"), (np.zeros(1),))
_ONE = np.ones(1)
_DENSE_LIMIT = 250_000  # entries of the m x q1 coupling block kept dense up to this
# ... unless the pair lists do C W C' with this many times fewer products than a dense m x m x q1
# product: a nested trailing term (each first-term level meets one of its levels) makes C mostly
# zeros. Timed per evaluation on ImmuneData's models (2026-12-06): up to a ratio of ~20 the dense
# product is faster, from ~800 on (IndID within Sex:IndID) the pair lists, by 1.4-2.9x
_SPARSE_GAIN = 100.0
_THREADPOOLS = ThreadpoolController()  # finding the BLAS libraries once, not per fit
# A trailing block this large is factored and inverted on two BLAS threads where the process may use
# two (InstEval's twin, m = 1,159, on 2 cores: potrf 18.6 -> 15.7 ms, potri 29.2 -> 15.9 ms; at
# m = 600 a second thread gains little in potri and loses in potrf)
_BIG_DENSE = 1000
_BIG_DENSE_THREADS = min([2] + [p["num_threads"] for p in _THREADPOOLS.info() if p["user_api"] == "blas"])


def _big_dense(lapack, a: np.ndarray, **options):
    """A LAPACK call on the trailing block, on two BLAS threads when it is large (see _BIG_DENSE)."""
    if len(a) < _BIG_DENSE or _BIG_DENSE_THREADS < 2:
        return lapack(a, **options)
    with _THREADPOOLS.limit(limits=_BIG_DENSE_THREADS, user_api="blas"):
        return lapack(a, **options)


def one_blas_thread():
    """A context in which BLAS runs on one thread, as lmer's and glmer's fits do.

    Small dense factorizations run faster on one thread, a classroom server runs many
    fits at once, and on a big model BLAS threads left spinning between calls slow the
    single-threaded numpy work around them (a 70,000-row glmer: 1.5x per evaluation).
    """
    return _THREADPOOLS.limit(limits=1, user_api="blas")


@dataclass
class Factorization:
    """The blocked factor at one theta (and one set of weights), the criterion's pieces, the solution."""

    theta: np.ndarray
    L1: np.ndarray  # (levels, k1, k1) Cholesky factors of the first block
    L1inv: np.ndarray  # their inverses
    B: np.ndarray  # (levels, k1, k1): T1 L1_j^{-T}, the first block's part of the coupling
    L2: np.ndarray  # lower Cholesky factor of the trailing block (X's rows: identity if not `fixed`)
    ldL2: float  # log-determinant of L_Z L_Z'
    ldRX2: float  # log-determinant of R_X' R_X (nan when not `fixed`)
    coupling: "_DenseCoupling | _SparseCoupling"  # the cross products the factor was made from
    schur: np.ndarray  # D - C W C', the trailing block before Lambda's congruence (for the gradient)
    fixed: bool = True  # False: beta held fixed (in the offset), the factor is over u only
    pwrss: float = np.nan  # penalized (weighted) residual sum of squares r^2
    beta: np.ndarray | None = None
    u: np.ndarray | None = None  # spherical random effects, first block's levels first
    resid: np.ndarray | None = None  # y - X beta - Z Lambda u (lmer's factor only)


class _DenseCoupling:
    """C kept dense, level-major (levels, m, k1): batched matmuls for small models."""

    def __init__(self, C: sp.csc_matrix | np.ndarray, m: int, n1: int, k1: int,
                 at: np.ndarray | None = None):
        """From C, or from the values of its stored entries and where they go (`at`)."""
        self.m, self.n1, self.k1 = m, n1, k1
        if at is None:  # where each stored entry of C goes in the level-major array
            col = np.repeat(np.arange(C.shape[1]), np.diff(C.indptr))
            at, C = ((col // k1) * m + C.indices) * k1 + col % k1, C.data
        self.at = at
        self.C = np.zeros((n1, m, k1))
        self.C.ravel()[at] = C
        self._last: tuple[np.ndarray | None, np.ndarray | None] = (None, None)

    def reweighted(self, data: np.ndarray) -> "_DenseCoupling":
        """The same strategy for new values of C's stored entries."""
        return _DenseCoupling(data, self.m, self.n1, self.k1, self.at)

    def matrix(self, B: np.ndarray) -> np.ndarray:
        """C Bsp as a dense m x q1 matrix (kept for the B of the latest factor)."""
        last = self._last  # one read: another thread may replace it meanwhile
        if last[0] is not B:
            if self.k1 == 1:  # a column scaling: no stack of 1 x 1 products
                CB = self.C.reshape(self.n1, self.m).T * B.reshape(-1)
            else:
                CB = (self.C @ B).transpose(1, 0, 2).reshape(self.m, -1)
            last = (B, CB)
            self._last = last
        return last[1]

    def gram(self, B: np.ndarray) -> np.ndarray:
        CB = self.matrix(B)
        return CB @ CB.T

    def t_times(self, B: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(C Bsp)' v."""
        return self.matrix(B).T @ v

    def times(self, v: np.ndarray) -> np.ndarray:
        """C v for a vector v over the first term's random effects."""
        return np.einsum("jmk,jk->m", self.C, v.reshape(self.n1, self.k1))

    def level_forms(self, K: np.ndarray) -> np.ndarray:
        """C_j' K C_j for every level j of the first term (levels, k1, k1), K symmetric m x m:
        K times C's levels laid side by side (one gemm), then a column of sums per level."""
        C = self.C.transpose(1, 0, 2)  # (m, levels, k1)
        KC = (K @ C.reshape(self.m, -1)).reshape(C.shape)
        return np.einsum("ajc,ajd->jcd", C, KC)


class _PairLists:
    """Which entries of C multiply which in C W C', and where each product lands.

    The symbolic analysis of _SparseCoupling, from C's sparsity pattern alone: level j
    of the first term touches the pairs of rows of C nonzero in its k1 columns. Built
    once; new weights change C's values, never its pattern. The products are kept
    sorted by the entry of C W C' they land in, so that C W C' is one sparse
    matrix-vector product: P @ vec(W), P[target, (j, c, d)] = the product for that pair.
    """

    def __init__(self, C: sp.csc_matrix, m: int, n1: int, k1: int, rows: np.ndarray | None = None):
        """Pairs of C's entries in `rows` (a mask over C's rows; None: all)."""
        self.m = m
        # the rows each level meets ("slots", sorted by level, then row) and where each of the
        # level's k1 columns holds its entry in C.data (C.nnz: a structural zero, see `products`)
        col = np.repeat(np.arange(C.shape[1]), np.diff(C.indptr))
        kept = np.arange(C.nnz) if rows is None else np.flatnonzero(rows[C.indices])
        col = col[kept]
        keys, slot_of = np.unique((col // k1) * m + C.indices[kept], return_inverse=True)
        level, row = keys // m, keys % m
        at = np.full((len(keys), k1), C.nnz)
        at[slot_of, col % k1] = kept
        # every pair of slots a <= b of one level, level by level
        count = np.searchsorted(level, level, side="right") - np.arange(len(keys))  # slots b >= a
        a = np.repeat(np.arange(len(keys)), count)
        b = a + np.arange(len(a)) - np.repeat(np.cumsum(count) - count, count)
        # one product per pair and entry (c, d) of W_j, landing on entry (row a, row b) of C W C'
        cds = [(cd // k1, cd % k1) for cd in range(k1 * k1)]
        target = row[a] * m + row[b]
        ia = np.concatenate([at[a, c] for c, _ in cds]) if k1 > 1 else at[a, 0]
        ib = np.concatenate([at[b, d] for _, d in cds]) if k1 > 1 else at[b, 0]
        windex = np.concatenate([level[a] * k1 * k1 + cd for cd in range(k1 * k1)]) if k1 > 1 else level[a]
        del a, b
        seen = np.zeros(m * m, bool)  # the entries met, by a dense mark (a sort of 10^6 costs more)
        seen[target] = True
        self.entries = np.flatnonzero(seen)
        target = np.tile((np.cumsum(seen) - 1)[target], k1 * k1)
        del seen
        # P[target, (j, c, d)] = the product, its rows in the order of C W C''s entries (within
        # an entry any order: it only orders a sum)
        order = np.argsort(target)
        index = np.int32 if len(order) < 2 ** 31 else np.int64  # scipy's own choice: no conversion
        self.ia, self.ib, self.windex = ia[order], ib[order], windex[order].astype(index)
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(target, minlength=len(self.entries)))]).astype(index)
        self.shape = (len(self.entries), n1 * k1 * k1)
        self.mirrored = (self.entries % m) * m + self.entries // m
        self.upper_row, self.upper_col = self.entries // m, self.entries % m  # (row <= col)
        # a pair of distinct rows stands for both orders in a full quadratic form
        self.twice = np.where(self.entries == self.mirrored, 1.0, 2.0)

    def products(self, data: np.ndarray) -> np.ndarray:
        """The products of C's entries that the pairs multiply (data with a 0 appended)."""
        full = np.append(data, 0.0)
        out = full[self.ia]
        out *= full[self.ib]
        return out


# A row of C (a trailing random effect, X's or y's column) met by at least this share of the first
# term's levels is "dense": where C's values change with every PIRLS iteration (glmer), C W C''s
# entries in its row and column come from one sparse-times-dense product, and pair lists only join
# the other rows, since their products are made anew each time (crossed70k's binomial: 2.8M pairs
# in all, 0.83M between sparse rows: 12 -> 4 ms; X, y and a 30-level factor make the rest). Where C
# is made once (lmer), all pairs' products are made once too and the split would not pay.
_DENSE_ROW_FILL = 0.125


@dataclass(frozen=True)
class _DenseRows:
    """C's rows that most levels meet, where their entries sit in C.data and in the (rows x q1) block
    Cd of C they make; the pair lists among the other rows."""

    rows: np.ndarray
    pos: np.ndarray
    at: np.ndarray
    sparse: _PairLists

    def block(self, data: np.ndarray, q1: int) -> np.ndarray:
        Cd = np.zeros((len(self.rows), q1))
        Cd.ravel()[self.at] = data[self.pos]
        return Cd


class _RowSplit:
    """The symbolic analysis of C's pattern: pair lists over all rows, or C's rows split into sparse
    ones and dense ones (_DenseRows); each made when first asked."""

    def __init__(self, C: sp.csc_matrix, m: int, n1: int, k1: int):
        self.C_pattern, self.m, self.n1, self.k1 = C, m, n1, k1
        self._all: _PairLists | None = None
        self._split: _DenseRows | None = None

    @property
    def all(self) -> _PairLists:
        if self._all is None:
            self._all = _PairLists(self.C_pattern, self.m, self.n1, self.k1)
        return self._all

    @property
    def split(self) -> _DenseRows:
        if self._split is None:
            C = self.C_pattern
            dense = np.bincount(C.indices, minlength=self.m) / C.shape[1] >= _DENSE_ROW_FILL
            pos = np.flatnonzero(dense[C.indices])
            col = np.repeat(np.arange(C.shape[1]), np.diff(C.indptr))[pos]
            at = (np.cumsum(dense) - 1)[C.indices[pos]] * C.shape[1] + col
            self._split = _DenseRows(np.flatnonzero(dense), pos, at,
                                     _PairLists(C, self.m, self.n1, self.k1, ~dense))
        return self._split


class _SparseCoupling:
    """C sparse; C W C' by products precomputed once per pair of rows sharing a level.

    The pair lists are the symbolic analysis reused across theta and across weights:
    which entries of the trailing block each level touches never changes, only the
    weights W_j (per theta) and the values of C (per set of observation weights) do.
    Reweighted, rows of C that most levels meet take a sparse-times-dense product instead
    (_DENSE_ROW_FILL).
    """

    def __init__(self, C: sp.csc_matrix, m: int, n1: int, k1: int, lists: _RowSplit | None = None,
                 by_rows: bool = False):
        self.C, self.m, self.n1, self.k1 = C, m, n1, k1
        self.lists = lists or _RowSplit(C, m, n1, k1)
        self.by_rows = by_rows
        self.P = self._products(self.lists.split.sparse if by_rows else self.lists.all)
        self._P_all = None if by_rows else self.P

    def _products(self, pr: _PairLists) -> sp.csr_matrix:
        return sp.csr_matrix((pr.products(self.C.data), pr.windex, pr.indptr), shape=pr.shape)

    def reweighted(self, data: np.ndarray) -> "_SparseCoupling":
        """The same symbolic analysis for new values of C's stored entries."""
        C = sp.csc_matrix((data, self.C.indices, self.C.indptr), shape=self.C.shape)
        return _SparseCoupling(C, self.m, self.n1, self.k1, self.lists, by_rows=True)

    def gram(self, B: np.ndarray) -> np.ndarray:
        W = B @ B.transpose(0, 2, 1)
        values = self.P @ W.ravel()
        pr = self.lists.split.sparse if self.by_rows else self.lists.all
        out = np.zeros(self.m * self.m)
        out[pr.entries] = values
        out[pr.mirrored] = values
        out = out.reshape(self.m, self.m)
        if self.by_rows:
            self._dense_rows_of_gram(W, out)
        return out

    def _dense_rows_of_gram(self, W: np.ndarray, out: np.ndarray) -> None:
        """C W C''s rows and columns of the dense rows: C W Cd' for their block Cd of C."""
        d = self.lists.split
        if not len(d.rows):
            return
        Cd = d.block(self.C.data, self.n1 * self.k1)
        if self.k1 == 1:
            CdW = Cd * W[:, 0, 0]
        else:
            CdW = np.einsum("rja,jab->rjb", Cd.reshape(len(d.rows), self.n1, self.k1), W).reshape(Cd.shape)
        Gd = self.C @ CdW.T
        out[:, d.rows] = Gd
        out[d.rows, :] = Gd.T

    def matrix(self, B: np.ndarray) -> np.ndarray:
        n1 = B.shape[0]
        Bsp = sp.bsr_matrix((B, np.arange(n1), np.arange(n1 + 1)), shape=(n1 * self.k1,) * 2)
        return (self.C @ Bsp).toarray()

    def t_times(self, B: np.ndarray, v: np.ndarray) -> np.ndarray:
        w = (self.C.T @ v).reshape(-1, self.k1)
        return np.einsum("jkl,jk->jl", B, w).ravel()

    def times(self, v: np.ndarray) -> np.ndarray:
        """C v for a vector v over the first term's random effects."""
        return self.C @ v

    def level_forms(self, K: np.ndarray) -> np.ndarray:
        """C_j' K C_j for every level j of the first term (levels, k1, k1), K symmetric m x m:
        the pair lists over all rows read backwards (P' where gram uses P)."""
        return self._forms(K.ravel()[self.lists.all.entries])

    def level_forms_lower(self, Kl: np.ndarray, g: np.ndarray) -> np.ndarray:
        """level_forms(diag(g) K diag(g)) from K's lower triangle Kl, with no m x m temporary."""
        pr = self.lists.all
        # Kl.T[r, c] = Kl[c, r], the lower triangle; Kl.T is contiguous for potri's Fortran-ordered
        # Kl, so this reads it without copying m x m
        return self._forms(Kl.T.ravel()[pr.entries] * g[pr.upper_row] * g[pr.upper_col])

    def _forms(self, values: np.ndarray) -> np.ndarray:
        if self._P_all is None:
            self._P_all = self._products(self.lists.all)
        half = (self._P_all.T @ (values * self.lists.all.twice)).reshape(self.n1, self.k1, self.k1)
        return (half + half.transpose(0, 2, 1)) / 2


@dataclass(frozen=True)
class _Slot:
    """A column of a term's model matrix as it sits in Z: Z[i, start + stride * codes[i]] = x[i]."""

    codes: np.ndarray
    nlevels: int
    start: int
    stride: int
    x: np.ndarray


def _slots(blocks: list[ReBlock]) -> list[_Slot]:
    """The slots of consecutive terms' Z."""
    out, at = [], 0
    for b in blocks:
        out += [_Slot(b.factor.codes, b.nlevels, at + a, b.k, b.X[:, a]) for a in range(b.k)]
        at += b.q
    return out


@dataclass(frozen=True)
class _SlotPair:
    """Where sum_i w_i x_s[i] x_t[i], binned by `bins`, lands: entries (rows, cols) of a product."""

    s: _Slot
    t: _Slot
    bins: np.ndarray
    rows: np.ndarray
    cols: np.ndarray

    def sums(self, w: np.ndarray | None) -> np.ndarray:
        xs = self.s.x if w is None else self.s.x * w
        return np.bincount(self.bins, xs * self.t.x, minlength=len(self.rows))


def _slot_pair(s: _Slot, t: _Slot) -> _SlotPair:
    """The symbolic product of two slots: one term, block diagonal; two, the levels that meet."""
    if s.codes is t.codes:
        levels = np.arange(s.nlevels)
        return _SlotPair(s, t, s.codes, s.start + s.stride * levels, t.start + t.stride * levels)
    met, bins = np.unique(s.codes * t.nlevels + t.codes, return_inverse=True)
    return _SlotPair(s, t, bins, s.start + s.stride * (met // t.nlevels),
                     t.start + t.stride * (met % t.nlevels))


class _CrossProducts:
    """A11, C = W' diag(w) Z1 and D = W' diag(w) W for W = [Z_rest X y], for any weights w.

    Built once per model: the products between random-effects columns are sums over
    the levels that meet (precomputed bins, `_SlotPair`), and C's sparsity pattern is
    fixed. Everything that touches X or y is a sparse-times-dense product, but for
    D's dense [X y] block: see `_dense_columns`.
    """

    def __init__(self, blocks: list[ReBlock], X: np.ndarray):
        first, rest = blocks[0], blocks[1:]
        self.first, self.X = first, X
        self.q1, self.q_rest = first.q, sum(b.q for b in rest)
        self.m = self.q_rest + X.shape[1] + 1
        self.Z1t = first.Z().T.tocsr()  # transposes kept: a product with them is a pass over rows
        self.Zrt = sp.hstack([b.Z() for b in rest], format="csc").T.tocsr() if rest else None
        rest_slots = _slots(rest)
        self.d_pairs = [_slot_pair(s, t) for i, s in enumerate(rest_slots) for t in rest_slots[i:]]
        self.c_pairs = [_slot_pair(s, t) for s in rest_slots for t in _slots([first])]
        self._c_layout()

    def _c_layout(self) -> None:
        """C's csc pattern: the random-effects rows meeting each level, then X's and y's rows in full."""
        nf = self.m - self.q_rest
        rows = [p.rows for p in self.c_pairs] + [np.repeat(self.q_rest + np.arange(nf), self.q1)]
        cols = [p.cols for p in self.c_pairs] + [np.tile(np.arange(self.q1), nf)]
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        self.c_order = np.lexsort((rows, cols))
        self.c_indices = rows[self.c_order]
        self.c_indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=self.q1))])

    def a11(self, w: np.ndarray | None) -> np.ndarray:
        """sum over each level's rows of w x x' for the first term: (levels, k1, k1)."""
        return _per_level_crossprod(self.first, w)

    def c_and_d(self, w: np.ndarray | None, y: np.ndarray,
                fixed: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """C's values (in the order of its fixed pattern) and D (dense m x m) for weights w and y.

        fixed=False leaves X's rows of C and D at zero: the problem in u alone needs none.
        """
        F = np.column_stack([self.X, y]) if fixed else y[:, None]
        WF = F if w is None else F * w[:, None]
        q, m, nf = self.q_rest, self.m, F.shape[1]
        D = np.zeros((m, m))
        D[:q, m - nf:], D[m - nf:, m - nf:] = self._dense_columns(F, WF, w is None)
        D[m - nf:, :q] = D[:q, m - nf:].T
        for p in self.d_pairs:
            v = p.sums(w)
            D[p.rows, p.cols] = v
            D[p.cols, p.rows] = v
        unused = np.zeros((m - q - nf) * self.q1)
        data = [p.sums(w) for p in self.c_pairs] + [unused, (self.Z1t @ WF).T.ravel()]
        data = np.concatenate(data)
        return data[self.c_order], D

    def c_matrix(self, data: np.ndarray) -> sp.csc_matrix:
        """C from its values in the order of its pattern."""
        return sp.csc_matrix((data, self.c_indices, self.c_indptr), shape=(self.m, self.q1))

    def _dense_columns(self, F: np.ndarray, WF: np.ndarray,
                       unweighted: bool) -> tuple[np.ndarray, np.ndarray]:
        """D's columns for F = [X y] (or y alone): Z_rest' diag(w) F and F' diag(w) F."""
        if unweighted:
            # lmer's sums, row by row through a sparse product: the order the last bits of
            # its criterion (and so the parity suite's BOBYQA path) have always had
            return self._zrt_times(F), _csc_of_dense(F).T @ F
        # glmer's: F' W F by BLAS, whose blocked sums lose less than a row-by-row sum over
        # n terms of very different sizes; that keeps glmer on lme4's path (LowBinary's
        # Nelder-Mead count of evaluations)
        return self._zrt_times(WF), WF.T @ F

    def zt_times(self, v: np.ndarray) -> np.ndarray:
        """Z' v for a vector v: the first term's columns, then the rest's."""
        return np.concatenate([self.Z1t @ v, self._zrt_times(v[:, None])[:, 0]])

    def _zrt_times(self, F: np.ndarray) -> np.ndarray:
        return self.Zrt @ F if self.Zrt is not None else np.zeros((0, F.shape[1]))


class RandomEffectsMap:
    """Lambda(theta) and Z term by term, without forming either: what both PLS systems share."""

    def __init__(self, blocks: list[ReBlock], X: np.ndarray):
        self.blocks, self.X = blocks, X
        self.slices = theta_slices(blocks)
        self.n, self.p = X.shape
        self.q = sum(b.q for b in blocks)
        self._T_at: tuple[bytes, list[np.ndarray]] = (b"", [])
        self.zparts = [(np.ascontiguousarray(b.X.T), b.factor.codes, b.k, b.q) for b in blocks]

    def Ts(self, theta: np.ndarray) -> list[np.ndarray]:
        """Each term's T at theta (kept for the latest theta: an evaluation asks several times)."""
        key, at = theta.tobytes(), self._T_at  # one read: another thread may replace it meanwhile
        if at[0] != key:
            at = (key, [b.T(theta[s]) for b, s in zip(self.blocks, self.slices)])
            self._T_at = at
        return at[1]

    def z_times(self, b: np.ndarray) -> np.ndarray:
        """Z b, term by term, without forming Z."""
        out, at = np.zeros(self.n), 0
        for (Xt, codes, k, q) in self.zparts:
            out += term_times(Xt, codes, b[at:at + q].reshape(-1, k))
            at += q
        return out

    def z_lambda_times(self, theta: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Z Lambda(theta) u: z_times(lambda_times(theta, u)) without joining b's pieces."""
        out = np.zeros(self.n)
        for (Xt, codes, _, _), b in zip(self.zparts, self._lambda_pieces(theta, u)):
            out += term_times(Xt, codes, b)
        return out

    def lambda_times(self, theta: np.ndarray, u: np.ndarray) -> np.ndarray:
        """b = Lambda(theta) u."""
        return np.concatenate([b.ravel() for b in self._lambda_pieces(theta, u)])

    def _lambda_pieces(self, theta: np.ndarray, u: np.ndarray):
        """Lambda(theta) u term by term, each as (levels, k)."""
        at = 0
        for b, T in zip(self.blocks, self.Ts(np.asarray(theta, float))):
            yield u[at:at + b.q].reshape(b.nlevels, b.k) @ T.T
            at += b.q


class PlsSystem(RandomEffectsMap):
    """Cross products of [Z, X, y] prepared once; `factor(theta)` per evaluation.

    `reweight(w, y)` replaces them by the weighted cross products for observation
    weights w and a new response (glmer's PIRLS: working weights and working response),
    reusing every symbolic structure; lmer never calls it.
    """

    def __init__(self, blocks: list[ReBlock], X: np.ndarray, y: np.ndarray):
        super().__init__(blocks, X)
        first = blocks[0]
        self.k1, self.n1 = first.k, first.nlevels
        self.q_rest = self.q - first.q
        self.products = _CrossProducts(blocks, X)
        self.m = self.products.m
        self.dense = self.m * first.q <= _DENSE_LIMIT and not self._pair_lists_pay()
        starts = np.cumsum([0] + [b.q for b in blocks[1:]])
        self._rest = list(zip(starts, blocks[1:]))
        self._udiag = (np.arange(self.q_rest),) * 2
        self._xs = slice(self.q_rest, self.q_rest + self.p)  # X's rows of the trailing block
        self.coupling: _DenseCoupling | _SparseCoupling | None = None
        self.reweight(None, y)

    def reweight(self, w: np.ndarray | None, y: np.ndarray, fixed: bool = True) -> None:
        """Cross products for observation weights w (None: unweighted) and response y.

        fixed=False: only those the problem in u alone needs (PIRLS with beta in the
        offset), which is most of glmer's work; `decompose` then takes fixed=False too.
        """
        self.w, self.y, self.fixed = w, y, fixed
        self.A11 = self.products.a11(w)
        data, self.D = self.products.c_and_d(w, y, fixed)
        if self.coupling is not None:
            self.coupling = self.coupling.reweighted(data)
        else:
            kind = _DenseCoupling if self.dense else _SparseCoupling
            self.coupling = kind(self.products.c_matrix(data), self.m, self.n1, self.k1)

    def _pair_lists_pay(self) -> bool:
        """Whether C W C' by pair lists takes _SPARSE_GAIN times fewer products than dense BLAS.

        Each of a level's k1 columns of C holds the same rows (the levels it meets, X's and y's), so
        the level's slots are its first column's count, and its pairs of slots times k1^2 the products."""
        slots = np.diff(self.products.c_indptr)[::self.k1]
        pairs = float(slots @ (slots + 1)) / 2 * self.k1 ** 2
        return self.m ** 2 * self.n1 * self.k1 > _SPARSE_GAIN * pairs

    # -- the trailing G = blockdiag(I (x) T_b ..., I)
    def _rest_T(self, theta: np.ndarray):
        return [(at, b, T) for (at, b), T in zip(self._rest, self.Ts(theta)[1:])]

    def _g_vector(self, theta: np.ndarray) -> np.ndarray | None:
        """G's diagonal when every trailing term is scalar, else None."""
        if any(b.k > 1 for b in self.blocks[1:]):
            return None
        parts = [np.full(b.q, T[0, 0]) for _, b, T in self._rest_T(theta)]
        return np.concatenate(parts + [np.ones(self.p + 1)])

    def g_transpose_times(self, theta: np.ndarray, A: np.ndarray, transpose: bool = True) -> np.ndarray:
        """G' A (G A when not `transpose`), level block by level block."""
        A, spec = A.copy(), "lk,jl...->jk..." if transpose else "kl,jl...->jk..."
        for at, b, T in self._rest_T(theta):
            rows = A[at:at + b.q].reshape(b.nlevels, b.k, -1)
            A[at:at + b.q] = np.einsum(spec, T, rows).reshape(b.q, -1)
        return A

    def g_times(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """G v for a vector v."""
        if not self.q_rest:  # G = I
            return v
        v = v.copy()
        for at, b, T in self._rest_T(theta):
            v[at:at + b.q] = (v[at:at + b.q].reshape(b.nlevels, b.k) @ T.T).ravel()
        return v

    def _congruence(self, theta: np.ndarray, S: np.ndarray) -> np.ndarray:
        """G' S G for symmetric S, as a new array."""
        if not self.q_rest:  # G = I
            return S.copy()
        g = self._g_vector(theta)
        if g is not None:
            out = S * g[:, None]
            out *= g
            return out
        return self.g_transpose_times(theta, self.g_transpose_times(theta, S).T)

    # -- per-theta work --------------------------------------------------
    def factor(self, theta: np.ndarray) -> Factorization:
        """The blocked Cholesky factor at theta, with beta, u and r^2 (lmer's evaluation)."""
        f = self.decompose(theta)
        # lme4 takes r^2 from the solution, not from L2[-1, -1]^2: the direct sum of squares
        # loses less to cancellation
        f.resid = self.y - self.X @ f.beta - self.z_lambda_times(f.theta, f.u)
        rss = f.resid @ f.resid if self.w is None else (self.w * f.resid) @ f.resid
        f.pwrss = float(rss + f.u @ f.u)
        return f

    def gradient(self, f: Factorization, reml: bool) -> np.ndarray:
        """The exact gradient of `profiled_deviance` over theta at f (a factor from `factor`).

        With V the inverse of the penalized cross product of [Z Lambda, X] (REML) or of Z Lambda
        alone (ML), rho the residual and Lambda_i = dLambda/dtheta_i,

            d/dtheta_i = 2 tr(V [Z Lambda, X]' Z Lambda_i) - 2 nu rho' Z Lambda_i u / r^2,

        nu = n - p (REML) or n. The trace needs V only in its diagonal blocks and where the
        first term meets the rest; the blocked factor gives those (Takahashi's selected
        inverse, in blocks) from K, the inverse of the trailing block.
        """
        mt = self.q_rest + (self.p if reml else 0)
        Kl = _leading_inverse(f.L2, mt)
        traces = [self._first_traces(f, Kl)] + self._rest_traces(f, Kl, mt)
        nu = self.n - self.p if reml else self.n
        zrho = self.products.zt_times(f.resid)
        out, at = [], 0
        for b, R in zip(self.blocks, traces):
            rows, cols = b.tril_index()
            u, zr = f.u[at:at + b.q].reshape(b.nlevels, b.k), zrho[at:at + b.q].reshape(b.nlevels, b.k)
            out.append(2 * R.sum(axis=0)[cols, rows] - 2 * nu * (zr.T @ u)[rows, cols] / f.pwrss)
            at += b.q
        return np.concatenate(out)

    def _first_traces(self, f: Factorization, Kl: np.ndarray) -> np.ndarray:
        """[V [Z Lambda, X]' Z]_jj for the first term's levels j (levels, k1, k1).

        V's diagonal block there is M_j^-1 + H_j' E_j H_j and its block against the rest
        -K G' C_j H_j, with M_j = T1' A_j T1 + I, H_j = T1 M_j^-1, E_j = C_j' G K G' C_j.
        """
        g = self._g_vector(f.theta)
        if g is not None and isinstance(f.coupling, _SparseCoupling):
            E = f.coupling.level_forms_lower(Kl, g)  # K's lower triangle read in place
        else:
            K = Kl + np.tril(Kl, -1).T
            E = f.coupling.level_forms(K * np.outer(g, g) if g is not None else
                                       self.g_transpose_times(f.theta, self.g_transpose_times(f.theta, K, False).T,
                                                              False))  # G K G'
        Minv = f.L1inv.transpose(0, 2, 1) @ f.L1inv
        H = f.B @ f.L1inv
        HtE = H.transpose(0, 2, 1) @ E
        return (Minv + HtE @ H) @ _each_times(self.Ts(f.theta)[0].T, self.A11) - HtE

    def _rest_traces(self, f: Factorization, Kl: np.ndarray, mt: int) -> list[np.ndarray]:
        """[V [Z Lambda, X]' Z]_jj for the other terms' levels: the diagonal blocks of
        K G' (D - C W C'), one (levels, k, k) array per term."""
        if not self.q_rest:
            return []
        q, g = self.q_rest, self._g_vector(f.theta)
        if g is not None:  # scalar terms: sum_a K[i, a] g_a schur[a, i], from K's lower triangle
            P = Kl[:mt, :mt] * f.schur[:mt, :mt]
            R = P @ g[:mt] + P.T @ g[:mt] - P.diagonal() * g[:mt]
            return [R[at:at + b.q].reshape(-1, 1, 1) for at, b in self._rest]
        K = Kl + np.tril(Kl, -1).T
        F = self.g_transpose_times(f.theta, f.schur[:mt, :q])
        return [np.einsum("jca,ajr->jcr", K[at:at + b.q, :mt].reshape(b.nlevels, b.k, mt),
                          F[:, at:at + b.q].reshape(mt, b.nlevels, b.k)) for at, b in self._rest]

    def decompose(self, theta: np.ndarray, fixed: bool = True) -> Factorization:
        """The blocked factor at theta and its solution (beta and u, or u alone with beta fixed)."""
        if fixed and not self.fixed:
            raise ValueError("the cross products were made for u alone: reweight with fixed=True")
        theta = np.asarray(theta, float)
        L1, L1inv, B = _first_block(self.Ts(theta)[0], self.A11)
        gram = self.coupling.gram(B)
        schur = np.subtract(self.D, gram, out=gram)
        S = self._congruence(theta, schur)
        if self.q_rest:
            S[self._udiag] += 1.0
        if not fixed:
            # beta in the offset: with X's rows and columns those of the identity, the factor
            # of the rest is that of the problem in u alone, and X's part of the solution 0
            S[self._xs] = 0.0
            S[:, self._xs] = 0.0
            S[self._xs, self._xs] = np.eye(self.p)
        L2, info = _big_dense(_potrf, S, lower=1, clean=1, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError("the trailing block is not positive definite")
        d1 = np.log(L1.diagonal(axis1=1, axis2=2))
        d2 = np.log(L2.diagonal())
        q, p = self.q_rest, self.p
        ldRX2 = 2 * d2[q:q + p].sum() if fixed else np.nan
        f = Factorization(theta.copy(), L1, L1inv, B, L2, 2 * (d1.sum() + d2[:q].sum()), ldRX2,
                          self.coupling, schur, fixed)
        f.beta, f.u = self.solve(f)
        return f

    def solve(self, f: Factorization) -> tuple[np.ndarray, np.ndarray]:
        """beta and u by back substitution: L' [u; beta] = the factor's last row."""
        x2 = _back(f.L2, f.L2[-1, :-1])
        last = np.concatenate((-x2, _ONE))
        # first block: L1' u1 = l1 - L21a' x2 = (G' C B)' [-x2; 1]
        r1 = f.coupling.t_times(f.B, self.g_times(f.theta, last))
        if self.k1 == 1:  # the same numbers as LAPACK's 1 x 1 solves
            u1 = r1 / f.L1[:, 0, 0]
        else:  # L1' u1 = r1 by L1's inverse: a column of sums per level
            u1 = np.einsum("jak,ja->jk", f.L1inv, r1.reshape(self.n1, self.k1))
        beta = x2[self.q_rest:] if f.fixed else x2[:0]
        return beta, np.concatenate([u1.ravel(), x2[:self.q_rest]])

    def residual_for(self, f: Factorization, w: np.ndarray) -> np.ndarray:
        """The PLS residual w - X beta_w - Z Lambda u_w for another response w on f's factor
        (lmer's: unweighted, over u and beta): forward and back substitution through the blocks."""
        theta, n1, k1, q = f.theta, self.n1, self.k1, self.q_rest
        q1, zw = n1 * k1, self.products.zt_times(w)
        c1 = np.einsum("jab,jb->ja", f.L1inv, zw[:q1].reshape(n1, k1) @ self.Ts(theta)[0])
        r2 = self.g_transpose_times(theta, np.concatenate([zw[q1:], self.X.T @ w, [0.0]])[:, None])[:, 0]
        l21c1 = self.g_transpose_times(theta, f.coupling.times(np.einsum("jab,jb->ja", f.B, c1).ravel())[:, None])
        x2 = _back(f.L2, _forward(f.L2, r2[:-1] - l21c1[:-1, 0]))
        back = c1.ravel() - f.coupling.t_times(f.B, self.g_times(theta, np.append(x2, 0.0)))
        u1 = np.einsum("jak,ja->jk", f.L1inv, back.reshape(n1, k1))
        u = np.concatenate([u1.ravel(), x2[:q]])
        return w - self.X @ x2[q:] - self.z_lambda_times(theta, u)

    def unsc(self, f: Factorization) -> np.ndarray:
        """(R_X' R_X)^{-1}, lme4's pp$unsc(), from a factor over u and beta."""
        q, p = self.q_rest, self.p
        return la.cho_solve((f.L2[q:q + p, q:q + p], True), np.eye(p))

    def condvar(self, f: Factorization) -> list[np.ndarray]:
        """Lambda (L L')^{-1} Lambda' per term, (levels, k, k) each: lme4's condVar / sigma^2."""
        q = self.q_rest
        return conditional_covariances(self.blocks, f.theta, f.L1, self.coupling_block(f)[:q],
                                       f.L2[:q, :q])

    def coupling_block(self, f: Factorization) -> np.ndarray:
        """The factor's dense m x q1 block below the first block (for conditional variances)."""
        return self.g_transpose_times(f.theta, f.coupling.matrix(f.B))


def _leading_inverse(L2: np.ndarray, mt: int) -> np.ndarray:
    """The lower triangle of (L L')^-1 for L = L2[:mt, :mt], in an array shaped as L2 (zero outside):
    LAPACK's potri on a copy of L2 whose rows from mt on are the identity's (a slice would be
    copied anyway, and this way the result needs no array of its own)."""
    Kl = L2.copy(order="F")
    Kl[mt:] = 0.0
    rest = np.arange(mt, len(L2))
    Kl[rest, rest] = 1.0
    if mt:
        Kl, _ = _big_dense(_potri, Kl, lower=1, overwrite_c=1)
    Kl[rest, rest] = 0.0
    return Kl


# The factor's leading block is L2[:-1, :-1] (L2's last row and column are y's): solved through
# the whole L2 with a 0 appended, as LAPACK reads a slice only after copying it (2 ms at m = 1,000).
def _forward(L2: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L2[:-1, :-1]^-1 b."""
    return _trtrs(L2, np.append(b, 0.0), lower=1)[0][:-1] if len(b) else b


def _back(L2: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L2[:-1, :-1]'^-1 b."""
    return _trtrs(L2, np.append(b, 0.0), lower=1, trans=1)[0][:-1] if len(b) else b


def term_times(Xt: np.ndarray, codes: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One term's Z b for its effects b (levels, k), given X' (k, n) and the level codes."""
    # column by column: one 1-d gather each (np.take, faster than fancy indexing), summed
    # in the order of a row-wise dot product
    out = Xt[0] * np.take(b[:, 0], codes)
    for a in range(1, len(Xt)):
        out += Xt[a] * np.take(b[:, a], codes)
    return out


def _csc_of_dense(F: np.ndarray) -> sp.csc_matrix:
    """sp.csc_matrix(F) (its nonzeros, column by column), without scipy's slow dense conversion."""
    cols, rows = np.nonzero(F.T)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=F.shape[1]))])
    return sp.csc_matrix((F.T[cols, rows], rows, indptr), shape=F.shape)


@lru_cache(maxsize=None)
def _eye(k: int) -> np.ndarray:
    return np.eye(k)


def _first_block(T1: np.ndarray, A11: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """L1_j = chol(T1' A_j T1 + I), its inverse and B_j = T1 L1_j^{-T}, level by level."""
    if len(T1) == 1:  # a scalar term: elementwise, the same numbers as the batched LAPACK calls
        t = T1[0, 0]
        l1 = np.sqrt((t * A11[:, 0, 0]) * t + 1.0)
        inv = (1.0 / l1).reshape(-1, 1, 1)
        return l1.reshape(-1, 1, 1), inv, t * inv
    M = _times_each(_each_times(T1.T, A11), T1) + _eye(len(T1))
    if len(T1) == 2:  # (1 + x | g): the 2 x 2 factor and its inverse in closed form, level by level
        L1, inv = _cholesky_and_inverse_2x2(M)
    else:
        L1 = _gufuncs.cholesky_lo(M, signature="d->d")
        inv = _gufuncs.inv(L1, signature="d->d")
    return L1, inv, _each_times(T1, inv.transpose(0, 2, 1))


def _cholesky_and_inverse_2x2(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """chol(M_j) and its inverse for a stack of 2 x 2 positive definite M_j, elementwise (a few
    operations on the levels' arrays instead of two LAPACK calls per level)."""
    l00 = np.sqrt(M[:, 0, 0])
    l10 = M[:, 1, 0] / l00
    l11 = np.sqrt(M[:, 1, 1] - l10 * l10)
    L, inv = np.zeros_like(M), np.zeros_like(M)
    L[:, 0, 0], L[:, 1, 0], L[:, 1, 1] = l00, l10, l11
    inv[:, 0, 0], inv[:, 1, 1] = 1.0 / l00, 1.0 / l11
    inv[:, 1, 0] = -l10 * inv[:, 0, 0] * inv[:, 1, 1]
    return L, inv


# One matrix times a stack: one gemm over the stack laid side by side, where matmul's
# broadcasting makes one BLAS call per level; the numbers are the same (same kernel).
def _each_times(T: np.ndarray, A: np.ndarray) -> np.ndarray:
    """T @ A_j for every matrix A_j of the stack A (levels, k, l)."""
    n, k, l = A.shape
    return (T @ A.transpose(1, 0, 2).reshape(k, n * l)).reshape(len(T), n, l).transpose(1, 0, 2)


def _times_each(A: np.ndarray, T: np.ndarray) -> np.ndarray:
    """A_j @ T for every matrix A_j of the stack A (levels, k, l)."""
    n, k, l = A.shape
    return (A.reshape(n * k, l) @ T).reshape(n, k, T.shape[1])


def conditional_covariances(blocks: list[ReBlock], theta: np.ndarray, L1: np.ndarray,
                            L21: np.ndarray, L22: np.ndarray) -> list[np.ndarray]:
    """Lambda (L L')^{-1} Lambda' by term and level, (levels, k, k) per term: lme4's condVar / sigma^2.

    L = [[L1, 0], [L21, L22]] is the u-part of the blocked factor (L1 batched per level
    of the first term, L21 and L22 dense for the terms after it). Its inverse is
    [[L1^-1, 0], [-L22^-1 L21 L1^-1, L22^-1]], and only diagonal blocks are needed.
    """
    n1, k1, _ = L1.shape
    q = L22.shape[0]
    L1inv = np.linalg.inv(L1)
    first = L1inv.transpose(0, 2, 1) @ L1inv
    covs = [first]
    if q:
        K = np.einsum("qjk,jkl->qjl", L21.reshape(q, n1, k1), L1inv).reshape(q, -1)
        Kb = la.solve_triangular(L22, K, lower=True).reshape(q, n1, k1)
        covs[0] = first + np.einsum("qjk,qjl->jkl", Kb, Kb)
        L22inv = la.solve_triangular(L22, np.eye(q), lower=True)
        at = 0
        for blk in blocks[1:]:
            cols = L22inv[:, at:at + blk.q].reshape(q, blk.nlevels, blk.k)
            covs.append(np.einsum("qjk,qjl->jkl", cols, cols))
            at += blk.q
    return [blk.T(theta[s]) @ c @ blk.T(theta[s]).T
            for blk, s, c in zip(blocks, theta_slices(blocks), covs)]


def _per_level_crossprod(block: ReBlock, w: np.ndarray | None = None) -> np.ndarray:
    """sum over each level's rows of w x x' for the term's model matrix: (levels, k, k)."""
    k, codes = block.k, block.factor.codes
    X = block.X if w is None else block.X * w[:, None]
    out = np.empty((block.nlevels, k, k))
    for i in range(k):
        for j in range(i, k):
            out[:, i, j] = out[:, j, i] = np.bincount(codes, X[:, i] * block.X[:, j],
                                                      minlength=block.nlevels)
    return out


def profiled_deviance(f: Factorization, n: int, p: int, reml: bool) -> float:
    """lme4's profiled deviance (ML) or REML criterion, eq. 34 and 41 of the paper."""
    if reml:
        nmp = n - p
        return f.ldL2 + f.ldRX2 + nmp * (1.0 + np.log(2.0 * np.pi * f.pwrss / nmp))
    return f.ldL2 + n * (1.0 + np.log(2.0 * np.pi * f.pwrss / n))
