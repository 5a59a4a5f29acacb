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

The weighted problem is lmer's, lib.engine.pls.PlsSystem, with observation weights: each
iteration rebuilds its cross products for the new weights and working response
(`reweight`, on sparsity patterns built once per model) and factors it at theta,
over u and beta or over u alone.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from lib.engine.family import Family
from lib.engine.pls import Factorization, PlsSystem

DBL_MAX = np.finfo(float).max


class PirlsError(RuntimeError):
    """PIRLS failed, with lme4's message."""


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

    def __init__(self, pls: PlsSystem, resp: GlmResponse, tol: float = 1e-7, maxit: int = 100):
        self.pls, self.resp = pls, resp
        self.tol, self.maxit = tol, maxit
        self.delu = np.zeros(pls.q)
        self.delb = np.zeros(pls.p)
        self.theta = np.zeros(sum(b.ntheta for b in pls.blocks))
        self.decomp: Factorization | None = None
        self.with_beta = True
        self.iterations = 0
        self.weights: tuple[np.ndarray, np.ndarray] | None = None  # the latest (w, z)

    def lin_pred(self) -> np.ndarray:
        """X delb + Z Lambda delu (lme4's linPred(1))."""
        zb = self.pls.z_lambda_times(self.theta, self.delu)
        return self.pls.X @ self.delb + zb if self.with_beta else zb

    def sqr_l(self) -> float:
        return float(self.delu @ self.delu)

    def _iterate(self) -> float:
        """One weighted PLS step from the current mu (lme4's internal_glmerWrkIter)."""
        sqrtw, me = self.resp.sqrt_wrk_wt()
        self.weights = (sqrtw * sqrtw, self.resp.wrk_resp(me))
        self.pls.reweight(*self.weights, fixed=self.with_beta)
        try:
            self.decomp = self.pls.decompose(self.theta, fixed=self.with_beta)
        except np.linalg.LinAlgError as err:
            raise PirlsError("Downdated VtV is not positive definite") from err
        self.delu = self.decomp.u
        self.delb = self.decomp.beta if self.with_beta else np.zeros(self.pls.p)
        self.resp.update_mu(self.lin_pred())
        return self.resp.res_dev() + self.sqr_l()

    def _halve_steps(self, pdev: float, olddelu: np.ndarray, olddelb: np.ndarray,
                     worse: Callable[[float], bool]) -> float:
        """lme4's step halving: back towards the last increments while the penalized deviance is
        `worse` than before the step (at most 20 times); the deviance where it stops."""
        for _ in range(20):
            if not worse(pdev):
                break
            self.delu = (olddelu + self.delu) / 2.0
            if self.with_beta:
                self.delb = (olddelb + self.delb) / 2.0
            self.resp.update_mu(self.lin_pred())
            pdev = self.resp.res_dev() + self.sqr_l()
        return pdev

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
                pdev = self._halve_steps(pdev, olddelu, olddelb, lambda d: np.isnan(d) or d > oldpdev)
                if np.isnan(pdev):
                    raise PirlsError("PIRLS loop resulted in NaN value")
                if pdev - oldpdev > self.tol:
                    raise PirlsError("(maxstephalfit) PIRLS step-halvings failed to reduce deviance "
                                     "in pwrssUpdate")
            oldpdev = pdev
        raise PirlsError("pwrssUpdate did not converge in (maxit) iterations")

    def solve_exactly(self, theta: np.ndarray, with_beta: bool, eta_tol: float = 1e-13) -> None:
        """PIRLS to round-off: until an iteration moves the linear predictor by less than eta_tol
        (relative to its largest value, and at least absolute).

        The Laplace criterion's log-determinant comes from the last iteration's factor, made at the
        point before its move: it is off by about that move, which deriv12's step squared (1e-8)
        amplifies in the Hessian, hence a tolerance far below the step's.

        lme4's rule (a relative change of the penalized deviance below 1e-7) stops while the
        modes are still moving at ~1e-5, which leaves its criterion a slightly rough function
        of the parameters, and of where PIRLS started. The finish needs the smooth one.
        """
        self.theta = np.asarray(theta, float).copy()
        self.with_beta = with_beta
        pdev = DBL_MAX
        for i in range(self.maxit):
            eta, olddelu, olddelb = self.resp.eta.copy(), self.delu.copy(), self.delb.copy()
            oldpdev, pdev = pdev, self._iterate()
            # lme4's step halving, with round-off allowed for
            pdev = self._halve_steps(pdev, olddelu, olddelb,
                                     lambda d: np.isnan(d) or d - oldpdev > 1e-12 * abs(d))
            self.iterations = i + 1
            if np.isnan(pdev):
                raise PirlsError("PIRLS loop resulted in NaN value")
            if np.max(np.abs(self.resp.eta - eta)) < eta_tol * max(1.0, np.max(np.abs(eta))):
                return
        raise PirlsError("pwrssUpdate did not converge in (maxit) iterations")

    def laplace(self) -> float:
        """lme4's glmResp::Laplace: ldL2 + ||u||^2 + aic."""
        return self.decomp.ldL2 + self.sqr_l() + self.resp.aic()

    def unsc(self) -> np.ndarray:
        """(R_X' R_X)^{-1} at the latest weights, as lme4's pp$unsc() after a fit."""
        if self.decomp.fixed:
            return self.pls.unsc(self.decomp)
        self.pls.reweight(*self.weights, fixed=True)
        return self.pls.unsc(self.pls.decompose(self.theta, fixed=True))
