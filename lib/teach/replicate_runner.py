"""Replicates of a simulation computed off the page's script thread, so that a page run returns at
once and shows the replicates done so far while the rest accrue (the fixed-or-random experiment).

A `ReplicateRunner` has one worker thread. Each owner (a browser session) states what it wants with
`want(owner, results, count, compute)`: replicates 0 .. count - 1 in the dict `results`, replicate i
being compute(i), a pure function of i (so any thread writing it writes the same value, and a
replicate computed for one owner serves every owner of the same dict). An owner wants one thing at
a time: a new `want` replaces its previous one, `withdraw` ends it (Stop), and so does silence: a
wish not restated within `patience` seconds is dropped (the page was left or the tab closed; a page
showing the run restates it at every refresh). The worker takes the owners' wishes in turn, one
replicate each, lowest missing index first, so one class's experiments share the worker fairly and
an abandoned experiment costs at most `patience` seconds of it; a run with no replicate yet goes
before the others, so that every page soon has something to show. A replicate that raises ends its
wish; `error(owner)` returns the exception. While a page draws what the runner has computed it
holds the worker (`with runner.held():`): the worker starts no replicate then, so the one process's
time goes to the page the student is waiting for, and resumes when the page is drawn.
"""
from __future__ import annotations

import atexit
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Hashable, Iterator

PATIENCE = 10.0  # seconds a wish lives without being restated
ERRORS_KEPT = 256  # the errors of that many owners at most (an owner's next want clears its own)


@dataclass
class _Wish:
    results: dict
    count: int
    compute: Callable[[int], object]
    seen: float
    next: int = 0  # no index below it is missing
    error: BaseException | None = field(default=None)

    def missing(self) -> int | None:
        while self.next < self.count and self.next in self.results:
            self.next += 1
        return self.next if self.next < self.count else None


class ReplicateRunner:
    def __init__(self, patience: float = PATIENCE, clock: Callable[[], float] = time.monotonic):
        self.patience, self._clock = patience, clock
        self._wishes: dict[Hashable, _Wish] = {}
        self._errors: dict[Hashable, tuple[dict, BaseException]] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._holds = 0

    def want(self, owner: Hashable, results: dict, count: int, compute: Callable[[int], object]) -> None:
        """`owner` wants replicates 0 .. count - 1 in `results` (restating a wish keeps it alive)."""
        with self._changed:
            if self._closed:
                raise RuntimeError("this runner is closed")
            old = self._wishes.get(owner)
            if old is not None and old.results is results and old.count == count:
                old.seen = self._clock()
            else:
                self._wishes[owner] = _Wish(results, count, compute, self._clock())
            self._errors.pop(owner, None)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="replicates", daemon=True)
                self._thread.start()
                # ended before the interpreter tears daemon threads down: one killed inside a fit's
                # C++ (nlopt) aborts the process ("FATAL: exception not rethrown")
                atexit.register(self.close)
            self._changed.notify_all()

    def withdraw(self, owner: Hashable) -> None:
        """`owner` wants nothing more (a replicate under way is finished and kept)."""
        with self._changed:
            self._wishes.pop(owner, None)

    def running(self, owner: Hashable) -> bool:
        with self._changed:
            return owner in self._wishes

    def error(self, owner: Hashable, results: dict | None = None) -> BaseException | None:
        """The exception that ended `owner`'s last wish, if one did (and it was for `results`, if given)."""
        with self._changed:
            found = self._errors.get(owner)
        if found is None or (results is not None and found[0] is not results):
            return None
        return found[1]

    def wait(self, results: dict, count: int, timeout: float) -> bool:
        """Wait until replicates 0 .. count - 1 are all in `results`, at most `timeout` seconds
        (a page's short wait, so that a small run is shown whole); True if they are."""
        end = time.monotonic() + timeout
        with self._changed:
            while True:
                if all(i in results for i in range(count)):
                    return True
                left = end - time.monotonic()
                if left <= 0 or not any(w.results is results for w in self._wishes.values()):
                    return False
                self._changed.wait(left)

    @contextmanager
    def held(self) -> Iterator[None]:
        """No replicate starts inside this block (one under way finishes): a page drawing its results."""
        with self._changed:
            self._holds += 1
        try:
            yield
        finally:
            with self._changed:
                self._holds -= 1
                self._changed.notify_all()

    def close(self) -> None:
        """Drop every wish and end the worker after its replicate under way."""
        with self._changed:
            self._closed = True
            self._wishes.clear()
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()
            atexit.unregister(self.close)

    def _next(self) -> tuple[Hashable, _Wish, int] | None:
        """The next (owner, wish, index), dropping ended and silent wishes (lock held): a run with
        nothing to show yet first, otherwise the owners in turn."""
        now = self._clock()
        live = []
        for owner in list(self._wishes):
            wish = self._wishes[owner]
            if now - wish.seen > self.patience or wish.missing() is None:
                del self._wishes[owner]
            else:
                live.append(owner)
        if not live:
            return None
        owner = next((o for o in live if self._wishes[o].next == 0), live[0])
        wish = self._wishes.pop(owner)  # put back last: the owners take turns
        self._wishes[owner] = wish
        return owner, wish, wish.next

    def _work(self) -> None:
        while True:
            with self._changed:
                job = None if self._holds else self._next()
                while job is None:
                    if self._closed:
                        return
                    self._changed.wait()
                    job = None if self._holds else self._next()
            owner, wish, index = job
            try:
                value = wish.compute(index)
            except Exception as e:  # the wish ends; the page says why
                with self._changed:
                    if self._wishes.get(owner) is wish:
                        del self._wishes[owner]
                        self._errors[owner] = (wish.results, e)
                        while len(self._errors) > ERRORS_KEPT:
                            del self._errors[next(iter(self._errors))]
                    self._changed.notify_all()
                continue
            with self._changed:
                wish.results[index] = value
                self._changed.notify_all()
