"""Time lme4 live through Rscript when R with lme4 is installed (never installs anything)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

R_PRELUDE = r"""
suppressMessages(library(lme4))
bench_fit <- function(name, csv, factors, formula, family, reml, repeats) {
  d <- read.csv(csv, colClasses = setNames(rep("character", length(factors)), names(factors)))
  for (f in names(factors)) d[[f]] <- factor(d[[f]], levels = factors[[f]])
  fit <- function() suppressWarnings(suppressMessages(
    if (is.na(family)) lmer(as.formula(formula), data = d, REML = reml)
    else glmer(as.formula(formula), data = d, family = family)))
  r <- tryCatch({
    m <- fit()
    crit <- if (!is.na(family)) -2 * as.numeric(logLik(m)) else if (reml) REMLcrit(m) else deviance(m)
    secs <- sapply(seq_len(repeats), function(i) {
      t0 <- proc.time()[["elapsed"]]; fit(); proc.time()[["elapsed"]] - t0 })
    sprintf("BENCH_RESULT\t%s\t%.17g\t%.17g", name, median(secs), crit)
  }, error = function(e) sprintf("BENCH_ERROR\t%s\t%s", name, gsub("[\t\n]", " ", conditionMessage(e))))
  cat(r, "\n", sep = "")
}
"""


@dataclass(frozen=True)
class RCase:
    """One lme4 fit to time: where the data is and how to fit it."""

    name: str
    csv: Path
    factors: dict[str, list[str]]
    formula: str
    family: str | None
    reml: bool
    repeats: int


def lme4_available() -> bool:
    """True when Rscript exists and `library(lme4)` loads."""
    if shutil.which("Rscript") is None:
        return False
    try:
        done = subprocess.run(["Rscript", "-e", "suppressMessages(library(lme4))"],
                              capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def _r_string(value: str) -> str:
    """A Python string as an R string literal."""
    return json.dumps(value)


def _r_call(case: RCase) -> str:
    """The bench_fit(...) call for one case."""
    factors = ", ".join(f"{_r_string(col)} = c({', '.join(map(_r_string, levels))})"
                        for col, levels in case.factors.items())
    family = _r_string(case.family) if case.family else "NA"
    return (f"bench_fit({_r_string(case.name)}, {_r_string(str(case.csv))}, list({factors}), "
            f"{_r_string(case.formula)}, {family}, {'TRUE' if case.reml else 'FALSE'}, {case.repeats})")


def _parse(stdout: str) -> dict[str, dict]:
    """Results by case name from the R script's marked lines."""
    results: dict[str, dict] = {}
    for line in stdout.splitlines():
        parts = line.rstrip("\n").split("\t")
        if parts[0] == "BENCH_RESULT" and len(parts) == 4:
            results[parts[1]] = {"status": "ok", "seconds": float(parts[2]), "criterion": float(parts[3])}
        elif parts[0] == "BENCH_ERROR" and len(parts) >= 3:
            results[parts[1]] = {"status": "error", "reason": parts[2]}
    return results


def run_lme4(cases: list[RCase], timeout: float = 3600) -> dict[str, dict]:
    """Time every case in one R process (one warm-up fit, then the median of `repeats`)."""
    with tempfile.TemporaryDirectory(prefix="bench_r_") as tmp:
        script = Path(tmp) / "bench.R"
        script.write_text(R_PRELUDE + "\n".join(map(_r_call, cases)) + "\n")
        try:
            done = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            return _parse(exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or "")
    return _parse(done.stdout)
