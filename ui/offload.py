"""Fits in worker processes, so that a server's interpreter lock stays with the page runs.

One Streamlit process runs every session's script in threads that share one interpreter lock: a
model fitted for one student (0.05-2 s of Python between LAPACK calls) slows every other student's
page in that process, and the machine's other core idles. On a server (a process running app.py)
ui.cache's fits therefore run in a pool of worker processes (`LMM_FIT_WORKERS`; by default one fewer
than the CPUs, at least one). A fit is a frozen value, pickled back (1.7 MB and 10 ms for the
tutorial's largest). Elsewhere (tests, scripts, AppTest) `run` calls the function in the calling
thread. A worker that dies is replaced, and the fit it had runs in the calling thread.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import threading
import time
import types
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")
VARIABLE = "LMM_FIT_WORKERS"
WATCH_SECONDS = 2.0  # how often a worker checks that its server is alive

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
# forkserver (Linux, macOS): workers fork from a fresh interpreter, not from a server's threads and
# locks; spawn where there is no forkserver (Windows)
_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
# no __file__, no __spec__: multiprocessing leaves a worker's main module alone
_NO_MAIN = types.ModuleType("__mp_no_main__")


def workers() -> int:
    """How many worker processes fit models; 0: fits run in the calling thread."""
    try:
        return max(0, int(os.environ[VARIABLE]))
    except (KeyError, ValueError):
        serving = Path(sys.argv[0]).name == "app.py"  # `streamlit run app.py` sets argv[0] to the script
        return max(1, (os.cpu_count() or 1) - 1) if serving else 0


def _executor(count: int) -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context(_START_METHOD)
            if _START_METHOD == "forkserver":
                context.set_forkserver_preload([])  # its default, ["__main__"]: see _submit
            _pool = ProcessPoolExecutor(count, mp_context=context, initializer=_worker_starts,
                                        initargs=(os.getpid(),))
        return _pool


def _worker_starts(server: int) -> None:
    os.environ[VARIABLE] = "0"  # a worker fits in its own thread
    if os.name == "posix":  # os.kill(pid, 0) asks whether a process exists only there (Windows ends it)
        threading.Thread(target=_exit_with, args=(server,), name="server-watch", daemon=True).start()


def _exit_with(server: int) -> None:
    """End this worker when its server is gone: a killed server's workers would otherwise wait for
    work forever (their queue's other end is inherited, so it never reports the end)."""
    while True:
        time.sleep(WATCH_SECONDS)
        try:
            os.kill(server, 0)
        except ProcessLookupError:
            os._exit(0)


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop the workers (a new pool starts with the next fit)."""
    pool = _pool
    if pool is not None:
        _discard(pool)


def _submit(pool: ProcessPoolExecutor, fn: Callable[..., T], args: tuple) -> Future:
    """pool.submit with the main module hidden: a worker it starts would first run that module
    (multiprocessing's rule), and Streamlit sets it to whichever page script ran last."""
    with _lock:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = _NO_MAIN
        try:
            return pool.submit(fn, *args)
        finally:
            sys.modules["__main__"] = main


def run(fn: Callable[..., T], *args) -> T:
    """fn(*args): in a worker process on a server, else here. `fn` is a module-level function."""
    count = workers()
    if count == 0:
        return fn(*args)
    pool = _executor(count)
    try:
        return _submit(pool, fn, args).result()
    except BrokenProcessPool:  # a worker died (killed, out of memory): a new pool for the next fit
        _discard(pool)
    except CancelledError:  # queued in a pool that another call discarded
        pass
    except pickle.PicklingError:  # a value that cannot cross processes: fitted here
        pass
    return fn(*args)
