"""The local backend of the coordinator: ``jobs`` grading processes on this machine.

The workers are forked from the coordinator once :class:`~mixlearn.course.worker.Warm` has loaded
what each would load first (the grading stack, the configuration, the sandbox check), so starting
one costs milliseconds, not seconds; a kernel is started with every other descriptor closed, so it
inherits nothing of the coordinator's.  While another thread runs, a worker is spawned afresh.

Each :class:`~mixlearn.course.worker.WorkerProcess` grades one submission at a time and answers
with a typed :class:`~mixlearn.course.records.Outcome` over its pipe.  This process is a *child
subreaper*, so whatever a kernel leaves behind is re-parented here and killed; a worker that dies
is replaced (its submission fails with that reason), and a worker stuck far beyond the wall-time
limit is killed and replaced.  The coordinator (:mod:`mixlearn.course.coordinator`) does the rest.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from multiprocessing.connection import wait as mp_wait

from . import limits as _limits
from .common import CourseError
from .records import Outcome, Task
from .worker import Warm
from .worker import WorkerProcess as _Worker

WORKER_GRACE = 60.0   # seconds beyond the wall-time limit before a stuck worker is replaced


def _can_fork() -> bool:
    """Whether this process may fork its workers: the platform has ``fork`` and this process runs a
    single thread (a lock held by another thread at the fork would stay held in the child)."""
    return "fork" in mp.get_all_start_methods() and threading.active_count() == 1


class LocalPool:
    """:class:`~mixlearn.course.coordinator.Backend` of ``jobs`` local grading processes."""

    label = ""

    def __init__(self, jobs: int):
        self.jobs = max(1, int(jobs))
        self.workers: list[_Worker] = []
        self.settings = None
        self.warm: Warm | None = None

    def start(self, run) -> None:
        self.settings = run.settings
        self.wall = run.settings.limits.wall or 0
        _limits.set_child_subreaper()
        n = max(1, min(self.jobs, run.summary.total - len(run.summary.skipped)))
        run.summary.workers = n
        if _can_fork():
            # the grading stack, the configuration and the sandbox check are loaded once, here, and the
            # workers forked from this process start with them (about 2 CPU-seconds each otherwise)
            from .sandbox import SandboxUnavailable

            try:
                self.warm = Warm(self.settings, run.assignment)
            except SandboxUnavailable as exc:
                raise CourseError(str(exc)) from None
        for _ in range(n):
            self._add_worker()

    def _add_worker(self) -> None:
        if self.warm is not None and _can_fork():
            self.workers.append(_Worker(self.settings, mp.get_context("fork"), self.warm))
        else:   # a thread is running (a progress bar's monitor): forking is not safe, start afresh
            self.workers.append(_Worker(self.settings, mp.get_context("spawn")))

    def free(self) -> int:
        return sum(1 for w in self.workers if w.ready and w.task is None)

    def submit(self, task: Task) -> None:
        w = next(w for w in self.workers if w.ready and w.task is None)
        w.task = task
        w.started = time.monotonic()
        w.conn.send(task)

    @property
    def busy(self) -> bool:
        return any(w.task is not None for w in self.workers)

    def finished(self, timeout: float) -> list[Outcome]:
        out = []
        conns = {w.conn: w for w in self.workers}
        for conn in mp_wait(list(conns), timeout=timeout):
            w = conns[conn]
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                msg = None
            if msg is None:  # the worker died
                if not w.ready:
                    raise CourseError("a grading worker could not start (see the error above)")
                if w.task is not None:
                    out.append(Outcome(student=w.task.student, ok=False, reason="the grading worker died unexpectedly"))
                self._replace(w)
                continue
            if isinstance(msg, dict) and msg.get("ready"):
                w.ready = True
                continue
            w.task = None
            out.append(msg)
        # backstop: a worker stuck far beyond the wall-time limit is replaced
        for w in list(self.workers):
            if w.task is not None and self.wall and time.monotonic() - w.started > self.wall + WORKER_GRACE:
                out.append(Outcome(student=w.task.student, ok=False,
                                   reason=f"wall time limit exceeded ({self.wall:g} s); the worker had to be killed"))
                self._replace(w)
        return out

    def disconnect(self) -> None:
        """Nothing to let go of: the worker processes end in :meth:`close`."""

    def close(self, interrupted: bool) -> None:
        for w in self.workers:
            try:
                if w.proc.is_alive() and w.task is None and not interrupted:
                    w.conn.send(None)  # finish politely (all at once, then wait)
            except Exception:
                pass
        deadline = time.monotonic() + 5
        for w in self.workers:
            if not interrupted:
                w.proc.join(timeout=max(0.0, deadline - time.monotonic()))
            w.kill()
        _limits.kill_tree(os.getpid())

    def _replace(self, w) -> None:
        self.workers.remove(w)
        w.kill()
        # kernels of a killed worker die with it (parent-death signal); anything they left
        # behind was re-parented to us (child subreaper) and is killed here
        live = {x.proc.pid for x in self.workers}
        for pid in _limits.descendants(os.getpid()):
            if pid not in live and _limits.parent_of(pid) == os.getpid():
                _limits.kill_tree(pid)
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self._add_worker()
