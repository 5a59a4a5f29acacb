"""The result of an lmer fit: lme4's quantities, read off the optimum."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.linalg as la

from .design import Factor, _level_text, as_factor, is_factor, linear_design
from .formula import Formula, FormulaError, Linear
from .pls import Factorization, profiled_deviance
from .retrms import ReBlock

if TYPE_CHECKING:
    from .lmer import LmerProblem


@dataclass(eq=False)
class LmerFit:
    formula: Formula
    REML: bool
    theta: pd.Series
    fixef: pd.Series
    sigma: float
    criterion: float  # REML criterion or ML deviance at the optimum
    nobs: int
    messages: list[str]
    trace: pd.DataFrame  # one row per criterion evaluation of the optimizer
    problem: "LmerProblem" = field(repr=False)
    factorization: Factorization = field(repr=False)
    u: np.ndarray = field(repr=False)  # spherical random effects

    @classmethod
    def from_optimum(cls, prob: "LmerProblem", theta: np.ndarray, REML: bool,
                     messages: list[str], trace: list) -> "LmerFit":
        f = prob.system.factor(theta)
        beta, u = f.beta, f.u
        n, p = prob.X.shape
        sigma = float(np.sqrt(f.pwrss / (n - p if REML else n)))
        names = [n for b in prob.blocks for n in b.theta_names()]
        tr = pd.DataFrame({"evaluation": np.arange(1, len(trace) + 1),
                           "stage": [t[0] for t in trace], "criterion": [t[1] for t in trace]})
        for i, name in enumerate(names):
            tr[name] = [t[2][i] for t in trace]
        return cls(prob.formula, REML, pd.Series(theta, index=names), pd.Series(beta, index=prob.xnames),
                   sigma, profiled_deviance(f, n, p, REML), n, messages, tr, prob, f, u)

    # -- likelihood -------------------------------------------------------
    @property
    def reml_criterion(self) -> float | None:
        return self.criterion if self.REML else None

    @property
    def deviance(self) -> float | None:
        """-2 log-likelihood of an ML fit (lme4 reports none for REML fits)."""
        return None if self.REML else self.criterion

    @property
    def loglik(self) -> float:
        return -self.criterion / 2

    @property
    def df(self) -> int:
        """Number of parameters: fixed effects, theta and sigma."""
        return len(self.fixef) + len(self.theta) + 1

    @property
    def aic(self) -> float:
        return -2 * self.loglik + 2 * self.df

    @property
    def bic(self) -> float:
        return -2 * self.loglik + np.log(self.nobs) * self.df

    @property
    def singular(self) -> bool:
        from .convergence import is_singular
        return is_singular(self.theta.to_numpy(), self.problem.lower)

    # -- fixed effects ------------------------------------------------------
    @cached_property
    def vcov(self) -> pd.DataFrame:
        """sigma^2 (R_X' R_X)^{-1}."""
        q, p = self.problem.system.q_rest, len(self.fixef)
        RXt = self.factorization.L2[q:q + p, q:q + p]
        V = self.sigma ** 2 * la.cho_solve((RXt, True), np.eye(p))
        return pd.DataFrame(V, index=self.fixef.index, columns=self.fixef.index)

    @property
    def se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.vcov)), index=self.fixef.index)

    @property
    def cor_fixef(self) -> pd.DataFrame:
        s = self.se.to_numpy()
        return self.vcov / np.outer(s, s)

    @property
    def coef_table(self) -> pd.DataFrame:
        """lme4's fixed-effects table: Estimate, Std. Error, t value."""
        return pd.DataFrame({"Estimate": self.fixef, "Std. Error": self.se,
                             "t value": self.fixef / self.se})

    # -- random effects -----------------------------------------------------
    @property
    def blocks(self) -> list[ReBlock]:
        return self.problem.blocks

    @cached_property
    def b(self) -> np.ndarray:
        """Random effects on the response scale, b = Lambda u."""
        return self.problem.system.lambda_times(self.theta.to_numpy(), self.u)

    def _block_values(self, flat: np.ndarray) -> list[np.ndarray]:
        out, at = [], 0
        for blk in self.blocks:
            out.append(flat[at:at + blk.q].reshape(blk.nlevels, blk.k))
            at += blk.q
        return out

    @cached_property
    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes by grouping factor, levels as rows (lme4's ranef())."""
        out: dict[str, pd.DataFrame] = {}
        for blk, vals in zip(self.blocks, self._block_values(self.b)):
            df = pd.DataFrame(vals, index=pd.Index(blk.factor.levels, name=blk.group), columns=blk.cnames)
            out[blk.group] = out[blk.group].join(df) if blk.group in out else df
        return out

    @cached_property
    def condvar(self) -> list[np.ndarray]:
        """Conditional covariance of each term's random effects: (levels, k, k) per term."""
        sys_, f = self.problem.system, self.factorization
        q, k1, n1 = sys_.q_rest, sys_.k1, sys_.n1
        theta = self.theta.to_numpy()
        L21 = sys_.coupling_block(f)[:q]
        L22 = f.L2[:q, :q]
        L1inv = np.linalg.inv(f.L1)
        # inverse of the u-block factor: [[L1^-1, 0], [-L22^-1 L21 L1^-1, L22^-1]]
        K = L21.reshape(q, n1, k1)
        K = np.einsum("qjk,jkl->qjl", K, L1inv).reshape(q, -1)
        K = la.solve_triangular(L22, K, lower=True) if q else K
        first = L1inv.transpose(0, 2, 1) @ L1inv
        Kb = K.reshape(q, n1, k1)
        first = first + np.einsum("qjk,qjl->jkl", Kb, Kb)
        covs = [first]
        if q:
            L22inv = la.solve_triangular(L22, np.eye(q), lower=True)
            at = 0
            for blk in self.blocks[1:]:
                cols = L22inv[:, at:at + blk.q].reshape(q, blk.nlevels, blk.k)
                covs.append(np.einsum("qjk,qjl->jkl", cols, cols))
                at += blk.q
        sl = self.problem.system.slices
        return [self.sigma ** 2 * blk.T(theta[s]) @ c @ blk.T(theta[s]).T
                for blk, s, c in zip(self.blocks, sl, covs)]

    @property
    def ranef_sd(self) -> dict[str, pd.DataFrame]:
        """Conditional standard deviations of the modes, laid out as `ranef`."""
        out: dict[str, pd.DataFrame] = {}
        for blk, c in zip(self.blocks, self.condvar):
            sd = np.sqrt(np.diagonal(c, axis1=1, axis2=2))
            df = pd.DataFrame(sd, index=pd.Index(blk.factor.levels, name=blk.group), columns=blk.cnames)
            out[blk.group] = out[blk.group].join(df) if blk.group in out else df
        return out

    @property
    def ngrps(self) -> dict[str, int]:
        return {blk.group: blk.nlevels for blk in self.blocks}

    @cached_property
    def varcorr(self) -> pd.DataFrame:
        """as.data.frame(VarCorr(fit)): grp, var1, var2, vcov, sdcor."""
        rows, seen = [], {}
        theta = self.theta.to_numpy()
        for blk, s in zip(self.blocks, self.problem.system.slices):
            T = blk.T(theta[s])
            S = self.sigma ** 2 * T @ T.T
            sd = np.sqrt(np.diag(S))
            grp = _unique_name(blk.group, seen)
            rows += [(grp, c, None, S[i, i], sd[i]) for i, c in enumerate(blk.cnames)]
            rows += [(grp, blk.cnames[i], blk.cnames[j], S[j, i], _corr(S[j, i], sd[i], sd[j]))
                     for i in range(blk.k) for j in range(i + 1, blk.k)]
        rows.append(("Residual", None, None, self.sigma ** 2, self.sigma))
        return pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])

    # -- fitted values and residuals ---------------------------------------
    def _z_times(self, blocks_b: list[np.ndarray], codes: list[np.ndarray], Xs: list[np.ndarray]) -> np.ndarray:
        out = np.zeros(len(codes[0]) if codes else self.nobs)
        for vals, c, X in zip(blocks_b, codes, Xs):
            ok = c >= 0  # new levels (code -1) get no random effect
            out[ok] += np.einsum("ij,ij->i", X[ok], vals[c[ok]])
        return out

    @cached_property
    def fitted(self) -> np.ndarray:
        blocks = self.blocks
        zb = self._z_times(self._block_values(self.b), [b.factor.codes for b in blocks], [b.X for b in blocks])
        return self.problem.X @ self.fixef.to_numpy() + zb

    def residuals(self, type: str = "response", scaled: bool = False) -> np.ndarray:
        """Raw residuals, or Pearson residuals (divided by sigma when scaled)."""
        r = self.problem.y - self.fitted
        if type not in ("response", "pearson"):
            raise ValueError("type must be 'response' or 'pearson'")
        return r / self.sigma if scaled else r

    @property
    def scaled_resid_quantiles(self) -> np.ndarray:
        return np.quantile(self.residuals(scaled=True), [0, 0.25, 0.5, 0.75, 1])

    def predict(self, newdata: pd.DataFrame | None = None, re_form: str | None = None) -> np.ndarray:
        """lme4's predict: re_form=None includes every random effect, "NA" or "~0" none.

        New levels of a grouping factor get the population prediction (allow.new.levels).
        """
        population = re_form in ("NA", "~0", "~ 0")
        if re_form not in (None, "NA", "~0", "~ 0"):
            raise ValueError("re_form must be None (all random effects) or 'NA' (none)")
        if newdata is None:
            return self.problem.X @ self.fixef.to_numpy() if population else self.fitted
        eta = _new_matrix(self.formula.fixed, newdata, self.problem.frame, list(self.fixef.index)) \
            @ self.fixef.to_numpy()
        if population:
            return eta
        Xs = [_new_matrix(blk.expr, newdata, self.problem.frame, blk.cnames) for blk in self.blocks]
        codes = [_new_codes(blk.factor, newdata, blk.group) for blk in self.blocks]
        return eta + self._z_times(self._block_values(self.b), codes, Xs)

    def summary(self) -> str:
        from .lme4_print import lmer_summary
        return lmer_summary(self)


def _corr(cov: float, sd_i: float, sd_j: float) -> float:
    return float(cov / (sd_i * sd_j)) if sd_i > 0 and sd_j > 0 else float("nan")


def _unique_name(name: str, seen: dict[str, int]) -> str:
    """R's make.unique: FamID, FamID.1, ... for the split terms of ||."""
    k = seen.get(name, 0)
    seen[name] = k + 1
    return name if k == 0 else f"{name}.{k}"


def _new_matrix(lin: Linear, newdata: pd.DataFrame, frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """Model matrix of `lin` on new data, with the training data's factor levels."""
    data = newdata.copy()
    for col in lin.variables:
        if col not in data.columns:
            raise FormulaError(f"newdata has no column {col!r}")
        if is_factor(frame[col]):
            levels = as_factor(frame[col]).levels
            values = data[col].map(_level_text)
            unknown = sorted(set(values.dropna()) - set(levels))
            if unknown:
                raise FormulaError(f"new levels in {col}: {', '.join(unknown)}")
            data[col] = pd.Categorical(values, categories=levels)
    X, got, _ = linear_design(lin, data, keep_levels=True)
    return X[:, [got.index(n) for n in names]]


def _new_codes(factor: Factor, newdata: pd.DataFrame, group: str) -> np.ndarray:
    """Codes of newdata's groups in the training levels, -1 for new ones."""
    parts = group.split(":")
    labels = newdata[parts[0]].map(_level_text)
    for p in parts[1:]:
        labels = labels + ":" + newdata[p].map(_level_text)
    lookup = {lev: i for i, lev in enumerate(factor.levels)}
    return labels.map(lambda s: lookup.get(s, -1)).to_numpy(np.int64)
