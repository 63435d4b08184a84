"""Grading on a Dask cluster: ``mixlearn-course autograde A --scheduler tcp://HOST:PORT``.

The coordinator (this machine) keeps every role it has in local grading: it draws the
hidden-check seeds, owns the gradebook (the only writer, one transaction per submission) and
the ``autograded/`` folder.  Only the grading moves to the cluster, and the workers share no
file system with the coordinator, so every task carries what it needs as bytes:

* a :class:`Shipment` (the same for all tasks of a run): the course's ``nbgrader_config.py``
  and the assignment's source folder (with ``trusted_checks.py``) as a tar archive, the seed
  gradebook (a SQLite file with the assignment definitions and no student data, made by
  :func:`~mixlearn.course.gradebook.make_seed` from whatever database the course uses), the
  limits and the sandbox switch;
* the :class:`~mixlearn.course.records.Task` with the student's seed;
* the student's submitted folder as a tar archive.

On the Dask worker, :func:`grade_remote` unpacks the shipment once into a private course folder
under the worker's local directory and keeps one grading process
(:class:`~mixlearn.course.worker.WorkerProcess`, the same ``worker_main``/``grade_one`` as local
grading: sandboxed kernel, watchdog, trusted verdicts judged in that grading process) per Dask
worker thread.  It returns the :class:`~mixlearn.course.records.Outcome` with the autograded folder
as a tar archive in ``Outcome.archive``; the coordinator unpacks it and stores it as in local
grading.

A Dask worker that dies mid-task: the scheduler runs the task again on another worker, up to its
``distributed.scheduler.allowed-failures`` deaths, then the task fails with ``KilledWorker`` and
the submission is listed as a failure with that reason.  Each submission is one future whose
result is stored once, so nothing is recorded twice; nothing is written before a result
arrives, so an interrupted coordinator leaves only finished submissions and a re-run grades
the rest.
"""

from __future__ import annotations

import hashlib
import io
import os
import queue
import shutil
import tarfile
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass

from .common import CourseError
from .limits import Limits
from .records import Outcome, Task, WorkerSettings

CONNECT_TIMEOUT = 10.0     # seconds to reach the scheduler
WORKER_WAIT = 20.0         # seconds to wait for the first worker to join
PREFLIGHT_TIMEOUT = 300.0  # seconds for every worker to import the grader and test its sandbox
RETRIES = 1                # re-runs of a task that raised (not of grading failures: those are outcomes)
WORKER_GRACE = 60.0        # seconds beyond the wall-time limit before a stuck grading process is replaced
MAX_ARCHIVE = 512 * 1024 ** 2


@dataclass(frozen=True)
class Shipment:
    """What every grading task of one run needs besides the submission (plain data)."""

    key: str                  # hash of everything below: a worker unpacks a shipment once
    course: bytes             # tar: nbgrader_config.py + the assignment's source folder
    seed_db: bytes            # the seed gradebook (SQLite)
    overrides: tuple
    limits: Limits
    sandbox: bool


# ------------------------------------------------------------------ archives
def pack(paths: dict) -> bytes:
    """A gzip'd tar of ``{name inside the archive: path on disk}`` (folders recursively)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for name, path in sorted(paths.items()):
            tar.add(path, arcname=name, recursive=True)
    return buf.getvalue()


def unpack(data: bytes, dest: str) -> None:
    """Extract an archive made by :func:`pack` into *dest* (no links out, no absolute paths)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        total = 0
        for member in tar.getmembers():
            norm = os.path.normpath(member.name)
            if os.path.isabs(norm) or norm == ".." or norm.startswith(".." + os.sep):
                raise ValueError(f"unsafe path in archive: {member.name!r}")
            if not (member.isfile() or member.isdir()):
                raise ValueError(f"archive member {member.name!r} is neither a file nor a folder")
            total += member.size
            if total > MAX_ARCHIVE:
                raise ValueError("archive expands to more than 512 MiB")
        tar.extractall(dest, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(dest)


def _relative(coursedir, path: str, what: str) -> str:
    rel = os.path.relpath(path, coursedir.root)
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        raise CourseError(f"--scheduler needs the {what} inside the course folder {coursedir.root}, "
                          f"not {path}; set it relative to the course in nbgrader_config.py")
    return rel


def check_course_layout(coursedir, assignment: str) -> None:
    """The course's source and submitted folders must be inside the course folder."""
    _relative(coursedir, coursedir.format_path(coursedir.source_directory, ".", assignment), "source folder")
    _relative(coursedir, coursedir.format_path(coursedir.submitted_directory, "x", assignment), "submitted folder")


def make_shipment(coursedir, assignment: str, settings: WorkerSettings) -> Shipment:
    source = coursedir.format_path(coursedir.source_directory, ".", assignment)
    paths = {_relative(coursedir, source, "source folder"): source}
    config = os.path.join(coursedir.root, "nbgrader_config.py")
    if os.path.exists(config):
        paths["nbgrader_config.py"] = config
    course = pack(paths)
    with open(settings.seed_db, "rb") as fh:
        seed = fh.read()
    h = hashlib.sha256()
    for part in (course, seed, repr((settings.overrides, settings.limits, settings.sandbox)).encode()):
        h.update(hashlib.sha256(part).digest())
    return Shipment(key=h.hexdigest()[:24], course=course, seed_db=seed, overrides=tuple(settings.overrides),
                    limits=settings.limits, sandbox=settings.sandbox)


def pack_submission(coursedir, assignment: str, student: str) -> tuple[str, bytes]:
    """The submitted folder's path relative to the course, and the folder as an archive."""
    path = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    rel = _relative(coursedir, path, "submitted folder")
    return rel, pack({rel: path})


# ------------------------------------------------------------------ coordinator side
def connect(address: str, sandbox: bool = True, timeout: float = CONNECT_TIMEOUT):
    """A ``distributed.Client`` for *address*, after checking that its workers can grade."""
    try:
        from distributed import Client
    except ImportError:
        raise CourseError("--scheduler needs Dask: `pip install mixlearn[distributed]`") from None
    if "://" not in address:
        address = "tcp://" + address
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise CourseError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({exc}); "
                          "check --scheduler (start one with `dask scheduler`, workers with "
                          f"`dask worker {address}`)") from None
    try:
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT)
        except (OSError, TimeoutError):
            raise CourseError(f"the Dask scheduler at {address} has no workers (waited {WORKER_WAIT:g} s); "
                              f"start some with `dask worker {address} --nthreads 1`") from None
        # as ordinary tasks (in the workers' executor threads, not their event loops): importing
        # nbgrader takes a while on a busy machine
        workers = list(client.scheduler_info(n_workers=-1)["workers"])
        futs = {w: client.submit(_worker_preflight, sandbox, workers=[w], allow_other_workers=False, pure=False,
                                 key=f"mixlearn-preflight-{uuid.uuid4().hex[:8]}") for w in workers}
        problems = {}
        for w, fut in futs.items():
            try:
                r = fut.result(timeout=PREFLIGHT_TIMEOUT)
            except Exception as exc:
                r = f"the check did not finish ({type(exc).__name__}: {exc})"
            if r:
                problems[w] = r
        if problems:
            lines = "; ".join(f"{w}: {r}" for w, r in sorted(problems.items()))
            raise CourseError(f"{len(problems)} Dask worker(s) cannot grade: {lines}")
    except BaseException:
        client.close()
        raise
    return client


def _worker_preflight(sandbox: bool) -> str | None:
    """Runs on every worker before a run: can this worker grade?"""
    try:
        import nbgrader  # noqa: F401

        from . import worker  # noqa: F401
    except Exception as exc:
        return f"cannot import the grader ({exc}); install mixlearn[course,distributed] on the worker"
    if sandbox:
        from .sandbox import SandboxUnavailable, check_sandbox_works

        try:
            check_sandbox_works()
        except SandboxUnavailable as exc:
            return str(exc)
    return None


def _allowed_failures(client) -> int | None:
    try:
        return int(client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures))
    except Exception:
        return None


def _reason_for_error(exc, allowed) -> str:
    name = type(exc).__name__
    if name == "KilledWorker":
        n = f"{allowed + 1} times" if allowed is not None else "repeatedly"
        return (f"the Dask worker grading it died {n} (the scheduler's distributed.scheduler.allowed-failures "
                f"is {allowed}); see the worker logs")
    text = str(exc).strip().splitlines()
    return f"grading on the cluster failed: {name}: {text[-1] if text else ''}"[:400]


class DaskBackend:
    """:class:`~mixlearn.course.coordinator.Backend` on the workers of a Dask cluster.

    Made before anything is graded: checks the course layout, connects to *address* and checks
    that every worker can grade (:func:`connect`).  Each task travels with the run's
    :class:`Shipment` and the student's submitted folder; each outcome comes back with the
    autograded folder as bytes, unpacked here into a private folder that the coordinator removes
    after storing it."""

    label = " (cluster)"

    def __init__(self, coursedir, assignment: str, address: str, sandbox: bool = True):
        check_course_layout(coursedir, assignment)
        self.client = connect(address, sandbox=sandbox)
        self.coursedir, self.assignment = coursedir, assignment
        self.inflight: dict = {}
        self.done: queue.Queue = queue.Queue()   # futures, put there by Dask's callback thread
        self.tag = uuid.uuid4().hex[:8]
        self.threads, self.checked = 1, 0.0

    def start(self, run) -> None:
        self.run = run
        self.summary = run.summary
        self.work_root = run.settings.work_root
        self.shipment = make_shipment(self.coursedir, self.assignment, run.settings)
        self.allowed = _allowed_failures(self.client)

    def free(self) -> int:
        if time.monotonic() - self.checked > 2.0:
            self.threads = max(1, sum(self.client.nthreads().values()))
            self.summary.workers = max(self.summary.workers, self.threads)
            self.checked = time.monotonic()
        # every worker thread busy with one task and one queued, no more: a task's bytes live in
        # the scheduler until it runs
        return 2 * self.threads - len(self.inflight)

    def submit(self, task: Task) -> None:
        t0 = time.perf_counter()
        rel, blob = pack_submission(self.coursedir, self.assignment, task.student)
        fut = self.client.submit(grade_remote, self.shipment, task, rel, blob, pure=False, retries=RETRIES,
                                 key=f"mixlearn-grade-{self.assignment}-{task.student}-{self.tag}")
        self.summary.ship_seconds += time.perf_counter() - t0
        self.summary.shipped += 1
        self.inflight[fut] = task
        fut.add_done_callback(self.done.put)

    @property
    def busy(self) -> bool:
        return bool(self.inflight)

    def finished(self, timeout: float) -> list[Outcome]:
        futs = []
        try:
            futs.append(self.done.get(timeout=timeout))
            while True:
                futs.append(self.done.get_nowait())
        except queue.Empty:
            pass
        if self.client.status not in ("running", "connecting"):
            raise CourseError("lost the connection to the Dask scheduler; the submissions graded so far "
                              "are stored: run the same command again to grade the rest")
        out = []
        for fut in futs:
            task = self.inflight.pop(fut, None)
            if task is not None:
                out.append(self._outcome(fut, task))
                fut.release()
        return out

    def _outcome(self, fut, task: Task) -> Outcome:
        if fut.status == "finished":
            t0 = time.perf_counter()
            outcome: Outcome = fut.result()
            if outcome.ok:
                work = tempfile.mkdtemp(dir=self.work_root, prefix=f"{task.student}-")
                try:
                    unpack(outcome.archive, work)
                except Exception:
                    shutil.rmtree(work, ignore_errors=True)
                    raise
                outcome.autograded = os.path.join(work, "autograded")
                outcome.work = work
                outcome.archive = None
                self.summary.store_seconds += time.perf_counter() - t0
            return outcome
        if fut.status == "error":
            return Outcome(student=task.student, ok=False, reason=_reason_for_error(fut.exception(), self.allowed))
        return Outcome(student=task.student, ok=False, reason=f"the Dask scheduler dropped the task ({fut.status})")

    def close(self, interrupted: bool) -> None:
        if self.inflight:
            try:
                self.client.cancel(list(self.inflight), force=True)
            except Exception:
                pass

    def disconnect(self) -> None:
        self.client.close()


# ------------------------------------------------------------------ worker side
_LOCK = threading.Lock()
_STATE: dict = {"key": None, "root": None, "settings": None, "idle": []}
_SPAWN: queue.Queue = queue.Queue()


def _spawner() -> None:
    # Grading processes are started from this one long-lived thread: Linux delivers a child's
    # parent-death signal when the *thread* that forked it exits, and the grading process must
    # live as long as the Dask worker process, not as long as one of its executor threads.
    while True:
        fn, box, done = _SPAWN.get()
        try:
            box.append(fn())
        except BaseException as exc:  # pragma: no cover - reported to the caller
            box.append(exc)
        done.set()


_SPAWNER: threading.Thread | None = None


def _spawn(settings: WorkerSettings):
    global _SPAWNER
    import multiprocessing as mp

    from .worker import WorkerProcess

    # A Dask worker process runs as a "daemonic" multiprocessing child of its nanny, and such
    # processes may not start children.  The grading process is killed with this one anyway
    # (parent-death signal), which is what the rule protects; lift it for this process.
    mp.current_process()._config["daemon"] = False
    with _LOCK:
        if _SPAWNER is None:
            _SPAWNER = threading.Thread(target=_spawner, name="mixlearn-course-spawner", daemon=True)
            _SPAWNER.start()
    box: list = []
    done = threading.Event()
    _SPAWN.put((lambda: WorkerProcess(settings), box, done))
    done.wait()
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def _base_dir() -> str:
    try:
        from distributed import get_worker

        base = get_worker().local_directory
    except Exception:  # not in a Dask worker (tests of this function)
        base = tempfile.gettempdir()
    path = os.path.join(base, f"mixlearn-course-{os.getpid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def _course_for(shipment: Shipment) -> WorkerSettings:
    """Unpack the shipment (once per run) and the settings of its grading processes."""
    with _LOCK:
        if _STATE["key"] == shipment.key:
            return _STATE["settings"]
        for w in _STATE["idle"]:
            w.kill()
        _STATE["idle"] = []
        if _STATE["root"]:
            shutil.rmtree(os.path.dirname(_STATE["root"]), ignore_errors=True)
        top = tempfile.mkdtemp(dir=_base_dir(), prefix=f"run-{shipment.key[:8]}-")
        root = os.path.join(top, "course")
        work = os.path.join(top, "work")
        os.makedirs(root)
        os.makedirs(work)
        unpack(shipment.course, root)
        seed = os.path.join(top, "seed.db")
        with open(seed, "wb") as fh:
            fh.write(shipment.seed_db)
        settings = WorkerSettings(root=root, overrides=tuple(shipment.overrides) + (f"--CourseDirectory.root={root}",),
                                  seed_db=seed, work_root=work, limits=shipment.limits, sandbox=shipment.sandbox)
        _STATE.update(key=shipment.key, root=root, settings=settings)
        return settings


def _take_process(settings: WorkerSettings):
    with _LOCK:
        while _STATE["idle"]:
            w = _STATE["idle"].pop()
            if w.proc.is_alive():
                return w
            w.kill()
    w = _spawn(settings)
    # the process answers once it has loaded nbgrader and the course's configuration
    if not w.conn.poll(300):
        w.kill()
        raise RuntimeError("the grading process did not start within 300 s")
    try:
        msg = w.conn.recv()
    except (EOFError, OSError):
        w.kill()
        raise RuntimeError("the grading process could not start (see the Dask worker's log)") from None
    if not (isinstance(msg, dict) and msg.get("ready")):  # pragma: no cover
        w.kill()
        raise RuntimeError(f"unexpected message from the grading process: {msg!r}")
    return w


def _give_back(w, settings: WorkerSettings) -> None:
    with _LOCK:
        if _STATE["settings"] is settings and w.proc.is_alive():
            _STATE["idle"].append(w)
            return
    w.kill()


def grade_remote(shipment: Shipment, task: Task, rel: str, submission: bytes) -> Outcome:
    """Grade one submission on a Dask worker (the task function).

    *rel* is the submitted folder's path inside the course, *submission* that folder as an
    archive made by :func:`pack`.
    """
    settings = _course_for(shipment)
    norm = os.path.normpath(rel)
    if os.path.isabs(norm) or norm.startswith(".."):
        raise ValueError(f"unsafe submission path {rel!r}")
    # the student's submitted folder, fresh for this task
    dest = os.path.join(settings.root, norm)
    if os.path.lexists(dest):
        shutil.rmtree(dest)
    unpack(submission, settings.root)
    w = _take_process(settings)
    outcome = None
    try:
        w.conn.send(task)
        limit = (settings.limits.wall or 0) + WORKER_GRACE if settings.limits.wall else None
        if w.conn.poll(limit):
            try:
                outcome = w.conn.recv()
            except (EOFError, OSError):
                outcome = None
            if outcome is None:
                outcome = Outcome(student=task.student, ok=False, reason="the grading worker died unexpectedly")
                w.kill()
        else:
            outcome = Outcome(student=task.student, ok=False,
                              reason=f"wall time limit exceeded ({settings.limits.wall:g} s); "
                                     "the worker had to be killed")
            w.kill()
    finally:
        if outcome is not None and w.proc.is_alive():
            _give_back(w, settings)
        else:
            w.kill()
        shutil.rmtree(dest, ignore_errors=True)
    try:
        if outcome.ok:
            outcome.archive = pack({"autograded": outcome.autograded})
        outcome.autograded = None
    finally:
        if outcome.work:
            shutil.rmtree(outcome.work, ignore_errors=True)
        outcome.work = None
    return outcome
