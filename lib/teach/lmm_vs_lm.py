"""An lm with a factor's contrasts beside an lmer with that factor as a random effect.

`fixed_side_by_side` lines up the coefficients the two models share; `group_means`
puts each group's intercept from both on one scale: lm's reference intercept plus the
group's contrast, against lmer's intercept plus the group's predicted random effect
(pulled toward the overall intercept: shrinkage).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def fixed_side_by_side(lm_fit, lmer_fit, lm_name: str = "lm", lmer_name: str = "lmer") -> pd.DataFrame:
    """Term, lm estimate and SE, lmer estimate and SE (blank where a model has no such term)."""
    lm_tab = lm_fit.coefficients[["Estimate", "Std. Error"]]
    mm = pd.DataFrame({"Estimate": lmer_fit.fixef, "Std. Error": lmer_fit.se})
    terms = list(dict.fromkeys(list(mm.index) + list(lm_tab.index)))
    out = pd.DataFrame(index=pd.Index(terms, name="term"))
    out[f"{lm_name} estimate"] = lm_tab["Estimate"].reindex(terms)
    out[f"{lm_name} SE"] = lm_tab["Std. Error"].reindex(terms)
    out[f"{lmer_name} estimate"] = mm["Estimate"].reindex(terms)
    out[f"{lmer_name} SE"] = mm["Std. Error"].reindex(terms)
    return out


def group_means(lm_fit, lmer_fit, data: pd.DataFrame, group: str = "FamID",
                lm_name: str = "lm (fixed contrasts)", lmer_name: str = "lmer (random effect)") -> pd.DataFrame:
    """Each group's intercept from both models (long format: group, model, intercept, n)."""
    levels = [str(v) for v in (data[group].cat.categories if hasattr(data[group], "cat")
                               else sorted(data[group].unique()))]
    counts = data[group].astype(str).value_counts()
    coef = lm_fit.coefficients["Estimate"]
    lm_vals = [coef["(Intercept)"] + (coef.get(f"{group}{lev}", 0.0) if i else 0.0)
               for i, lev in enumerate(levels)]
    rows = [(lev, lm_name, float(v), int(counts.get(lev, 0))) for lev, v in zip(levels, lm_vals)]
    re = lmer_fit.ranef.get(group)
    grand = float(lmer_fit.fixef.get("(Intercept)", np.nan))
    if re is not None and "(Intercept)" in re.columns:
        for lev in levels:
            b = float(re.loc[lev, "(Intercept)"]) if lev in re.index else np.nan
            rows.append((lev, lmer_name, grand + b, int(counts.get(lev, 0))))
    out = pd.DataFrame(rows, columns=[group, "model", "intercept", "n"])
    out.attrs["grand_mean"] = grand
    return out


def residual_variances(lm_fit, lmer_fit) -> dict[str, float]:
    """The residual variance each model leaves: lm's sigma^2 and lmer's Residual variance."""
    return {"lm": float(lm_fit.sigma ** 2), "lmer": lmer_fit.residual_variance}
