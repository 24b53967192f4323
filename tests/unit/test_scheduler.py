"""The scheduler on fake stages: every test is a few milliseconds, and none trusts a sleep to order things."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from wheelwright.run.scheduler import (
    InlineRunner,
    SchedulerResult,
    Task,
    TaskFailure,
    ThreadRunner,
    find_cycle,
    run_tasks,
)

TIMEOUT = 5.0  # only reached when the scheduler is wrong; a passing test never waits on it


def task(id: str, *needs: str, slots: int = 1) -> Task:
    return Task(id, frozenset(needs), slots)


class Log:
    """Start and end of every job, in one order, under one lock; and how many jobs run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []
        self.running: set[str] = set()
        self.peak = 0
        self.beside: dict[str, frozenset[str]] = {}  # id -> the jobs already running when it started

    def start(self, task_id: str) -> None:
        with self.lock:
            self.events.append(("start", task_id))
            self.beside[task_id] = frozenset(self.running)
            self.running.add(task_id)
            self.peak = max(self.peak, len(self.running))

    def end(self, task_id: str) -> None:
        with self.lock:
            self.running.discard(task_id)
            self.events.append(("end", task_id))

    @property
    def starts(self) -> list[str]:
        return [task_id for kind, task_id in self.events if kind == "start"]

    def index(self, kind: str, task_id: str) -> int:
        return self.events.index((kind, task_id))


def fake(log: Log, behaviour: dict[str, Callable[[], object]] | None = None) -> Callable[[Task], str]:
    """A stage that logs, runs what ``behaviour`` gives its id (which may raise), and returns ``built <id>``."""

    def work(t: Task) -> str:
        log.start(t.id)
        try:
            if behaviour and t.id in behaviour:
                behaviour[t.id]()
            return f"built {t.id}"
        finally:
            log.end(t.id)

    return work


def fail(message: str) -> Callable[[], object]:
    def raise_it() -> object:
        raise RuntimeError(message)

    return raise_it


def built(*ids: str) -> dict[str, str]:
    return {task_id: f"built {task_id}" for task_id in ids}


Summary = tuple[dict[str, Any], tuple[tuple[str, str, str], ...], dict[str, str], tuple[str, ...], dict[str, frozenset[str]]]


def summary(result: SchedulerResult[Any]) -> Summary:
    """Everything but the exception objects, which differ between two runs."""
    failed = tuple((failure.id, type(failure.error).__name__, str(failure.error)) for failure in result.failed)
    return dict(result.done), failed, dict(result.skipped), result.cancelled, dict(result.stuck)


DIAMOND = [task("d", "b", "c"), task("c", "a"), task("b", "a"), task("a")]


def test_diamond_inline_runs_in_dependency_then_id_order() -> None:
    log = Log()
    result = run_tasks(DIAMOND, fake(log), slots=1, runner=InlineRunner())
    assert log.starts == ["a", "b", "c", "d"]
    assert dict(result.done) == built("a", "b", "c", "d")
    assert result.ok
    assert (result.failed, dict(result.skipped), result.cancelled, dict(result.stuck)) == ((), {}, (), {})


def test_diamond_in_threads_starts_each_task_after_its_needs_end() -> None:
    log = Log()
    result = run_tasks(DIAMOND, fake(log), slots=2)
    assert result.ok and dict(result.done) == built("a", "b", "c", "d")
    for t in DIAMOND:
        for need in t.needs:
            assert log.index("end", need) < log.index("start", t.id), (need, t.id, log.events)
    assert log.starts[0] == "a" and log.starts[-1] == "d"


def test_a_task_starts_as_soon_as_its_need_ends_not_when_an_unrelated_long_task_does() -> None:
    after_short_started = threading.Event()
    saw: dict[str, bool] = {}

    def long() -> None:  # holds its slot until after_short has started: a round-based scheduler never starts it
        saw["long"] = after_short_started.wait(TIMEOUT)

    log = Log()
    work = fake(log, {"long": long, "after_short": after_short_started.set})
    result = run_tasks([task("long"), task("short"), task("after_short", "short")], work, slots=2)
    assert saw == {"long": True}
    assert result.ok and dict(result.done) == built("long", "short", "after_short")
    assert log.index("start", "after_short") < log.index("end", "long")


def test_never_more_jobs_at_once_than_slots() -> None:
    three_at_once = threading.Barrier(3, timeout=TIMEOUT)  # proves three really do run together
    hold = threading.Event()

    def meet() -> None:
        three_at_once.wait()
        hold.wait(0.002)  # stay a moment, so a fourth job started beside us would be counted

    log = Log()
    tasks = [task(f"t{i:02}") for i in range(12)]
    # more workers than slots: the pool must not be what keeps the count down
    result = run_tasks(tasks, fake(log, {t.id: meet for t in tasks}), slots=3, runner=ThreadRunner(12))
    assert result.ok and len(result.done) == 12
    assert log.peak == 3


def test_a_task_of_no_slots_starts_beside_builds_that_fill_every_slot() -> None:
    """I/O work (fetch, unpack) takes no build slot: it must not wait for a build to finish."""
    io_ran = threading.Event()

    def build() -> None:  # holds the only slot until the I/O task has run
        assert io_ran.wait(TIMEOUT)

    log = Log()
    tasks = [task("a-build"), Task("b-io", slots=0)]
    runner = ThreadRunner(4)
    try:
        result = run_tasks(tasks, fake(log, {"a-build": build, "b-io": io_ran.set}), slots=1, runner=runner)
    finally:
        runner.shutdown()
    assert result.ok and set(result.done) == {"a-build", "b-io"}


def test_tasks_of_no_slots_have_a_budget_of_their_own() -> None:
    log = Log()
    tasks = [Task(f"io{i}", slots=0) for i in range(6)]
    runner = ThreadRunner(8)  # more workers than the budget: the budget must be what keeps the count down
    try:
        result = run_tasks(tasks, fake(log, {t.id: (lambda: time.sleep(0.01)) for t in tasks}), slots=1, io_slots=2, runner=runner)
    finally:
        runner.shutdown()
    assert result.ok and log.peak == 2


def test_a_task_wider_than_the_run_still_runs_alone() -> None:
    c_started = threading.Event()

    def b() -> None:  # holds its slot until c has started: a scheduler that let big in beside it is caught
        assert c_started.wait(TIMEOUT)

    log = Log()
    tasks = [task("a"), task("b"), task("big", slots=3), task("c"), task("d")]
    runner = ThreadRunner(8)  # more workers than slots: the pool must not be what keeps big alone
    try:
        result = run_tasks(tasks, fake(log, {"b": b, "c": c_started.set}), slots=2, runner=runner)
    finally:
        runner.shutdown()
    assert result.ok and dict(result.done) == built("a", "b", "big", "c", "d")
    assert log.beside["big"] == frozenset()
    assert [task_id for task_id, beside in log.beside.items() if "big" in beside] == []
    assert log.beside["c"] == frozenset({"b"})  # c filled the slot a freed while big waited for both
    assert log.peak == 2


def test_fail_fast_lets_the_running_sibling_finish_and_cancels_the_rest() -> None:
    boom_raising = threading.Event()

    def boom() -> None:
        boom_raising.set()
        raise RuntimeError("boom broke")

    def sibling() -> None:  # still running when boom fails
        assert boom_raising.wait(TIMEOUT)

    log = Log()
    tasks = [
        task("boom"),
        task("sibling"),
        task("after_boom", "boom"),
        task("after_sibling_and_boom", "sibling", "boom"),
        task("wide", slots=2),  # needs both slots, so it cannot start before both have been settled
    ]
    result = run_tasks(tasks, fake(log, {"boom": boom, "sibling": sibling}), slots=2)
    assert dict(result.done) == built("sibling")
    assert [(f.id, str(f.error)) for f in result.failed] == [("boom", "boom broke")]
    assert result.cancelled == ("after_boom", "after_sibling_and_boom", "wide")
    assert dict(result.skipped) == {} and dict(result.stuck) == {}
    assert sorted(log.starts) == ["boom", "sibling"]
    assert not result.ok


def test_fail_fast_inline_starts_nothing_after_the_failure() -> None:
    log = Log()
    tasks = [task("a"), task("b"), task("c", "a")]
    result = run_tasks(tasks, fake(log, {"a": fail("a broke")}), slots=1, runner=InlineRunner())
    assert log.starts == ["a"]
    assert result.cancelled == ("b", "c") and dict(result.done) == {}


KEEP_GOING = [
    task("bad1"),
    task("bad2"),
    task("ok1"),
    task("ok2", "ok1"),
    task("d1", "bad1"),
    task("d2", "d1", "ok2"),  # needs bad1 only through d1: skipped for the root failure
    task("d3", "ok1", "bad2"),
    task("d4", "bad2", "bad1"),  # two failed needs: names the first in sorted order
]


def test_keep_going_finishes_the_independent_branch_and_skips_dependents_by_root_failure() -> None:
    log = Log()
    work = fake(log, {"bad1": fail("bad1 broke"), "bad2": fail("bad2 broke")})
    result = run_tasks(KEEP_GOING, work, slots=2, keep_going=True, runner=InlineRunner())
    assert dict(result.done) == built("ok1", "ok2")
    assert [(f.id, str(f.error)) for f in result.failed] == [("bad1", "bad1 broke"), ("bad2", "bad2 broke")]
    assert dict(result.skipped) == {"d1": "bad1", "d2": "bad1", "d3": "bad2", "d4": "bad1"}
    assert result.cancelled == () and dict(result.stuck) == {}
    assert log.starts == ["bad1", "bad2", "ok1", "ok2"]
    assert not result.ok


def test_keep_going_in_threads_gives_the_same_result_as_inline() -> None:
    behaviour = {"bad1": fail("bad1 broke"), "bad2": fail("bad2 broke")}
    inline = summary(run_tasks(KEEP_GOING, fake(Log(), behaviour), slots=2, keep_going=True, runner=InlineRunner()))
    threaded = summary(run_tasks(KEEP_GOING, fake(Log(), behaviour), slots=2, keep_going=True))
    # bad1 and bad2 run side by side in threads, so only the order of the two failures may differ
    assert (threaded[0], sorted(threaded[1]), *threaded[2:]) == (inline[0], list(inline[1]), *inline[2:])


def test_inline_and_thread_runners_agree_on_a_deterministic_graph() -> None:
    tasks = [task("a"), task("b", "a"), task("c", "a"), task("d", "b", "c"), task("e"), task("f", "e", "d"),
             task("g", "x"), task("x", "g"), task("h", "missing")]
    inline = run_tasks(tasks, fake(Log()), slots=3, runner=InlineRunner())
    threaded = run_tasks(tasks, fake(Log()), slots=3)
    assert summary(threaded) == summary(inline)
    assert summary(inline) == (
        built("a", "b", "c", "d", "e", "f"), (), {}, (),
        {"g": frozenset({"x"}), "h": frozenset({"missing"}), "x": frozenset({"g"})},
    )


def test_a_set_cancel_event_starts_nothing_new_and_cancels_the_rest() -> None:
    cancel = threading.Event()
    log = Log()
    tasks = [task("a"), task("b"), task("c", "a")]
    result = run_tasks(tasks, fake(log, {"a": cancel.set}), slots=1, cancel=cancel)
    assert log.starts == ["a"]
    assert dict(result.done) == built("a")
    assert result.cancelled == ("b", "c")
    assert not result.ok


def test_cancel_while_a_sibling_runs_waits_for_it() -> None:
    cancel = threading.Event()
    b_started = threading.Event()

    def a() -> None:  # cancels only once b is surely running
        assert b_started.wait(TIMEOUT)
        cancel.set()

    def b() -> None:  # still running when the event is set
        b_started.set()
        assert cancel.wait(TIMEOUT)

    log = Log()
    tasks = [task("a"), task("b"), task("c"), task("d", "a")]
    result = run_tasks(tasks, fake(log, {"a": a, "b": b}), slots=2, cancel=cancel)
    assert dict(result.done) == built("a", "b")
    assert result.cancelled == ("c", "d")
    assert sorted(log.starts) == ["a", "b"]


def test_cancelled_before_the_run_starts_nothing() -> None:
    cancel = threading.Event()
    cancel.set()
    log = Log()
    result = run_tasks(DIAMOND, fake(log), slots=2, cancel=cancel)
    assert log.events == []
    assert result.cancelled == ("a", "b", "c", "d") and dict(result.done) == {}


def test_keyboard_interrupt_inline_sets_cancel_and_reraises() -> None:
    cancel = threading.Event()

    def interrupt() -> None:
        raise KeyboardInterrupt

    log = Log()
    with pytest.raises(KeyboardInterrupt):
        run_tasks([task("a"), task("b")], fake(log, {"a": interrupt}), slots=1, runner=InlineRunner(), cancel=cancel)
    assert cancel.is_set()
    assert log.starts == ["a"]


def test_keyboard_interrupt_from_a_worker_waits_for_the_running_sibling_before_reraising() -> None:
    interrupting = threading.Event()
    sibling_finished = threading.Event()

    def interrupt() -> None:
        interrupting.set()
        raise KeyboardInterrupt

    def sibling() -> None:
        assert interrupting.wait(TIMEOUT)
        sibling_finished.set()

    log = Log()
    with pytest.raises(KeyboardInterrupt):
        run_tasks([task("a"), task("b"), task("c")], fake(log, {"a": interrupt, "b": sibling}), slots=2)
    assert sibling_finished.is_set()
    assert log.running == set()
    assert "c" not in log.starts


def test_on_done_grows_the_graph_and_a_replaced_task_waits_for_the_new_needs() -> None:
    calls: list[str] = []

    def discovered(t: Task, result: str) -> Iterable[Task]:
        calls.append(t.id)
        if t.id == "discover":
            return [task("dep1"), task("dep2", "dep1"), task("build", "discover", "dep1", "dep2")]
        return []

    log = Log()
    tasks = [task("discover"), task("build", "discover")]
    result = run_tasks(tasks, fake(log), slots=1, on_done=discovered, runner=InlineRunner())
    assert log.starts == ["discover", "dep1", "dep2", "build"]
    assert calls == ["discover", "dep1", "dep2", "build"]
    assert result.ok and dict(result.done) == built("discover", "dep1", "dep2", "build")


def test_on_done_growth_in_threads_keeps_the_replaced_task_behind_the_new_ones() -> None:
    def discovered(t: Task, result: str) -> Iterable[Task]:
        if t.id == "discover":
            return [task("dep1"), task("dep2"), task("build", "dep1", "dep2", slots=2)]
        return []

    log = Log()
    tasks = [task("discover"), task("build", "discover"), task("other")]
    result = run_tasks(tasks, fake(log), slots=4, on_done=discovered)
    assert result.ok and set(result.done) == {"discover", "dep1", "dep2", "build", "other"}
    assert log.index("end", "dep1") < log.index("start", "build")
    assert log.index("end", "dep2") < log.index("start", "build")


def test_on_done_replacing_a_started_task_raises_after_the_running_ones_finish() -> None:
    release_c = threading.Event()
    c_finished = threading.Event()

    def c() -> None:
        assert release_c.wait(TIMEOUT)
        c_finished.set()

    def bad_growth(t: Task, result: str) -> Iterable[Task]:
        if release_c.is_set():
            return []
        release_c.set()
        return [task("c", "a")]  # c is running: a programming error

    log = Log()
    with pytest.raises(ValueError, match="'c'"):
        run_tasks([task("a"), task("c"), task("z")], fake(log, {"c": c}), slots=2, on_done=bad_growth)
    assert c_finished.is_set()
    assert log.running == set()
    assert "z" not in log.starts


def test_on_done_returning_a_finished_task_raises() -> None:
    with pytest.raises(ValueError, match="'a'"):
        run_tasks([task("a"), task("b", "a")], fake(Log()), slots=1, runner=InlineRunner(),
                  on_done=lambda t, r: [task("a")] if t.id == "b" else [])


def test_a_cycle_is_stuck_and_find_cycle_names_it() -> None:
    log = Log()
    tasks = [task("a", "b"), task("b", "a"), task("c", "a"), task("d")]
    result = run_tasks(tasks, fake(log), slots=2)
    assert dict(result.done) == built("d")
    assert dict(result.stuck) == {"a": frozenset({"b"}), "b": frozenset({"a"}), "c": frozenset({"a"})}
    assert not result.ok and result.cancelled == () and dict(result.skipped) == {}
    assert find_cycle({t.id: t.needs for t in tasks}) == ["a", "b", "a"]


def test_an_unknown_need_is_stuck() -> None:
    result = run_tasks([task("x", "ghost", "y"), task("y")], fake(Log()), slots=1, runner=InlineRunner())
    assert dict(result.done) == built("y")
    assert dict(result.stuck) == {"x": frozenset({"ghost"})}
    assert not result.ok


@pytest.mark.parametrize(
    ("needs", "cycle"),
    [
        ({"a": ["b"], "b": ["c"], "c": []}, None),
        ({"a": ["ghost"]}, None),
        ({"a": ["a"]}, ["a", "a"]),
        ({"z": [], "c": ["a"], "a": ["b"], "b": ["c"]}, ["a", "b", "c", "a"]),
        ({"start": ["m"], "m": ["n"], "n": ["m"]}, ["m", "n", "m"]),
        ({"a": ["y", "b"], "b": ["x"], "x": ["b"], "y": ["a"]}, ["b", "x", "b"]),  # the path is cut to the loop
    ],
)
def test_find_cycle(needs: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(needs) == cycle


def test_find_cycle_walks_a_long_chain_without_recursing() -> None:
    chain = {f"n{i:04}": [f"n{i + 1:04}"] for i in range(3000)}
    assert find_cycle(chain) is None
    cycle = find_cycle(chain | {"n3000": ["n0000"]})
    assert cycle is not None and len(cycle) == 3002 and cycle[0] == cycle[-1] == "n0000"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot occupy -1 slots"):
        Task("a", slots=-1)
    with pytest.raises(ValueError, match="'a'"):
        run_tasks([task("a"), task("a")], fake(Log()), slots=1, runner=InlineRunner())
    with pytest.raises(ValueError, match="slots"):
        run_tasks([task("a")], fake(Log()), slots=0, runner=InlineRunner())


def test_task_needs_accepts_any_iterable_and_stays_hashable() -> None:
    t = Task("a", needs={"b", "c"})  # type: ignore[arg-type]
    assert t.needs == frozenset({"b", "c"}) and hash(t) == hash(Task("a", frozenset({"b", "c"})))


def test_failures_are_recorded_in_the_order_they_happened_not_by_id() -> None:
    tasks = [task("a", "c"), task("b"), task("c")]
    result = run_tasks(tasks, fake(Log(), {"a": fail("a broke"), "b": fail("b broke")}), slots=1,
                       keep_going=True, runner=InlineRunner())
    assert [f.id for f in result.failed] == ["b", "a"]
    assert result.failed[1] == TaskFailure("a", result.failed[1].error)
    assert dict(result.done) == built("c")


def test_a_runner_passed_in_is_left_running_for_its_owner() -> None:
    runner = ThreadRunner(2)
    try:
        first = run_tasks([task("a")], fake(Log()), slots=2, runner=runner)
        second = run_tasks([task("b")], fake(Log()), slots=2, runner=runner)
    finally:
        runner.shutdown()
    assert dict(first.done) == built("a") and dict(second.done) == built("b")


def test_the_started_set_it_is_given_says_what_on_done_may_still_replace() -> None:
    started: set[str] = set()
    seen: list[set[str]] = []

    def grow(task: Task, result: object) -> list[Task]:
        seen.append(set(started))
        return []

    result = run_tasks([task("a"), task("b", "a")], fake(Log()), slots=1, on_done=grow, runner=InlineRunner(), started=started)
    assert result.ok and seen == [{"a"}, {"a", "b"}] and started == {"a", "b"}
