"""What lmer and glmer fits share: random-effects views, information criteria, prediction.

A fit class mixes in `MixedFitViews` and provides `theta`, `b` (random effects on the
response scale), `condvar` (conditional covariances per term), `sigma` (1 for glmer), `vcov`,
`loglik`, `df`, `nobs`, `formula`, `fixef` and `problem` (with `.blocks`, `.frame`).
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from lib.engine.design import Factor, _level_text, as_factor, is_factor, linear_design
from lib.engine.formula import FormulaError, Linear
from lib.engine.retrms import ReBlock, theta_slices

POPULATION = ("NA", "~0", "~ 0")  # lme4's re_form values for "no random effects"


class MixedFitViews:
    """lme4's accessors that read only theta, b and the random-effects terms."""

    has_residual = True  # lmer's VarCorr has a Residual row; glmer's binomial/Poisson none

    @property
    def aic(self) -> float:
        return -2 * self.loglik + 2 * self.df

    @property
    def bic(self) -> float:
        return -2 * self.loglik + np.log(self.nobs) * self.df

    @property
    def residual_variance(self) -> float | None:
        """sigma^2, VarCorr's Residual row (None for binomial and Poisson GLMMs, which have none)."""
        return float(self.sigma) ** 2 if self.has_residual else None

    @property
    def se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.vcov)), index=self.fixef.index)

    @property
    def cor_fixef(self) -> pd.DataFrame:
        s = self.se.to_numpy()
        return self.vcov / np.outer(s, s)

    @property
    def blocks(self) -> list[ReBlock]:
        return self.problem.blocks

    @property
    def ngrps(self) -> dict[str, int]:
        return {blk.group: blk.nlevels for blk in self.blocks}

    def block_values(self, flat: np.ndarray) -> list[np.ndarray]:
        """A vector over all random effects split into (levels, k) arrays, term by term."""
        out, at = [], 0
        for blk in self.blocks:
            out.append(flat[at:at + blk.q].reshape(blk.nlevels, blk.k))
            at += blk.q
        return out

    def _by_group(self, arrays: list[np.ndarray]) -> dict[str, pd.DataFrame]:
        """Per-term (levels, k) arrays as ranef()'s data frames, one per grouping factor."""
        out: dict[str, pd.DataFrame] = {}
        for blk, vals in zip(self.blocks, arrays):
            df = pd.DataFrame(vals, index=pd.Index(blk.factor.levels, name=blk.group), columns=blk.cnames)
            out[blk.group] = out[blk.group].join(df, rsuffix=".1") if blk.group in out else df
        return out

    @cached_property
    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes by grouping factor, levels as rows (lme4's ranef())."""
        return self._by_group(self.block_values(self.b))

    @property
    def ranef_sd(self) -> dict[str, pd.DataFrame]:
        """Conditional standard deviations of the modes, laid out as `ranef`."""
        return self._by_group([np.sqrt(np.diagonal(c, axis1=1, axis2=2)) for c in self.condvar])

    @cached_property
    def varcorr(self) -> pd.DataFrame:
        """as.data.frame(VarCorr(fit)): grp, var1, var2, vcov, sdcor."""
        rows, seen = [], {}
        theta = self.theta.to_numpy()
        for blk, s in zip(self.blocks, theta_slices(self.blocks)):
            T = blk.T(theta[s])
            S = self.sigma ** 2 * T @ T.T
            sd = np.sqrt(np.diag(S))
            grp = _unique_name(blk.group, seen)
            rows += [(grp, c, None, S[i, i], sd[i]) for i, c in enumerate(blk.cnames)]
            rows += [(grp, blk.cnames[i], blk.cnames[j], S[j, i], _corr(S[j, i], sd[i], sd[j]))
                     for i in range(blk.k) for j in range(i + 1, blk.k)]
        if self.has_residual:
            rows.append(("Residual", None, None, self.sigma ** 2, self.sigma))
        return pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])

    def linear_predictor_for(self, newdata: pd.DataFrame, population: bool) -> np.ndarray:
        """X beta (+ Z b unless `population`) on new data; new levels get no random effect."""
        frame = self.problem.frame
        eta = _new_matrix(self.formula.fixed, newdata, frame, list(self.fixef.index)) @ self.fixef.to_numpy()
        if population:
            return eta
        for blk, vals in zip(self.blocks, self.block_values(self.b)):
            X = _new_matrix(blk.expr, newdata, frame, blk.cnames)
            codes = _new_codes(blk.factor, newdata, blk.group)
            ok = codes >= 0
            eta[ok] += np.einsum("ij,ij->i", X[ok], vals[codes[ok]])
        return eta


def check_re_form(re_form: str | None) -> bool:
    """True for a population-level prediction (re_form NA or ~0), False for all random effects."""
    if re_form not in (None, *POPULATION):
        raise ValueError("re_form must be None (all random effects) or 'NA' (none)")
    return re_form in POPULATION


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
    for part in parts[1:]:
        labels = labels + ":" + newdata[part].map(_level_text)
    lookup = {lev: i for i, lev in enumerate(factor.levels)}
    return labels.map(lambda v: lookup.get(v, -1)).to_numpy(np.int64)
