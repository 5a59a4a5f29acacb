"""A class of students against the app on 127.0.0.1: time to a finished page, errors, memory.

    python bench/load.py --students 30 --seconds 120                 # one process
    python bench/load.py --students 60 --seconds 120 --replicas 2    # two replicas behind nginx
    python bench/load.py --students 30 --seconds 120 --replicas 2 --kill-one
    python bench/load.py --series --seconds 120    # the README's table: seven runs, a summary line each

Starts its own server(s) (deploy.cluster: the replicas with the repository's
.streamlit/config.toml, nginx in front when there are two or more), measures one cold first page,
warms each replica with one visit per page (as an instructor's server is before a lesson; `--cold`
skips it), then lets locust run `--students` users for `--seconds`. Each user is a student
speaking Streamlit's own WebSocket protocol (bench/st_client.py): it opens the app, goes through
the pages in tutorial order, changes one to three widgets on each, and thinks `--think` seconds
between clicks. A step's time runs from the rerun request to the server's script_finished. An
error is an exception element, a failed run, or a lost connection. A few headless-Chromium
students (bench/browser_students.py, `--browsers`) run beside them for the end-to-end time.
`--kill-one` SIGKILLs one replica a third of the way in: its students must reconnect to the
other and go on with a fresh session, and nobody else may notice.

Everything stays on 127.0.0.1, every step has a timeout, and the run stops by itself after
`--seconds` (plus at most one step's timeout). The last line is the summary, e.g.
`students=30 replicas=1 errors=0 p50=0.41 p95=1.90 max=2.70 peak_mib=812 ...`.
Install: `python -m pip install -r bench/requirements-load.txt`.
"""
from __future__ import annotations

import locust  # noqa: F401  (first: it patches the standard library for gevent)

import argparse
import itertools
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import gevent
import websocket
from locust import User, task
from locust.env import Environment
from locust.stats import StatsEntry

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
from bench.st_client import RerunError, Student  # noqa: E402
from deploy.cluster import Cluster, Replica, warm  # noqa: E402

TIMED_OUT = (RerunError, TimeoutError, websocket.WebSocketTimeoutException)
DROPPED = (websocket.WebSocketException, OSError)  # after TIMED_OUT: TimeoutError is an OSError
RECONNECT_TIMEOUT = 30.0
MAX_STUDENTS, MAX_SECONDS = 500, 3600


@dataclass
class Run:
    """What the students, the monitors and the report share."""
    url: str
    seed: int
    think: tuple[float, float]
    timeout: float
    killed: str | None = None  # the killed replica, as nginx names it
    health_checks: int = 0
    health_failures: list[str] = field(default_factory=list)
    health_max: float = 0.0
    peak_kib: dict[str, int] = field(default_factory=dict)  # replica -> VmHWM


RUN: Run | None = None
NUMBERS = itertools.count()


def report(env: Environment, kind: str, name: str, seconds: float, error: Exception | None = None) -> None:
    env.events.request.fire(request_type=kind, name=name, response_time=seconds * 1000,
                            response_length=0, exception=error, context={})


class StudentUser(User):
    """One student: the pages in tutorial order, one to three widget changes on each."""

    def wait_time(self) -> float:
        return self.student.rng.uniform(*RUN.think)

    def on_start(self) -> None:
        number = next(NUMBERS)
        self.student = Student(RUN.url, random.Random(RUN.seed * 100_003 + number), RUN.timeout)
        self.changes_left = 0
        self._step("page", "", self.student.connect)

    def on_stop(self) -> None:
        self.student.close()

    @task
    def act(self) -> None:
        s = self.student
        if s.session is None:  # a reconnect that gave up: try again
            self._step("page", s.page, s.connect)
            return
        if self.changes_left > 0 and s.widgets:
            self.changes_left -= 1
            self._step("widget", s.page, s.change_widget)
            return
        pages = list(s.pages)
        if not pages:
            return
        following = pages[(pages.index(s.page) + 1) % len(pages)] if s.page in pages else pages[0]
        self.changes_left = s.rng.randint(1, 3)
        self._step("page", following, lambda: s.visit(following))

    def _step(self, kind: str, page: str, action) -> None:
        name = f"{kind} /{page}"
        start = time.perf_counter()
        try:
            out = action()
        except TIMED_OUT as e:
            report(self.environment, kind, name, time.perf_counter() - start, e)
            return
        except DROPPED as e:
            self._reconnect(e)
            return
        if out is not None:
            result = out[1] if isinstance(out, tuple) else out
            report(self.environment, kind, name, result.seconds)

    def _reconnect(self, error: Exception) -> None:
        """A lost connection: an error, unless its replica was killed on purpose; then a fresh session."""
        expected = RUN.killed is not None and self.student.upstream == RUN.killed
        if not expected:
            report(self.environment, "lost", f"connection {self.student.upstream or RUN.url}", 0.0,
                   ConnectionError(f"connection lost: {error!r}"))
        self.student.close()
        dropped = time.perf_counter()
        while True:
            try:
                self.student.connect()
                break
            except TIMED_OUT + DROPPED as e:
                if time.perf_counter() - dropped > RECONNECT_TIMEOUT:
                    report(self.environment, "reconnect", "reconnect", time.perf_counter() - dropped, e)
                    self.student.close()
                    return
                gevent.sleep(0.2)
        report(self.environment, "reconnect", "reconnect", time.perf_counter() - dropped)


# -- monitors ---------------------------------------------------------------------------

def peak_kib(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def family(pid: int) -> list[int]:
    """The process and all its descendants (a replica's fit workers: ui/offload.py)."""
    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    return [pid, *(p for c in children for p in family(c))]


def record_peak(r: Replica) -> None:
    """Keep the highest VmHWM seen, the replica's and its workers' summed (a process being killed
    shows none: it must not erase the figure)."""
    try:
        peak = sum(peak_kib(p) for p in family(r.proc.pid))
        RUN.peak_kib[r.upstream] = max(RUN.peak_kib.get(r.upstream, 0), peak)
    except OSError:
        pass


def watch_memory(cluster: Cluster) -> None:
    while True:
        for r in cluster.members:
            if r.alive:
                record_peak(r)
        gevent.sleep(1.0)


def watch_health(cluster: Cluster, interval: float = 0.5) -> None:
    """GET /_stcore/health of every replica that should be up, and through nginx, every interval."""
    while True:
        urls = [r.url for r in cluster.members if r.upstream != RUN.killed]
        if cluster.behind_nginx:
            urls.append(cluster.url)
        for url in urls:
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as r:
                    ok = r.status == 200 and r.read().strip() == b"ok"
            except OSError as e:
                ok, why = False, repr(e)
            else:
                why = "not ok"
            RUN.health_checks += 1
            RUN.health_max = max(RUN.health_max, time.perf_counter() - start)
            if not ok and not (RUN.killed and url.endswith(RUN.killed)):
                RUN.health_failures.append(f"{url}: {why}")
        gevent.sleep(interval)


def kill_later(cluster: Cluster, delay: float, browsers: Browsers) -> None:
    """SIGKILL the replica of the first browser student (so a real browser is among the moved)."""
    gevent.sleep(delay)
    victim = next((r for r in cluster.members if r.upstream in browsers.upstreams[:1]), cluster.members[0])
    record_peak(victim)
    RUN.killed = victim.upstream
    cluster.kill(cluster.members.index(victim))
    logging.getLogger("load").warning("killed replica %s at %.0f s", victim.upstream, delay)


# -- before the class: a cold first page, then one visit per page ----------------------

def cold_first_page(r: Replica, timeout: float) -> float:
    """Seconds from the replica's launch to its first page drawn for a first student."""
    student = Student(r.url, random.Random(0), timeout)
    try:
        student.connect()
        return time.monotonic() - r.started
    finally:
        student.close()


# -- the report -------------------------------------------------------------------------

def combined(env: Environment, kinds: tuple[str, ...]) -> StatsEntry:
    total = StatsEntry(env.stats, ",".join(kinds), "")
    for entry in env.stats.entries.values():
        if entry.method in kinds:
            total.extend(entry)
    return total


def seconds(ms: float) -> str:
    return f"{ms / 1000:.2f}"


def quantiles(entry: StatsEntry) -> tuple[str, str, str]:
    if not entry.num_requests:
        return "nan", "nan", "nan"
    # locust keeps times rounded to two digits; a rounded percentile is never shown above the max
    top = entry.max_response_time
    return (seconds(min(entry.get_response_time_percentile(0.5), top)),
            seconds(min(entry.get_response_time_percentile(0.95), top)), seconds(top))


def page_table(env: Environment) -> list[str]:
    rows = [f"{'step':<34}{'n':>6}{'errors':>8}{'p50':>8}{'p95':>8}{'max':>8}"]
    for (name, kind), e in sorted(env.stats.entries.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        p50, p95, mx = quantiles(e)
        rows.append(f"{name:<34}{e.num_requests:>6}{e.num_failures:>8}{p50:>8}{p95:>8}{mx:>8}")
    return rows


def error_lines(env: Environment) -> list[str]:
    return [f"error x{e.occurrences}: {e.method} {e.name}: {e.error}"[:300] for e in env.stats.errors.values()]


def browser_figures(out: dict | None) -> str:
    if out is None:
        return ""
    steps = sorted(out["steps"])
    if not steps:
        return f" browser_steps=0 browser_errors={len(out['errors'])}"
    p = lambda q: steps[min(len(steps) - 1, int(q * len(steps)))]  # noqa: E731
    return (f" browser_steps={len(steps)} browser_p50={p(0.5):.2f} browser_p95={p(0.95):.2f}"
            f" browser_max={steps[-1]:.2f} browser_errors={len(out['errors'])}"
            f" browser_reconnects={len(out['reconnects'])}"
            f" browser_reconnect_max={max(out['reconnects'], default=0):.2f}")


def summary(args, env: Environment, first: float, out: dict | None) -> str:
    steps = combined(env, ("page", "widget"))
    widget = combined(env, ("widget",))
    errors = sum(e.num_failures for e in env.stats.entries.values())
    p50, p95, mx = quantiles(steps)
    peak = max(RUN.peak_kib.values(), default=0) / 1024
    line = (f"students={args.students} replicas={args.replicas} errors={errors} p50={p50} p95={p95}"
            f" max={mx} peak_mib={peak:.0f} steps={steps.num_requests} first_page={first:.2f}"
            f" widget_p50={quantiles(widget)[0]} widget_p95={quantiles(widget)[1]}"
            f" health_fail={len(RUN.health_failures)} health_max={RUN.health_max:.2f}")
    if args.kill_one:
        moved = env.stats.entries.get(("reconnect", "reconnect"))
        lost = combined(env, ("lost",)).num_requests
        line += (f" killed={RUN.killed} reconnected={moved.num_requests if moved else 0}"
                 f" reconnect_max={seconds(moved.max_response_time) if moved else 'nan'} lost_elsewhere={lost}")
    return line + browser_figures(out)


# -- the run ----------------------------------------------------------------------------

class Browsers:
    """bench/browser_students.py in a process of its own; its two JSON lines read as they come."""

    def __init__(self, url: str, sessions: int, seconds: float):
        self.upstreams: list[str] = []
        self.result: dict | None = None
        self.proc = None
        if sessions:
            cmd = [sys.executable, str(BENCH / "browser_students.py"), url, "--sessions", str(sessions),
                   "--seconds", str(seconds)]
            self.stderr = tempfile.TemporaryFile("w+")  # a file: an unread pipe could stall it
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
            self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        for line in self.proc.stdout:
            data = json.loads(line)
            if "upstreams" in data:
                self.upstreams = [u.split(",")[-1].strip() for u in data["upstreams"] if u]
            else:
                self.result = data

    def collect(self, timeout: float) -> dict | None:
        if self.proc is None:
            return None
        try:
            self.proc.wait(timeout=timeout)
            self.reader.join(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.result is None:
            self.stderr.seek(0)
            why = self.stderr.read()[-300:].strip() or f"exit code {self.proc.returncode}"
            return {"open": [], "steps": [], "errors": [f"browser students gave no result: {why}"],
                    "reconnects": []}
        return self.result


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--students", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--kill-one", action="store_true", help="SIGKILL one replica a third of the way in")
    ap.add_argument("--browsers", type=int, default=2, help="headless-Chromium students beside them")
    ap.add_argument("--think", type=float, nargs=2, default=(3.0, 10.0), metavar=("MIN", "MAX"),
                    help="seconds a student reads between two clicks")
    ap.add_argument("--arrival", type=float, default=20.0, help="seconds over which the students arrive")
    ap.add_argument("--cold", action="store_true", help="no warm-up visit before the students come")
    ap.add_argument("--timeout", type=float, default=60.0, help="longest wait for one step")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--series", action="store_true",
                    help="the README's table: 1, 10, 30, 60 students on one process, 30 and 60 on "
                         "--replicas (2 when 1), then 60 with --kill-one; one summary line each")
    args = ap.parse_args(argv)
    if not 1 <= args.students <= MAX_STUDENTS or not 0 < args.seconds <= MAX_SECONDS:
        ap.error(f"--students in 1..{MAX_STUDENTS}, --seconds in (0, {MAX_SECONDS}]")
    if args.kill_one and args.replicas < 2:
        ap.error("--kill-one needs --replicas 2 or more")
    return args


def series(args: argparse.Namespace) -> list[argparse.Namespace]:
    """The runs of the README's table, each with the other options as given."""
    replicas = max(args.replicas, 2)
    runs = [(n, 1, False) for n in (1, 10, 30, 60)] + [(30, replicas, False), (60, replicas, False),
                                                         (60, replicas, True)]
    return [argparse.Namespace(**{**vars(args), "students": n, "replicas": r, "kill_one": k})
            for n, r, k in runs]


def run(args: argparse.Namespace) -> str:
    """One run: servers up, a cold first page, the warm-up, the class, the report; its summary line."""
    global RUN
    with Cluster(replicas=args.replicas, nginx=args.replicas > 1) as cluster:
        first = cold_first_page(cluster.members[0], args.timeout)
        warmed = 0.0 if args.cold else sum(warm(r.url, args.timeout) for r in cluster.members)
        RUN = Run(cluster.url, args.seed, tuple(args.think), args.timeout)
        env = Environment(user_classes=[StudentUser])
        monitors = [gevent.spawn(watch_memory, cluster), gevent.spawn(watch_health, cluster)]
        browsers = Browsers(cluster.url, args.browsers, args.seconds)
        if args.kill_one:
            monitors.append(gevent.spawn(kill_later, cluster, args.seconds / 3, browsers))
        runner = env.create_local_runner()
        runner.start(args.students, spawn_rate=max(args.students / args.arrival, 0.1))
        gevent.spawn_later(args.seconds, runner.quit)
        runner.greenlet.join(timeout=args.seconds + args.timeout + 30)
        browser_out = browsers.collect(args.timeout + 120)
        gevent.killall(monitors)
        for r in cluster.members:
            if r.alive:
                record_peak(r)
        print(f"cold first page {first:.2f} s after launch; warm-up {warmed:.1f} s; "
              f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print("\n".join(page_table(env)))
        browser_errors = [f"browser: {e}" for e in (browser_out or {}).get("errors", [])]
        print("\n".join(error_lines(env) + RUN.health_failures[:10] + browser_errors[:10]))
        if RUN.health_failures and cluster.behind_nginx:
            print("nginx's error log ends:\n" + cluster.log("error.log")[-1500:])
        print("\n".join(f"replica {name}: peak {kib / 1024:.0f} MiB" for name, kib in RUN.peak_kib.items()))
        line = summary(args, env, first, browser_out)
        print(line, flush=True)
        return line


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    if not args.series:
        run(args)
        return
    lines = [run(one) for one in series(args)]
    print("\n".join(["", "series:", *lines]), flush=True)


if __name__ == "__main__":
    main()
