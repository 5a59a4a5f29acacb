"""Time lme4 live through Rscript when R with lme4 is installed (never installs anything)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# One warm-up fit (its criterion is reported), then the median of `repeats` timed fits; a warm-up
# longer than SINGLE_FIT_SECONDS is itself the measurement (repeating an 8-minute fit adds nothing).
# A fit running past `limit` seconds is stopped by R (setTimeLimit) and reported as an error.
R_PRELUDE = r"""
suppressMessages(library(lme4))
bench_fit <- function(name, csv, factors, formula, family, reml, repeats, single, limit) {
  cat(sprintf("BENCH_START\t%s\n", name)); flush(stdout())
  d <- read.csv(csv, colClasses = setNames(rep("character", length(factors)), names(factors)))
  for (f in names(factors)) d[[f]] <- factor(d[[f]], levels = factors[[f]])
  fit <- function() suppressWarnings(suppressMessages(
    if (is.na(family)) lmer(as.formula(formula), data = d, REML = reml)
    else glmer(as.formula(formula), data = d, family = family)))
  timed <- function() { t0 <- proc.time()[["elapsed"]]; m <- fit(); list(m, proc.time()[["elapsed"]] - t0) }
  r <- tryCatch({
    setTimeLimit(elapsed = limit, transient = TRUE)
    first <- timed()
    m <- first[[1]]
    crit <- if (!is.na(family)) -2 * as.numeric(logLik(m)) else if (reml) REMLcrit(m) else deviance(m)
    secs <- if (first[[2]] > single) first[[2]] else sapply(seq_len(repeats), function(i) timed()[[2]])
    sprintf("BENCH_RESULT\t%s\t%.17g\t%.17g", name, median(secs), crit)
  }, error = function(e) sprintf("BENCH_ERROR\t%s\t%s", name, gsub("[\t\n]", " ", conditionMessage(e))))
  setTimeLimit(elapsed = Inf)
  cat(r, "\n", sep = ""); flush(stdout())
}
"""
SINGLE_FIT_SECONDS = 20.0


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
    limit: float = 3600.0  # seconds before R stops the fit


def lme4_version() -> str | None:
    """"R x.y.z, lme4 a.b-c" when Rscript exists and `library(lme4)` loads, else None."""
    if shutil.which("Rscript") is None:
        return None
    script = 'suppressMessages(library(lme4)); cat(sprintf("R %s, lme4 %s", getRversion(), packageVersion("lme4")))'
    try:
        done = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _r_string(value: str) -> str:
    """A Python string as an R string literal."""
    return json.dumps(value)


def _r_call(case: RCase) -> str:
    """The bench_fit(...) call for one case."""
    factors = ", ".join(f"{_r_string(col)} = c({', '.join(map(_r_string, levels))})"
                        for col, levels in case.factors.items())
    family = _r_string(case.family) if case.family else "NA"
    return (f"bench_fit({_r_string(case.name)}, {_r_string(str(case.csv))}, list({factors}), "
            f"{_r_string(case.formula)}, {family}, {'TRUE' if case.reml else 'FALSE'}, {case.repeats}, "
            f"{SINGLE_FIT_SECONDS}, {case.limit})")


def parse_line(line: str) -> tuple[str, str, dict | None] | None:
    """One marked line of the R script: (kind, case name, result or None), or None if unmarked."""
    parts = line.rstrip("\n").split("\t")
    if parts[0] == "BENCH_START" and len(parts) == 2:
        return "start", parts[1], None
    if parts[0] == "BENCH_RESULT" and len(parts) == 4:
        return "result", parts[1], {"status": "ok", "seconds": float(parts[2]), "criterion": float(parts[3])}
    if parts[0] == "BENCH_ERROR" and len(parts) >= 3:
        return "result", parts[1], {"status": "error", "reason": parts[2]}
    return None


def run_lme4(cases: list[RCase], progress: Callable[[str, str, dict | None], None]) -> dict[str, dict]:
    """Time every case in one R process, telling `progress` as each case starts and ends."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench_r_") as tmp:
        script = Path(tmp) / "bench.R"
        script.write_text(R_PRELUDE + "\n".join(map(_r_call, cases)) + "\n")
        with subprocess.Popen(["Rscript", str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, bufsize=1) as proc:
            for line in proc.stdout:
                parsed = parse_line(line)
                if parsed:
                    kind, name, result = parsed
                    if result is not None:
                        results[name] = result
                    progress(kind, name, result)
    return results
