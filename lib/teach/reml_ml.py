"""The same model by REML and by ML, side by side."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lib.engine.profile_curves import reml_ml_curves
from lib.rprint.rformat import format_numbers


def side_by_side(reml_fit, ml_fit) -> pd.DataFrame:
    """Estimates of both fits: fixed effects and SEs, variances, SDs, likelihoods; ML/REML ratio."""
    rows: list[tuple[str, str, float, float]] = []
    for name in reml_fit.fixef.index:
        rows.append(("fixed effect", name, float(reml_fit.fixef[name]), float(ml_fit.fixef.get(name, np.nan))))
    for name in reml_fit.fixef.index:
        rows.append(("std. error", name, float(reml_fit.se[name]), float(ml_fit.se.get(name, np.nan))))
    a, b = reml_fit.varcorr, ml_fit.varcorr
    for (_, ra), (_, rb) in zip(a.iterrows(), b.iterrows()):
        if pd.isna(ra["var2"]):
            label = ra["grp"] if pd.isna(ra["var1"]) else f"{ra['grp']} {ra['var1']}"
            rows.append(("variance", label, float(ra["vcov"]), float(rb["vcov"])))
            rows.append(("std. deviation", label, float(ra["sdcor"]), float(rb["sdcor"])))
        else:
            rows.append(("correlation", f"{ra['grp']} {ra['var1']}:{ra['var2']}", float(ra["sdcor"]),
                         float(rb["sdcor"])))
    rows.append(("criterion", "REML criterion / deviance", float(reml_fit.criterion), float(ml_fit.criterion)))
    rows.append(("likelihood", "log-likelihood", float(reml_fit.loglik), float(ml_fit.loglik)))
    out = pd.DataFrame(rows, columns=["quantity", "term", "REML", "ML"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ML / REML"] = np.where(out["quantity"].isin(["variance", "std. deviation", "std. error"]),
                                    out["ML"] / out["REML"], np.nan)
    return out


COMPARISONS = pd.DataFrame([
    ("Random effects differ, fixed effects the same", "REML or ML",
     "lrtest() on the REML fits is fine: REML likelihoods of the same fixed-effects design are comparable."),
    ("Fixed effects differ", "ML only",
     "REML likelihoods of different fixed-effects designs are of different data; anova() refits by ML."),
    ("AIC / BIC across fixed-effects structures", "ML only", "Same reason: they are built from the likelihood."),
    ("Reporting the variance components", "REML",
     "REML does not bias variances down for the fixed effects it estimated."),
], columns=["comparison", "likelihood", "why"])


def formatted_side_by_side(table: pd.DataFrame) -> pd.DataFrame:
    """side_by_side's numbers as text: each REML/ML pair formatted together (R's format, 6 digits)."""
    shown = table.copy()
    pairs = [format_numbers([a, b], 6) for a, b in zip(table["REML"], table["ML"])]
    shown["REML"] = [p[0].strip() for p in pairs]
    shown["ML"] = [p[1].strip() for p in pairs]
    shown["ML / REML"] = ["" if v != v else f"{v:.4f}" for v in table["ML / REML"]]
    return shown


def criterion_frames(formula: str, data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The profiled REML and ML curves of a one-variance model, and each optimum as a row to mark.

    curves: method, theta, criterion, sigma, sd, relative; optima: method, sd, theta, sigma,
    criterion, relative (0) and a label.
    """
    curves, opts = reml_ml_curves(formula, data)
    optima = pd.DataFrame([{"method": o.method, "sd": o.sd, "theta": o.theta, "sigma": o.sigma,
                            "criterion": o.criterion, "relative": 0.0, "label": f"{o.method}: {o.sd:.3f}"}
                           for o in opts])
    return curves, optima
