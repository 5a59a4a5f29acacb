"""The classroom deployment: config names, the nginx site, two replicas behind nginx on 127.0.0.1.

nginx is Debian's package (.ci/run installs it); without it the nginx tests skip, and with
REQUIRE_NGINX=1 (as in CI) they fail instead. The replicas run briefly on loopback ports.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest
import websocket

from bench.st_client import Student
from deploy.cluster import NGINX, REPO, Cluster, render_site, trial_nginx_conf


def streamlit_config_show(cwd: Path) -> str:
    """What `streamlit config show` prints (stdout and stderr) in `cwd`, with that folder's config."""
    shown = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], cwd=cwd,
                           capture_output=True, text=True, check=True)
    return shown.stdout + shown.stderr


def listed_options(shown: str) -> set[str]:
    """section.option for every option `streamlit config show` lists (commented or set)."""
    options, section = set(), None
    for line in shown.splitlines():
        if m := re.match(r"^\[(.+)\]$", line):
            section = m.group(1)
        elif (m := re.match(r"^(?:# )?(\w+) =", line)) and section:
            options.add(f"{section}.{m.group(1)}")
    return options


def test_every_config_option_is_one_streamlit_knows(tmp_path):
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    ours = {f"{section}.{name}" for section, values in config.items() for name in values}
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text("[server]\nnoSuchOption = 1\n")
    assert "is not a valid config option" in streamlit_config_show(tmp_path)  # the check below can fail
    shown = streamlit_config_show(REPO)
    assert "is not a valid config option" not in shown
    known = listed_options(shown)
    assert {"server.disconnectedSessionTTL", "server.fileWatcherType"} <= known  # the parse works
    # the options `config show` hides: the script health check's switch (deploy.cluster.first_run)
    # and the full garbage collection after every page run (README: "A server of one's own")
    assert ours - known == {"server.scriptHealthCheckEnabled", "runner.postScriptGC"}


def test_nginx_site_fills_listen_and_one_server_per_replica():
    site = render_site("80", [8501, 8502, 8503])
    assert "@" not in site
    assert re.findall(r"server 127\.0\.0\.1:(\d+) ", site) == ["8501", "8502", "8503"]
    assert "listen 80;" in site
    # the upload limit nginx lets through is the app's
    upload_mb = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    assert f"client_max_body_size {upload_mb}m;" in site


def _nginx_or_skip() -> None:
    if not Path(NGINX).exists() and not shutil.which("nginx"):
        if os.environ.get("REQUIRE_NGINX") == "1":
            pytest.fail("nginx is required (REQUIRE_NGINX=1) but not installed")
        pytest.skip("nginx is not installed (Debian: apt-get install -y nginx)")


def test_nginx_accepts_the_site(tmp_path):
    _nginx_or_skip()
    site = tmp_path / "site.conf"
    site.write_text(render_site("127.0.0.1:8080", [8501, 8502]))
    conf = tmp_path / "nginx.conf"
    conf.write_text(trial_nginx_conf(tmp_path, site))
    out = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def cluster():
    _nginx_or_skip()
    with Cluster(replicas=2, nginx=True, timeout=60) as c:
        yield c


def get(url: str, cookie: str | None = None):
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.status, r.headers, r.read()


def test_health_answers_through_nginx_and_on_each_replica(cluster):
    for url in [cluster.url, *(r.url for r in cluster.members)]:
        status, _, body = get(f"{url}/_stcore/health")
        assert (status, body) == (200, b"ok")


def test_a_browser_keeps_to_one_replica(cluster):
    _, headers, _ = get(cluster.url + "/")
    cookie = headers["Set-Cookie"].split(";")[0]
    assert cookie.startswith("lmm_replica=")
    upstreams = {get(f"{cluster.url}/_stcore/health", cookie)[1]["X-Upstream"] for _ in range(6)}
    assert len(upstreams) == 1 and upstreams <= {r.upstream for r in cluster.members}


def test_websocket_upgrade_through_nginx(cluster):
    ws = websocket.create_connection(cluster.url.replace("http", "ws") + "/_stcore/stream",
                                     subprotocols=["streamlit"], timeout=10)
    try:
        assert ws.getstatus() == 101
        assert ws.getsubprotocol() == "streamlit"
    finally:
        ws.close()


def test_a_page_renders_through_nginx_and_survives_its_replica(cluster):
    student = Student(cluster.url, random.Random(0), timeout=60)
    try:
        home = student.connect()
        assert home.ok and "Fixed or random?" in home.headings
        page = student.visit("data")
        assert page.ok and page.headings
        # the replica dies: the next connection lands on the other, a fresh session, same page
        index = [r.upstream for r in cluster.members].index(student.upstream)
        cluster.kill(index)
        again = student.connect()
        assert again.ok and again.headings == page.headings
        assert student.upstream != cluster.members[index].upstream
    finally:
        student.close()
