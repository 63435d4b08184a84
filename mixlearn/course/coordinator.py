"""The coordinator of ``autograde``: decides what to grade, hands tasks to a backend, stores outcomes.

One submission's path (see ``ARCHITECTURE.md``): :func:`autograde` checks the options, the
assignment's trusted checks (:func:`~mixlearn.course.authoring.preflight`), the sandbox and the
gradebook; picks the submissions to grade (ungraded, or whose files changed since they were
graded, see :func:`fingerprint`); draws each student's hidden-check seed; makes one
:class:`~mixlearn.course.records.Task` per submission and gives the tasks to a :class:`Backend`:

* :class:`~mixlearn.course.pool.LocalPool`: ``jobs`` grading processes on this machine;
* :class:`~mixlearn.course.cluster.DaskBackend`: the workers of a Dask cluster.

Each backend answers with one :class:`~mixlearn.course.records.Outcome` per task (failures too),
and :meth:`Run.store` writes it: the coordinator owns the course's gradebook and is the only
process that writes it (one transaction per submission, as soon as it is graded), so an
interruption keeps all finished work and SQLite never reports "database is locked".
SIGINT/SIGTERM only set a flag: a commit in progress always completes, the backend then stops its
workers and kernels, unfinished submissions leave no trace, and a re-run grades exactly what is
missing.  Signals, the progress bar and the failure messages live here once, for both backends.
"""

from __future__ import annotations

import contextlib
import datetime
import fnmatch
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Protocol

from .authoring import preflight
from .common import (
    CourseError,
    atomic_write_json,
    load_nbgrader_config,
    printable,
    read_failures,
    state_path,
    submitted_students,
    write_failures,
)
from .gradebook import check_gradebook, commit_results, ensure_assignment_in_gradebook, is_graded, make_seed
from .options import AutogradeOptions
from .records import Outcome, Task, WorkerSettings
from .trusted import seeds_for


@dataclass
class RunSummary:
    total: int = 0
    graded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    changed: list = field(default_factory=list)   # graded before, regraded because their files changed
    failures: dict = field(default_factory=dict)
    interrupted: str | None = None
    seconds: float = 0.0
    sandbox_seconds: float = 0.0   # summed over graded submissions
    check_seconds: float = 0.0
    store_seconds: float = 0.0     # the coordinator's own time storing outcomes (gradebook, autograded/)
    ship_seconds: float = 0.0      # the coordinator's own time packing and sending tasks (cluster only)
    shipped: int = 0               # tasks sent to the cluster
    workers: int = 0               # grading workers (local processes or Dask worker threads)

    @property
    def exit_code(self) -> int:
        if self.interrupted == "SIGINT":
            return 130
        if self.interrupted:
            return 143
        return 1 if self.failures else 0


class Backend(Protocol):
    """Where tasks are graded.  The coordinator calls, in this order: :meth:`start` once, then
    :meth:`free`/:meth:`submit` and :meth:`finished` until every task has an outcome (or a signal
    arrived), then :meth:`close` once, always, and at the very end :meth:`disconnect` (also when
    :meth:`start` was never reached)."""

    label: str       # shown in the progress bar, e.g. "" or " (cluster)"

    def start(self, run: Run) -> None: ...

    def free(self) -> int: ...           # tasks it takes now

    def submit(self, task: Task) -> None: ...

    @property
    def busy(self) -> bool: ...          # tasks submitted without an outcome yet

    def finished(self, timeout: float) -> list[Outcome]: ...   # outcomes that arrived (failures included)

    def close(self, interrupted: bool) -> None: ...

    def disconnect(self) -> None: ...     # let go of what the constructor took (a cluster client)


# ------------------------------------------------------------------ what changed since grading
def fingerprint(coursedir, assignment: str, student: str) -> str:
    """A hash of the submitted files (names and bytes, ``timestamp.txt`` included): a submission
    whose fingerprint differs from the one stored at grading is graded again by a plain
    ``autograde``.  (A changed due date or extension needs no regrade: the late penalties are
    brought up to date by :func:`~mixlearn.course.grades.refresh_late_penalties`.)"""
    h = hashlib.sha256()
    folder = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    for base, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(base, name)
            if os.path.islink(path):
                continue
            h.update(os.path.relpath(path, folder).encode() + b"\0")
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            h.update(b"\0")
    return h.hexdigest()


def _fingerprint_file(coursedir, assignment: str) -> str:
    return state_path(coursedir, assignment, "graded.json")


def read_fingerprints(coursedir, assignment: str) -> dict:
    path = _fingerprint_file(coursedir, assignment)
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


# ------------------------------------------------------------------ one run
@dataclass
class Run:
    """One autograde run's state on the coordinator's side."""

    assignment: str
    coursedir: object
    gradebook: object
    settings: WorkerSettings
    summary: RunSummary
    failures: dict
    fingerprints: dict
    expected: dict = field(default_factory=dict)   # student -> fingerprint of what was sent
    bar: object = None
    stop: str | None = None

    def store(self, outcome: Outcome) -> None:
        """Store one outcome (success or failure) and remove its private folder."""
        try:
            if outcome.ok:
                self._record_success(outcome)
            else:
                self.record_failure(outcome.student, outcome.reason or "grading failed", outcome.log)
        finally:
            if outcome.work:
                shutil.rmtree(outcome.work, ignore_errors=True)

    def record_failure(self, student: str, reason: str, log_text: str = "") -> None:
        reason = printable(reason)   # student code may have written it: no escape codes for the terminal
        self.summary.failures[student] = reason
        self.failures[student] = {"reason": reason,
                                  "time": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        write_failures(self.coursedir, self.assignment, self.failures)
        if log_text:
            path = state_path(self.coursedir, self.assignment, "logs", f"{student}.log")
            with open(path, "w") as fh:
                fh.write(log_text)
        self.tick()

    def _record_success(self, outcome: Outcome) -> None:
        t0 = time.perf_counter()
        _install_into_place(self.coursedir, self.gradebook, self.assignment, outcome)
        if outcome.student in self.expected:
            self.fingerprints[outcome.student] = self.expected[outcome.student]
            atomic_write_json(_fingerprint_file(self.coursedir, self.assignment), self.fingerprints)
        self.summary.store_seconds += time.perf_counter() - t0
        self.summary.graded.append(outcome.student)
        self.summary.sandbox_seconds += outcome.sandbox_seconds
        self.summary.check_seconds += outcome.check_seconds
        if self.failures.pop(outcome.student, None) is not None:
            write_failures(self.coursedir, self.assignment, self.failures)
        self.tick()

    def tick(self) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(failed=len(self.summary.failures))


def select_students(coursedir, assignment: str, pattern: str | None) -> list[str]:
    students = submitted_students(coursedir, assignment)
    if pattern:
        students = [s for s in students if fnmatch.fnmatchcase(s, pattern)]
    return students


def _install_into_place(coursedir, gb, assignment, outcome: Outcome) -> None:
    from nbgrader.utils import rmtree

    dest = coursedir.format_path(coursedir.autograded_directory, outcome.student, assignment)
    # order matters for crash safety: the old folder goes first, the folder comes back
    # last, so a crash at any point leaves the submission "not graded" for the re-run
    if os.path.lexists(dest):
        rmtree(dest)
    commit_results(gb, assignment, outcome.student, outcome.grades)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    os.rename(outcome.autograded, dest)


@contextlib.contextmanager
def _signals(run: Run):
    """SIGINT/SIGTERM only set ``run.stop``; the loop finishes what it is storing and stops."""
    def on_signal(signum, frame):
        run.stop = signal.Signals(signum).name

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextlib.contextmanager
def _progress(run: Run, total: int, label: str, progress: bool, stream):
    from tqdm import tqdm

    run.bar = tqdm(total=total, file=stream, unit="nb", disable=not progress,
                   desc=f"autograde {run.assignment}{label}", dynamic_ncols=True)
    run.bar.set_postfix(failed=0)
    try:
        yield
    finally:
        run.bar.close()


def drive(run: Run, backend: Backend, tasks: list[Task], progress: bool, stream) -> None:
    """Grade *tasks* on *backend*, storing each outcome as it arrives."""
    pending = list(reversed(tasks))

    def give_out():
        while pending and run.stop is None and backend.free() > 0:
            backend.submit(pending.pop())

    with _signals(run):
        try:
            backend.start(run)   # before the progress bar's thread: a local pool may fork its workers
            with _progress(run, len(tasks), backend.label, progress, stream):
                while (pending or backend.busy) and run.stop is None:
                    give_out()
                    outcomes = backend.finished(timeout=0.2)
                    give_out()   # the next task before storing: no worker waits for the gradebook
                    for outcome in outcomes:
                        run.store(outcome)
        finally:
            backend.close(interrupted=run.stop is not None)
    run.summary.interrupted = run.stop


def autograde(root: str, assignment: str, options: AutogradeOptions | None = None, stream=None) -> RunSummary:
    """Autograde every submission of *assignment* that is not graded yet or changed since (all of
    them with ``options.force``), on ``options.jobs`` local processes or the Dask cluster at
    ``options.scheduler``."""
    from nbgrader.api import Gradebook

    opts = options or AutogradeOptions()
    opts.validate()
    stream = stream or sys.stderr
    t_start = time.monotonic()
    root = os.path.abspath(root)

    def say(msg):
        print(msg, file=stream, flush=True)

    config, coursedir = load_nbgrader_config(root, list(opts.overrides), opts.db_url)
    # the assignment's trusted checks first: missing or unusable ones would fail every submission
    preflight(config, coursedir, assignment, say)
    if opts.sandbox and not opts.scheduler:  # on a cluster, every worker checks its own sandbox
        from .sandbox import SandboxUnavailable
        from .worker import check_sandbox

        try:   # the sandbox exactly as the workers' kernels will have it, before anything else
            check_sandbox(WorkerSettings(root=root, overrides=tuple(opts.overrides), seed_db="", work_root="",
                                         limits=opts.limits, sandbox=True), assignment, config, coursedir)
        except SandboxUnavailable as exc:
            raise CourseError(str(exc)) from None
    elif not opts.sandbox:
        say("WARNING: --no-sandbox: student code runs unconfined, as your user. It can read the hidden "
            "tests and solutions, the gradebook and other students' work, use the network and signal "
            "the grader. The trusted checks still judge outside the student's process, but the "
            "library's EM is not switched off. Use this only on a machine you would give the students.")
    check_gradebook(coursedir)
    students = select_students(coursedir, assignment, opts.student)
    if not students:
        where = os.path.relpath(coursedir.format_path(coursedir.submitted_directory, "*", assignment), root)
        if opts.student:
            raise CourseError(f"--student {opts.student!r} matches no submission of {assignment!r} under {where}")
        raise CourseError(f"no submissions found for {assignment!r} under {where}; collect them first "
                          f"(mixlearn-course collect {assignment} DOWNLOAD)")
    backend: Backend
    if opts.scheduler:
        from .cluster import DaskBackend

        backend = DaskBackend(coursedir, assignment, opts.scheduler, sandbox=opts.sandbox)
    else:
        from .pool import LocalPool

        backend = LocalPool(opts.jobs)
    summary = RunSummary(total=len(students))
    gb = None
    run_dir = None
    try:
        ensure_assignment_in_gradebook(config, coursedir, assignment, say)
        failures = read_failures(coursedir, assignment)
        fingerprints = read_fingerprints(coursedir, assignment)
        gb = Gradebook(coursedir.db_url, coursedir.course_id)
        if gb.find_assignment(assignment).duedate is None and any(
                os.path.isfile(os.path.join(coursedir.format_path(coursedir.submitted_directory, s, assignment),
                                            "timestamp.txt")) for s in students):
            say(f"WARNING: the submissions have times but {assignment!r} has no due date, so none counts as late; "
                f"set one with `nbgrader db assignment add {assignment} --duedate='2026-12-01 23:59:00 UTC'` "
                "(the late penalties follow without a regrade)")
        todo, expected, adopted = [], {}, False
        for s in students:
            now = fingerprint(coursedir, assignment, s)
            if opts.force:
                todo.append(s)
            elif s in fingerprints and fingerprints[s] != now:
                todo.append(s)
                summary.changed.append(s)
            elif not is_graded(coursedir, gb, assignment, s):
                todo.append(s)
            else:
                summary.skipped.append(s)
                if s not in fingerprints:   # graded before fingerprints were kept: this is what was graded
                    fingerprints[s] = now
                    adopted = True
            expected[s] = now
        if adopted:
            atomic_write_json(_fingerprint_file(coursedir, assignment), fingerprints)
        if summary.changed:
            say(f"{len(summary.changed)} submission(s) changed since they were graded: "
                f"regrading {', '.join(summary.changed[:10])}{' ...' if len(summary.changed) > 10 else ''}")
        if summary.skipped:
            say(f"{len(summary.skipped)} submission(s) already autograded and unchanged "
                f"(use --force to regrade them)")
        if not todo:
            summary.seconds = time.monotonic() - t_start
            return summary
        seeds = seeds_for(coursedir.root, assignment, todo)
        tasks = []
        for s in todo:
            ext = None
            try:
                ext = gb.find_submission(assignment, s).extension
            except Exception:
                pass
            tasks.append(Task(student=s, assignment=assignment, seed=seeds[s], extension=ext))

        run_dir = tempfile.mkdtemp(dir=os.path.dirname(state_path(coursedir, "x")), prefix="run-")
        seed_db = os.path.join(run_dir, "seed.db")
        make_seed(coursedir.db_url, seed_db)
        settings = WorkerSettings(root=root, overrides=tuple(opts.overrides), seed_db=seed_db,
                                  work_root=run_dir, limits=opts.limits, sandbox=opts.sandbox)
        run = Run(assignment=assignment, coursedir=coursedir, gradebook=gb, settings=settings, summary=summary,
                  failures=failures, fingerprints=fingerprints, expected=expected)
        drive(run, backend, tasks, opts.progress, stream)
    finally:
        if gb is not None:
            gb.close()
        backend.disconnect()
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
    summary.seconds = time.monotonic() - t_start
    return summary


def print_summary(summary: RunSummary, assignment: str, stream=None) -> None:
    stream = stream or sys.stderr
    p = lambda msg="": print(msg, file=stream)  # noqa: E731
    done = len(summary.graded) + len(summary.failures)
    rate = done / summary.seconds * 60 if summary.seconds else 0
    p(f"{assignment}: {len(summary.graded)} graded, {len(summary.failures)} failed, "
      f"{len(summary.skipped)} already graded, in {summary.seconds:.1f} s "
      f"({rate:.1f} submissions/min)")
    if summary.graded:
        n = len(summary.graded)
        p(f"per submission: sandbox {summary.sandbox_seconds / n * 1000:.0f} ms, "
          f"trusted checks {summary.check_seconds / n * 1000:.0f} ms")
        ship = summary.ship_seconds / summary.shipped * 1000 if summary.shipped else 0.0
        p(f"coordinator per submission: shipping {ship:.1f} ms, storing {summary.store_seconds / n * 1000:.1f} ms "
          f"({summary.workers} worker(s))")
    if summary.failures:
        p("Failed submissions (not written to the gradebook):")
        for s in sorted(summary.failures):
            p(f"  {s}: {summary.failures[s]}")
    if summary.interrupted:
        left = summary.total - len(summary.graded) - len(summary.failures) - len(summary.skipped)
        p(f"Interrupted by {summary.interrupted}: {left} submission(s) left; "
          f"run the same command again to grade them.")
