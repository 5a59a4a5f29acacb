"""The Convergence page's story: MModTime3's two verdicts in lme4, one optimum here.

R's read.csv reads one IgG value of ImmuneData.csv (row 781; 0-based index 780: FamID 2, IndID 45,
Time 3, M; "136.508461815215") as 136.50846181521501, one unit in the last place above the correctly
rounded 136.50846181521499 that pandas reads. lme4 1.1-31 stops at two different points on the two
readings: on R's reading with the tutorial's "Model failed to converge with max|grad| = 0.0211755",
on the exact values on the boundary, "boundary (singular) fit". Both points lie a little above the
criterion's optimum, which is singular on both readings: the Cholesky factor's diagonal for IndID's
Time effect is 0, so IndID's slopes are an exact multiple of its intercepts (Corr 1.00, a Time
variance of about 0.536, not zero).

`LME4_STOPS` holds lme4's reported point and message for each reading (data/lme4_reference.json, from
shared/reference/seed_lme4.json); `check_at` runs lme4's check (deriv12 and checkConv) there with this
project's criterion; `reading` sets lme4's point beside this engine's optimum on the same reading.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

from lib.data.lme4_reference import lme4_fit
from lib.data.slices import R_READ_TEXT
from lib.engine.convergence import GRAD_TOL
from lib.engine.lmer import setup
from lib.rprint.rformat import format_numbers, format_signif
from lib.teach.stopping import (
    CheckResult,
    Singularity,
    check_problem,
    first_divergence,
    fit_at,
    gradient_table,
    reported_grad,
    singularities,
    verdict,
)

FORMULA = "IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | IndID)"
DOUBLE_BAR = "IgG ~ Sex * Time + (1 + Time || FamID)"  # where lme4 1.1-31 stops 4.4 above the optimum
THETA_NAMES = ("IndID.(Intercept)", "IndID.Time.(Intercept)", "IndID.Time",
               "FamID.(Intercept)", "FamID.Time.(Intercept)", "FamID.Time")
SLOPE_DIAGONAL = THETA_NAMES.index("IndID.Time")


@dataclass(frozen=True)
class Lme4Stop:
    data: str  # data slice name (lib.data.slices)
    label: str
    theta: tuple[float, ...]
    reml_criterion: float
    message: str
    source: str  # its record in data/lme4_reference.json


def _stop(data: str, label: str, source: str) -> Lme4Stop:
    ref = lme4_fit(source)
    return Lme4Stop(data, label, tuple(ref["theta"][n] for n in THETA_NAMES), ref["crit"], ref["messages"][0], source)


LME4_STOPS = MappingProxyType({
    "all": _stop("all", "the correctly rounded values (pandas, ImmuneData_exact.csv)", "MModTime3"),
    "all_r_read": _stop("all_r_read", "the values as R's read.csv reads ImmuneData.csv (row 781 one ulp high)",
                        "MModTime3_R_reading"),
})
READING_NAMES = MappingProxyType({"all": "exact values", "all_r_read": "R's reading"})


def check_at(data: pd.DataFrame, theta, formula: str = FORMULA, reml: bool = True) -> CheckResult:
    """lme4's checkConv at theta, on a problem built from the data."""
    return check_problem(setup(formula, data), theta, reml)


def relative_difference(a: float, b: float) -> float:
    """|a - b| / |b|."""
    return abs(a - b) / abs(b) if b else float("inf")


@dataclass(frozen=True)
class Reading:
    """One reading of ImmuneData.csv: lme4's stop on it, lme4's check there, and this engine's optimum."""

    stop: Lme4Stop
    check: CheckResult  # lme4's check, evaluated here at lme4's point
    gap: float  # lme4's stop above the optimum on this reading
    slope_variance: float  # IndID's Time variance at lme4's stop
    slope_corr: float  # IndID's intercept-slope correlation at lme4's stop
    optimum_messages: tuple[str, ...]
    optimum_singular: tuple[Singularity, ...]

    @property
    def name(self) -> str:
        return READING_NAMES[self.stop.data]

    @property
    def stop_diagonal(self) -> float:
        return self.stop.theta[SLOPE_DIAGONAL]


def _indid_slope(fit) -> tuple[float, float]:
    vc = fit.varcorr
    ind = vc[vc["grp"] == "IndID"]
    var = float(ind.loc[(ind["var1"] == "Time") & ind["var2"].isna(), "vcov"].iloc[0])
    corr = float(ind.loc[ind["var2"].notna(), "sdcor"].iloc[0])
    return var, corr


def reading(stop: Lme4Stop, optimum) -> Reading:
    """lme4's point on this reading beside this engine's fit (the optimum) of MModTime3 on the same data."""
    var, corr = _indid_slope(fit_at(optimum, stop.theta))
    check = check_problem(optimum.problem, stop.theta, optimum.REML)
    return Reading(stop, check, stop.reml_criterion - optimum.criterion, var, corr,
                   tuple(optimum.all_messages), tuple(singularities(optimum)))


def readings_table(readings: list[Reading]) -> pd.DataFrame:
    """One row per reading: lme4's message, its check here, where lme4 stopped, the optimum's verdict."""
    rows = []
    for r in readings:
        rows.append({
            "reading": r.name,
            "lme4's message": r.stop.message,
            "lme4's check, run here at lme4's point": r.check.messages[0] if r.check.messages else "no message",
            "lme4's stop above the optimum": f"{r.gap:.1e}",
            "IndID Time at lme4's stop": f"variance {format_signif(r.slope_variance, 4)}, Corr {r.slope_corr:.2f}, "
                                         f"Cholesky diagonal {r.stop_diagonal:.3g}",
            "at the optimum (this app)": verdict(list(r.optimum_messages)),
        })
    return pd.DataFrame(rows).set_index("reading")


def readings_story(readings: list[Reading]) -> str:
    """The two readings in words, with their numbers (markdown)."""
    by = {r.stop.data: r for r in readings}
    ex, rr = by["all"], by["all_r_read"]
    sing = "; ".join(s.words() for s in ex.optimum_singular) or "no singular term"
    return f"""
Both of lme4's points lie a little **above the optimum** of the criterion, on a ridge so flat that
the last bit of one number decides where the optimizer stops:

- On **R's reading**, lme4 stopped **{rr.gap:.1e}** above the optimum, at a point where the Cholesky
  factor's diagonal for IndID's Time effect is {rr.stop_diagonal:.3g}: just off the boundary. There the
  criterion still slopes, so lme4's gradient test runs and fails (max|grad| {reported_grad(rr.stop.message):g},
  tolerance {GRAD_TOL:g}): *{rr.stop.message}*.
- On the **exact values**, lme4 stopped **{ex.gap:.1e}** above the optimum with that diagonal at exactly 0:
  on the boundary, so lme4 reports *{ex.stop.message}* and skips the gradient test.

At either point IndID's Time variance is about {format_signif(ex.slope_variance, 3)}, **not zero**: the fit is
singular **through the correlation** (Corr {ex.slope_corr:.2f}). The optimum itself is the same kind of point
on both readings: {sing}. So this app gives one verdict, singular, whichever reading you choose above:
the ulp changes lme4's stopping point, not the model.
"""


def one_ulp_story() -> str:
    """Why there are two readings of one file (markdown)."""
    return f"""
R's `read.csv` reads one of the 4,860 IgG values of ImmuneData.csv, row 781 (FamID 2, IndID 45, Time 3,
M), written `{R_READ_TEXT}`, as **136.50846181521501**: one unit in the last place (ulp) above the
correctly rounded **136.50846181521499** that pandas (and this app) reads. Every other model of the
tutorial is unmoved. MModTime3 is not: lme4 stops at a different point on each reading, with a
different message.
"""


def replays_story(first_split: int | None, verdicts: dict[str, str]) -> str:
    """What lme4's path, replayed here on both readings, did (markdown). Path-dependent: an illustration."""
    split = ("identical throughout" if first_split is None
             else f"identical for {first_split - 1} evaluations, then apart")
    ends = "; ".join(f"{READING_NAMES[k]}: {v}" for k, v in verdicts.items())
    return (f"Replayed here, lme4's two paths are {split} (lme4's own, in R, split after 210). Where the "
            f"replays stop, lme4's check says: {ends}. Another machine's arithmetic can stop elsewhere; "
            "that is the point: the optimum does not move, the stopping point does.")


@dataclass(frozen=True)
class FarStop:
    """A model where lme4's default stop lies far above the optimum, in lme4's own prints."""

    formula: str  # as lme4 prints it
    stop_criterion: float  # as printed (one decimal)
    optimum_criterion: float
    messages: tuple[str, ...]  # lme4's messages at its stop
    printed: str  # lme4's summary at its stop
    optimum_printed: str  # lme4's summary at the optimum (a tight refit in R)

    @property
    def gap(self) -> float:
        return self.stop_criterion - self.optimum_criterion

    def quoted(self, pattern: str, at_optimum: bool = False) -> str:
        """A number from one of the prints: the first group of `pattern` on the first line it matches."""
        text = self.optimum_printed if at_optimum else self.printed
        return next(m.group(1) for m in map(re.compile(pattern).match, text.splitlines()) if m)


def far_stop(name: str = "double_bar") -> FarStop:
    ref = lme4_fit(name)
    return FarStop(ref["formula"], ref["crit"], ref["optimum_crit"], tuple(ref["messages"]),
                   "\n".join(ref["printed"]), "\n".join(ref["optimum_printed"]))


FAMID_VARIANCE = r"^\s*FamID\s+\(Intercept\)\s+(\S+)"
INTERCEPT_SE = r"^\(Intercept\)\s+\S+\s+(\S+)"


def far_stop_story(far: FarStop, replayed_gap: float | None, replayed_verdict: str | None) -> str:
    """Why a warning is not a measure of how far off lme4's numbers are (markdown, numbers from R's prints)."""
    warned = " and ".join(f"*{m}*" for m in far.messages)
    replay = ("" if replayed_gap is None else
              f" Replayed here, lme4's path stops {replayed_gap:.1f} above the optimum too (lme4's check there: "
              f"{replayed_verdict}).")
    return f"""
lme4 1.1-31's default fit of `{far.formula}` stops at REML criterion **{far.stop_criterion:.1f}**; the
optimum is **{far.optimum_criterion:.1f}**, {far.gap:.1f} lower. Its summary reports a FamID intercept
variance of **{far.quoted(FAMID_VARIANCE)}** where the optimum has **{far.quoted(FAMID_VARIANCE, True)}**, and an
intercept standard error of {far.quoted(INTERCEPT_SE)} instead of {far.quoted(INTERCEPT_SE, True)}: a variance
four times and a standard error twice the optimum's, in a table a student would copy. lme4 does warn,
{warned}, but the words describe the Hessian where it stopped, not how far its estimates are from the
optimum.{replay} This app reports the optimum, for this model and any other.
"""


def print_data_frame(df: pd.DataFrame) -> str:
    """R's print() of a data frame (as after dplyr's filter(): row names 1..n).

    Numeric columns go through R's format() (7 significant digits, common decimals),
    everything is right-justified under its header, row names left-justified.
    """
    cols = []
    for c in df.columns:
        v = df[c]
        if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
            cells = format_numbers(v.to_numpy(float), 7) if pd.api.types.is_float_dtype(v) \
                else [str(int(x)) for x in v]
        else:
            cells = [str(x) for x in v]
        width = max([len(str(c))] + [len(x) for x in cells])
        cols.append([str(c).rjust(width)] + [x.rjust(width) for x in cells])
    names = [""] + [str(i) for i in range(1, len(df) + 1)]
    rw = max(len(n) for n in names)
    lines = [" ".join([names[i].ljust(rw)] + [col[i] for col in cols]) for i in range(len(names))]
    return "\n".join(lines)


def two_people(data: pd.DataFrame, code: str = "1") -> tuple[pd.DataFrame, dict[str, str]]:
    """The rows of one IndID code, and the family of each of its two people (by sex)."""
    rows = data[data["IndID"].astype(str) == code]
    fams = rows.groupby(rows["Sex"].astype(str), observed=True)["FamID"].first().astype(str).to_dict()
    return rows, fams


__all__ = ["DOUBLE_BAR", "FarStop", "far_stop", "far_stop_story", "FORMULA", "GRAD_TOL", "LME4_STOPS", "THETA_NAMES", "CheckResult", "Reading", "check_at",
           "first_divergence", "gradient_table", "one_ulp_story", "print_data_frame", "reading",
           "readings_story", "readings_table", "relative_difference", "replays_story", "reported_grad",
           "two_people", "verdict"]
