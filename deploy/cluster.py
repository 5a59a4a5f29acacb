"""N Streamlit replicas of the app and nginx in front of them, on 127.0.0.1: the local trial.

    python -m deploy.cluster trial --replicas 2 --port 8080      # until Ctrl-C (or --seconds S)
    python -m deploy.cluster nginx-site --listen 80 --replicas 2 --first-port 8501
    python -m deploy.cluster warm http://127.0.0.1:8501 http://127.0.0.1:8502

`trial` starts the replicas with one shared cookie secret (each reads .streamlit/config.toml),
writes a self-contained nginx.conf around deploy/nginx-site.conf.in in a temporary folder, runs
nginx in the foreground from there, waits until every /_stcore/health answers and serves until
stopped; then it stops everything it started. `nginx-site` prints the site file for
/etc/nginx/conf.d/ on a server of one's own. `warm` visits every page of each replica once, so
the models the pages show are fitted into that process's cache before the students come (it
speaks the app's WebSocket protocol with bench/st_client.py: bench/requirements-load.txt).
bench/load.py and tests/deploy use `Cluster`.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Sequence

REPO = Path(__file__).resolve().parent.parent
SITE_TEMPLATE = Path(__file__).resolve().parent / "nginx-site.conf.in"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def replica_command(port: int) -> list[str]:
    """The command of one replica (the README's, with the port and loopback address)."""
    return [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
            "--server.port", str(port), "--server.headless", "true"]


def render_site(listen: str, ports: Sequence[int], host: str = "127.0.0.1") -> str:
    """deploy/nginx-site.conf.in with its listen address and upstream servers filled in."""
    servers = "\n".join(f"    server {host}:{p} max_fails=3 fail_timeout=5s;" for p in ports)
    return (SITE_TEMPLATE.read_text().replace("@LISTEN@", listen)
            .replace("@UPSTREAM_SERVERS@", servers))


def trial_nginx_conf(prefix: Path, site: Path) -> str:
    """A whole nginx.conf that keeps its pid, logs and temporary files under `prefix`."""
    temp = "\n".join(f"    {kind}_temp_path {prefix}/{kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{\n    access_log off;\n{temp}\n    include {site};\n}}\n")


def wait_healthy(url: str, timeout: float, procs: Sequence[subprocess.Popen] = ()) -> float:
    """Poll url/_stcore/health until it says ok; the seconds that took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{p.args[0]} exited with code {p.returncode} before {url} was up")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url}/_stcore/health did not answer within {timeout:.0f} s")


def first_run(url: str, timeout: float) -> None:
    """Run app.py once in the process at `url` (Streamlit's script health check), before any student.

    Until some run has called st.navigation, Streamlit takes an app with a pages/ folder for a
    legacy multipage app, whose pages are pages/*.py: a first visitor's deep link (/qaqc) would
    open the "Page not found" dialog above the right page (streamlit/streamlit#9992). This run
    calls st.navigation for the whole process, and starts ui/warmup.py's warm-up early."""
    with urllib.request.urlopen(f"{url}/_stcore/script-health-check", timeout=timeout) as r:
        if r.read().strip() != b"ok":
            raise RuntimeError(f"{url}: app.py did not run without error")


def warm(url: str, timeout: float = 120.0) -> float:
    """Visit every page of the app at `url` once, in a fresh session; the seconds it took."""
    import random

    from bench.st_client import Student

    start = time.monotonic()
    student = Student(url, random.Random(0), timeout)
    try:
        student.connect()
        for page in list(student.pages)[1:]:
            student.visit(page)
    finally:
        student.close()
    return time.monotonic() - start


@dataclass
class Replica:
    port: int
    proc: subprocess.Popen
    started: float  # time.monotonic() at launch

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def upstream(self) -> str:
        """How nginx names it (its X-Upstream header)."""
        return f"127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class Cluster:
    """`replicas` Streamlit processes, with nginx on `port` in front when `nginx` (or replicas > 1)."""
    replicas: int = 2
    port: int = 0  # nginx's port; 0: a free one
    nginx: bool | None = None
    cookie_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    timeout: float = 60.0
    extra_env: dict[str, str] = field(default_factory=dict)  # added to each replica's environment
    members: list[Replica] = field(default_factory=list)
    _nginx_proc: subprocess.Popen | None = None
    _dir: Path | None = None
    _logs: list[IO] = field(default_factory=list)

    @property
    def behind_nginx(self) -> bool:
        return self.replicas > 1 if self.nginx is None else self.nginx

    @property
    def url(self) -> str:
        """Where students connect: nginx, or the one replica."""
        return f"http://127.0.0.1:{self.port}" if self.behind_nginx else self.members[0].url

    def start(self) -> Cluster:
        self._dir = Path(tempfile.mkdtemp(prefix="lmm-cluster-"))
        self._dir.chmod(0o755)  # nginx's workers (nobody, when run as root) create files below
        env = {**os.environ, **self.extra_env, "STREAMLIT_SERVER_COOKIE_SECRET": self.cookie_secret}
        try:
            for _ in range(self.replicas):
                self._start_replica(env)
            if self.behind_nginx:
                self._start_nginx()
            for r in self.members:
                wait_healthy(r.url, self.timeout, [r.proc])
                first_run(r.url, self.timeout)
            if self.behind_nginx:
                wait_healthy(self.url, self.timeout, [self._nginx_proc])
        except RuntimeError as e:
            logs = "\n".join(self.log(name)[-1500:] for name in sorted(os.listdir(self._dir))
                             if name.endswith((".log", ".out")))
            self.stop()
            raise RuntimeError(f"{e}\n{logs}") from e
        except BaseException:
            self.stop()
            raise
        return self

    def _log(self, name: str) -> IO:
        # a file, not a pipe: an unread pipe could fill up and stall the server
        log = open(self._dir / name, "w+")
        self._logs.append(log)
        return log

    def _start_replica(self, env: dict[str, str]) -> None:
        port = free_port()
        log = self._log(f"replica-{port}.log")
        proc = subprocess.Popen(replica_command(port), cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        self.members.append(Replica(port, proc, time.monotonic()))

    def _start_nginx(self) -> None:
        self.port = self.port or free_port()
        site = self._dir / "lmm-site.conf"
        site.write_text(render_site(f"127.0.0.1:{self.port}", [r.port for r in self.members]))
        conf = self._dir / "nginx.conf"
        conf.write_text(trial_nginx_conf(self._dir, site))
        cmd = [NGINX, "-p", str(self._dir), "-c", str(conf), "-e", str(self._dir / "error.log"),
               "-g", "daemon off;"]
        self._nginx_proc = subprocess.Popen(cmd, stdout=self._log("nginx.out"), stderr=subprocess.STDOUT)

    def kill(self, index: int) -> Replica:
        """SIGKILL one replica, as a crash would."""
        r = self.members[index]
        r.proc.send_signal(signal.SIGKILL)
        r.proc.wait()
        return r

    def log(self, name: str) -> str:
        return (self._dir / name).read_text() if self._dir and (self._dir / name).exists() else ""

    def stop(self) -> None:
        procs = [p for p in [self._nginx_proc, *(r.proc for r in self.members)] if p is not None]
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in self._logs:
            log.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    trial = sub.add_parser("trial", help="replicas and nginx on 127.0.0.1 until Ctrl-C")
    trial.add_argument("--replicas", type=int, default=2)
    trial.add_argument("--port", type=int, default=8080, help="nginx's port on 127.0.0.1")
    trial.add_argument("--seconds", type=float, default=None, help="stop after this long")
    site = sub.add_parser("nginx-site", help="print the nginx site file for /etc/nginx/conf.d/")
    site.add_argument("--listen", default="80")
    site.add_argument("--replicas", type=int, default=2)
    site.add_argument("--first-port", type=int, default=8501)
    warm_up = sub.add_parser("warm", help="visit every page of each replica once (fits the models)")
    warm_up.add_argument("urls", nargs="+", help="each replica's own address, e.g. http://127.0.0.1:8501")
    args = ap.parse_args(argv)
    if args.command == "warm":
        for url in args.urls:
            print(f"{url}: every page visited in {warm(url):.1f} s")
        return
    if args.command == "nginx-site":
        print(render_site(args.listen, range(args.first_port, args.first_port + args.replicas)), end="")
        return
    with Cluster(replicas=args.replicas, port=args.port, nginx=True) as cluster:
        for r in cluster.members:
            print(f"replica pid {r.proc.pid} on {r.url}")
        print(f"nginx on {cluster.url} (Ctrl-C stops everything)", flush=True)
        try:
            time.sleep(args.seconds if args.seconds is not None else 10**9)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
