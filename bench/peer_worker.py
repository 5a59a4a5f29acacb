"""Fit one case with one engine (ours, glmm or mixedlm) in a fresh process and print JSON.

usage: python peer_worker.py SPEC.json
SPEC holds engine, csv, formula, family (null = linear), reml, repeats and repo.
The peers run under bench/.venv's Python; "ours" runs under the app's Python.
Prints one line `BENCH_RESULT {...}`: status ok|n/a|error, seconds (median of the
timed repeats after one warm-up; the warm-up itself when it took over 20 s), times,
criterion (REML criterion, ML deviance or -2 logLik), version, peak_rss_mib and base_rss_mib.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import resource
import statistics
import sys
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datafile import read_frame  # noqa: E402

MARK = "BENCH_RESULT "
SINGLE_FIT_SECONDS = 20.0  # a warm-up fit longer than this is the measurement (as lme4_live.py)


class Unavailable(Exception):
    """The engine cannot fit this case here (reported as n/a)."""


class Engine(NamedTuple):
    """How one engine fits a formula and reads back its criterion."""

    fit: Callable[[Any, str], Any]
    criterion: Callable[[Any], float | None]
    version: str


def _import_ours(module: str, repo: str) -> Any:
    """Import lib.engine.lmer / lib.engine.glmer from the repo, or raise Unavailable if it does not exist yet."""
    sys.path.insert(0, repo)
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise Unavailable(f"{module} not available")
    return importlib.import_module(module)


def _minus_two_loglik(fit: Any) -> float | None:
    """-2 log-likelihood: fit.minus_two_loglik, else from loglik / logLik / log_likelihood / llf."""
    direct = getattr(fit, "minus_two_loglik", None)
    if direct is not None:
        return float(direct() if callable(direct) else direct)
    for name in ("loglik", "logLik", "log_likelihood", "llf"):
        value = getattr(fit, name, None)
        value = value() if callable(value) else value
        if value is not None:
            return -2.0 * float(getattr(value, "value", value))
    return None


def ours(family: str | None, reml: bool, repo: str) -> Engine:
    """Our engine: lib.engine.lmer.lmer, or lib.engine.glmer.glmer for a family."""
    if family is None:
        lmer = _import_ours("lib.engine.lmer", repo).lmer
        crit = (lambda f: float(f.reml_criterion)) if reml else (lambda f: float(f.deviance))
        return Engine(lambda df, formula: lmer(formula, data=df, REML=reml), crit, "repo")
    glmer = _import_ours("lib.engine.glmer", repo).glmer
    return Engine(lambda df, formula: glmer(formula, data=df, family=family), _minus_two_loglik, "repo")


def glmm_engine(family: str | None, reml: bool, repo: str) -> Engine:
    """glmm.fit(data, formula, family, reml=...); Satterthwaite df off (lme4 does not compute them)."""
    import glmm

    def fit(df: Any, formula: str) -> Any:
        return glmm.fit(df, formula, family or "gaussian", reml=reml if family is None else None, satterthwaite=False)

    return Engine(fit, lambda f: -2.0 * float(f.loglik), metadata.version("glmm"))


def mixedlm_engine(family: str | None, reml: bool, repo: str) -> Engine:
    """mixedlm.lmer(formula, data, REML=...) or mixedlm.glmer(formula, data, family=Family())."""
    import mixedlm

    if family is None:
        return Engine(lambda df, formula: mixedlm.lmer(formula, df, REML=reml),
                      lambda f: float(f.REMLcrit()), metadata.version("mixedlm"))
    families = {"binomial": mixedlm.families.Binomial, "poisson": mixedlm.families.Poisson}
    return Engine(lambda df, formula: mixedlm.glmer(formula, df, family=families[family]()),
                  lambda f: float(f.get_deviance()), metadata.version("mixedlm"))


ENGINES: dict[str, Callable[[str | None, bool, str], Engine]] = {
    "ours": ours, "glmm": glmm_engine, "mixedlm": mixedlm_engine}


def _rss_mib() -> float:
    """Current resident set size of this process in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timed(engine: Engine, df: Any, formula: str) -> tuple[float, Any]:
    """Wall-clock seconds of one fit, and the fit."""
    start = time.perf_counter()
    fit = engine.fit(df, formula)
    return time.perf_counter() - start, fit


def measure(spec: dict) -> dict:
    """Load the data, warm up once, time `repeats` fits; the result as a dict."""
    try:
        engine = ENGINES[spec["engine"]](spec["family"], spec["reml"], spec["repo"])
    except Unavailable as exc:
        return {"status": "n/a", "reason": str(exc)}
    df = read_frame(Path(spec["csv"]))
    base = _rss_mib()
    try:
        first, fit = _timed(engine, df, spec["formula"])
        criterion = engine.criterion(fit)
        del fit
        times = [first] if first > SINGLE_FIT_SECONDS else []  # a long fit is its own measurement
        for _ in range(0 if times else spec["repeats"]):  # no forced gc between repeats: lme4's R loop has none
            seconds, fit = _timed(engine, df, spec["formula"])
            times.append(seconds)
            del fit
    except Exception as exc:  # a peer that cannot express the model, or a bug in ours
        return {"status": "error", "reason": f"{type(exc).__name__}: {exc}"[:300], "version": engine.version}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"status": "ok", "seconds": statistics.median(times), "times": times, "criterion": criterion,
            "version": engine.version, "peak_rss_mib": peak, "base_rss_mib": base}


def main() -> None:
    """Run the spec named on the command line and print the marked JSON line."""
    warnings.simplefilter("ignore")
    spec = json.loads(Path(sys.argv[1]).read_text())
    print(MARK + json.dumps(measure(spec)), flush=True)


if __name__ == "__main__":
    main()
