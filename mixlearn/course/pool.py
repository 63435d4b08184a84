"""The coordinator: hands tasks to grading workers and stores their outcomes.

* The coordinator owns the course's real ``gradebook.db`` and is the only process that writes
  it (one transaction per submission, as soon as it is graded), so an interruption keeps all
  finished work and SQLite never reports "database is locked".
* ``N`` worker processes (:mod:`mixlearn.course.worker`) each grade one submission at a time
  and answer with a typed :class:`~mixlearn.course.records.Outcome`.
* The hidden-check seed of every student is drawn (or read back, for a regrade) before any
  grading starts and travels in the task; the workers never touch the course's state.
* SIGINT/SIGTERM only set a flag: a commit in progress always completes, workers and their
  kernels are then killed and unfinished submissions leave no trace, so a re-run grades
  exactly what is missing.
* With ``scheduler=`` the same tasks run on a Dask cluster instead of local processes
  (:mod:`mixlearn.course.cluster`); everything else here stays the same.
* The assignment's trusted checks are checked before anything else
  (:func:`~mixlearn.course.authoring.preflight`): an assignment without them, or with checks that
  would fail every submission, is refused before any kernel starts.
* The gradebook may be any database nbgrader supports (``db_url=``, the ``--db`` option):
  it is checked before anything is graded (:func:`~mixlearn.course.gradebook.check_gradebook`).
"""

from __future__ import annotations

import datetime
import fnmatch
import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import wait as mp_wait

from . import limits as _limits
from .authoring import preflight
from .common import CourseError, load_nbgrader_config, printable, read_failures, state_path, submitted_students, write_failures
from .gradebook import check_gradebook, commit_results, ensure_assignment_in_gradebook, is_graded, make_seed
from .limits import Limits
from .records import Outcome, Task, WorkerSettings
from .trusted import seeds_for
from .worker import WorkerProcess as _Worker

WORKER_GRACE = 60.0   # seconds beyond the wall-time limit before a stuck worker is replaced


@dataclass
class RunSummary:
    total: int = 0
    graded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
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


@dataclass
class _Run:
    """One autograde run's state on the coordinator's side."""

    assignment: str
    coursedir: object
    gradebook: object
    settings: WorkerSettings
    summary: RunSummary
    failures: dict
    say: object
    bar: object = None
    stop: str | None = None

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

    def record_success(self, outcome: Outcome) -> None:
        t0 = time.perf_counter()
        _install_into_place(self.coursedir, self.gradebook, self.assignment, outcome)
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


def autograde(root: str, assignment: str, jobs: int = 2, student: str | None = None,
              force: bool = False, limits: Limits | None = None, overrides=None,
              progress: bool = True, stream=None, sandbox: bool = True, db_url: str | None = None,
              scheduler: str | None = None) -> RunSummary:
    """Autograde every (missing) submission of *assignment* in *jobs* processes.

    *db_url* replaces the course's gradebook URL; *scheduler* (``tcp://HOST:PORT``) grades on that
    Dask cluster instead of *jobs* local processes.
    """
    from nbgrader.api import Gradebook

    stream = stream or sys.stderr
    limits = limits or Limits()
    t_start = time.monotonic()
    root = os.path.abspath(root)

    def say(msg):
        print(msg, file=stream, flush=True)

    config, coursedir = load_nbgrader_config(root, overrides, db_url)
    # the assignment's trusted checks first: missing or unusable ones would fail every submission
    preflight(config, coursedir, assignment, say)
    if sandbox and not scheduler:  # on a cluster, every worker checks its own sandbox
        from .sandbox import SandboxUnavailable, check_sandbox_works

        try:
            check_sandbox_works()
        except SandboxUnavailable as exc:
            raise CourseError(str(exc)) from None
    elif not sandbox:
        say("WARNING: --no-sandbox: student code runs unconfined, as your user. It can read the hidden "
            "tests and solutions, the gradebook and other students' work, use the network and signal "
            "the grader. The trusted checks still judge outside the student's process, but the "
            "library's EM is not switched off. Use this only on a machine you would give the students.")
    check_gradebook(coursedir)
    students = select_students(coursedir, assignment, student)
    if not students:
        raise CourseError(
            f"no submissions found for {assignment!r} under "
            f"{coursedir.format_path(coursedir.submitted_directory, '*', assignment)}")
    client = None
    if scheduler:
        from . import cluster

        cluster.check_course_layout(coursedir, assignment)
        client = cluster.connect(scheduler, sandbox=sandbox)
    summary = RunSummary(total=len(students))
    gb = None
    run_dir = None
    try:
        ensure_assignment_in_gradebook(config, coursedir, assignment, say)
        failures = read_failures(coursedir, assignment)
        gb = Gradebook(coursedir.db_url, coursedir.course_id)
        todo = []
        for s in students:
            if force or not is_graded(coursedir, gb, assignment, s):
                ext = None
                try:
                    ext = gb.find_submission(assignment, s).extension
                except Exception:
                    pass
                todo.append((s, ext))
            else:
                summary.skipped.append(s)
        if summary.skipped:
            say(f"{len(summary.skipped)} submission(s) already autograded "
                f"(use --force to regrade them)")
        if not todo:
            summary.seconds = time.monotonic() - t_start
            return summary
        seeds = seeds_for(coursedir.root, assignment, [s for s, _ in todo])
        tasks = [Task(student=s, assignment=assignment, seed=seeds[s], extension=ext) for s, ext in todo]

        run_dir = tempfile.mkdtemp(dir=os.path.dirname(state_path(coursedir, "x")), prefix="run-")
        seed_db = os.path.join(run_dir, "seed.db")
        make_seed(coursedir.db_url, seed_db)
        settings = WorkerSettings(root=root, overrides=tuple(overrides or ()), seed_db=seed_db,
                                  work_root=run_dir, limits=limits, sandbox=sandbox)
        run = _Run(assignment=assignment, coursedir=coursedir, gradebook=gb, settings=settings,
                   summary=summary, failures=failures, say=say)
        if client is not None:
            from . import cluster

            cluster.run_on_cluster(run, tasks, client, progress, stream)
        else:
            summary.workers = max(1, min(jobs, len(tasks)))
            _run_pool(run, tasks, jobs, progress, stream)
    finally:
        if gb is not None:
            gb.close()
        if client is not None:
            client.close()
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
    summary.seconds = time.monotonic() - t_start
    return summary


def _run_pool(run: _Run, tasks: list[Task], jobs: int, progress: bool, stream) -> None:
    def on_signal(signum, frame):
        run.stop = signal.Signals(signum).name

    old_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    _limits.set_child_subreaper()
    mpctx = mp.get_context("spawn")
    pending = list(reversed(tasks))
    workers: list[_Worker] = []
    try:
        from tqdm import tqdm

        run.bar = tqdm(total=len(tasks), file=stream, unit="nb", disable=not progress,
                       desc=f"autograde {run.assignment}", dynamic_ncols=True)
        run.bar.set_postfix(failed=0)
        for _ in range(max(1, min(jobs, len(tasks)))):
            workers.append(_Worker(run.settings, mpctx))
        while (pending or any(w.task for w in workers)) and run.stop is None:
            for w in workers:
                if w.ready and w.task is None and pending and run.stop is None:
                    w.task = pending.pop()
                    w.started = time.monotonic()
                    w.conn.send(w.task)
            conns = {w.conn: w for w in workers}
            for conn in mp_wait(list(conns), timeout=0.2):
                w = conns[conn]
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    msg = None
                if msg is None:  # the worker died
                    if not w.ready:
                        raise CourseError("a grading worker could not start (see the error above)")
                    if w.task is not None:
                        run.record_failure(w.task.student, "the grading worker died unexpectedly")
                    _replace_worker(workers, w, run.settings, mpctx)
                    continue
                if isinstance(msg, dict) and msg.get("ready"):
                    w.ready = True
                    continue
                w.task = None
                if msg.ok:
                    run.record_success(msg)
                else:
                    run.record_failure(msg.student, msg.reason, msg.log)
                if msg.work:
                    shutil.rmtree(msg.work, ignore_errors=True)
            # backstop: a worker stuck far beyond the wall-time limit is replaced
            wall = run.settings.limits.wall or 0
            for w in list(workers):
                if w.task is not None and wall and time.monotonic() - w.started > wall + WORKER_GRACE:
                    run.record_failure(w.task.student,
                                       f"wall time limit exceeded ({wall:g} s); the worker had to be killed")
                    _replace_worker(workers, w, run.settings, mpctx)
    finally:
        for w in workers:
            try:
                if w.proc.is_alive() and w.task is None and run.stop is None:
                    w.conn.send(None)  # finish politely (all at once, then wait)
            except Exception:
                pass
        deadline = time.monotonic() + 5
        for w in workers:
            if run.stop is None:
                w.proc.join(timeout=max(0.0, deadline - time.monotonic()))
            w.kill()
        _limits.kill_tree(os.getpid())
        if run.bar is not None:
            run.bar.close()
        for s, h in old_handlers.items():
            signal.signal(s, h)
    run.summary.interrupted = run.stop


def _replace_worker(workers, w, settings, mpctx):
    workers.remove(w)
    w.kill()
    # kernels of a killed worker die with it (parent-death signal); anything they left
    # behind was re-parented to us (child subreaper) and is killed here
    live = {x.proc.pid for x in workers}
    for pid in _limits.descendants(os.getpid()):
        if pid not in live and _limits.parent_of(pid) == os.getpid():
            _limits.kill_tree(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    workers.append(_Worker(settings, mpctx))


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
