"""Run a long computation (a fit) so that it can be stopped: by the user, or past a time limit.

The work runs in a thread of its own while the caller waits in short steps, calling `wait(elapsed)`
between them (a page shows the time there; if that call raises, as Streamlit's does when the user
clicks Stop, the work is stopped too). Stopping raises `Stopped` inside the worker thread at its next
Python instruction (CPython's PyThreadState_SetAsyncExc): a fit is pure Python loops around numpy
calls, so it ends within one criterion evaluation, and a fit changes nothing but its own values.
"""
from __future__ import annotations

import ctypes
import threading
import time
from typing import Callable, TypeVar

T = TypeVar("T")


class Stopped(Exception):
    """The work was stopped before it finished."""


class TimeLimit(Stopped):
    """The work ran past its time limit."""


def run_stoppable(work: Callable[[], T], limit_s: float, wait: Callable[[float], None] = lambda s: None,
                  step_s: float = 0.25) -> T:
    """work(), stopped (TimeLimit) once it runs longer than `limit_s` seconds, or when `wait` raises."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as e:  # handed to the caller, who re-raises it
            box["error"] = e

    thread = threading.Thread(target=target, name="stoppable-work", daemon=True)
    start = time.monotonic()
    thread.start()
    step = min(step_s, limit_s / 10)
    try:
        while True:
            thread.join(step)
            if not thread.is_alive():
                break
            elapsed = time.monotonic() - start
            if elapsed > limit_s:
                raise TimeLimit(f"stopped after {elapsed:.1f} s: the limit is {limit_s:g} s")
            wait(elapsed)
    finally:
        if thread.is_alive():
            _stop(thread)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def _stop(thread: threading.Thread) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(Stopped))
