"""R's lm(): ordinary least squares with everything summary(lm) and anova(lm) report (lib.rprint.lm_print prints it).

The formula goes through lib.engine.formula's strict parser (never patsy, which evaluates
Python); the fit is statsmodels' OLS on the columns R would keep.

`SharedDesign` fits one model to many responses on the same rows, as R's lm() does with a matrix
response (class "mlm": one QR of the model matrix, each column's estimates from it): a simulation's
replicates, each with what summary.lm and anova.lm report for it, without a table per replicate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.linalg import solve_triangular
from scipy.stats import f as f_dist
from statsmodels.regression.linear_model import OLS

from lib.engine.design import FixedDesign, fixed_design
from lib.engine.formula import FormulaError, parse_formula

COEF_COLUMNS = ["Estimate", "Std. Error", "t value", "Pr(>|t|)"]
ANOVA_COLUMNS = ["Df", "Sum Sq", "Mean Sq", "F value", "Pr(>F)"]
QUANTILE_NAMES = ["Min", "1Q", "Median", "3Q", "Max"]
ALIAS_TOL = 1e-7  # lm.fit's tol for dqrdc2's limited pivoting


@dataclass(frozen=True)
class LmFit:
    """A fitted linear model with everything summary.lm() and anova.lm() print."""

    formula: str  # as given
    data_name: str  # the data argument of R's call
    response: str
    coefficients: pd.DataFrame  # COEF_COLUMNS; aliased rows are NaN
    aliased: list[str]
    fitted: np.ndarray
    residuals: np.ndarray
    sigma: float
    df_residual: int
    rank: int
    r_squared: float
    adj_r_squared: float
    fstatistic: tuple[float, int, int] | None  # value, numdf, dendf
    f_pvalue: float | None
    residual_quantiles: pd.Series
    anova: pd.DataFrame  # ANOVA_COLUMNS, rows = term labels + "Residuals"

    @property
    def coef_names(self) -> list[str]:
        return list(self.coefficients.index)

    @property
    def nobs(self) -> int:
        return len(self.residuals)

    def fit_statistics(self) -> pd.DataFrame:
        """The numbers under summary.lm's coefficient table, one per row."""
        rows = [("Residual standard error", self.sigma),
                ("Residual degrees of freedom", self.df_residual),
                ("Multiple R-squared", self.r_squared), ("Adjusted R-squared", self.adj_r_squared)]
        if self.fstatistic is not None:
            value, df1, df2 = self.fstatistic
            rows += [(f"F-statistic (on {df1} and {df2} DF)", value), ("p-value of F", self.f_pvalue)]
        return pd.DataFrame(rows, columns=["statistic", "value"]).set_index("statistic")


def lm(formula: str, data: pd.DataFrame, data_name: str = "data", result: type[LmFit] = LmFit) -> LmFit:
    """Fit `formula` (R syntax, fixed effects only) to `data` by least squares."""
    design, response = lm_design(formula, data)
    return fit_design(design, formula, data_name, response=response, result=result)


def lm_design(formula: str, data: pd.DataFrame) -> tuple[FixedDesign, str]:
    """lm()'s checks of the formula, then its model matrix and response on the complete rows."""
    f = parse_formula(formula, columns=list(data.columns))
    if f.random:
        raise FormulaError("lm() formulas cannot contain random-effects terms like "
                           f"{f.random[0].label}; use lmer() for those")
    if f.response is None or f.response.is_cbind:
        raise FormulaError("lm() needs one numeric response left of '~', as in IgG ~ Sex")
    if f.response.name in f.fixed.variables:
        raise FormulaError(f"the response {f.response.name} cannot also be a predictor")
    return fixed_design(f, data), f.response.name


def kept_columns(X: np.ndarray, tol: float = ALIAS_TOL) -> list[int]:
    """Columns R keeps: one whose part not explained by earlier kept ones is < tol of its norm is aliased."""
    kept: list[int] = []
    basis = np.zeros((X.shape[0], 0))
    for j in range(X.shape[1]):
        v = X[:, j].astype(float)
        norm = np.linalg.norm(v)
        for _ in range(2):  # twice, for orthogonality in floating point
            v = v - basis @ (basis.T @ v)
        rest = np.linalg.norm(v)
        if norm > 0 and rest > tol * norm:
            kept.append(j)
            basis = np.column_stack([basis, v / rest])
    return kept


def _estimable_columns(d: FixedDesign) -> list[int]:
    """The columns R keeps, once it is clear that they leave residual degrees of freedom."""
    keep = kept_columns(d.X)
    n, p = d.X.shape[0], len(keep)
    if p == 0:
        raise ValueError("this model has no coefficients to estimate")
    if n <= p:
        raise ValueError(f"{n} rows are not enough for {p} coefficients: "
                         "no residual degrees of freedom are left")
    return keep


def fit_design(d: FixedDesign, formula: str, data_name: str, response: str,
               result: type[LmFit] = LmFit) -> LmFit:
    """Least squares on a model matrix, with R's handling of aliased columns."""
    if d.y is None:
        raise FormulaError("lm() needs a response left of '~'")
    keep = _estimable_columns(d)
    p = len(keep)
    X = d.X[:, keep]
    res = OLS(d.y, X, hasconst=d.has_intercept).fit()
    coefs = _coef_table(d.names, keep, res)
    has_f = p > int(d.has_intercept)
    resid = np.asarray(res.resid)
    return result(
        formula=formula, data_name=data_name, response=response, coefficients=coefs,
        aliased=[d.names[j] for j in range(len(d.names)) if j not in keep],
        fitted=np.asarray(res.fittedvalues), residuals=resid,
        sigma=float(np.sqrt(res.ssr / res.df_resid)), df_residual=int(res.df_resid), rank=p,
        r_squared=float(res.rsquared) if has_f else 0.0,
        adj_r_squared=float(res.rsquared_adj) if has_f else 0.0,
        fstatistic=(float(res.fvalue), p - int(d.has_intercept), int(res.df_resid)) if has_f else None,
        f_pvalue=float(res.f_pvalue) if has_f else None,
        residual_quantiles=pd.Series(np.quantile(resid, [0, 0.25, 0.5, 0.75, 1]), index=QUANTILE_NAMES),
        anova=sequential_anova(X, d.y, [d.assign[j] for j in keep], d.term_labels,
                               d.has_intercept),
    )


def _coef_table(names: list[str], keep: list[int], res) -> pd.DataFrame:
    table = pd.DataFrame(np.nan, index=names, columns=COEF_COLUMNS)
    rows = [names[j] for j in keep]
    for col, values in zip(COEF_COLUMNS, (res.params, res.bse, res.tvalues, res.pvalues)):
        table.loc[rows, col] = np.asarray(values)
    return table


def sequential_anova(X: np.ndarray, y: np.ndarray, assign: list[int], term_labels: list[str],
                     has_intercept: bool) -> pd.DataFrame:
    """Type I sums of squares from the QR effects Q'y, term by term in column order (anova.lm)."""
    q, _ = np.linalg.qr(X)
    effects = q.T @ y
    resid = y - q @ effects
    ssr, dfr = float(resid @ resid), len(y) - X.shape[1]
    labels, df, ss = _term_sums_of_squares(effects, assign, term_labels, has_intercept)
    ms = [s / k for s, k in zip(ss, df)]
    fval = [m / (ssr / dfr) for m in ms]
    pval = [float(f_dist.sf(v, k, dfr)) for v, k in zip(fval, df)]
    columns = (df + [dfr], ss + [ssr], ms + [ssr / dfr], fval + [np.nan], pval + [np.nan])
    return pd.DataFrame(dict(zip(ANOVA_COLUMNS, columns)), index=labels + ["Residuals"])


def _term_sums_of_squares(effects: np.ndarray, assign: list[int], term_labels: list[str],
                          has_intercept: bool) -> tuple[list[str], list[int], list[float]]:
    """anova.lm's rows before Residuals: each term's label, df and sum of squared effects."""
    terms = list(dict.fromkeys(assign))
    ss = [float(np.sum(effects[np.array(assign) == t] ** 2)) for t in terms]
    df = [assign.count(t) for t in terms]
    labels = [("(Intercept)" if t == 0 else term_labels[t - 1]) for t in terms]
    if has_intercept and terms and terms[0] == 0:
        ss, df, labels = ss[1:], df[1:], labels[1:]
    return labels, df, ss


@dataclass(frozen=True)
class ResponseFit:
    """What lm() reports of one response on a SharedDesign: the kept coefficients' estimates (in
    SharedDesign.names' order), sigma, the residual df and anova.lm's table as numbers."""

    coefficients: np.ndarray
    sigma: float
    df_residual: int
    anova_terms: tuple[str, ...]  # the rows of anova.lm: the terms, then "Residuals"
    anova_df: tuple[int, ...]
    sum_sq: np.ndarray

    def mean_sq(self, term: str) -> float:
        i = self.anova_terms.index(term)
        return float(self.sum_sq[i] / self.anova_df[i])


class SharedDesign:
    """lm(formula) for many responses on the rows of `data` (R's lm with a matrix response, "mlm"):
    the model matrix, its aliased columns dropped as lm() drops them, is factored once (QR, as
    anova.lm's effects are), and each response's fit is a product with Q and a triangular solve.
    `data`'s response column only has to exist; `fit(y)` takes the response."""

    def __init__(self, formula: str, data: pd.DataFrame):
        d, _ = lm_design(formula, data)
        keep = _estimable_columns(d)
        self.names = [d.names[j] for j in keep]
        self.nobs = d.X.shape[0]
        self.df_residual = self.nobs - len(keep)
        self._assign = [d.assign[j] for j in keep]
        self._labels, self._has_intercept = d.term_labels, d.has_intercept
        self._q, self._r = np.linalg.qr(d.X[:, keep])

    def fit(self, y: np.ndarray) -> ResponseFit:
        y = np.asarray(y, float)
        if y.shape != (self.nobs,):
            raise ValueError(f"the response must have {self.nobs} values, one per row")
        effects = self._q.T @ y
        resid = y - self._q @ effects
        ssr = float(resid @ resid)
        labels, df, ss = _term_sums_of_squares(effects, self._assign, self._labels, self._has_intercept)
        return ResponseFit(solve_triangular(self._r, effects), float(np.sqrt(ssr / self.df_residual)),
                           self.df_residual, (*labels, "Residuals"), (*df, self.df_residual),
                           np.array([*ss, ssr]))
