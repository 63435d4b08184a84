"""A grading worker: one submission at a time, each in a private course folder and a sandbox.

For every :class:`~mixlearn.course.records.Task` the worker builds a private course folder
(the assignment's source folder and the student's submitted folder are linked in, the seed
gradebook is copied) and runs nbgrader's unmodified ``Autograde`` converter there with the
course's configuration, in which :class:`~mixlearn.course.trusted.TrustedExecute` runs the
notebook in a sandboxed kernel and judges the trusted checks.  A watchdog enforces the process
cap and the wall time.  The worker answers with an :class:`~mixlearn.course.records.Outcome`;
it never writes the real gradebook.

The same worker serves both ways of grading: the local pool (:mod:`mixlearn.course.pool`) starts
``N`` :class:`WorkerProcess` es on the coordinator's machine; on a Dask cluster
(:mod:`mixlearn.course.cluster`) every Dask worker starts one :class:`WorkerProcess` on its own
machine, for a private copy of the course's files that came with the task.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

from . import limits as _limits
from .common import CourseError, load_nbgrader_config, skip_iri_grammar
from .gradebook import read_results, skip_fsync_below
from .kernel import read_exit_codes
from .limits import Limits
from .records import Outcome, Task, WorkerSettings


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
        if rc is None or rc == 0 or 0 < rc <= 128:
            continue
        sig = -rc if rc < 0 else rc - 128  # bwrap reports a kernel killed by a signal as 128 + signal
        if sig == signal.SIGXCPU:
            return f"CPU time limit exceeded ({lim.cpu:g} CPU seconds for the kernel)"
        if sig == signal.SIGKILL:
            # the memory limit shows as MemoryError and the CPU limit as SIGXCPU first, so a
            # SIGKILL is the notebook's own doing (or the system's out-of-memory killer)
            return ("the kernel was killed by SIGKILL: the notebook killed its own kernel, or the machine "
                    f"ran out of memory (the kernel's own limit is {lim.describe_memory()} and would "
                    "have raised MemoryError)")
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
            if "MissingChecks" in last:
                return last.split(":", 1)[-1].strip()[:300]
            return last[:300]
    for msg in errors:
        if "kernel became unresponsive" in msg:
            return "the kernel became unresponsive and could not be interrupted (hung kernel)"
    return errors[0][:300] if errors else "nbgrader reported an error"


def trusted_config(config, settings: WorkerSettings):
    """The course configuration with trusted grading, the sandbox and the limits switched on.

    A course whose configuration already lists ``TrustedExecute`` keeps its own order; otherwise
    nbgrader's ``Execute`` is replaced by it and ``TrustedComments`` follows ``SaveAutoGrades``.
    Likewise ``OverwriteCells`` becomes :class:`~mixlearn.course.cellroles.RestoreCellRoles` unless
    the course lists its own sanitizing preprocessors.
    """
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute, OverwriteCells, SaveAutoGrades
    from traitlets.config import Config

    from .trusted import TrustedComments, TrustedExecute

    cfg = Config()
    cfg.merge(config)
    configured = config.Autograde.get("autograde_preprocessors") if "Autograde" in config else None
    pre = list(configured or Autograde().autograde_preprocessors)
    names = [p if isinstance(p, str) else p.__name__ for p in pre]
    if not any(n.endswith("TrustedExecute") for n in names):
        pre = [TrustedExecute if p is Execute or n.endswith(".Execute") or n == "Execute" else p
               for p, n in zip(pre, names, strict=True)]
        i = next((k for k, p in enumerate(pre) if p is SaveAutoGrades), len(pre) - 1)
        pre.insert(i + 1, TrustedComments)
        cfg.Autograde.autograde_preprocessors = pre
    sanitize = config.Autograde.get("sanitize_preprocessors") if "Autograde" in config else None
    if not sanitize:
        from .cellroles import RestoreCellRoles

        cfg.Autograde.sanitize_preprocessors = [RestoreCellRoles if p is OverwriteCells else p
                                                for p in Autograde().sanitize_preprocessors]
    lim = settings.limits
    km = cfg.SandboxedKernelManager
    km.sandbox = settings.sandbox
    km.memory = int(lim.memory or 0)
    km.disk = int(lim.disk)
    km.protected = [settings.root]   # the course folder: never mounted, however Python is installed
    km.cpu = float(lim.cpu or 0)
    km.nproc = int(lim.nproc or 0)
    km.threads = int(lim.threads or 0)
    if lim.cell_timeout:
        cfg.Execute.timeout = int(lim.cell_timeout)
    return cfg


def grade_one(task: Task, settings: WorkerSettings, config, master, base_cfg) -> Outcome:
    """Grade one submission in a private course folder (runs in a worker)."""
    from nbgrader.api import Gradebook
    from nbgrader.converters import Autograde
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    t0 = time.monotonic()
    student, assignment = task.student, task.assignment
    lim = settings.limits
    work = tempfile.mkdtemp(dir=settings.work_root, prefix=f"{student}-")
    db_url = "sqlite:///" + os.path.join(work, "gradebook.db")

    cfg = Config()
    cfg.merge(base_cfg)
    cfg.CourseDirectory.root = work
    cd = CourseDirectory(config=cfg)
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
    # the submission is copied, without its symbolic links: nbgrader would follow them
    sub_src = master.format_path(master.submitted_directory, student, assignment)
    sub_dst = cd.format_path(cd.submitted_directory, student, assignment)
    shutil.copytree(sub_src, sub_dst, ignore=lambda d, names: [
        n for n in names if os.path.islink(os.path.join(d, n))
        or not (os.path.isfile(os.path.join(d, n)) or os.path.isdir(os.path.join(d, n)))])
    shutil.copyfile(settings.seed_db, os.path.join(work, "gradebook.db"))
    if task.extension is not None:
        with Gradebook(db_url, master.course_id) as gb:
            gb.update_or_create_student(student)
            gb.add_submission(assignment, student, extension=task.extension)

    stats = os.path.join(work, "stats.jsonl")
    status = os.path.join(work, "kernel.status")
    pidfile = os.path.join(work, "kernel.pid")
    cfg.TrustedExecute.seed = int(task.seed)
    cfg.TrustedExecute.stats_file = stats
    cfg.SandboxedKernelManager.pid_file = pidfile
    cfg.SandboxedKernelManager.log_file = os.path.join(work, "kernel.log")
    cfg.SandboxedKernelManager.status_file = status
    cfg.SandboxedKernelManager.stats_file = stats

    logger = logging.getLogger(f"mixlearn.course.worker.{os.getpid()}")
    logger.propagate = False
    logger.handlers[:] = []
    handler = _ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    watchdog = _limits.Watchdog(lim)
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
        _limits.kill_tree(os.getpid())

    log_text = "\n".join(f"[{r.levelname}] {r.getMessage()}" for r in handler.records)
    if crash:
        log_text += "\n" + crash
    result = Outcome(student=student, ok=False, work=work, log=log_text, seconds=time.monotonic() - t0)
    for line in open(stats).read().splitlines() if os.path.exists(stats) else []:
        rec = json.loads(line)
        result.sandbox_seconds += rec.get("sandbox", 0.0)
        result.check_seconds += rec.get("checks", 0.0)
    reason = watchdog.reason
    if reason is None and failed:
        reason = _explain_exit(read_exit_codes(status), lim) or (
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
        # paths as the instructor knows them: relative to the course, not the worker's private folder
        for folder in (os.path.realpath(work), work, os.path.realpath(settings.root), settings.root):
            reason = reason.replace(folder + os.sep, "")
        result.reason = reason
        klog = os.path.join(work, "kernel.log")
        if os.path.exists(klog):
            with open(klog, errors="replace") as fh:
                result.log += "\n--- kernel stderr (last 4000 characters) ---\n" + fh.read()[-4000:]
        return result
    result.grades = read_results(db_url, master.course_id, cd, assignment, student)
    result.autograded = out_dir
    result.ok = True
    return result


def _kernel_name(source_folder: str) -> str:
    """The kernel the assignment's notebooks name (nbgrader gives every submission the source's)."""
    import nbformat

    for name in sorted(os.listdir(source_folder)) if os.path.isdir(source_folder) else ():
        if name.endswith(".ipynb"):
            try:
                nb = nbformat.read(os.path.join(source_folder, name), as_version=4)
            except Exception:
                continue
            kernel = nb.metadata.get("kernelspec", {}).get("name")
            if kernel:
                return kernel
    return "python3"


def check_sandbox(settings: WorkerSettings, assignment: str, config=None, master=None, bwrap: bool = True) -> None:
    """Check, in this process, the sandbox exactly as a worker's first kernel of *assignment* will
    check it (the kernel's interpreter, the assignment's student edition, the protected folders, the
    size limits; see :meth:`~mixlearn.course.kernel.SandboxedKernelManager.check_sandbox`): a
    deployment that cannot be made safe is refused before any kernel starts, and worker processes
    forked from this one afterwards find the check done.  Raises
    :class:`~mixlearn.course.sandbox.SandboxUnavailable`."""
    from jupyter_client.kernelspec import NoSuchKernel

    from .checks import switched_off_in
    from .kernel import SandboxedKernelManager
    from .sandbox import check_bwrap
    from .trusted import checks_file_for

    if bwrap:   # bubblewrap can create a sandbox at all (a clear message if not)
        check_bwrap()
    if config is None:
        config, master = load_nbgrader_config(settings.root, list(settings.overrides))
    cfg = trusted_config(config, settings)
    name = _kernel_name(master.format_path(master.source_directory, ".", assignment))
    km = SandboxedKernelManager(config=cfg, kernel_name=name)
    try:
        km.kernel_spec  # noqa: B018 - looked up now, not at the first submission
    except NoSuchKernel:
        raise CourseError(f"the notebooks of {assignment!r} ask for the kernel {name!r}, which is not installed "
                          f"for this Python (see `jupyter kernelspec list`; install it, or change the kernel "
                          f"of the source notebooks)") from None
    path = cfg.TrustedExecute.get("checks_file") or checks_file_for(config, assignment)
    if os.path.isfile(path):
        km.switched_off = list(switched_off_in(path))
    # TrustedExecute adds each submission's private course folder, which is under the course
    # folder: no interpreter path lies inside it, so the check is the same for every submission
    km.protected = [*km.protected, settings.work_root or settings.root]
    km.check_sandbox()


class Warm:
    """What a worker would load first, loaded once by the coordinator (workers forked from it)."""

    def __init__(self, settings: WorkerSettings, assignment: str):
        # the grading stack imported here, once, rather than in every worker
        import nbclient  # noqa: F401
        import nbgrader.api  # noqa: F401
        import nbgrader.converters  # noqa: F401

        self.config, self.master = load_nbgrader_config(settings.root, list(settings.overrides))
        self.base_cfg = trusted_config(self.config, settings)
        if settings.sandbox:   # the coordinator has just made the same check: this finds it cached
            check_sandbox(settings, assignment, self.config, self.master, bwrap=False)


class WorkerProcess:
    """A grading worker process (:func:`worker_main`) and the pipe to it.

    With the ``fork`` context and a :class:`Warm` the worker starts with the coordinator's imports,
    configuration and sandbox check; with ``spawn`` (the default, and on a Dask worker) it loads them
    itself."""

    def __init__(self, settings: WorkerSettings, mpctx=None, warm: Warm | None = None):
        import multiprocessing as mp

        mpctx = mpctx or mp.get_context("spawn")
        self.conn, child = mpctx.Pipe()
        args = (child, settings) if warm is None else (child, settings, warm)
        self.proc = mpctx.Process(target=worker_main, args=args, daemon=True)
        self.proc.start()
        child.close()
        self.task: Task | None = None
        self.started = 0.0
        self.ready = False

    def kill(self):
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()


def worker_main(conn, settings: WorkerSettings, warm: Warm | None = None) -> None:
    """Entry point of a worker process: receive tasks on *conn*, send outcomes back."""
    import warnings

    skip_iri_grammar()   # a spawned worker (a Dask worker's) imports nbformat itself
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _limits.die_with_parent()
    _limits.set_child_subreaper()
    if warm is not None:
        config, master, base_cfg = warm.config, warm.master, warm.base_cfg
        if "numpy" in sys.modules:   # forked: numpy's global generator would repeat the coordinator's
            sys.modules["numpy"].random.seed()
    else:
        config, master = load_nbgrader_config(settings.root, list(settings.overrides))
        base_cfg = trusted_config(config, settings)
    skip_fsync_below(settings.work_root)
    conn.send({"ready": True})
    while True:
        try:
            task = conn.recv()
        except EOFError:
            break
        if task is None:
            break
        try:
            outcome = grade_one(task, settings, config, master, base_cfg)
        except Exception:
            tb = traceback.format_exc()
            outcome = Outcome(student=task.student, ok=False, log=tb,
                              reason="grading crashed: " + tb.strip().splitlines()[-1])
        conn.send(outcome)
