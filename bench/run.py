"""Benchmark our mixed-model fits against lme4 and two PyPI peers (glmm, mixedlm).

usage: python bench/run.py [--quick] [--only NAME ...] [--skip NAME ...] [--peers | --no-peers]
                           [--no-live-r] [--repeats N] [--json PATH]

Every fit runs in a fresh subprocess (bench/peer_worker.py): ours under this Python,
the peers under bench/.venv (created and filled from bench/peer-requirements.txt on
first use; the peers are never dependencies of the app). lme4 is timed live when
Rscript with lme4 is installed; otherwise the seconds recorded in
reference/seed_lme4.json (or the issue's noted figure) are the yardstick.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from cases import REPO, Case, Target, all_cases  # noqa: E402
from datafile import read_factors, write_frame  # noqa: E402
from lme4_live import RCase, lme4_version, run_lme4  # noqa: E402
from peer_worker import MARK  # noqa: E402

PEERS = ("glmm", "mixedlm")
VENV = BENCH / ".venv"
REQUIREMENTS = BENCH / "peer-requirements.txt"
WORKER = BENCH / "peer_worker.py"
TOLERANCE = 1e-3
BUSY_WARNING = 0.5


@dataclass(frozen=True)
class Settings:
    """What this run does: repeats, which engines, timeouts."""

    repeats: int
    big_repeats: int
    peer_python: Path | None
    live_r: bool
    live_r_note: str
    timeout: float = 600.0
    big_timeout: float = 1800.0

    def repeats_for(self, case: Case) -> int:
        """Timed repeats for a case (after the warm-up)."""
        return self.big_repeats if case.big else self.repeats


def log(message: str) -> None:
    """Progress to stderr, so stdout holds only the table."""
    print(message, file=sys.stderr, flush=True)


# ---------- peers' virtual environment ----------

def _venv_python() -> Path:
    """The Python of bench/.venv."""
    return VENV / "bin" / "python"


def _peers_importable() -> bool:
    """True when bench/.venv can import every peer."""
    python = _venv_python()
    return python.exists() and subprocess.run(
        [str(python), "-c", "import " + ", ".join(PEERS)], capture_output=True).returncode == 0


def ensure_peers(force: bool) -> Path | None:
    """bench/.venv's Python with the peers installed (installing them on first use), or None."""
    if _peers_importable() and not force:
        return _venv_python()
    log(f"Installing the peers ({', '.join(PEERS)}) into {VENV.relative_to(REPO)} "
        f"from {REQUIREMENTS.name}; bench-only, not app dependencies ...")
    if not _venv_python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = subprocess.run([str(_venv_python()), "-m", "pip", "install", "-q", "--upgrade", "-r", str(REQUIREMENTS)],
                         capture_output=True, text=True)
    if _peers_importable():
        return _venv_python()
    log(f"Peers unavailable (pip: {pip.stderr.strip()[-300:]}); their columns will read n/a.")
    return None


# ---------- running the fits ----------

def _slug(name: str) -> str:
    """A file-name-safe form of a case name."""
    return re.sub(r"[^A-Za-z0-9]+", "_", name)


def write_datasets(cases: list[Case], tmp: Path) -> dict[str, Path]:
    """Write each case's data once (cases share data makers); the CSV path by case name."""
    by_maker: dict[Callable, Path] = {}
    for case in cases:
        if case.data not in by_maker:
            path = tmp / f"{case.data.__name__}.csv"
            write_frame(case.data(), path)
            by_maker[case.data] = path
    return {case.name: by_maker[case.data] for case in cases}


def run_worker(python: Path, engine: str, case: Case, csv: Path, settings: Settings, tmp: Path) -> dict:
    """Fit `case` with `engine` in a fresh process; its JSON result (status ok|n/a|error|timeout)."""
    spec = {"engine": engine, "csv": str(csv), "formula": case.formula_for(engine), "family": case.family,
            "reml": case.reml, "repeats": settings.repeats_for(case), "repo": str(REPO)}
    spec_path = tmp / f"{_slug(case.name)}.{engine}.json"
    spec_path.write_text(json.dumps(spec))
    timeout = settings.big_timeout if case.big else settings.timeout
    try:
        done = subprocess.run([str(python), str(WORKER), str(spec_path)], capture_output=True, text=True,
                              timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "reason": f"no result within {timeout:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"status": "error", "reason": f"worker exited {done.returncode}: {tail}"[:300]}


def run_case(case: Case, csv: Path, settings: Settings, tmp: Path) -> dict[str, dict]:
    """Results of ours and of every peer on one case, by engine."""
    results = {"ours": run_worker(Path(sys.executable), "ours", case, csv, settings, tmp)}
    for peer in PEERS:
        results[peer] = (run_worker(settings.peer_python, peer, case, csv, settings, tmp)
                         if settings.peer_python else {"status": "n/a", "reason": "peers not installed"})
    return results


def run_live_lme4(cases: list[Case], csvs: dict[str, Path], settings: Settings) -> dict[str, dict]:
    """lme4's live results by case name (empty when R is not used), each case logged as R finishes it."""
    if not settings.live_r:
        return {}
    r_cases = [RCase(c.name, csvs[c.name], read_factors(csvs[c.name]),
                     c.formula, c.family, c.reml, settings.repeats_for(c),
                     settings.big_timeout if c.big else settings.timeout) for c in cases]
    log(f"Timing lme4 live in R on {len(r_cases)} case(s), one R process:")
    started: dict[str, float] = {}

    def progress(kind: str, name: str, result: dict | None) -> None:
        if kind == "start":
            started[name] = time.perf_counter()
            return
        took = time.perf_counter() - started.get(name, time.perf_counter())
        log(f"  lme4 {name}: {_outcome(result)} ({took:.1f} s with warm-up and repeats)")

    return run_lme4(r_cases, progress)


def _outcome(result: dict) -> str:
    """A result in a few words for the progress log."""
    if result["status"] == "ok":
        return f"{result['seconds']:.3g} s"
    return f"{result['status']}: {result.get('reason', '')}"[:120]


# ---------- the table ----------

def _seconds(value: float | None) -> str:
    """Seconds, three significant digits."""
    return "—" if value is None else f"{value:.3g}"


def _status_cell(result: dict, peer: bool) -> str:
    """The time cell of an engine's result: seconds, n/a, ERR or timeout."""
    status = result["status"]
    if status == "ok":
        return _seconds(result["seconds"])
    if status == "error":
        return "n/a" if peer else "ERR"
    return status


def _ok_seconds(result: dict | None) -> float | None:
    """Seconds of a successful result, else None."""
    return result["seconds"] if result and result.get("status") == "ok" else None


def _ratio(ours: float | None, other: float | None) -> str:
    """ours / other, or blank."""
    return f"{ours / other:.2f}" if ours is not None and other else ""


def lme4_yardstick(case: Case, live: dict | None) -> float | None:
    """lme4's seconds the ratio uses: live when measured, else recorded/noted."""
    return _ok_seconds(live) or case.reference.seconds


def reference_criterion(case: Case, live: dict | None) -> float | None:
    """lme4's criterion: the JSON's, else the live run's."""
    if case.reference.criterion is not None:
        return case.reference.criterion
    return live["criterion"] if live and live.get("status") == "ok" else None


def _check(result: dict, reference: float | None) -> str:
    """Signed engine − lme4 criterion difference with ok/DIFF at TOLERANCE."""
    if result.get("status") != "ok" or reference is None or result.get("criterion") is None:
        return ""
    diff = result["criterion"] - reference
    return f"{diff:+.1e} {'ok' if abs(diff) <= TOLERANCE else 'DIFF'}"


def _recorded(case: Case) -> str:
    """The recorded lme4 seconds cell (the noted figure marked as such)."""
    if case.reference.source == "noted":
        return f"~{case.reference.seconds:g} noted"
    return _seconds(case.reference.seconds)


def _notes(case: Case, results: dict[str, dict], live: dict | None) -> list[str]:
    """Why a cell is n/a / ERR / timeout, and which peers got an equivalent spelling."""
    engines = {**results, **({"lme4": live} if live else {})}
    notes = [f"{e}: {r['reason']}" for e, r in engines.items() if r["status"] != "ok" and r.get("reason")]
    if live and live["status"] == "ok" and case.reference.criterion is not None:
        drift = live["criterion"] - case.reference.criterion
        notes += [f"lme4 live criterion differs from the JSON by {drift:+.1e}"] if abs(drift) > TOLERANCE else []
    return notes + [f"{e}* fitted {f!r}" for e, f in case.spellings.items() if results.get(e, {}).get("status") == "ok"]


class Footnotes:
    """Numbered notes below the table; the same text gets the same number."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}

    def mark(self, texts: list[str]) -> str:
        """The cell of markers for these notes, e.g. "[1] [3]"."""
        return " ".join(f"[{self.numbers.setdefault(t, len(self.numbers) + 1)}]" for t in texts)

    def lines(self) -> list[str]:
        """The notes, one a line."""
        return [f"[{n}] {t}" for t, n in self.numbers.items()]


HEADER = ("case", "ours (s)", "lme4 rec (s)", "lme4 live (s)", "ours/lme4", "glmm (s)", "ours/glmm",
          "mixedlm (s)", "ours/mixedlm", "ours mem (MiB)", "Δcrit ours", "Δcrit glmm", "Δcrit mixedlm", "notes")


def table_row(case: Case, results: dict[str, dict], live: dict | None, notes: Footnotes) -> list[str]:
    """One table row of strings."""
    ours = _ok_seconds(results["ours"])
    reference = reference_criterion(case, live)
    row = [case.name, _status_cell(results["ours"], peer=False), _recorded(case),
           _status_cell(live, peer=False) if live else "—", _ratio(ours, lme4_yardstick(case, live))]
    for peer in PEERS:
        mark = "*" if peer in case.spellings and results[peer]["status"] == "ok" else ""
        row += [_status_cell(results[peer], peer=True) + mark, _ratio(ours, _ok_seconds(results[peer]))]
    peak = results["ours"].get("peak_rss_mib")
    row.append(f"{peak:.0f}" if peak else "")
    row += [_check(results[e], reference) for e in ("ours", *PEERS)]
    return row + [notes.mark(_notes(case, results, live))]


def format_table(rows: list[list[str]]) -> str:
    """Left-aligned first and last columns, right-aligned numbers, one space-padded grid."""
    grid = [list(HEADER)] + rows
    widths = [max(len(r[i]) for r in grid) for i in range(len(HEADER))]
    def line(r: list[str]) -> str:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:-1], widths[1:-1])] + [r[-1]]
        return "  ".join(cells).rstrip()
    rule = "-" * len(line(grid[0]))
    return "\n".join([line(grid[0]), rule, *map(line, rows)])


# ---------- the footer ----------

def _yardstick(target: Target, case: Case, results: dict[str, dict], live: dict | None) -> tuple[float | None, str]:
    """The seconds a target compares ours with, and its name (None when it was not measured)."""
    if target.kind == "seconds":
        return target.factor, target.why or "the issue's figure"
    if target.kind == "lme4":
        seconds = lme4_yardstick(case, live)
        return seconds, "lme4 live" if _ok_seconds(live) else "lme4 recorded"
    peers = PEERS if target.kind == "fastest peer" else (target.kind,)
    timed = [(s, p) for p in peers if (s := _ok_seconds(results.get(p))) is not None]
    return min(timed) if timed else (None, target.kind)


def target_line(case: Case, target: Target, results: dict[str, dict], live: dict | None) -> str:
    """Whether ours meets one target on one case, with the figures."""
    ours = _ok_seconds(results["ours"])
    yardstick, name = _yardstick(target, case, results, live)
    head = f"{case.name}: ours {target.text()}"
    if ours is None or yardstick is None:
        return f"{head}: n/a ({'ours' if ours is None else name} not measured)"
    limit = yardstick if target.kind == "seconds" else target.factor * yardstick
    against = f"{name} {yardstick:.3g} s" if target.kind != "seconds" else name
    return (f"{head}: {'met' if ours <= limit else 'NOT met'} "
            f"(ours {ours:.3g} s, {ours / yardstick:.2f} × {against})")


def footer(outcomes: list[tuple[Case, dict, dict | None]]) -> list[str]:
    """The issue's targets, each with whether it is met, and the big cases' memory."""
    lines = [target_line(c, t, r, live) for c, r, live in outcomes for t in c.targets]
    met = sum(": met (" in line for line in lines)
    for case, results, _ in outcomes:
        peaks = [f"{e} {results[e]['peak_rss_mib']:.0f} MiB" for e in ("ours", *PEERS)
                 if results[e]["status"] == "ok"]
        if case.big and peaks:
            lines.append(f"peak RSS on {case.name}: {', '.join(peaks)}")
    head = [f"Targets (from the issue): {met} of {sum(len(c.targets) for c, _, _ in outcomes)} met"]
    return head + ["  " + line for line in lines] if lines else []


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def busy_cpus(seconds: float = 1.0) -> float:
    """How many CPUs other processes keep busy, averaged over `seconds`."""
    busy0, total0 = _cpu_times()
    time.sleep(seconds)
    busy1, total1 = _cpu_times()
    return (os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1)


def machine() -> str:
    """CPU model, cores and memory, from /proc (Linux), else what platform knows."""
    try:
        info = Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.+)$", info, re.M).group(1).strip()
        mem = int(re.search(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.M).group(1))
        return f"{model}, {os.cpu_count()} CPUs, {mem / 2 ** 20:.0f} GiB"
    except (OSError, AttributeError):
        return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


def our_revision() -> str:
    """The commit lib/ is at, and whether the work tree changes it (the bench fits the work tree)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "?"
    return commit + (" + uncommitted changes" if git("status", "--porcelain", "--", "lib") else "")


def preamble(settings: Settings, results: Iterable[dict[str, dict]], busy: float) -> list[str]:
    """Machine, versions and method, printed above the table."""
    versions = {}
    for per_engine in results:
        versions.update({e: r["version"] for e, r in per_engine.items() if e in PEERS and r.get("version")})
    import numpy
    peers = ", ".join(f"{p} {versions.get(p, '?')}" for p in PEERS) if settings.peer_python else "not run"
    warning = " — machine busy, timings unreliable" if busy > BUSY_WARNING else ""
    return [f"Machine: {machine()}; Python {platform.python_version()}, numpy {numpy.__version__}; "
            f"{busy:.1f} CPUs busy with other work before the run{warning}",
            f"Engines: ours = lib at {our_revision()}; peers: {peers}; lme4 live: {settings.live_r_note}",
            f"Method: each fit in a fresh process, one warm-up, median wall clock of {settings.repeats} repeats "
            f"({settings.big_repeats} on big cases; a warm-up over 20 s is itself the measurement). Δcrit = engine − lme4 (REML criterion, ML deviance, "
            f"or -2 logLik for glmer); ok when |Δ| ≤ {TOLERANCE:g}. * = equivalent formula spelling, see notes."]


# ---------- main ----------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (3, and 1 on big cases)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only cases whose name contains NAME (case-insensitive; repeatable)")
    parser.add_argument("--skip", action="append", metavar="NAME",
                        help="leave out cases named NAME exactly (repeatable)")
    peers = parser.add_mutually_exclusive_group()
    peers.add_argument("--peers", action="store_true", help="(re)install the peers into bench/.venv first")
    peers.add_argument("--no-peers", action="store_true", help="skip the peers")
    parser.add_argument("--no-live-r", action="store_true", help="do not time lme4 live even if R is installed")
    parser.add_argument("--repeats", type=int, help="timed repeats per fit (overrides --quick)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every raw result to PATH")
    return parser.parse_args(argv)


def select_cases(only: list[str] | None, skip: list[str] | None = None) -> list[Case]:
    """The cases whose names contain any of `only` (all when None), less those named in `skip`."""
    cases = [c for c in all_cases() if c.name not in (skip or [])]
    if not only:
        return cases
    chosen = [c for c in cases if any(o.lower() in c.name.lower() for o in only)]
    if not chosen:
        sys.exit(f"no case matches {only}; cases: {', '.join(c.name for c in cases)}")
    return chosen


def make_settings(args: argparse.Namespace) -> Settings:
    """Settings from the command line, setting up peers and detecting R."""
    repeats = args.repeats or (3 if args.quick else 7)
    big_repeats = args.repeats or (1 if args.quick else 3)
    peer_python = None if args.no_peers else ensure_peers(force=args.peers)
    version = None if args.no_live_r else lme4_version()
    note = f"yes ({version})" if version else "no (--no-live-r)" if args.no_live_r else "no (Rscript with lme4 not found)"
    return Settings(repeats, big_repeats, peer_python, version is not None, note)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table with its targets."""
    args = parse_args(argv)
    cases = select_cases(args.only, args.skip)
    settings = make_settings(args)
    busy = busy_cpus()
    with tempfile.TemporaryDirectory(prefix="bench_") as tmp_name:
        tmp = Path(tmp_name)
        csvs = write_datasets(cases, tmp)
        live = run_live_lme4(cases, csvs, settings)
        outcomes = []
        log(f"Timing ours and the peers on {len(cases)} case(s), each fit in a fresh process:")
        for case in cases:
            results = run_case(case, csvs[case.name], settings, tmp)
            log(f"  {case.name}: " + "; ".join(f"{e} {_outcome(r)}" for e, r in results.items()))
            outcomes.append((case, results, live.get(case.name)))
    notes = Footnotes()
    rows = [table_row(c, r, lv, notes) for c, r, lv in outcomes]
    print("\n".join(preamble(settings, (r for _, r, _ in outcomes), busy)))
    print(format_table(rows))
    print("\n".join(notes.lines() + footer(outcomes)))
    if args.json:
        args.json.write_text(json.dumps([{"case": c.name, "lme4_live": lv, **r} for c, r, lv in outcomes], indent=1))


if __name__ == "__main__":
    main()
