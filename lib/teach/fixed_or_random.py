"""'Fixed or random?' by experiment: what the replicates of lib.engine.oneway_experiment show.

- Does the interval recover the population mean? lm with a group factor estimates these groups'
  means; its interval for their average (t on lm's residual df) knows nothing of how groups vary,
  so it covers the mean of the population of groups far less often than 95% once groups differ.
  lmer's intercept, with its Wald interval (lme4's confint(method = "Wald"), +- 1.96 SE), is an
  estimate of that population mean.
- Which group means are closer to the truth? lm's are each group's own mean; lmer's are pulled
  towards the overall mean (partial pooling), which lowers their average squared error.
- How is the group variance estimated with few groups? REML and ML estimate it as exactly 0
  (a singular fit) whenever the groups differ less than their residual noise alone would make them;
  the ANOVA estimate is then negative. ML's estimates are smaller than REML's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from lib.engine.oneway_experiment import Design, Replicate, singular_probability

Z95 = float(stats.norm.ppf(0.975))
COUNTS = (20, 50, 100, 200, 500, 1000)  # the replicates a student can ask for
DEFAULT_DESIGN, DEFAULT_SEED, DEFAULT_COUNT = Design(5, 4, 1.0, 2.0), 1, 100  # the page before any change


def replicate_frame(design: Design, reps: Sequence[Replicate]) -> pd.DataFrame:
    """One row per replicate: the estimates and whether each interval covered the truth."""
    rows = []
    t_quantiles = stats.t.ppf(0.975, np.array([r.lm_df for r in reps], float))
    for r, t in zip(reps, t_quantiles):
        rows.append({
            "replicate": r.index,
            "lm covers": abs(r.lm_mean - design.mean) <= float(t) * r.lm_mean_se,
            "lmer covers": abs(r.reml.intercept - design.mean) <= Z95 * r.reml.se,
            "lm RMSE": _rmse(r.lm_means, r.true_means),
            "lmer RMSE": _rmse(r.reml.group_means, r.true_means),
            "REML SD": r.reml.sd_group, "ML SD": r.ml.sd_group,
            "REML singular": r.reml.singular, "ML singular": r.ml.singular,
            "ANOVA variance": r.anova_var, "REML residual SD": r.reml.sd_resid,
            "ML residual SD": r.ml.sd_resid,
        })
    return pd.DataFrame(rows)


def _rmse(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((estimate - truth) ** 2)))


@dataclass(frozen=True)
class Summary:
    replicates: int
    lm_coverage: float
    lmer_coverage: float
    lm_rmse: float  # root of the mean squared error of the group means, over replicates
    lmer_rmse: float
    reml_singular: float
    ml_singular: float
    reml_singular_theory: float
    ml_singular_theory: float
    anova_negative: float
    reml_mean_var: float  # the mean of the estimated group variances
    ml_mean_var: float
    true_var: float
    ml_below_reml: float  # share of replicates with ML's SD below REML's


def summarize(design: Design, reps: Sequence[Replicate]) -> Summary:
    if not reps:
        raise ValueError("no replicates to summarize yet")
    return summarize_frame(design, replicate_frame(design, reps))


def summarize_frame(design: Design, f: pd.DataFrame) -> Summary:
    """summarize() from the replicates' frame (replicate_frame), for a page that shows both."""
    if f.empty:
        raise ValueError("no replicates to summarize yet")
    return Summary(
        len(f), float(f["lm covers"].mean()), float(f["lmer covers"].mean()),
        float(np.sqrt(np.mean(f["lm RMSE"] ** 2))), float(np.sqrt(np.mean(f["lmer RMSE"] ** 2))),
        float(f["REML singular"].mean()), float(f["ML singular"].mean()),
        singular_probability(design, True), singular_probability(design, False),
        float((f["ANOVA variance"] < 0).mean()), float((f["REML SD"] ** 2).mean()),
        float((f["ML SD"] ** 2).mean()), design.sd_group ** 2,
        float((f["ML SD"] < f["REML SD"]).mean()))


def coverage_table(summary: Summary) -> pd.DataFrame:
    """The coverage chart's rows: each model's interval and the share of replicates it covered the truth in."""
    return pd.DataFrame({"model": ["lm: mean of the group means (t interval)", "lmer: intercept (Wald, ±1.96 SE)"],
                         "share": [summary.lm_coverage, summary.lmer_coverage]})


def singular_table(summary: Summary) -> pd.DataFrame:
    """The singular-fit chart's rows: REML's and ML's share of singular fits, simulated and in theory."""
    return pd.DataFrame([
        {"what": "REML", "source": "simulated", "share": summary.reml_singular},
        {"what": "REML", "source": "theory", "share": summary.reml_singular_theory},
        {"what": "ML", "source": "simulated", "share": summary.ml_singular},
        {"what": "ML", "source": "theory", "share": summary.ml_singular_theory}])


def binomial_band(share: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Where a simulated share of n replicates falls with probability `level` if the true share is
    `share` (normal approximation), to judge simulation against theory."""
    half = float(stats.norm.ppf(0.5 + level / 2)) * np.sqrt(share * (1 - share) / n)
    return max(0.0, share - half), min(1.0, share + half)
