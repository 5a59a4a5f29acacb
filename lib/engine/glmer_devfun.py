"""glmer's deviance functions (lme4's devfun closures for its two stages): PIRLS at given parameters,
then the Laplace approximation or adaptive Gauss-Hermite quadrature."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lib.engine.glmer_problem import GlmerProblem
from lib.engine.pirls import GlmResponse, Pirls

TOL_PWRSS = 1e-7  # lme4's tolPwrss
EXACT_ETA_TOL = 1e-13  # PIRLS until an iteration moves the linear predictor less: round-off (the finish)
# Stage 1 only finds the Laplace stage's start: PIRLS stopped at a move of 1e-6 leaves the criterion
# ~1e-6 off at most, far below what BOBYQA resolves there (STAGE1_RHOEND of its first step)
STAGE1_ETA_TOL = 1e-6

@dataclass
class Trace:
    rows: list = field(default_factory=list)

    def add(self, stage: int, f: float, pars: np.ndarray) -> None:
        self.rows.append((stage, f, np.asarray(pars, float).copy()))


def ghrule(k: int) -> np.ndarray:
    """lme4's GHrule(k): nodes z, weights w (summing to 1) and log dnorm(z)."""
    z, w = np.polynomial.hermite_e.hermegauss(k)
    w = w / w.sum()
    return np.column_stack([z, w, -0.5 * z * z - 0.5 * np.log(2 * np.pi)])


class ModeHistory:
    """The conditional modes (and fixed effects, in stage 1) at recent evaluations, by parameters,
    to start PIRLS near the answer: from the nearest earlier point, moved along each coordinate
    in which it differs by the latest slope seen between two points that differ in that coordinate
    alone. deriv12's points x +- d e_i +- d e_j then start O(d^2) from their modes (a PIRLS
    iteration fewer than from a neighbour O(d) away): x - d e_i on the slope from x to x + d e_i,
    x + d e_i + d e_j from x + d e_i on the slope from x to x + d e_j."""

    SIZE = 400

    def __init__(self):
        self.pars: dict[bool, np.ndarray] = {}  # by with_beta: the points, one a row
        self.modes: dict[bool, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.slopes: dict[bool, dict[int, tuple[np.ndarray, np.ndarray]]] = {}  # by coordinate

    def remember(self, pars: np.ndarray, with_beta: bool, pirls: Pirls) -> None:
        X = self.pars.get(with_beta)
        mode = (pirls.delu.copy(), pirls.delb.copy())
        if X is not None:
            self._slopes_to(pars, mode, with_beta)
        self.pars[with_beta] = np.vstack([X[-self.SIZE + 1:], pars]) if X is not None else np.array([pars], float)
        modes = self.modes.setdefault(with_beta, [])
        modes.append(mode)
        del modes[:-self.SIZE]

    def _slopes_to(self, pars: np.ndarray, mode: tuple[np.ndarray, np.ndarray], with_beta: bool) -> None:
        """The slopes from the latest earlier point that differs from `pars` in one coordinate alone."""
        apart = self.pars[with_beta] != pars
        lone = np.flatnonzero(apart.sum(axis=1) == 1)
        if len(lone):
            r = lone[-1]
            j = int(np.flatnonzero(apart[r])[0])
            (u0, b0), dx = self.modes[with_beta][r], pars[j] - self.pars[with_beta][r, j]
            self.slopes.setdefault(with_beta, {})[j] = ((mode[0] - u0) / dx, (mode[1] - b0) / dx)

    def predict(self, pars: np.ndarray, with_beta: bool) -> tuple[np.ndarray, np.ndarray] | None:
        X = self.pars.get(with_beta)
        if X is None or X.shape[1] != len(pars):
            return None
        base = np.lexsort((np.abs(X - pars).sum(axis=1), (X != pars).sum(axis=1)))[0]
        u0, b0 = self.modes[with_beta][base]
        u, b = u0.copy(), b0.copy()
        slopes = self.slopes.get(with_beta, {})
        for j in np.flatnonzero(X[base] != pars):
            if j in slopes:
                du, db = slopes[j]
                u += (pars[j] - X[base, j]) * du
                b += (pars[j] - X[base, j]) * db
        return u, b


class Devfuns:
    """lme4's devfun closures: the PIRLS state, lp0 and the offset live here."""

    def __init__(self, prob: GlmerProblem, trace: Trace):
        self.prob, self.trace = prob, trace
        resp = GlmResponse(prob.family, prob.y, prob.weights, prob.n, prob.offset.copy(),
                           prob.offset + prob.family.linkfun(prob.mustart))
        self.pirls = Pirls(prob.pls, resp, TOL_PWRSS)
        self.nth = prob.ntheta
        self.nAGQ = 0
        self.gq = None
        self.exact = True  # PIRLS to eta_tol, warm-started (False: lme4's tolerance from lp0)
        self.eta_tol = EXACT_ETA_TOL
        self.modes = ModeHistory()
        # mkGlmerDevfun: one PIRLS run (u and beta) at the starting theta
        self.pirls.update(prob.start, with_beta=True)
        self.lp0 = self.pirls.lin_pred()

    def stage1(self, theta: np.ndarray) -> float:
        self._start(theta, theta, self.prob.offset, with_beta=True)
        self._pirls(theta, True)
        self.modes.remember(theta, True, self.pirls)
        v = self.pirls.laplace()
        self.trace.add(1, v, theta)
        return v

    def stage2(self, pars: np.ndarray) -> float:
        theta, beta = pars[:self.nth], pars[self.nth:]
        self._start(pars, theta, self.prob.offset + (self.prob.X @ beta if len(beta) else 0.0), with_beta=False)
        self._pirls(theta, False)
        self.modes.remember(pars, False, self.pirls)
        v = self.pirls.laplace() if self.nAGQ <= 1 else self._agq()
        self.trace.add(2, v, pars)
        return v

    def _start(self, pars: np.ndarray, theta: np.ndarray, offset: np.ndarray, with_beta: bool) -> None:
        """Where PIRLS starts: lme4's lp0 (every evaluation alike), or, run to round-off, modes
        predicted from earlier evaluations (its answer does not depend on the start; a good start
        saves iterations)."""
        resp, p = self.pirls.resp, self.pirls
        start = self.modes.predict(pars, with_beta) if self.exact else None
        if start is not None:
            p.delu, p.delb = start
            p.theta, p.with_beta = np.asarray(theta, float), with_beta
            resp.offset = offset
            resp.update_mu(p.lin_pred())
            return
        resp.offset = self.prob.offset
        resp.update_mu(self.lp0)
        resp.offset = offset

    def _pirls(self, theta: np.ndarray, with_beta: bool) -> None:
        if self.exact:
            self.pirls.solve_exactly(theta, with_beta, self.eta_tol)
        else:
            self.pirls.update(theta, with_beta)

    def _agq(self) -> float:
        """lme4's glmerAGQ: adaptive Gauss-Hermite quadrature for one scalar term."""
        p, prob = self.pirls, self.prob
        fam, resp = prob.family, p.resp
        codes = prob.blocks[0].factor.codes
        q = prob.pls.q
        u = p.delu.copy()

        def devc(uu: np.ndarray) -> np.ndarray:
            dr = fam.dev_resid(resp.y, resp.mu, resp.weights)
            return uu * uu + np.bincount(codes, dr, minlength=q)

        devc0 = devc(u)
        sd = 1.0 / p.decomp.L1[:, 0, 0]
        mult = np.zeros(q)
        for z, w, ldn in self.gq:
            if z == 0:
                mult += w
            else:
                uu = u + z * sd
                resp.update_mu(prob.pls.z_lambda_times(p.theta, uu))
                mult += np.exp(-0.5 * (devc(uu) - devc0) - ldn) * w / np.sqrt(2 * np.pi)
        resp.update_mu(p.lin_pred())
        return float(devc0.sum() + p.decomp.ldL2 - 2 * np.log(np.prod(mult)))
