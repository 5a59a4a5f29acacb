"""summary(lm) and anova(lm) as R prints them."""
from __future__ import annotations

import pandas as pd

from lib.engine.lm import COEF_COLUMNS, QUANTILE_NAMES, LmFit
from lib.rprint.lme4_print import deparse
from lib.rprint.rformat import (
    Cells,
    coefmat_cells,
    format_c,
    format_pvalue,
    format_signif,
    print_coefmat,
    print_named,
    r_signif,
    signif_legend,
    signif_stars,
    zapsmall,
)


def lm_anova_cells(fit: LmFit) -> Cells:
    """anova(fit)'s table as R prints its cells (blank where R prints nothing, stars)."""
    return coefmat_cells(fit.anova, digits=5, cs_ind=[], tst_ind=[3], zap_ind=[1, 2], has_pvalue=True,
                         na_print="")


def lm_call(fit: LmFit) -> str:
    """R's call line: lm(formula = IgG ~ Sex * FamID, data = InitIgG), the formula deparsed as R does."""
    return f"lm(formula = {' '.join(deparse(fit.formula, cutoff=500))}, data = {fit.data_name})"


def lm_anova_text(fit: LmFit) -> str:
    """The text of R's print(anova(fit))."""
    cells = lm_anova_cells(fit)
    table = cells.text() + ("\n" + signif_legend() if cells.stars else "")
    return f"Analysis of Variance Table\n\nResponse: {fit.response}\n{table}"


def coef_table_with_stars(fit: LmFit) -> pd.DataFrame:
    """The coefficient table with R's significance stars in a "signif" column."""
    return fit.coefficients.assign(signif=[signif_stars(p) for p in fit.coefficients["Pr(>|t|)"]])


def lm_summary(fit: LmFit, digits: int = 4) -> str:
    """R's print.summary.lm layout."""
    lines = ["Call:", lm_call(fit), "", "Residuals:", _residuals_block(fit, digits), ""]
    if fit.aliased:
        lines.append(f"Coefficients: ({len(fit.aliased)} not defined because of singularities)")
    else:
        lines.append("Coefficients:")
    lines.append(print_coefmat(fit.coefficients[COEF_COLUMNS], digits=digits))
    lines += ["", f"Residual standard error: {format_signif(r_signif(fit.sigma, digits))} "
                  f"on {fit.df_residual} degrees of freedom"]
    if fit.fstatistic is not None:
        value, df1, df2 = fit.fstatistic
        lines.append(f"Multiple R-squared:  {format_c(fit.r_squared, digits)},\t"
                     f"Adjusted R-squared:  {format_c(fit.adj_r_squared, digits)} ")
        lines.append(f"F-statistic: {format_c(value, digits)} on {df1} and {df2} DF,  "
                     f"p-value: {format_pvalue(fit.f_pvalue, digits)}")
    return "\n".join(lines)


def _residuals_block(fit: LmFit, digits: int) -> str:
    if fit.df_residual > 5:
        q = zapsmall(fit.residual_quantiles.to_numpy(), digits + 1)
        return print_named(q, QUANTILE_NAMES, digits)
    return print_named(fit.residuals, [str(i + 1) for i in range(fit.nobs)], digits)
