"""Where lme4's default optimizer stops, beside the optimum this app reports.

lme4's optimizer (nloptwrap's BOBYQA) stops when its steps become small, not when the criterion is
at its minimum; on a flat criterion that can be well above it. This app takes its own path to the
optimum (lib.engine.lmer.optimize). `replay` runs lme4's path on demand
(lib.engine.lmer.lme4_stop) and runs lme4's check where it stopped: what lme4 would report on this
machine. The path depends on the last bits of every evaluation (another machine, another row order,
one ulp of one value: another stop), so it is shown as an illustration and never asserted.

`singularities` says how a fit is singular: a zero variance, or a correlation of ±1 with a variance
that is not zero (the Cholesky factor's diagonal for that effect is 0, which is what lme4 tests).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.api import LmerModel
from lib.engine.convergence import check_convergence, deriv12, is_singular
from lib.engine.lmer import lme4_stop, setup
from lib.engine.retrms import theta_names, theta_slices

LOG_FLOOR = 1e-10  # distances below this are drawn at it (the log scale has no zero)
STAGES = {0: "lme4's BOBYQA", 1: "lme4's restart from the edge"}
APP_PATH = "this app: Newton and L-BFGS, then the finish (best so far)"


@dataclass(frozen=True)
class CheckResult:
    """lme4's post-fit check at one theta: deriv12's gradient, the scaled gradient, the messages."""

    theta: np.ndarray
    criterion: float
    gradient: np.ndarray
    scaled_gradient: np.ndarray | None
    max_min_grad: float | None  # lme4's max(pmin(|scaled|, |grad|))
    singular: bool
    messages: list[str]
    names: tuple[str, ...]

    @property
    def verdict(self) -> str:
        return verdict(self.messages)


def verdict(messages) -> str:
    """'singular', 'failed to converge', another message's first words, or 'clean'."""
    if not messages:
        return "clean"
    m = messages[0]
    if m.startswith("boundary (singular)"):
        return "singular"
    if m.startswith("Model failed to converge with max|grad|"):
        return "failed to converge"
    return m.split(":")[0]


def check_problem(prob, theta, reml: bool = True) -> CheckResult:
    """lme4's checkConv at theta on a prepared problem: finite-difference gradient and Hessian,
    then its messages. Reads the problem only (prob.criterion), so a shared fit's problem is safe."""
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
                       check_convergence(th, prob.lower, g, H), tuple(theta_names(prob.blocks)))


def reported_grad(message: str) -> float | None:
    """The max|grad| number in lme4's gradient message (None for other messages)."""
    m = re.search(r"max\|grad\| = ([0-9.eE+-]+)", message)
    return float(m.group(1)) if m else None


def gradient_table(check: CheckResult) -> pd.DataFrame:
    """Per parameter: theta, gradient, scaled gradient and lme4's min of the two."""
    out = pd.DataFrame({"theta": check.theta, "gradient": check.gradient}, index=list(check.names))
    if check.scaled_gradient is not None:
        out["scaled gradient"] = check.scaled_gradient
        out["min(|scaled|, |gradient|)"] = np.minimum(np.abs(check.scaled_gradient), np.abs(check.gradient))
    out.index.name = "parameter"
    return out


def first_divergence(trace_a: pd.DataFrame, trace_b: pd.DataFrame) -> int | None:
    """The first evaluation (1-based) where two optimizer traces differ; None if identical."""
    cols = [c for c in trace_a.columns if c not in ("evaluation", "stage")]
    n = min(len(trace_a), len(trace_b))
    a, b = trace_a[cols].to_numpy()[:n], trace_b[cols].to_numpy()[:n]
    diff = np.flatnonzero(np.any(a != b, axis=1))
    if diff.size:
        return int(diff[0]) + 1
    return None if len(trace_a) == len(trace_b) else n + 1


@dataclass(frozen=True)
class Replay:
    """lme4's path replayed on one fitted model, where it stopped, and lme4's check there."""

    path: pd.DataFrame  # evaluation, stage, criterion
    stop_theta: np.ndarray
    stop_criterion: float
    optimum_criterion: float
    check: CheckResult

    @property
    def gap(self) -> float:
        """How far above the optimum lme4's replayed path stopped."""
        return self.stop_criterion - self.optimum_criterion

    @property
    def evaluations(self) -> int:
        return len(self.path)


def replay(fit) -> Replay:
    """lme4's default optimizer on this fit's model, on a problem of its own (the fit is shared and
    read-only), and lme4's check at its stop."""
    prob = setup(fit.formula, fit.problem.frame)
    res = lme4_stop(prob, fit.REML)
    path = pd.DataFrame({"evaluation": np.arange(1, len(res.trace) + 1),
                         "stage": [STAGES.get(t[0], str(t[0])) for t in res.trace],
                         "criterion": [t[1] for t in res.trace]})
    check = check_problem(prob, res.par, fit.REML)
    return Replay(path, np.asarray(res.par), float(res.fval), float(fit.criterion), check)


def paths_to_optimum(rp: Replay, fit) -> pd.DataFrame:
    """lme4's replayed path beside this app's own (Newton and L-BFGS on the exact gradient, then the finish),
    both from lme4's start, as distances above the optimum.

    Columns: evaluation, path, criterion, above (criterion minus the optimum, floored); lme4's rows
    first. This app's path is drawn as its best value so far: the finish's derivative probes lie
    1e-4 away from its points, above them.
    """
    best = np.minimum.accumulate(fit.trace["criterion"].to_numpy())
    mine = pd.DataFrame({"evaluation": np.arange(1, len(best) + 1), "stage": APP_PATH, "criterion": best})
    out = pd.concat([rp.path, mine], ignore_index=True).rename(columns={"stage": "path"})
    return out.assign(above=np.maximum(out["criterion"] - rp.optimum_criterion, LOG_FLOOR))


def compared_paths(replays: dict[str, Replay]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Several replays on one chart: (paths: evaluation, path, criterion, above; stops: path, evaluation, label)."""
    paths, stops = [], []
    for label, rp in replays.items():
        paths.append(rp.path.assign(path=label, above=np.maximum(rp.path["criterion"] - rp.optimum_criterion,
                                                                 LOG_FLOOR)).drop(columns="stage"))
        stops.append({"path": label, "evaluation": rp.evaluations,
                      "label": f"stops: {rp.gap:.1e} above, {rp.check.verdict}"})
    return pd.concat(paths, ignore_index=True), pd.DataFrame(stops)


def fit_at(fit, theta) -> LmerModel:
    """The fit's model evaluated at another theta (lme4's stop): every number lme4 reports there."""
    return LmerModel.from_optimum(fit.problem, np.asarray(theta, float), fit.REML, [], [])


@dataclass(frozen=True)
class Singularity:
    group: str
    effect: str  # the random effect whose Cholesky diagonal is 0 (e.g. "Time")
    earlier: str  # the term's effects before it (e.g. "(Intercept)")
    variance: float
    correlation: float | None  # its largest correlation (in size) with an earlier effect of the term

    @property
    def through_correlation(self) -> bool:
        return self.correlation is not None and self.variance > 0

    def words(self) -> str:
        if self.through_correlation:
            return (f"{self.group}'s {self.effect} variance is {self.variance:.4g}, not zero, but its correlation is "
                    f"{self.correlation:+.2f}: each {self.group} level's {self.effect} effect is an exact multiple of "
                    f"its {self.earlier} effect, so the covariance matrix has lost a dimension (the Cholesky "
                    f"factor's diagonal for {self.effect} is 0)")
        return f"{self.group}'s {self.effect} variance is 0"


def singularities(fit) -> list[Singularity]:
    """Each random effect whose Cholesky diagonal is at its bound 0, and how that shows in VarCorr."""
    theta, out = fit.theta.to_numpy(), []
    for block, part in zip(fit.problem.blocks, theta_slices(fit.problem.blocks)):
        T = block.T(theta[part])
        cov = T @ T.T * fit.sigma ** 2
        for j in np.flatnonzero(np.diag(T) == 0):
            corr = None
            if j > 0 and cov[j, j] > 0:
                sd = np.sqrt(np.diag(cov))
                with np.errstate(invalid="ignore", divide="ignore"):
                    r = cov[j, :j] / (sd[j] * sd[:j])
                corr = float(r[np.nanargmax(np.abs(r))]) if np.isfinite(r).any() else None
            out.append(Singularity(block.group, block.cnames[j], " and ".join(block.cnames[:j]) or "-",
                                   float(cov[j, j]), corr))
    return out
