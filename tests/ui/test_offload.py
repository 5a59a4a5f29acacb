"""ui/offload.py: on a server the fits run in a worker process, elsewhere in the calling thread; a
worker that dies is replaced and its call still answers."""
from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from band import CRIT_TOL, optimum_cases

from lib.teach.contents import REPO
from lib.teach.fitting import fit_lmer
from ui import offload

MMODTIME4 = "IgG ~ Sex * Time + (1 + Time | FamID) + (1 + Time | Sex:IndID)"  # refs.R's MModTime4


@pytest.fixture
def one_worker(monkeypatch):
    monkeypatch.setenv(offload.VARIABLE, "1")
    yield
    offload.shutdown()


def _doubled_here_but_dies_in_a_worker(x: int) -> int:
    if multiprocessing.parent_process() is not None:
        os._exit(3)
    return 2 * x


def test_how_many_workers(monkeypatch):
    monkeypatch.setenv(offload.VARIABLE, "3")
    assert offload.workers() == 3
    monkeypatch.setenv(offload.VARIABLE, "0")
    assert offload.workers() == 0
    monkeypatch.delenv(offload.VARIABLE)
    monkeypatch.setattr("sys.argv", ["/srv/lmm/app.py"])  # what `streamlit run app.py` leaves in argv
    assert offload.workers() == max(1, os.cpu_count() - 1)
    monkeypatch.setattr("sys.argv", ["pytest"])
    assert offload.workers() == 0


def test_without_workers_the_call_runs_here(monkeypatch):
    monkeypatch.setenv(offload.VARIABLE, "0")
    assert offload.run(os.getpid) == os.getpid()


def test_a_fit_made_in_a_worker_is_the_optimum(one_worker):
    assert offload.run(os.getpid) != os.getpid()
    outcome = offload.run(fit_lmer, MMODTIME4, True, "all")
    assert outcome.ok
    # optimum_lme4.json: the criterion's optimum for REMLcrit(MModTime4); CRIT_TOL from tests/band.py
    assert abs(outcome.fit.criterion - optimum_cases()["MModTime4"]["optimum"]["crit"]) <= CRIT_TOL


def test_a_dead_worker_is_replaced_and_its_call_still_answers(one_worker):
    first = offload.run(os.getpid)
    assert offload.run(_doubled_here_but_dies_in_a_worker, 21) == 42  # answered here, once
    second = offload.run(os.getpid)
    assert second not in (first, os.getpid())


@pytest.mark.parametrize("method", ["forkserver", "spawn"])  # spawn: where there is no forkserver (Windows)
def test_a_worker_does_not_run_the_page_script_that_ran_last(one_worker, monkeypatch, tmp_path, method):
    # Streamlit (and AppTest) leave the last page script as the main module, which a new
    # multiprocessing worker would run first: this one would kill it
    monkeypatch.setattr(offload, "_START_METHOD", method)
    page = tmp_path / "page.py"
    page.write_text("import os\nos._exit(4)\n")
    main = type(os)("__main__")
    main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert offload.run(os.getpid) != os.getpid()  # answered by a live worker, not here after its death


def test_a_killed_servers_worker_ends():
    """A server killed outright (SIGKILL: no clean-up) leaves no worker waiting for work."""
    probe = ("import os, time\nos.environ['LMM_FIT_WORKERS'] = '1'\nfrom ui import offload\n"
             "print(offload.run(os.getpid), flush=True)\ntime.sleep(60)")
    server = subprocess.Popen([sys.executable, "-c", probe], cwd=REPO, stdout=subprocess.PIPE, text=True)
    worker = int(server.stdout.readline())
    server.kill()
    server.wait()
    deadline = time.monotonic() + 5 * offload.WATCH_SECONDS
    while time.monotonic() < deadline and Path(f"/proc/{worker}").exists():
        time.sleep(0.1)
    assert not Path(f"/proc/{worker}").exists()
