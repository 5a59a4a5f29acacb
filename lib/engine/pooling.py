"""No, complete and partial pooling of one grouping factor's units, read off an lmer fit.

For every unit (level) of a grouping factor, three estimates of the unit's line (its value at
`slope` = 0 and its change per unit of `slope`, e.g. IgG at month 0 and per month):

- **own** (no pooling): the model's fixed part fitted to that unit's rows alone by least squares,
  as lme4's lmList() does; NaN where the unit's rows do not determine it (one month, say);
- **complete pooling**: the same fixed part fitted by least squares to all rows, groups ignored;
- **partial pooling**: the mixed model's prediction for the unit, with every random effect that
  applies to it (lme4's predict(fit, newdata) at the unit's settings).

A unit's line is read at its own value of every variable that is constant within it (a person's
sex, family) and at the reference level (a factor) or 0 (a number) of every other fixed variable;
grouping factors that vary within the unit contribute no random effect there.

`covariance_ellipses` gives the distribution the model says the units' lines come from: centred on
the population line (the fixed effects), with the summed covariance of every random term whose
grouping factor is constant within the unit (for a person: the family's and the person's).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats

from lib.engine.design import as_factor, is_factor
from lib.engine.lmer_fit import LmerFit
from lib.engine.retrms import ReBlock, theta_slices

NO_LEVEL = "(no level)"  # a grouping level that is in no fit: predict() gives it no random effect
ESTIMABLE_TOL = 1e-8  # relative: a grid row outside the row space of a unit's design is not estimable
COORDS = ("intercept", "slope")


@dataclass(frozen=True)
class Pooling:
    """The three estimates per unit of `group`: `units` has unit, n, the unit-constant variables, and
    <method>_<coord> for method in own, complete, partial and coord in `coords`, plus
    population_<coord> (the mixed model's fixed effects at the unit's settings)."""

    group: str
    slope: str | None  # the variable of the slope coordinate, None for intercepts only
    units: pd.DataFrame
    constant: tuple[str, ...]  # variables constant within every unit

    @property
    def coords(self) -> tuple[str, ...]:
        return COORDS if self.slope else COORDS[:1]


def group_block(fit: LmerFit, group: str) -> ReBlock:
    for blk in fit.blocks:
        if blk.group == group:
            return blk
    raise ValueError(f"the model has no random term for {group!r} (it has {', '.join(fit.ngrps)})")


def pooling(fit: LmerFit, group: str, slope: str | None = "Time") -> Pooling:
    """Own, complete-pooling and partial-pooling lines of each unit of `group` (see the module)."""
    factor = group_block(fit, group).factor
    frame, codes = fit.problem.frame, factor.codes
    slope = slope if slope in fit.formula.variables else None
    constant = _constant_variables(fit, frame, codes)
    grid = _grid(fit, frame, codes, constant, slope)
    npts = 2 if slope else 1
    X_grid = fixed_rows(fit, grid)
    partial = fit.predict(grid).reshape(-1, npts)
    population = (X_grid @ fit.fixef.to_numpy()).reshape(-1, npts)
    complete = (X_grid @ _ols(fit.problem.X, fit.problem.y)).reshape(-1, npts)
    own = _own(fit.problem.X, fit.problem.y, codes, X_grid, npts)
    units = pd.DataFrame({"unit": factor.levels, "n": np.bincount(codes, minlength=factor.nlevels)})
    firsts = _first_rows(frame, codes)
    for v in constant:
        units[v] = firsts[v].astype(str).to_numpy() if is_factor(frame[v]) else firsts[v].to_numpy()
    for name, lines in (("own", own), ("complete", complete), ("partial", partial),
                        ("population", population)):
        units[f"{name}_intercept"] = lines[:, 0]
        if slope:
            units[f"{name}_slope"] = lines[:, 1] - lines[:, 0]
    return Pooling(group, slope, units, tuple(constant))


def fixed_rows(fit: LmerFit, newdata: pd.DataFrame) -> np.ndarray:
    """The fixed-effects model matrix of new data, column by column from the fit's own predict()
    (linear in beta: predicting with the j-th unit vector as beta gives column j); a new value,
    the shared fit untouched."""
    names = fit.fixef.index
    eye = np.eye(len(names))
    return np.column_stack([replace(fit, fixef=pd.Series(eye[j], index=names)).predict(newdata, re_form="NA")
                            for j in range(len(names))])


def _ols(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares (minimum norm where X is rank deficient)."""
    return np.linalg.lstsq(X, y, rcond=None)[0]


def _own(X: np.ndarray, y: np.ndarray, codes: np.ndarray, X_grid: np.ndarray, npts: int) -> np.ndarray:
    """Each unit's least-squares line at its grid rows; NaN where its rows do not determine it."""
    nunits = X_grid.shape[0] // npts
    out = np.full((nunits, npts), np.nan)
    for u in range(nunits):
        rows = codes == u
        Xu, G = X[rows], X_grid[u * npts:(u + 1) * npts]
        pinv = np.linalg.pinv(Xu)
        outside = np.linalg.norm(G - G @ pinv @ Xu, axis=1) > ESTIMABLE_TOL * np.linalg.norm(G, axis=1)
        out[u] = np.where(outside, np.nan, G @ (pinv @ y[rows]))
    return out


def _first_rows(frame: pd.DataFrame, codes: np.ndarray) -> pd.DataFrame:
    """The first row of each unit, units in code order."""
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    return frame.iloc[first].reset_index(drop=True)


def _constant_variables(fit: LmerFit, frame: pd.DataFrame, codes: np.ndarray) -> list[str]:
    """The model's predictors (fixed and grouping) that take one value within every unit."""
    response = set(fit.formula.response.columns) if fit.formula.response else set()
    out = []
    for v in fit.formula.variables:
        if v in response:
            continue
        values = pd.Series(as_factor(frame[v]).codes if is_factor(frame[v]) else frame[v].to_numpy())
        if (values.groupby(codes).nunique() <= 1).all():
            out.append(v)
    return out


def _grid(fit: LmerFit, frame: pd.DataFrame, codes: np.ndarray, constant: list[str],
          slope: str | None) -> pd.DataFrame:
    """Two rows per unit (slope at 0 and 1; one row without a slope) at the unit's settings."""
    firsts = _first_rows(frame, codes)
    fixed_vars = set(fit.formula.fixed.variables)
    cols: dict[str, object] = {}
    for v in fit.formula.variables:
        if fit.formula.response and v in fit.formula.response.columns or v == slope:
            continue
        if v in constant:
            cols[v] = firsts[v].to_numpy()
        elif v in fixed_vars:
            cols[v] = as_factor(frame[v]).levels[0] if is_factor(frame[v]) else 0.0
        else:  # a grouping variable that varies within the unit: no random effect from it
            cols[v] = NO_LEVEL
    units = pd.DataFrame(cols, index=range(len(firsts)))
    if not slope:
        return units
    grid = units.loc[np.repeat(units.index, 2)].reset_index(drop=True)
    grid[slope] = np.tile([0.0, 1.0], len(units))
    return grid


# -- the model's distribution of the units' lines ----------------------------------------------

@dataclass(frozen=True)
class Ellipse:
    """The units' lines under the model: centre and covariance in the (intercept, slope) plane."""

    pattern: str  # the unit-constant fixed settings it is for ("Sex = F"), "" if none
    centre: np.ndarray
    cov: np.ndarray


def covariance_ellipses(fit: LmerFit, pool: Pooling) -> tuple[list[Ellipse], str | None]:
    """One ellipse per setting of the unit-constant fixed variables, or ([], why not)."""
    codes = group_block(fit, pool.group).factor.codes
    allowed = {"(Intercept)"} | ({pool.slope} if pool.slope else set())
    theta = fit.theta.to_numpy()
    k = len(pool.coords)
    cov = np.zeros((k, k))
    for blk, s in zip(fit.blocks, theta_slices(fit.blocks)):
        if not _constant_within(blk.factor.codes, codes):
            continue
        if not set(blk.cnames) <= allowed:
            return [], (f"the term for {blk.group} has columns ({', '.join(blk.cnames)}) beyond an "
                        "intercept and a slope, so its covariance is not a shape in this plane")
        T = blk.T(theta[s])
        at = [0 if c == "(Intercept)" else 1 for c in blk.cnames]
        cov[np.ix_(at, at)] += fit.sigma ** 2 * T @ T.T
    fixed_constant = [v for v in pool.constant if v in fit.formula.fixed.variables]
    cols = [f"population_{c}" for c in pool.coords]
    table = pool.units.drop_duplicates(fixed_constant) if fixed_constant else pool.units.iloc[:1]
    out = []
    for _, row in table.iterrows():
        pattern = ", ".join(f"{v} = {row[v]}" for v in fixed_constant)
        out.append(Ellipse(pattern, row[cols].to_numpy(float), cov.copy()))
    return out, None


def _constant_within(outer: np.ndarray, inner: np.ndarray) -> bool:
    """Whether the codes `outer` take one value within each unit of `inner`."""
    return bool((pd.Series(outer).groupby(inner).nunique() <= 1).all())


def ellipse_points(e: Ellipse, level: float, n: int = 120) -> np.ndarray:
    """Points on the contour holding `level` of a normal distribution (n x 2; 2 x 1 ends in 1-d)."""
    if len(e.centre) == 1:
        half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(e.cov[0, 0])
        return e.centre[0] + np.array([[-half], [half]])
    vals, vecs = np.linalg.eigh(e.cov)
    radius = np.sqrt(stats.chi2.ppf(level, 2))
    angle = np.linspace(0, 2 * np.pi, n)
    circle = np.column_stack([np.cos(angle), np.sin(angle)])
    return e.centre + radius * (circle * np.sqrt(np.maximum(vals, 0))) @ vecs.T


# -- conditional modes and their intervals (lme4's dotplot(ranef(fit, condVar = TRUE))) --------

def caterpillar(fit, level: float = 0.95) -> pd.DataFrame:
    """Per grouping factor and random-effect column: each level's conditional mode, its conditional
    SD and the interval mode ± z SD (lattice's dotplot of ranef(condVar = TRUE) draws z = 1.96),
    levels ranked by the mode within each panel."""
    z = stats.norm.ppf(0.5 + level / 2)
    rows = []
    for group, modes in fit.ranef.items():
        sds = fit.ranef_sd[group]
        for col in modes.columns:
            part = pd.DataFrame({"group": group, "term": col, "level": modes.index.astype(str),
                                 "mode": modes[col].to_numpy(), "sd": sds[col].to_numpy()})
            part["lower"] = part["mode"] - z * part["sd"]
            part["upper"] = part["mode"] + z * part["sd"]
            part["rank"] = part["mode"].rank(method="first").astype(int)
            rows.append(part)
    return pd.concat(rows, ignore_index=True)
