"""MModTime3's two verdicts, and lme4's convergence check re-run at lme4's stopping points.

R's read.csv reads one IgG value of ImmuneData.csv (row 781; 0-based index 780:
FamID 2, IndID 45, Time 3, M; "136.508461815215") as 136.50846181521501, one unit in
the last place above the correctly rounded 136.50846181521499 that pandas reads. On
R's reading lme4 stops with the tutorial's "Model failed to converge with max|grad| =
0.0211755"; on the exact values it ends with the IndID slope variance at zero,
"boundary (singular) fit". The model sits on the edge of its parameter space, where
rounding decides the optimizer's stopping point.

`LME4_STOPS` holds lme4's reported theta and message for each input (from
shared/reference/seed_lme4.json: lmer_reml.MModTime3 and
tutorial_as_printed.MModTime3). `check_at` evaluates lme4's post-fit check (deriv12
and checkConv, lib.engine.convergence) with this project's criterion at such a theta.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.engine.convergence import GRAD_TOL, check_convergence, deriv12, is_singular
from lib.engine.lmer import lme4_stop, setup
from lib.engine.lmer_fit import evaluation_frame
from lib.engine.retrms import theta_names

FORMULA = "IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | IndID)"
THETA_NAMES = ("IndID.(Intercept)", "IndID.Time.(Intercept)", "IndID.Time",
               "FamID.(Intercept)", "FamID.Time.(Intercept)", "FamID.Time")


@dataclass(frozen=True)
class Lme4Stop:
    data: str  # data slice name (lib.data.slices)
    label: str
    theta: tuple[float, ...]
    reml_criterion: float
    message: str
    source: str  # where in seed_lme4.json


LME4_STOPS: dict[str, Lme4Stop] = {
    "all": Lme4Stop(
        "all", "the correctly rounded values (pandas, ImmuneData_exact.csv)",
        (0.0790739194370394, 0.0931984485108992, 0.0, 0.689769878161649, 0.0488626618018139,
         0.0963933352373212),
        34390.5305185068, "boundary (singular) fit: see help('isSingular')", "lmer_reml.MModTime3"),
    "all_r_read": Lme4Stop(
        "all_r_read", "the values as R's read.csv reads ImmuneData.csv (row 781 one ulp high)",
        (0.0788589146947336, 0.0932025650262834, 0.00124198985077859, 0.689067566346594,
         0.048817385727823, 0.0963454033760612),
        34390.5308159016, "Model failed to converge with max|grad| = 0.0211755 (tol = 0.002, component 1)",
        "tutorial_as_printed.MModTime3"),
}


@dataclass(frozen=True)
class CheckResult:
    theta: np.ndarray
    criterion: float
    gradient: np.ndarray
    scaled_gradient: np.ndarray | None
    max_min_grad: float | None  # lme4's max(pmin(|scaled|, |grad|))
    singular: bool
    messages: list[str]

    @property
    def verdict(self) -> str:
        return verdict(self.messages)


def verdict(messages: list[str]) -> str:
    """'singular', 'failed to converge', another message's first words, or 'clean'."""
    if not messages:
        return "clean"
    m = messages[0]
    if m.startswith("boundary (singular)"):
        return "singular"
    if m.startswith("Model failed to converge with max|grad|"):
        return "failed to converge"
    return m.split(":")[0]


def check_at(data: pd.DataFrame, theta, formula: str = FORMULA, reml: bool = True) -> CheckResult:
    """lme4's checkConv at theta: finite-difference gradient and Hessian, then its messages."""
    prob = setup(formula, data)
    th = np.asarray(theta, float)

    def fn(t: np.ndarray) -> float:
        return prob.criterion(t, reml)

    fx = fn(th)
    g, H = deriv12(fn, th, fx)
    scaled, maxmin = None, None
    try:
        R = np.linalg.cholesky(H).T
        scaled = np.linalg.solve(R, g)
        maxmin = float(np.max(np.minimum(np.abs(scaled), np.abs(g))))
    except np.linalg.LinAlgError:
        pass
    return CheckResult(th, fx, g, scaled, maxmin, is_singular(th, prob.lower),
                       check_convergence(th, prob.lower, g, H))


def lme4_trace(fit) -> pd.DataFrame:
    """lme4's own optimizer path on a fit's model and data (nloptwrap's BOBYQA from lme4's start,
    as `verbose = TRUE` prints it), on a problem of its own: the fit itself takes another path
    to the same optimum (lib.engine.lmer.optimize)."""
    prob = setup(fit.formula, fit.problem.frame)
    return evaluation_frame(lme4_stop(prob, fit.REML).trace, theta_names(prob.blocks))


def reported_grad(message: str) -> float | None:
    """The max|grad| number in lme4's gradient message (None for other messages)."""
    m = re.search(r"max\|grad\| = ([0-9.eE+-]+)", message)
    return float(m.group(1)) if m else None


def relative_difference(a: float, b: float) -> float:
    """|a - b| / |b|."""
    return abs(a - b) / abs(b) if b else float("inf")


def print_data_frame(df: pd.DataFrame) -> str:
    """R's print() of a data frame (as after dplyr's filter(): row names 1..n).

    Numeric columns go through R's format() (7 significant digits, common decimals),
    everything is right-justified under its header, row names left-justified.
    """
    from lib.rprint.rformat import format_numbers
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


def first_divergence(trace_a: pd.DataFrame, trace_b: pd.DataFrame) -> int | None:
    """The first evaluation (1-based) where two optimizer traces differ; None if identical."""
    cols = [c for c in trace_a.columns if c not in ("evaluation", "stage")]
    n = min(len(trace_a), len(trace_b))
    a, b = trace_a[cols].to_numpy()[:n], trace_b[cols].to_numpy()[:n]
    diff = np.flatnonzero(np.any(a != b, axis=1))
    if diff.size:
        return int(diff[0]) + 1
    return None if len(trace_a) == len(trace_b) else n + 1


def gradient_table(check: CheckResult) -> pd.DataFrame:
    """Per parameter: theta, gradient, scaled gradient and lme4's min of the two."""
    out = pd.DataFrame({"theta": check.theta, "gradient": check.gradient}, index=list(THETA_NAMES))
    if check.scaled_gradient is not None:
        out["scaled gradient"] = check.scaled_gradient
        out["min(|scaled|, |gradient|)"] = np.minimum(np.abs(check.scaled_gradient), np.abs(check.gradient))
    out.index.name = "parameter"
    return out


__all__ = ["FORMULA", "GRAD_TOL", "LME4_STOPS", "CheckResult", "check_at", "relative_difference",
           "first_divergence", "gradient_table", "print_data_frame", "reported_grad", "verdict"]
