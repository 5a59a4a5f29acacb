"""lib.teach.replicate_runner: replicates computed by one worker thread for owners who restate what
they want. The replicates here are i -> i * i (the expected values are the function's own); a gate
(threading.Semaphore) lets the test decide how many replicates the worker may compute, and a
hand-moved clock stands in for time, so nothing depends on how fast the machine is."""
from __future__ import annotations

import threading

import pytest

from lib.teach.replicate_runner import ReplicateRunner

WAIT = 30.0  # generous: a wait ends as soon as its condition holds


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Gated:
    """i -> i * i, each call waiting for one release of the gate; counts its calls."""

    def __init__(self) -> None:
        self.gate, self.calls, self.lock = threading.Semaphore(0), [], threading.Lock()

    def __call__(self, i: int) -> int:
        assert self.gate.acquire(timeout=WAIT)
        with self.lock:
            self.calls.append(i)
        return i * i

    def allow(self, n: int) -> None:
        for _ in range(n):
            self.gate.release()


@pytest.fixture
def runner():
    r = ReplicateRunner(patience=10.0, clock=Clock())
    yield r
    r.close()


def test_all_replicates_in_order_then_the_wish_ends(runner):
    results: dict[int, int] = {}
    runner.want("a", results, 25, lambda i: i * i)
    assert runner.wait(results, 25, WAIT)
    assert results == {i: i * i for i in range(25)}
    assert not runner.wait({}, 1, 0.0)  # nobody computes that one: no waiting for it


def test_withdraw_stops_after_the_replicate_under_way(runner):
    results, work = {}, Gated()
    runner.want("a", results, 100, work)
    work.allow(5)
    assert runner.wait(results, 5, WAIT)
    runner.withdraw("a")
    work.allow(100)
    runner.close()  # the worker ends after the replicate it had started, if any
    assert 5 <= len(results) <= 6 and set(results) == set(range(len(results)))
    assert not runner.running("a")


def test_a_silent_wish_is_dropped_after_patience():
    clock, work = Clock(), Gated()
    runner = ReplicateRunner(patience=10.0, clock=clock)
    results: dict[int, int] = {}
    runner.want("a", results, 100, work)
    work.allow(3)
    assert runner.wait(results, 3, WAIT)
    clock.now = 5.0
    runner.want("a", results, 100, work)  # restated: alive until 15
    clock.now = 14.0
    work.allow(2)
    assert runner.wait(results, 5, WAIT) and runner.running("a")
    clock.now = 15.5  # silent for more than 10 s
    work.allow(100)
    runner.close()
    assert len(results) <= 6 and not runner.running("a")


def test_owners_of_one_run_share_its_replicates_and_take_turns():
    runner, work = ReplicateRunner(clock=Clock()), Gated()
    shared, other = {}, {}
    runner.want("a", shared, 10, work)
    runner.want("b", shared, 10, work)  # the same run: nothing is computed twice
    runner.want("c", other, 10, lambda i: -i)
    work.allow(10)
    assert runner.wait(shared, 10, WAIT) and runner.wait(other, 10, WAIT)
    assert sorted(work.calls) == list(range(10)) and shared == {i: i * i for i in range(10)}
    assert other == {i: -i for i in range(10)}
    runner.close()


def test_turns_are_fair():
    """Two owners of two long runs, one gate for both: of 20 replicates, each gets 10 (+- 1: who went first)."""
    runner, work = ReplicateRunner(clock=Clock()), Gated()
    a_results, b_results = {}, {}
    runner.want("a", a_results, 100, work)
    runner.want("b", b_results, 100, work)
    work.allow(20)
    deadline = threading.Event()
    for _ in range(int(WAIT / 0.01)):
        if len(a_results) + len(b_results) >= 20:
            break
        deadline.wait(0.01)
    runner.withdraw("a")
    runner.withdraw("b")
    work.allow(1)  # the replicate the worker may have started
    runner.close()
    assert len(a_results) + len(b_results) >= 20
    assert 9 <= len(a_results) <= 11 and 9 <= len(b_results) <= 11


def test_a_new_wish_replaces_the_owners_last(runner):
    first, second, work = {}, {}, Gated()
    runner.want("a", first, 100, work)
    work.allow(2)
    assert runner.wait(first, 2, WAIT)
    runner.want("a", second, 3, lambda i: i)  # another design: the first run is left
    work.allow(1)  # the first run's replicate the worker may have started
    assert runner.wait(second, 3, WAIT)
    work.allow(100)
    runner.close()
    assert len(first) <= 3 and second == {0: 0, 1: 1, 2: 2}


def test_a_failing_replicate_ends_the_wish_with_its_error(runner):
    def compute(i: int) -> int:
        if i == 3:
            raise ValueError("no fit")
        return i

    results: dict[int, int] = {}
    runner.want("a", results, 10, compute)
    assert not runner.wait(results, 10, WAIT)  # ends when the wish does, not after WAIT
    assert results == {0: 0, 1: 1, 2: 2} and isinstance(runner.error("a"), ValueError)
    assert isinstance(runner.error("a", results), ValueError) and runner.error("a", {}) is None
    runner.want("a", {}, 1, lambda i: i)  # asking again clears the error
    assert runner.error("a") is None


def test_no_replicate_starts_while_a_page_holds_the_worker(runner):
    results: dict[int, int] = {}
    with runner.held():
        runner.want("a", results, 5, lambda i: i)
        assert not runner.wait(results, 1, 0.2) and results == {}
    assert runner.wait(results, 5, WAIT) and results == {i: i for i in range(5)}


def test_a_run_with_nothing_to_show_goes_first():
    """A long run under way, then another owner's new run: the worker's next replicate is the new run's first."""
    runner, work = ReplicateRunner(clock=Clock()), Gated()
    long_run, order = {}, []
    runner.want("a", long_run, 100, work)
    work.allow(3)
    assert runner.wait(long_run, 3, WAIT)
    runner.want("b", {}, 2, lambda i: order.append(("b", i)) or i)
    work.allow(1)  # the long run's replicate the worker may have started
    deadline = threading.Event()
    for _ in range(int(WAIT / 0.01)):
        if order:
            break
        deadline.wait(0.01)
    assert order[0] == ("b", 0) and len(long_run) <= 4
    runner.withdraw("a")
    work.allow(100)
    runner.close()
