"""Run a DAG of tasks in N slots, starting each the moment its needs are done: no rounds, no waves.

It knows nothing about packaging: a task is an id, the ids it needs and the slots it occupies. All
scheduling state lives in the calling thread; workers see only ``work(task)`` and answer through a Future.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Task:
    """One unit of work. Frozen, so replacing it through ``on_done`` is the only way its needs change."""

    id: str
    needs: frozenset[str] = frozenset()  # ids that must finish successfully before this one starts
    slots: int = 1  # build slots it occupies (a task wanting more than the total runs alone; 0: I/O work beside the builds)

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", frozenset(self.needs))  # a set or list would make Task unhashable
        if self.slots < 0:
            raise ValueError(f"task {self.id!r} cannot occupy {self.slots} slots")


class JobRunner(Protocol):
    """Where work runs: a thread pool in production, inline in tests."""

    def submit(self, fn: Callable[[], T]) -> Future[T]: ...

    def shutdown(self) -> None: ...


class ThreadRunner:
    """Threads are enough: a build spends its time in subprocesses, not in Python."""

    def __init__(self, max_workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="scheduler")

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        return self._pool.submit(fn)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class InlineRunner:
    """Runs each job inside ``submit``, so a test sees one thread and one order."""

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn())
        except Exception as error:  # KeyboardInterrupt and friends reach the scheduler, as Ctrl-C would
            future.set_exception(error)
        return future

    def shutdown(self) -> None:
        pass


@dataclass(frozen=True)
class TaskFailure:
    id: str
    error: BaseException


@dataclass(frozen=True)
class SchedulerResult(Generic[R]):
    """What happened to every task; the caller turns it into messages, the scheduler only reports."""

    done: Mapping[str, R]  # id -> what work returned, for every task that succeeded
    failed: tuple[TaskFailure, ...]  # in the order they failed
    skipped: Mapping[str, str]  # id -> the root failure it (transitively) needed
    cancelled: tuple[str, ...]  # never started because of fail-fast or cancellation, sorted
    stuck: Mapping[str, frozenset[str]]  # never startable: id -> its needs that never finished

    @property
    def ok(self) -> bool:
        return not (self.failed or self.skipped or self.cancelled or self.stuck)


def find_cycle(needs: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle as a path that starts and ends on the same id, so a caller can name it; iterative, so a
    long chain cannot hit the recursion limit, and sorted, so the same graph always names the same cycle."""
    edges = {node: sorted(targets) for node, targets in needs.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: fully explored
    for start in sorted(edges):
        if start in state:
            continue
        path, nexts = [start], [iter(edges[start])]
        state[start] = 1
        while path:
            nxt = next(nexts[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                nexts.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                nexts.append(iter(edges.get(nxt, ())))
    return None


class _Run(Generic[R]):
    """One run's state. Only the calling thread touches it, so nothing here needs a lock."""

    def __init__(self, tasks: Iterable[Task], work: Callable[[Task], R], slots: int, keep_going: bool,
                 on_done: Callable[[Task, R], Iterable[Task]] | None, cancel: threading.Event, io_slots: int = 4,
                 started: set[str] | None = None) -> None:
        self.pending: dict[str, Task] = {}
        for task in tasks:
            if task.id in self.pending:
                raise ValueError(f"two tasks have the id {task.id!r}")
            self.pending[task.id] = task
        self.work, self.slots, self.keep_going, self.on_done, self.cancel = work, slots, keep_going, on_done, cancel
        self.free = slots
        self.io_free = io_slots  # tasks of no build slot (I/O) have a budget of their own, so they never crowd out builds
        self.halted = False  # fail-fast or cancellation: start nothing new
        self.started: set[str] = started if started is not None else set()
        self.running: dict[Future[R], Task] = {}
        self.done: dict[str, R] = {}
        self.failed: list[TaskFailure] = []
        self.cancelled: list[str] = []

    def width(self, task: Task) -> int:
        return min(task.slots, self.slots)  # a task wider than the run takes all of it, so it runs alone

    def loop(self, runner: JobRunner) -> None:
        self.start_ready(runner)
        while self.running:
            finished, _ = wait(self.running, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: self.running[f].id):
                self.settle(future)
            self.start_ready(runner)

    def start_ready(self, runner: JobRunner) -> None:
        """Sorted, so the same graph starts in the same order; a ready task that does not fit yet lets a
        narrower one behind it start (the graph is finite, so the wide one still runs)."""
        for task_id in sorted(self.pending):
            if self.halted or self.cancel.is_set():
                self.halted = True
                return
            task = self.pending[task_id]
            fits = self.io_free > 0 if task.slots == 0 else self.width(task) <= self.free
            if fits and all(need in self.done for need in task.needs):
                del self.pending[task_id]
                self.started.add(task_id)
                self.free -= self.width(task)
                self.io_free -= task.slots == 0
                self.running[runner.submit(functools.partial(self.work, task))] = task

    def settle(self, future: Future[R]) -> None:
        task = self.running.pop(future)
        self.free += self.width(task)
        self.io_free += task.slots == 0
        if future.cancelled():  # only if the runner's owner cancelled it behind our back
            self.cancelled.append(task.id)
        elif (error := future.exception()) is None:
            result = future.result()
            self.done[task.id] = result
            for grown in self.on_done(task, result) if self.on_done is not None else ():
                if grown.id in self.started:
                    raise ValueError(f"on_done returned task {grown.id!r}, which has already started; "
                                     "only tasks that have not started can be replaced")
                self.pending[grown.id] = grown
        elif isinstance(error, Exception):
            self.failed.append(TaskFailure(task.id, error))
            self.halted = self.halted or not self.keep_going
        else:
            raise error  # SystemExit or KeyboardInterrupt in a worker stops the run, as Ctrl-C does

    def drain(self) -> None:
        """Leave no thread running behind an exception. Submitted work is not cancelled: once submitted a
        task counts as started, so which bucket it lands in never depends on how fast a thread picked it up."""
        wait(list(self.running))

    def result(self) -> SchedulerResult[R]:
        if self.halted:
            self.cancelled.extend(self.pending)
            self.pending.clear()
        skipped = _skips(self.pending, [failure.id for failure in self.failed])
        stuck = {task_id: frozenset(need for need in task.needs if need not in self.done)
                 for task_id, task in sorted(self.pending.items()) if task_id not in skipped}
        return SchedulerResult(MappingProxyType(dict(self.done)), tuple(self.failed), MappingProxyType(skipped),
                               tuple(sorted(self.cancelled)), MappingProxyType(stuck))


def _skips(pending: Mapping[str, Task], failed: Iterable[str]) -> dict[str, str]:
    """Each not-started task that (transitively) needs a failure -> that root failure; repeated to a
    fixpoint in sorted order, so a task needing two failures always names the same one."""
    roots = {failed_id: failed_id for failed_id in failed}
    skipped: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for task_id in sorted(pending.keys() - roots.keys()):
            root = next((roots[need] for need in sorted(pending[task_id].needs) if need in roots), None)
            if root is not None:
                roots[task_id] = skipped[task_id] = root
                changed = True
    return skipped


def run_tasks(
    tasks: Iterable[Task],
    work: Callable[[Task], R],
    *,
    slots: int,
    keep_going: bool = False,
    on_done: Callable[[Task, R], Iterable[Task]] | None = None,
    runner: JobRunner | None = None,
    cancel: threading.Event | None = None,
    io_slots: int = 4,
    started: set[str] | None = None,
) -> SchedulerResult[R]:
    """Run ``work`` on every task, each as soon as its needs are done and it fits in ``slots``
    (a task of no slots, I/O work, fits in ``io_slots`` instead).

    ``on_done`` runs in this thread after each success and may add tasks or replace ones not yet started.
    A runner passed in belongs to the caller and is not shut down; the default one is. ``started``, when
    given, is kept up to date (in this thread) with the ids of the tasks that have started, for ``on_done``
    to tell which tasks it may still replace.
    """
    if slots < 1:
        raise ValueError(f"slots must be at least 1, not {slots}")
    stop = cancel if cancel is not None else threading.Event()
    run = _Run(tasks, work, slots, keep_going, on_done, stop, io_slots, started)
    pool = runner if runner is not None else ThreadRunner(slots + io_slots)
    try:
        run.loop(pool)
    except KeyboardInterrupt:
        stop.set()
        run.drain()
        raise
    except BaseException:
        run.drain()
        raise
    finally:
        if runner is None:
            pool.shutdown()
    return run.result()
