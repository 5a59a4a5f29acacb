"""The same model by REML and by ML, side by side."""
from __future__ import annotations

import numpy as np
import pandas as pd


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
