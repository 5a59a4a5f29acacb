"""Penalized iteratively reweighted least squares, as lme4's glmer runs it.

For a GLMM, lme4 (src/external.cpp: pwrssUpdate, glmerLaplace; src/predModule.cpp)
finds the conditional modes by PIRLS: at the current mu it forms the working weights
W = mu_eta^2 w / V(mu) and the working response z = eta - offset + (y - mu) / mu_eta,
solves the weighted penalized least squares problem

    min_{u, beta}  || W^(1/2) (z - X beta - Z Lambda u) ||^2 + || u ||^2

(or, with beta held in the offset, the same over u only), and repeats until the
penalized deviance sum(dev.resid) + ||u||^2 changes by less than tolPwrss
relatively, halving steps when it grows. The Laplace deviance is then
log|L|^2 + ||u||^2 + aic(y, mu).

The weighted problem changes every iteration, so the cross products cannot be
prepared once as lib.pls.PlsSystem prepares them for lmer. This module uses the same
blocked idea with the weights applied per iteration: the term with the most levels
gives a block-diagonal part (a batch of small Cholesky factors, one per level), and
everything after it (other terms' columns and X: m columns) a dense m x m Schur
complement. Group sums are sparse indicator products, so one iteration costs a few
passes over the n x m matrix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

from .glmfamily import Family
from .pls import conditional_covariances
from .retrms import ReBlock, lambda_times, theta_slices, z_times

DBL_MAX = np.finfo(float).max


class PirlsError(RuntimeError):
    """PIRLS failed, with lme4's message."""


@dataclass
class Decomposition:
    """The weighted blocked factor at one theta and one set of weights."""

    T1: np.ndarray  # k1 x k1 relative covariance factor of the first term
    L1: np.ndarray  # (levels, k1, k1) Cholesky factors of the first block
    CB: np.ndarray  # cols x q1: C Lambda_1 L_1^{-T}, before the trailing Lambda
    G: np.ndarray  # cols x cols trailing Lambda (identity on X)
    L2: np.ndarray  # cols x cols Cholesky factor of the Schur complement
    ldL2: float
    ldRX2: float
    cols: int  # q2 (u only) or q2 + p (u and beta)


class WeightedPls:
    """Weighted penalized least squares for the blocks and X of one model."""

    def __init__(self, blocks: list[ReBlock], X: np.ndarray):
        self.blocks = blocks
        self.slices = theta_slices(blocks)
        self.X = X
        self.n, self.p = X.shape
        first = blocks[0]
        self.k1, self.n1 = first.k, first.nlevels
        self.q1 = first.q
        self.codes1 = first.factor.codes
        self.X1 = first.X
        self.q2 = sum(b.q for b in blocks[1:])
        self.q = self.q1 + self.q2
        Z2 = sp.hstack([b.Z() for b in blocks[1:]], format="csc").toarray() if self.q2 else \
            np.zeros((self.n, 0))
        self.T = np.hstack([Z2, X])  # n x m: the trailing columns
        self.m = self.q2 + self.p
        self.Gt = sp.csr_matrix((np.ones(self.n), (self.codes1, np.arange(self.n))),
                                shape=(self.n1, self.n))
        self._pairs = [(a, b) for a in range(self.k1) for b in range(a, self.k1)]

    # -- Lambda ---------------------------------------------------------------------
    def lambda_rest(self, theta: np.ndarray, cols: int) -> np.ndarray:
        """Dense block-diagonal Lambda of the terms after the first, then I for X."""
        G = np.eye(cols)
        at = 0
        for b, s in zip(self.blocks[1:], self.slices[1:]):
            Tb = b.T(theta[s])
            for lev in range(b.nlevels):
                G[at:at + b.k, at:at + b.k] = Tb
                at += b.k
        return G

    def lambda_times(self, theta: np.ndarray, u: np.ndarray) -> np.ndarray:
        """b = Lambda u, block by block."""
        return lambda_times(self.blocks, theta, u)

    def z_times(self, bvec: np.ndarray) -> np.ndarray:
        """Z b without forming Z."""
        return z_times(self.blocks, bvec)

    # -- factor --------------------------------------------------------------------
    def decompose(self, theta: np.ndarray, w: np.ndarray, with_beta: bool) -> Decomposition:
        """Factor [Lambda'Z'WZ Lambda + I, .; X'WZ Lambda, X'WX] for weights w (sqrtXwt^2)."""
        k1, n1 = self.k1, self.n1
        T1 = self.blocks[0].T(theta[self.slices[0]])
        cols = self.m if with_beta else self.q2
        Tm = self.T[:, :cols]
        if k1 == 1:
            t = T1[0, 0]
            a11 = np.bincount(self.codes1, w * self.X1[:, 0] ** 2, minlength=n1)
            l1 = np.sqrt(t * t * a11 + 1.0)
            L1 = l1.reshape(n1, 1, 1)
            if cols:
                C = (self.Gt @ (Tm * (w * self.X1[:, 0])[:, None])).T  # cols x n1
                CB = C * (t / l1)[None, :]
            else:
                CB = np.zeros((0, n1))
            ld1 = 2.0 * np.sum(np.log(l1))
        else:
            A11 = np.empty((n1, k1, k1))
            for a, b in self._pairs:
                A11[:, a, b] = A11[:, b, a] = np.bincount(
                    self.codes1, w * self.X1[:, a] * self.X1[:, b], minlength=n1)
            M = T1.T @ A11 @ T1 + np.eye(k1)
            L1 = np.linalg.cholesky(M)
            Binv = T1 @ np.linalg.inv(L1).transpose(0, 2, 1)  # Lambda_1 L_1^{-T} per level
            if cols:
                C = np.stack([(self.Gt @ (Tm * (w * self.X1[:, a])[:, None])).T for a in range(k1)],
                             axis=2)  # cols x n1 x k1
                CB = np.einsum("mjk,jkl->mjl", C, Binv).reshape(cols, -1)
            else:
                CB = np.zeros((0, n1 * k1))
            ld1 = 2.0 * np.sum(np.log(np.diagonal(L1, axis1=1, axis2=2)))
        G = self.lambda_rest(theta, cols)
        if cols:
            D = (Tm * w[:, None]).T @ Tm
            S = D - CB @ CB.T
            if self.q2:
                S = G.T @ S @ G
                S[np.arange(self.q2), np.arange(self.q2)] += 1.0
            try:
                L2 = la.cholesky(S, lower=True, check_finite=False)
            except la.LinAlgError as err:
                raise PirlsError("Downdated VtV is not positive definite") from err
            d2 = np.log(np.diag(L2))
        else:
            L2, d2 = np.zeros((0, 0)), np.zeros(0)
        ldL2 = ld1 + 2.0 * np.sum(d2[:self.q2])
        ldRX2 = 2.0 * np.sum(d2[self.q2:]) if with_beta else np.nan
        return Decomposition(T1, L1, CB, G, L2, float(ldL2), float(ldRX2), cols)

    def solve(self, f: Decomposition, w: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The spherical random effects u and (with beta) beta of the weighted problem."""
        k1, n1 = self.k1, self.n1
        wz = w * z
        if k1 == 1:
            r1 = f.T1[0, 0] * np.bincount(self.codes1, wz * self.X1[:, 0], minlength=n1)
            y1 = (r1 / f.L1[:, 0, 0])[:, None]
        else:
            r1 = np.stack([np.bincount(self.codes1, wz * self.X1[:, a], minlength=n1)
                           for a in range(k1)], axis=1) @ f.T1  # (n1, k1): T1' sums, per level
            y1 = np.linalg.solve(f.L1, r1[:, :, None])[:, :, 0]
        if f.cols:
            GCB = f.G.T @ f.CB if self.q2 else f.CB
            r2 = f.G.T @ (self.T[:, :f.cols].T @ wz) if self.q2 else self.T[:, :f.cols].T @ wz
            rhs = r2 - GCB @ y1.ravel()
            v = la.cho_solve((f.L2, True), rhs, check_finite=False)
            y1 = y1 - (GCB.T @ v).reshape(n1, k1)
        else:
            v = np.zeros(0)
        if k1 == 1:
            u1 = y1[:, 0] / f.L1[:, 0, 0]
        else:
            u1 = np.linalg.solve(f.L1.transpose(0, 2, 1), y1[:, :, None])[:, :, 0].ravel()
        u = np.concatenate([u1.ravel(), v[:self.q2]])
        return u, v[self.q2:]

    def unsc(self, f: Decomposition) -> np.ndarray:
        """(R_X' R_X)^{-1}: lme4's pp$unsc()."""
        Lb = f.L2[self.q2:, self.q2:]
        return la.cho_solve((Lb, True), np.eye(self.p), check_finite=False)

    def condvar(self, theta: np.ndarray, f: Decomposition) -> list[np.ndarray]:
        """Lambda (L L')^{-1} Lambda' per term and level: (levels, k, k) per term."""
        L21 = (f.G.T @ f.CB)[:self.q2] if self.q2 else np.zeros((0, self.q1))
        return conditional_covariances(self.blocks, theta, f.L1, L21, f.L2[:self.q2, :self.q2])


class GlmResponse:
    """lme4's glmResp: y, prior weights, n, offset, and the current eta and mu."""

    def __init__(self, family: Family, y: np.ndarray, weights: np.ndarray, n: np.ndarray,
                 offset: np.ndarray, eta: np.ndarray):
        self.family, self.y, self.weights, self.n = family, y, weights, n
        self.offset = offset
        self._aic_parts = family.aic_parts(y, n, weights)
        self.update_mu_eta(eta)

    def update_mu_eta(self, eta: np.ndarray) -> None:
        self.eta = eta
        self.mu = self.family.linkinv(eta)

    def update_mu(self, gamma: np.ndarray) -> None:
        """eta = offset + gamma (lme4's updateMu)."""
        self.update_mu_eta(self.offset + gamma)

    def res_dev(self) -> float:
        return float(np.sum(self.family.dev_resid(self.y, self.mu, self.weights)))

    def aic(self) -> float:
        return self.family.aic(self.y, self.n, self.mu, self.weights, self._aic_parts)

    def sqrt_wrk_wt(self) -> tuple[np.ndarray, np.ndarray]:
        """sqrt of the working weights, and mu_eta."""
        me = self.family.mu_eta(self.eta)
        return me * np.sqrt(self.weights / self.family.variance(self.mu)), me

    def wrk_resp(self, mu_eta: np.ndarray) -> np.ndarray:
        return (self.eta - self.offset) + (self.y - self.mu) / mu_eta

    def pearson(self) -> np.ndarray:
        """lme4's wtres after updateWts: (y - mu) sqrt(w / V(mu))."""
        return (self.y - self.mu) * np.sqrt(self.weights / self.family.variance(self.mu))


class Pirls:
    """lme4's predictor and response modules with the PIRLS loop (u0 = beta0 = 0)."""

    def __init__(self, pls: WeightedPls, resp: GlmResponse, tol: float = 1e-7, maxit: int = 100):
        self.pls, self.resp = pls, resp
        self.tol, self.maxit = tol, maxit
        self.delu = np.zeros(pls.q)
        self.delb = np.zeros(pls.p)
        self.theta = np.zeros(sum(b.ntheta for b in pls.blocks))
        self.decomp: Decomposition | None = None
        self.with_beta = True
        self.iterations = 0
        self.last_w: np.ndarray | None = None

    def lin_pred(self) -> np.ndarray:
        """X delb + Z Lambda delu (lme4's linPred(1))."""
        zb = self.pls.z_times(self.pls.lambda_times(self.theta, self.delu))
        return self.pls.X @ self.delb + zb if self.with_beta else zb

    def sqr_l(self) -> float:
        return float(self.delu @ self.delu)

    def _iterate(self) -> float:
        """One weighted PLS step from the current mu (lme4's internal_glmerWrkIter)."""
        sqrtw, me = self.resp.sqrt_wrk_wt()
        w = sqrtw * sqrtw
        self.last_w = w
        z = self.resp.wrk_resp(me)
        self.decomp = self.pls.decompose(self.theta, w, self.with_beta)
        u, beta = self.pls.solve(self.decomp, w, z)
        self.delu = u
        self.delb = beta if self.with_beta else np.zeros(self.pls.p)
        self.resp.update_mu(self.lin_pred())
        return self.resp.res_dev() + self.sqr_l()

    def update(self, theta: np.ndarray, with_beta: bool) -> None:
        """lme4's pwrssUpdate: iterate to convergence, halving steps that increase pdev."""
        self.theta = np.asarray(theta, float).copy()
        self.with_beta = with_beta
        oldpdev = DBL_MAX
        for i in range(self.maxit):
            olddelu, olddelb = self.delu.copy(), self.delb.copy()
            pdev = self._iterate()
            self.iterations = i + 1
            if abs((oldpdev - pdev) / pdev) < self.tol:
                return
            if np.isnan(pdev) or pdev > oldpdev:
                for _ in range(20):
                    if not (np.isnan(pdev) or pdev > oldpdev):
                        break
                    self.delu = (olddelu + self.delu) / 2.0
                    if with_beta:
                        self.delb = (olddelb + self.delb) / 2.0
                    self.resp.update_mu(self.lin_pred())
                    pdev = self.resp.res_dev() + self.sqr_l()
                if np.isnan(pdev):
                    raise PirlsError("PIRLS loop resulted in NaN value")
                if pdev - oldpdev > self.tol:
                    raise PirlsError("(maxstephalfit) PIRLS step-halvings failed to reduce deviance "
                                     "in pwrssUpdate")
            oldpdev = pdev
        raise PirlsError("pwrssUpdate did not converge in (maxit) iterations")

    def laplace(self) -> float:
        """lme4's glmResp::Laplace: ldL2 + ||u||^2 + aic."""
        return self.decomp.ldL2 + self.sqr_l() + self.resp.aic()
