"""Parallel autograding on top of nbgrader's own ``Autograde`` converter.

How one run works
-----------------
* The parent process owns the course's real ``gradebook.db``; it is the only process
  that ever writes to it, so SQLite never reports "database is locked".
* A *seed* gradebook is made once per run: a copy of the real one with every student,
  submission, grade and comment removed, i.e. only the course and the assignment's
  definition (notebooks, grade/solution/task/source cells, checksums) are left.
* ``N`` worker processes each grade one submission at a time.  For every submission
  a worker builds a private course folder (the assignment's source folder and the
  student's submitted folder are linked in, the seed gradebook is copied) and runs
  nbgrader's unmodified ``Autograde`` converter there, with the course's
  ``nbgrader_config.py``.  The kernel is started through a launcher that applies
  resource limits, and a watchdog enforces the process cap and the wall time.
* When a worker reports success, the parent copies that submission's results
  (timestamp, late penalty, auto scores, ``needs_manual_grade``, auto comments) into
  the real gradebook in **one transaction**, then moves the autograded notebooks into
  ``autograded/<student>/<assignment>``.  Grades entered by a human grader
  (``manual_score``, ``extra_credit``, manual comments) are never touched, and a grade
  with a manual score is flagged for review exactly as nbgrader does.
* SIGINT/SIGTERM only set a flag: a commit in progress always completes, workers and
  their kernels are then killed and unfinished submissions leave no trace, so a
  re-run grades exactly what is missing.
"""

from __future__ import annotations

import datetime
import fnmatch
import glob
import logging
import multiprocessing as mp
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import wait as mp_wait

from . import limits as _limits
from .common import (
    CourseError,
    load_nbgrader_config,
    read_failures,
    state_path,
    submitted_students,
    write_failures,
)
from .limits import Limits


# ------------------------------------------------------------------ master gradebook
def db_path_from_url(url: str) -> str:
    if not url.startswith("sqlite:///"):
        raise CourseError(f"only SQLite gradebooks are supported, not {url!r}")
    return url[len("sqlite:///"):]


def ensure_assignment_in_gradebook(config, coursedir, assignment: str, log) -> None:
    """Make sure the assignment (its cells and checksums) is recorded in the gradebook.

    If it is not, run nbgrader's ``GenerateAssignment`` on the source folder with the
    output sent to a scratch folder, which records the assignment in the gradebook just
    like ``nbgrader generate_assignment`` without touching the release folder.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            a = gb.find_assignment(assignment)
            if a.notebooks:
                return
        except MissingEntry:
            pass
    source = coursedir.format_path(coursedir.source_directory, ".", assignment)
    if not os.path.isdir(source):
        raise CourseError(
            f"assignment {assignment!r} is neither in the gradebook nor in {source}")
    log(f"recording assignment {assignment!r} in the gradebook from {source}")
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    scratch = tempfile.mkdtemp(dir=os.path.dirname(state_path(coursedir, "x")), prefix="release-")
    try:
        cd = CourseDirectory(config=config)
        cd.root = coursedir.root
        cd.db_url = coursedir.db_url
        cd.release_directory = os.path.relpath(scratch, coursedir.root)
        cd.assignment_id = assignment
        conv = GenerateAssignment(coursedir=cd, config=config)
        conv.log.setLevel(logging.ERROR)
        conv.force = True
        conv.start()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def make_seed(master_db: str, seed_db: str) -> None:
    """Copy the gradebook without any student data (only the assignment definitions)."""
    src = sqlite3.connect(master_db)
    dst = sqlite3.connect(seed_db)
    with dst:
        src.backup(dst)
    src.close()
    with dst:
        for table in ("grade", "comment", "submitted_notebook", "submitted_assignment", "student"):
            dst.execute(f"DELETE FROM {table}")
    dst.execute("VACUUM")
    dst.close()


def commit_results(gb, assignment: str, student: str, res: dict) -> None:
    """Store one submission's autograde results in the gradebook in one transaction."""
    from nbgrader.api import Comment, Grade, MissingEntry, Student, SubmittedAssignment, SubmittedNotebook

    db = gb.db
    try:
        st = db.get(Student, student)
        if st is None:
            st = Student(id=student)
            db.add(st)
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            a = gb.find_assignment(assignment)
            with db.no_autoflush:  # mirror Gradebook.add_submission, without its commit
                sub = SubmittedAssignment(assignment=a, student=st)
                for notebook in a.notebooks:
                    snb = SubmittedNotebook(notebook=notebook, assignment=sub)
                    for cell in notebook.grade_cells:
                        Grade(cell_id=cell.id, notebook=snb)
                    for cell in notebook.solution_cells:
                        Comment(cell_id=cell.id, notebook=snb)
                    for cell in notebook.task_cells:
                        Comment(cell_id=cell.id, notebook=snb)
                        Grade(cell_id=cell.id, notebook=snb)
                db.add(sub)
            db.flush()
            db.expire(sub)
        if res["timestamp"] is not None:
            sub.timestamp = res["timestamp"]
        for snb in sub.notebooks:
            r = res["notebooks"].get(snb.name)
            if r is None:
                continue
            snb.late_submission_penalty = r["late_penalty"]
            for g in snb.grades:
                if g.name in r["grades"]:
                    auto, needs = r["grades"][g.name]
                    g.auto_score = auto
                    # nbgrader's SaveAutoGrades: a grade that already has a manual
                    # score must be reviewed again (not for missing notebooks)
                    g.needs_manual_grade = bool(
                        needs or (g.manual_score is not None and not r["missing"]))
            for c in snb.comments:
                if c.name in r["comments"]:
                    c.auto_comment = r["comments"][c.name]
        db.commit()
    except BaseException:
        db.rollback()
        raise


# ------------------------------------------------------------------------- worker
def _read_results(gb_url, course_id, coursedir, assignment, student) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(gb_url, course_id) as gb:
        sub = gb.find_submission(assignment, student)
        res = {"timestamp": sub.timestamp, "notebooks": {}}
        sub_dir = coursedir.format_path(coursedir.submitted_directory, student, assignment)
        for snb in sub.notebooks:
            res["notebooks"][snb.name] = {
                "late_penalty": snb.late_submission_penalty,
                "missing": not os.path.exists(os.path.join(sub_dir, snb.name + ".ipynb")),
                "grades": {g.name: (g.auto_score, bool(g.needs_manual_grade)) for g in snb.grades},
                "comments": {c.name: c.auto_comment for c in snb.comments},
            }
    return res


def _memory_errors(autograded_dir: str) -> list[str]:
    import nbformat

    found = []
    for path in sorted(glob.glob(os.path.join(autograded_dir, "*.ipynb"))):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error" and out.get("ename") == "MemoryError":
                    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                    where = f"cell {gid!r}" if gid else f"a cell of {os.path.basename(path)}"
                    evalue = out.get("evalue", "")
                    found.append(f"{where}: {evalue}" if evalue else where)
    return found


def _explain_exit(codes: list, lim: Limits) -> str | None:
    for rc in codes:
        if rc is None or rc >= 0:
            continue
        sig = -rc
        if sig == signal.SIGXCPU:
            return f"CPU time limit exceeded ({lim.cpu:g} CPU seconds for the kernel)"
        if sig == signal.SIGKILL:
            return ("the kernel was killed (SIGKILL): it ran out of memory (limit "
                    f"{lim.describe_memory()}) or ignored the CPU limit ({lim.cpu:g} s)")
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"the kernel died from signal {name}"
    for rc in codes:
        if rc not in (None, 0):
            return f"the kernel exited with status {rc} (the notebook stopped its own kernel)"
    return None


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        # format now: some nbgrader messages reference database objects whose
        # session is closed later
        try:
            record.msg = record.getMessage()
        except Exception:
            record.msg = str(record.msg)
        record.args = None
        self.records.append(record)


def _summarise_errors(records) -> str:
    """The most useful line out of nbgrader's error log for the summary."""
    errors = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
    for msg in errors:
        if "Traceback" in msg:
            lines = [ln for ln in msg.strip().splitlines() if ln.strip()]
            last = lines[-1]
            if "NotJSONError" in last or "JSONDecodeError" in last or "ValidationError" in last \
                    or "NBFormatError" in last or "Notebook does not appear" in last:
                return "invalid notebook: " + last.split(":", 1)[-1].strip()[:200]
            if "DeadKernelError" in last:
                return "the kernel died while running the notebook"
            if "CellTimeoutError" in last or "TimeoutError" in last:
                return "the kernel did not answer in time (hung kernel)"
            return last[:300]
    for msg in errors:
        if "kernel became unresponsive" in msg:
            return "the kernel became unresponsive and could not be interrupted (hung kernel)"
    return errors[0][:300] if errors else "nbgrader reported an error"


def grading_config(config, lim: Limits):
    """The course configuration plus the limited kernel manager (built once per worker)."""
    from traitlets.config import Config

    cfg = Config()
    cfg.merge(config)
    if "kernel_manager_class" not in config.get("Execute", {}):
        cfg.Execute.kernel_manager_class = _limits.LimitedKernelManager
    if lim.cell_timeout:
        cfg.Execute.timeout = int(lim.cell_timeout)
    return cfg


def grade_one(task: dict, ctx: dict) -> dict:
    """Grade one submission in a private course folder (runs in a worker)."""
    from nbgrader.api import Gradebook
    from nbgrader.converters import Autograde
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory

    t0 = time.monotonic()
    student, assignment = task["student"], task["assignment"]
    lim: Limits = ctx["limits"]
    master = ctx["coursedir"]
    work = tempfile.mkdtemp(dir=ctx["work_root"], prefix=f"{student}-")
    db_url = "sqlite:///" + os.path.join(work, "gradebook.db")

    config = ctx["config"]
    cd = CourseDirectory(config=config)
    cd.root = work
    cd.db_url = db_url
    cd.assignment_id = assignment
    cd.student_id = student
    cd.notebook_id = "*"

    def link(step, sid):
        src = master.format_path(step, sid, assignment)
        dst = cd.format_path(step, sid, assignment)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.symlink(src, dst)

    link(master.source_directory, ".")
    link(master.submitted_directory, student)
    shutil.copyfile(ctx["seed"], os.path.join(work, "gradebook.db"))
    if task.get("extension") is not None:
        with Gradebook(db_url, master.course_id) as gb:
            gb.update_or_create_student(student)
            gb.add_submission(assignment, student, extension=task["extension"])

    cfg = ctx["grading_config"]

    logger = logging.getLogger(f"mixlearn.course.worker.{os.getpid()}")
    logger.propagate = False
    logger.handlers[:] = []
    handler = _ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    pidfile = os.path.join(work, "kernel.pid")
    zygote = ctx.get("zygote")
    if zygote is not None and not zygote.alive():
        zygote.close()
        zygote = ctx["zygote"] = _limits.Zygote(ctx["work_root"], lim.prefork)
    spare = {zygote.pid} if zygote is not None else set()
    _limits.configure(lim, pidfile, zygote)
    watchdog = _limits.Watchdog(lim, spare=spare)
    watchdog.start()
    failed = False
    crash = None
    try:
        conv = Autograde(coursedir=cd, config=cfg, log=logger)
        conv.start()
    except NbGraderException:
        failed = True
    except Exception:  # pragma: no cover - unexpected, keep the worker alive
        failed = True
        crash = traceback.format_exc()
    finally:
        watchdog.stop()
        _limits.kill_tree(os.getpid(), spare=spare)

    log_text = "\n".join(
        f"[{r.levelname}] {r.getMessage()}" for r in handler.records)
    if crash:
        log_text += "\n" + crash
    result = {"student": student, "ok": False, "work": work, "log": log_text,
              "seconds": time.monotonic() - t0}
    reason = watchdog.reason
    if reason is None and failed:
        reason = _explain_exit(_limits.kernel_exit_codes(), lim) or (
            crash.strip().splitlines()[-1] if crash else _summarise_errors(handler.records))
    out_dir = cd.format_path(cd.autograded_directory, student, assignment)
    if reason is None and not os.path.isdir(out_dir):
        reason = "nbgrader produced no autograded notebook"
    if reason is None:
        mem = _memory_errors(out_dir)
        if mem:
            reason = (f"memory limit exceeded ({lim.describe_memory()}): MemoryError in "
                      + "; ".join(mem))[:400]
    if reason is not None:
        result["reason"] = reason
        klog = os.path.join(work, "kernel.log")
        if os.path.exists(klog):
            with open(klog, errors="replace") as fh:
                result["log"] += "\n--- kernel stderr (last 4000 characters) ---\n" + fh.read()[-4000:]
        return result
    result["results"] = _read_results(db_url, master.course_id, cd, assignment, student)
    result["autograded"] = out_dir
    result["ok"] = True
    return result


def _worker_main(conn, ctx_args: dict) -> None:
    import warnings

    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # die with the parent
    except Exception:  # pragma: no cover
        pass
    _limits.set_child_subreaper()
    zygote = None
    if ctx_args["limits"].prefork:  # starts (and imports) while this worker loads nbgrader
        zygote = _limits.Zygote(ctx_args["work_root"], ctx_args["limits"].prefork)
    config, coursedir = load_nbgrader_config(ctx_args["root"], ctx_args["overrides"])
    ctx = dict(ctx_args, config=config, coursedir=coursedir, zygote=zygote,
               grading_config=grading_config(config, ctx_args["limits"]))
    conn.send({"ready": True})
    try:
        _serve(conn, ctx)
    finally:
        if ctx.get("zygote") is not None:
            ctx["zygote"].close()


def _serve(conn, ctx) -> None:
    while True:
        try:
            task = conn.recv()
        except EOFError:
            break
        if task is None:
            break
        try:
            result = grade_one(task, ctx)
        except Exception:
            result = {"student": task["student"], "ok": False,
                      "reason": "grading crashed: " + traceback.format_exc().strip().splitlines()[-1],
                      "log": traceback.format_exc(), "work": None, "seconds": 0.0}
        conn.send(result)


# ------------------------------------------------------------------------- parent
@dataclass
class RunSummary:
    total: int = 0
    graded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failures: dict = field(default_factory=dict)
    interrupted: str | None = None
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        if self.interrupted == "SIGINT":
            return 130
        if self.interrupted:
            return 143
        return 1 if self.failures else 0


class _Worker:
    def __init__(self, ctx_args, mpctx):
        self.conn, child = mpctx.Pipe()
        self.proc = mpctx.Process(target=_worker_main, args=(child, ctx_args), daemon=True)
        self.proc.start()
        child.close()
        self.task = None
        self.started = 0.0
        self.ready = False

    def kill(self):
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()


def select_students(coursedir, assignment: str, pattern: str | None) -> list[str]:
    students = submitted_students(coursedir, assignment)
    if pattern:
        students = [s for s in students if fnmatch.fnmatchcase(s, pattern)]
    return students


def is_graded(coursedir, gb, assignment: str, student: str) -> bool:
    """nbgrader's notion of 'already autograded', plus: the gradebook has the grades."""
    from nbgrader.api import MissingEntry

    dest = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    if not os.path.isdir(dest):
        return False
    try:
        gb.find_submission(assignment, student)
    except MissingEntry:
        return False
    src = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    new = coursedir.get_existing_timestamp(src)
    old = coursedir.get_existing_timestamp(dest)
    return not (new is not None and old is not None and new > old)


def _install_into_place(coursedir, gb, assignment, result) -> None:
    from nbgrader.utils import rmtree

    student = result["student"]
    dest = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    # order matters for crash safety: the old folder goes first, the folder comes back
    # last, so a crash at any point leaves the submission "not graded" for the re-run
    if os.path.lexists(dest):
        rmtree(dest)
    commit_results(gb, assignment, student, result["results"])
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    os.rename(result["autograded"], dest)


def autograde(root: str, assignment: str, jobs: int = 2, student: str | None = None,
              force: bool = False, limits: Limits | None = None, overrides=None,
              progress: bool = True, stream=None) -> RunSummary:
    """Autograde every (missing) submission of *assignment* in *jobs* processes."""
    from nbgrader.api import Gradebook

    stream = stream or sys.stderr
    limits = limits or Limits()
    t_start = time.monotonic()
    root = os.path.abspath(root)
    config, coursedir = load_nbgrader_config(root, overrides)

    def say(msg):
        print(msg, file=stream, flush=True)

    students = select_students(coursedir, assignment, student)
    if not students:
        raise CourseError(
            f"no submissions found for {assignment!r} under "
            f"{coursedir.format_path(coursedir.submitted_directory, '*', assignment)}")
    ensure_assignment_in_gradebook(config, coursedir, assignment, say)
    summary = RunSummary(total=len(students))
    failures = read_failures(coursedir, assignment)

    gb = Gradebook(coursedir.db_url, coursedir.course_id)
    try:
        todo = []
        for s in students:
            if force or not is_graded(coursedir, gb, assignment, s):
                ext = None
                try:
                    ext = gb.find_submission(assignment, s).extension
                except Exception:
                    pass
                todo.append({"student": s, "assignment": assignment, "extension": ext})
            else:
                summary.skipped.append(s)
        if summary.skipped:
            say(f"{len(summary.skipped)} submission(s) already autograded "
                f"(use --force to regrade them)")
        if not todo:
            summary.seconds = time.monotonic() - t_start
            return summary

        run_dir = tempfile.mkdtemp(dir=os.path.dirname(state_path(coursedir, "x")), prefix="run-")
        seed = os.path.join(run_dir, "seed.db")
        make_seed(db_path_from_url(coursedir.db_url), seed)
        ctx_args = {"root": root, "overrides": list(overrides or []), "seed": seed,
                    "work_root": run_dir, "limits": limits}
        _run_pool(todo, ctx_args, jobs, coursedir, gb, assignment, failures, summary,
                  progress, say, stream)
    finally:
        gb.close()
        if "run_dir" in locals():
            shutil.rmtree(run_dir, ignore_errors=True)
    summary.seconds = time.monotonic() - t_start
    return summary


def _run_pool(todo, ctx_args, jobs, coursedir, gb, assignment, failures, summary,
              progress, say, stream):
    stop = {"sig": None}

    def on_signal(signum, frame):
        stop["sig"] = signal.Signals(signum).name

    old_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    _limits.set_child_subreaper()
    mpctx = mp.get_context("spawn")
    pending = list(reversed(todo))
    workers: list[_Worker] = []
    bar = None
    try:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), file=stream, unit="nb", disable=not progress,
                   desc=f"autograde {assignment}", dynamic_ncols=True)
        bar.set_postfix(failed=0)
        for _ in range(max(1, min(jobs, len(todo)))):
            workers.append(_Worker(ctx_args, mpctx))
        deadline_extra = 60.0
        while (pending or any(w.task for w in workers)) and stop["sig"] is None:
            for w in workers:
                if w.ready and w.task is None and pending and stop["sig"] is None:
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
                        _record_failure(failures, coursedir, assignment, summary, w.task["student"],
                                        "the grading worker died unexpectedly", "")
                        bar.update(1)
                    _replace_worker(workers, w, ctx_args, mpctx)
                    continue
                if msg.get("ready"):
                    w.ready = True
                    continue
                w.task = None
                if msg["ok"]:
                    _install_into_place(coursedir, gb, assignment, msg)
                    summary.graded.append(msg["student"])
                    if failures.pop(msg["student"], None) is not None:
                        write_failures(coursedir, assignment, failures)
                else:
                    _record_failure(failures, coursedir, assignment, summary, msg["student"],
                                    msg["reason"], msg.get("log", ""))
                if msg.get("work"):
                    shutil.rmtree(msg["work"], ignore_errors=True)
                bar.update(1)
                bar.set_postfix(failed=len(summary.failures))
            # backstop: a worker stuck far beyond the wall-time limit is replaced
            wall = ctx_args["limits"].wall or 0
            for w in list(workers):
                if w.task is not None and wall and time.monotonic() - w.started > wall + deadline_extra:
                    student = w.task["student"]
                    _record_failure(failures, coursedir, assignment, summary, student,
                                    f"wall time limit exceeded ({wall:g} s); the worker had to be killed", "")
                    bar.update(1)
                    _replace_worker(workers, w, ctx_args, mpctx)
    finally:
        for w in workers:
            try:
                if w.proc.is_alive() and w.task is None and stop["sig"] is None:
                    w.conn.send(None)  # finish politely (all at once, then wait)
            except Exception:
                pass
        deadline = time.monotonic() + 5
        for w in workers:
            if stop["sig"] is None:
                w.proc.join(timeout=max(0.0, deadline - time.monotonic()))
            w.kill()
        _limits.kill_tree(os.getpid())
        if bar is not None:
            bar.close()
        for s, h in old_handlers.items():
            signal.signal(s, h)
    summary.interrupted = stop["sig"]


def _replace_worker(workers, w, ctx_args, mpctx):
    workers.remove(w)
    w.kill()
    # kernels of a killed worker die with it (parent-death signal); anything they left
    # behind was re-parented to us (child subreaper) and is killed here
    live = {x.proc.pid for x in workers}
    for pid in _limits.descendants(os.getpid()):
        if pid not in live and _parent_of(pid) == os.getpid():
            _limits.kill_tree(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    workers.append(_Worker(ctx_args, mpctx))


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
        return int(data[data.rfind(b")") + 2:].split()[1])
    except OSError:
        return None


def _record_failure(failures, coursedir, assignment, summary, student, reason, log_text):
    summary.failures[student] = reason
    failures[student] = {"reason": reason,
                         "time": datetime.datetime.now(datetime.timezone.utc).isoformat()}
    write_failures(coursedir, assignment, failures)
    if log_text:
        path = state_path(coursedir, assignment, "logs", f"{student}.log")
        with open(path, "w") as fh:
            fh.write(log_text)


def print_summary(summary: RunSummary, assignment: str, stream=None) -> None:
    stream = stream or sys.stderr
    p = lambda msg="": print(msg, file=stream)  # noqa: E731
    rate = (len(summary.graded) + len(summary.failures)) / summary.seconds * 60 if summary.seconds else 0
    p(f"{assignment}: {len(summary.graded)} graded, {len(summary.failures)} failed, "
      f"{len(summary.skipped)} already graded, in {summary.seconds:.1f} s "
      f"({rate:.1f} submissions/min)")
    if summary.failures:
        p("Failed submissions (not written to the gradebook):")
        for s in sorted(summary.failures):
            p(f"  {s}: {summary.failures[s]}")
    if summary.interrupted:
        left = summary.total - len(summary.graded) - len(summary.failures) - len(summary.skipped)
        p(f"Interrupted by {summary.interrupted}: {left} submission(s) left; "
          f"run the same command again to grade them.")
