"""lrtest() and anova() tables as R prints them: one table of cells, as R's text and as a DataFrame."""
from __future__ import annotations

import re

import pandas as pd

from lib.engine.compare import ModelComparison
from lib.rprint.lme4_print import formula_lines, formula_text
from lib.rprint.rformat import Cells, coefmat_cells, signif_legend, zapsmall


def heading(c: ModelComparison) -> list[str]:
    """The lines R prints above the table."""
    if c.kind == "lrtest":
        n = len(c.fits)
        labels = [s.rjust(len(str(n))) for s in map(str, range(1, n + 1))]  # R's format(1:n)
        models = "\n".join(f"Model {i}: " + "\n".join(formula_lines(f)) for i, f in zip(labels, c.fits))
        return ["Likelihood ratio test\n", models]
    lines = ([f"Data: {c.data_name}"] if c.data_name else []) + ["Models:"]
    return lines + [f"{nm}: {formula_text(f)}" for nm, f in zip(c.table.index, c.fits)]


def comparison_text(c: ModelComparison) -> str:
    """print(x): the heading lines, then the table as stats' print.anova() lays it out."""
    cells = anova_cells(c.table)
    legend = "\n" + signif_legend() if cells.stars else ""
    return "".join(h + "\n" for h in heading(c)) + cells.text() + legend + "\n"


def formatted_table(c: ModelComparison) -> pd.DataFrame:
    """The same cells as a DataFrame, for display (stars in the unnamed last column)."""
    return anova_cells(c.table).frame()


def anova_cells(table: pd.DataFrame, digits: int = 5) -> Cells:
    """stats' print.anova(): which columns are zapped, which are test statistics, stars."""
    cn = [str(c) for c in table.columns]
    nc = len(cn)
    has_p = bool(re.match(r"^(P|Pr)\(", cn[-1]))
    zap = list(range(nc - 1 if has_p else nc))
    tst = [j for j, c in enumerate(cn) if c[1:7] == " value"]
    tst += [j for j, c in enumerate(cn) if c in ("F", "Cp", "Chisq")]
    zap = [j for j in zap if j not in tst and not cn[j].endswith("Df")]
    zapped = table.astype(float).copy()
    for j in zap:  # printCoefmat's zap.ind, done here on a writable copy
        zapped.iloc[:, j] = zapsmall(zapped.iloc[:, j].to_numpy(), digits)
    return coefmat_cells(zapped, digits=digits, cs_ind=[], tst_ind=tst, has_pvalue=has_p, na_print="")


def print_anova_table(table: pd.DataFrame, digits: int = 5) -> str:
    """print.anova()'s table text, with the significance legend under stars."""
    cells = anova_cells(table, digits)
    return cells.text() + ("\n" + signif_legend() if cells.stars else "")
