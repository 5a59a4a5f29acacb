"""Penalized least squares for a linear mixed model, by a blocked Cholesky factor.

For given theta, lme4 (Bates et al. 2015, section 3) solves

    min_{u, beta}  || y - X beta - Z Lambda u ||^2 + || u ||^2

through the Cholesky factor of the cross-product matrix of [Z Lambda, X, y], with
the identity added to the u-block. Its pieces give everything the profiled
criteria need: log|L_Z|^2, log|R_X|^2 and the penalized residual sum of squares r^2
(the square of the factor's last diagonal element).

The factor is computed in two blocks, as MixedModels.jl does. The first block is the
term with the most levels: its cross product is block diagonal (one k x k block per
level, since each observation belongs to one level), so its factor is a batch of
small Cholesky factors. Everything after it (the other terms, X and y: m columns in
all) forms a dense m x m trailing block, updated by the first block's contribution
and factored by LAPACK. Nothing n x q or q x q is ever dense.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

from .retrms import ReBlock, theta_slices

_DENSE_LIMIT = 4_000_000  # entries of the m x q1 coupling block kept dense below this


@dataclass
class Factorization:
    """The blocked factor at one theta, and the criterion's pieces."""

    theta: np.ndarray
    L1: np.ndarray  # (levels, k1, k1) Cholesky factors of the first block
    CB: np.ndarray | sp.csr_matrix  # m x q1 coupling, before the trailing Lambda
    L2: np.ndarray  # m x m lower Cholesky factor of the trailing block
    ldL2: float  # log-determinant of L_Z L_Z'
    ldRX2: float  # log-determinant of R_X' R_X
    pwrss: float  # penalized weighted residual sum of squares r^2
    beta: np.ndarray | None = None
    u: np.ndarray | None = None  # spherical random effects, first block's levels first


class PlsSystem:
    """Cross products of [Z, X, y] prepared once; `factor(theta)` per evaluation."""

    def __init__(self, blocks: list[ReBlock], X: np.ndarray, y: np.ndarray):
        self.blocks = blocks
        self.slices = theta_slices(blocks)
        self.n, self.p = X.shape
        first = blocks[0]
        self.k1, self.n1 = first.k, first.nlevels
        self.q_rest = sum(b.q for b in blocks[1:])
        self.A11 = _per_level_crossprod(first)
        W = sp.hstack([b.Z() for b in blocks[1:]] + [sp.csc_matrix(X), sp.csc_matrix(y[:, None])],
                      format="csc")
        self.m = W.shape[1]
        C = (W.T @ first.Z()).tocsr()
        self.dense = self.m * first.q <= _DENSE_LIMIT
        # dense coupling stored level-major, (levels, m, k1), for batched matmuls
        self.C = C.toarray().reshape(self.m, self.n1, self.k1).transpose(1, 0, 2).copy() \
            if self.dense else C
        self._rest_cols = []
        at = 0
        for b in blocks[1:]:
            self._rest_cols.append((at, b))
            at += b.q
        self.D = (W.T @ W).toarray()
        self._bsr_index = (np.arange(self.n1), np.arange(self.n1 + 1))
        self.X, self.y = X, y

    # -- per-theta work --------------------------------------------------
    def rest_transpose_times(self, theta: np.ndarray, A: np.ndarray) -> np.ndarray:
        """G' A for G = blockdiag(I (x) T_b for the terms after the first, I for X and y)."""
        A = A.copy()
        for (at, b), s in zip(self._rest_cols, self.slices[1:]):
            T = b.T(theta[s])
            rows = A[at:at + b.q].reshape(b.nlevels, b.k, -1)
            A[at:at + b.q] = np.einsum("lk,jl...->jk...", T, rows).reshape(b.q, -1) if b.k > 1 \
                else rows.reshape(b.q, -1) * T[0, 0]
        return A

    def _congruence(self, theta: np.ndarray, S: np.ndarray) -> np.ndarray:
        """G' S G for symmetric S."""
        return self.rest_transpose_times(theta, self.rest_transpose_times(theta, S).T)

    def factor(self, theta: np.ndarray) -> Factorization:
        T1 = self.blocks[0].T(theta[self.slices[0]])
        M = T1.T @ self.A11 @ T1 + np.eye(self.k1)
        L1 = np.linalg.cholesky(M)
        B = T1 @ np.linalg.inv(L1).transpose(0, 2, 1)  # Lambda_1 L_1^{-T}, level by level
        if self.dense:
            CB = (self.C @ B).transpose(1, 0, 2).reshape(self.m, -1)
            P = CB @ CB.T
        else:
            Bsp = sp.bsr_matrix((B, *self._bsr_index), shape=(self.n1 * self.k1,) * 2)
            CB = (self.C @ Bsp).tocsr()
            P = (CB @ CB.T).toarray()
        S = self._congruence(theta, self.D - P)
        S[np.arange(self.q_rest), np.arange(self.q_rest)] += 1.0
        L2 = la.cholesky(S, lower=True, check_finite=False)
        d1 = np.log(np.diagonal(L1, axis1=1, axis2=2))
        d2 = np.log(np.diag(L2))
        q, p = self.q_rest, self.p
        f = Factorization(theta.copy(), L1, CB, L2, 2 * (d1.sum() + d2[:q].sum()),
                          2 * d2[q:q + p].sum(), np.nan)
        # lme4 takes r^2 from the solution, not from L2[-1, -1]^2: the direct sum of squares
        # loses less to cancellation, and following it keeps our optimizer on lme4's path
        beta, u = self.solve(f)
        resid = self.y - self.X @ beta - self.z_times(self.lambda_times(theta, u))
        f.pwrss = float(resid @ resid + u @ u)
        f.beta, f.u = beta, u
        return f

    # -- the solution at a theta ------------------------------------------
    def solve(self, f: Factorization) -> tuple[np.ndarray, np.ndarray]:
        """beta and the spherical random effects u (first block's levels first)."""
        L21 = self.coupling(f)
        x2 = la.solve_triangular(f.L2[:-1, :-1].T, f.L2[-1, :-1], lower=False)
        r1 = L21[-1, :] - L21[:-1, :].T @ x2
        r1 = r1.reshape(self.n1, self.k1)
        u1 = np.linalg.solve(f.L1.transpose(0, 2, 1), r1[:, :, None])[:, :, 0].ravel()
        beta = x2[self.q_rest:]
        return beta, np.concatenate([u1, x2[:self.q_rest]])

    def coupling(self, f: Factorization) -> np.ndarray:
        """The factor's dense m x q1 block below the first block."""
        return self.rest_transpose_times(f.theta, f.CB if self.dense else f.CB.toarray())

    def z_times(self, b: np.ndarray) -> np.ndarray:
        """Z b, term by term, without forming Z."""
        out, at = np.zeros(self.n), 0
        for blk in self.blocks:
            vals = b[at:at + blk.q].reshape(blk.nlevels, blk.k)
            out += np.einsum("ij,ij->i", blk.X, vals[blk.factor.codes])
            at += blk.q
        return out

    def lambda_times(self, theta: np.ndarray, u: np.ndarray) -> np.ndarray:
        """b = Lambda u, block by block."""
        out, at = [], 0
        for b, s in zip(self.blocks, self.slices):
            ub = u[at:at + b.q].reshape(b.nlevels, b.k)
            out.append((ub @ b.T(theta[s]).T).ravel())
            at += b.q
        return np.concatenate(out)


def _per_level_crossprod(block: ReBlock) -> np.ndarray:
    """sum over each level's rows of x x' for the term's model matrix: (levels, k, k)."""
    k, codes = block.k, block.factor.codes
    out = np.empty((block.nlevels, k, k))
    for i in range(k):
        for j in range(i, k):
            out[:, i, j] = out[:, j, i] = np.bincount(codes, block.X[:, i] * block.X[:, j],
                                                      minlength=block.nlevels)
    return out


def profiled_deviance(f: Factorization, n: int, p: int, reml: bool) -> float:
    """lme4's profiled deviance (ML) or REML criterion, eq. 34 and 41 of the paper."""
    if reml:
        nmp = n - p
        return f.ldL2 + f.ldRX2 + nmp * (1.0 + np.log(2.0 * np.pi * f.pwrss / nmp))
    return f.ldL2 + n * (1.0 + np.log(2.0 * np.pi * f.pwrss / n))
