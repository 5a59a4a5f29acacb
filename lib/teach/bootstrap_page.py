"""What the "Parametric bootstrap" page shows, computed here (the page only draws).

The tutorial tests random effects with lrtest() and remarks that the chi-square p is conservative
for a variance tested at zero. The page lets a student make the reference distribution itself, and
puts bootstrap intervals beside the profile and Wald intervals.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.engine.boot_lrt import BootLRT
from lib.engine.bootstrap import Bootstrap
from lib.teach.exercises import CHOICE, NUMBER, Question

NSIM_CHOICES = (100, 200, 500, 1000)

WHAT = """
The **parametric bootstrap** asks the fitted model itself how variable its estimates are: it
*simulates* new IgG values from the model (new family and individual effects, new residuals, with
the estimated variances), **refits** the model to each simulated data set, and collects the
estimates (lme4's `bootMer`). The spread of those estimates is the uncertainty; its 2.5% and 97.5%
quantiles are a 95% interval that needs neither a normal approximation nor a profile. It costs one
refit per replicate; each refit starts from the fitted values, which makes it quick.
"""

LRT_WHAT = """
The tutorial compares models with `lrtest()` and notes the p-value is **conservative** when a
variance is tested at zero: zero is the edge of what a variance can be, so the statistic is not
chi-square with df = the difference in parameters. The usual correction halves the p (a 50:50
mixture of chi-square distributions), but that too is asymptotic. The bootstrap builds the reference
distribution directly: simulate from the *smaller* model (where the variance really is zero), refit
both models, and count how often the statistic is at least as large as the observed one.
"""


@dataclass(frozen=True)
class LrtPair:
    """A tutorial comparison of two models differing in their random effects only."""

    label: str
    null: str  # the tutorial's name of the smaller model
    alt: str


LRT_PAIRS = (
    LrtPair("lrtest(MMod2, MMod): a random Sex effect per family (Time 0)", "MMod", "MMod2"),
    LrtPair("lrtest(MModTime, MModTime2): random Time slopes per family", "MModTime", "MModTime2"),
)


def interval_table(boot: Bootstrap, profile_ci: pd.DataFrame | None, wald_ci: pd.DataFrame,
                   level: float = 0.95) -> pd.DataFrame:
    """Per parameter: the estimate, the bootstrap SD, the percentile interval, and the profile and
    Wald intervals beside it."""
    ci = boot.confint(level)
    t = boot.reps.rows
    out = pd.DataFrame({"estimate": boot.t0, "bootstrap SD": np.nanstd(t, axis=0, ddof=1),
                        "bootstrap lower": ci.iloc[:, 0], "bootstrap upper": ci.iloc[:, 1]}, index=boot.names)
    if profile_ci is not None:
        out["profile lower"], out["profile upper"] = profile_ci.iloc[:, 0], profile_ci.iloc[:, 1]
    out["Wald lower"], out["Wald upper"] = wald_ci.iloc[:, 0], wald_ci.iloc[:, 1]
    return out


def message_lines(counts: dict[str, int], refits: int) -> list[str]:
    """lme4's messages of the refits, counted (bootMer's warnings)."""
    return [f"{n} of {refits} refits: {m}" for m, n in sorted(counts.items(), key=lambda kv: -kv[1])]


def lrt_table(res: BootLRT) -> pd.DataFrame:
    """The observed statistic and the three p-values."""
    return pd.DataFrame({"p-value": [res.p_chisq, res.p_mixture, res.p_boot],
                         "reference": [f"chi-square({res.df})",
                                       f"50:50 mixture of chi-square({res.df - 1}) and chi-square({res.df})",
                                       f"parametric bootstrap ({len(res.reference)} replicates)"]},
                        index=["lrtest()", "boundary-corrected", "bootstrap"])


def lrt_story(res: BootLRT) -> str:
    """What the reference distribution shows."""
    ref = res.reference
    if not len(ref):
        return ""
    mean = float(ref.mean())
    text = (f"The simulated statistics average **{mean:.2f}**, against {res.df} for chi-square({res.df}) and "
            f"{res.df - 0.5:.1f} for the 50:50 mixture. ")
    if mean < res.df:
        text += ("They are smaller than chi-square says, so the chi-square p is too large (conservative), "
                 "as the tutorial warns. ")
    zeros = res.share_at_zero
    if zeros > 0.05:
        text += f"{zeros:.0%} of them are zero: the larger model's fit put the variance at zero. "
    return text


# -- the page's checks (lib.teach.exercise_bank) ------------------------------------------------------

def exercises(nsim: int = 200, res: BootLRT | None = None) -> list[Question]:
    """The smallest p a bootstrap of nsim replicates can give; which of the three p-values is smallest."""
    out = [Question("smallest_p", f"With {nsim} replicates, what is the **smallest** p-value the bootstrap test "
                    "can give (when no replicate reaches the observed statistic)?", NUMBER, 1 / (nsim + 1),
                    f"p = (1 + 0) / (1 + {nsim}) = {1 / (nsim + 1):.4g}: to show smaller p-values takes more "
                    "replicates.", "p = (1 + count of replicates at least as large) / (1 + replicates).",
                    tolerance=0.05 / (nsim + 1))]
    if res is not None and len(res.reference):
        table = lrt_table(res)
        answer = str(table["p-value"].idxmin())
        out.append(Question("smallest_of_three", "Which p-value is the **smallest** here?", CHOICE, answer,
                            "; ".join(f"{k}: {v:.3g}" for k, v in table["p-value"].items())
                            + ". The chi-square p of lrtest() is the conservative one.",
                            "Read the p-value column of the table above.", tuple(table.index)))
    return out
