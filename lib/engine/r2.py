"""How much variance the model explains: the ICC and Nakagawa's R2, as performance/insight compute them.

Nakagawa, Johnson & Schielzeth (2017) split the variance of a linear mixed model into

- fixed: the variance of the fixed-effects predictions X beta (R's var(), n - 1 in the denominator);
- random: for each random-effects term, the mean over observations of z_i' Sigma_term z_i, z_i the
  term's columns of the fixed-effects design (Johnson 2014; insight's .compute_variance_random: a
  random slope whose column is not among the fixed effects is left out, with insight's warning);
- residual: sigma^2.

R2 marginal = fixed / total and conditional = (fixed + random) / total; the adjusted ICC is
random / (random + residual), the unadjusted (conditional) ICC random / total, and the ICC by group
each grouping factor's intercept variance / (random + residual). A singular fit (a theta on its
bound within 1e-5) has no random variance in insight: the ICC is NA, R2's conditional part too.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.engine.lmer_fit import LmerFit
from lib.engine.retrms import theta_slices

SINGULAR_TOL = 1e-5  # insight's tolerance for a variance component equal to zero
SINGULAR_WARNING = ("Can't compute {what}. Some variance components equal zero. Your model may suffer from "
                    "singularity (see `?lme4::isSingular` and `?performance::check_singularity`).")
SLOPES_WARNING = ("Random slopes not present as fixed effects. This artificially inflates the conditional "
                  "{what}.")
BY_GROUP_WARNING = "Model contains random slopes. Cannot compute accurate ICCs by group factors."


@dataclass(frozen=True)
class VarianceParts:
    """insight::get_variance's pieces for an lmer fit."""

    fixed: float
    random: float | None  # None for a singular fit
    residual: float
    intercepts: dict[str, float]  # each term's intercept variance, by VarCorr's group name
    has_slopes: bool
    slopes_outside_fixed: bool

    @property
    def total(self) -> float:
        return self.fixed + (self.random or 0.0) + self.residual


def variance_parts(fit: LmerFit) -> VarianceParts:
    """The variance components that ICC and R2 are made of."""
    X = fit.problem.X
    xnames = list(fit.fixef.index)
    if "(Intercept)" not in xnames:
        X, xnames = np.column_stack([np.ones(len(X)), X]), ["(Intercept)"] + xnames
    theta = fit.theta.to_numpy()
    lower = fit.problem.lower
    singular = bool(np.any(np.abs(theta[lower == 0]) < SINGULAR_TOL))
    random, intercepts, seen = 0.0, {}, {}
    for b, s in zip(fit.blocks, theta_slices(fit.blocks)):
        T = b.T(theta[s])
        cov = fit.sigma ** 2 * T @ T.T
        grp = b.group if b.group not in seen else f"{b.group}.{seen[b.group]}"
        seen[b.group] = seen.get(b.group, 0) + 1
        if b.cnames[0] == "(Intercept)":
            intercepts[grp] = float(cov[0, 0])
        if b.nlevels == fit.nobs:  # an observation-level term: insight leaves it out
            continue
        keep = [i for i, c in enumerate(b.cnames) if c in xnames]
        Z = X[:, [xnames.index(b.cnames[i]) for i in keep]]
        random += float(np.einsum("ij,jk,ik->", Z, cov[np.ix_(keep, keep)], Z)) / fit.nobs
    slopes = [c for b in fit.blocks for c in b.cnames if c != "(Intercept)"]
    fixed = float(np.var(fit.problem.X @ fit.fixef.to_numpy(), ddof=1))
    return VarianceParts(fixed, None if singular else random, fit.sigma ** 2, intercepts, bool(slopes),
                         any(c not in xnames for c in slopes))


@dataclass(frozen=True)
class Explained:
    """performance's icc() and r2_nakagawa() for one fit; None where performance gives NA."""

    icc_adjusted: float | None
    icc_unadjusted: float | None
    icc_by_group: dict[str, float] | None
    r2_marginal: float
    r2_conditional: float | None
    parts: VarianceParts
    warnings: tuple[str, ...]


def explained(fit: LmerFit) -> Explained:
    """ICC (adjusted, unadjusted, by group) and Nakagawa's marginal and conditional R2."""
    v = variance_parts(fit)
    warnings = []
    if v.random is None:
        warnings += [SINGULAR_WARNING.format(what="ICC"), SINGULAR_WARNING.format(what="r-squared")]
        return Explained(None, None, None, v.fixed / (v.fixed + v.residual), None, v, tuple(warnings))
    if v.slopes_outside_fixed:
        warnings += [SLOPES_WARNING.format(what="ICC"), SLOPES_WARNING.format(what="r-squared")]
    if v.has_slopes:
        warnings.append(BY_GROUP_WARNING)
    inner = v.random + v.residual
    return Explained(v.random / inner, v.random / v.total,
                     {g: iv / inner for g, iv in v.intercepts.items()},
                     v.fixed / v.total, (v.fixed + v.random) / v.total, v, tuple(warnings))
