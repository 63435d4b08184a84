"""nbgrader preprocessors that grade with trusted checks (see :mod:`mixlearn.course.checks`).

Configure them in ``nbgrader_config.py``; ``mixlearn-course`` uses the same configuration::

    from mixlearn.course.trusted import TrustedExecute, TrustedComments
    c.Autograde.autograde_preprocessors = [TrustedExecute, ..., SaveAutoGrades, TrustedComments, ...]

:class:`TrustedExecute` replaces nbgrader's ``Execute``.  Before the notebook runs, every
autograder test cell's source is swapped for the *probe* of its trusted check (the hidden
inputs are drawn from a seed that only the grader holds); the notebook then runs in a
sandboxed kernel (:class:`~mixlearn.course.kernel.SandboxedKernelManager`); when the kernel
is gone, the test cells get their original source back and, as their only output, the
verdict that the grader's process computed from the returned data.  nbgrader's
``SaveAutoGrades`` then scores exactly that verdict: full points or none, never partial
credit from a displayed value.

When the verdict differs from what the student's own saved run of that test cell showed,
:class:`TrustedComments` (after ``SaveAutoGrades``) records an automatic comment on the
solution cell the test belongs to.
"""

from __future__ import annotations

import json
import os
import secrets
import time

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_code_cell
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from .authoring import shown_path
from .checks import load_checks, prepare, switched_off_in
from .kernel import SandboxedKernelManager

META = "mixlearn_trusted"
STATE_DIR = ".mixlearn-course"
# Outputs are bounded in bytes as they arrive (nbgrader's LimitOutput counts lines: one line can be
# 200 MB): a cell of the student's keeps its first MAX_CELL_OUTPUT bytes, the notebook's own cells
# MAX_NOTEBOOK_OUTPUT together; a probe (test cell) may carry results up to checks.MAX_RESULT_BYTES.
MAX_CELL_OUTPUT = 1024 ** 2
MAX_NOTEBOOK_OUTPUT = 8 * 1024 ** 2
# With cpu_limited, Execute.timeout counts the kernel's CPU seconds per cell, and the wall clock only
# stops a cell at WALL_FACTOR times that (a cell that sleeps or waits): on a loaded machine an
# honest cell takes longer in wall time, not in CPU time, and keeps its points.
WALL_FACTOR = 5


def _content_bytes(obj) -> int:
    """Bytes of text in a message's content (strings, nested in lists and dicts)."""
    if isinstance(obj, str):
        return len(obj)
    if isinstance(obj, dict):
        return sum(_content_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_content_bytes(v) for v in obj)
    return 8


def is_test_cell(cell) -> bool:
    nbg = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(nbg.get("grade")) and not nbg.get("solution")


class MissingChecks(Exception):
    """The assignment's trusted checks are missing or unusable (the checks module does not exist or
    cannot be loaded, a test cell has no check, a check raises or registers no case): the
    instructor's to fix, never a student's fault."""


def load_trusted_checks(path: str, assignment: str, shown: str, test_ids) -> dict:
    """``{grade_id: check}`` from the checks module *path* (*shown*: the path as the instructor knows
    it), or :class:`MissingChecks` saying what is wrong and where the template and the guide are."""
    from .authoring import guide_hint

    try:
        checks = load_checks(path)
    except FileNotFoundError:
        raise MissingChecks(f"no trusted checks for assignment {assignment!r}: {shown} does not exist. Every "
                            f"assignment needs one, with a @check for each autograder test cell. "
                            f"{guide_hint(assignment)}") from None
    except Exception as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        raise MissingChecks(f"{shown} could not be loaded{where}: {type(exc).__name__}: {exc}") from None
    missing = [gid for gid in test_ids if gid not in checks]
    if missing:
        raise MissingChecks(f"{shown} has no check for the test cell(s) {', '.join(missing)}. "
                            f"{guide_hint(assignment, template=False)}")
    return checks


def seeds_path(root: str, assignment: str) -> str:
    return os.path.join(root, STATE_DIR, assignment, "seeds.json")


def read_seeds(root: str, assignment: str) -> dict:
    path = seeds_path(root, assignment)
    if not os.path.exists(path):
        return {}
    with open(path) as fh:
        return {str(k): int(v) for k, v in json.load(fh).items()}


def seeds_for(root: str, assignment: str, students) -> dict:
    """The hidden-check seed of each student: recorded ones are kept (a regrade is reproducible),
    new ones are drawn from the OS and recorded before any grading starts."""
    seeds = read_seeds(root, assignment)
    new = {s: secrets.randbits(63) for s in students if s not in seeds}
    if new:
        seeds.update(new)
        path = seeds_path(root, assignment)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = path + f".tmp-{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(seeds, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    return {s: seeds[s] for s in students}


def checks_file_for(config, assignment: str) -> str:
    from nbgrader.coursedir import CourseDirectory

    cd = CourseDirectory(config=config)
    return os.path.join(cd.format_path(cd.source_directory, ".", assignment), "trusted_checks.py")


def linked_files(folder: str) -> list[str]:
    """Relative paths in a submitted folder that are not plain files or folders (symbolic links,
    devices, ...).  nbgrader copies a submission following links, so a submitted link to
    ``../../../solutions/...`` would arrive as a real file: they are kept out of the sandbox."""
    out = []
    for base, dirs, files in os.walk(folder):
        for name in dirs + files:
            full = os.path.join(base, name)
            if os.path.islink(full) or not (os.path.isfile(full) or os.path.isdir(full)):
                out.append(os.path.relpath(full, folder))
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(base, d))]
    return out


def _own_run(cell) -> bool | None:
    """Did the student's saved run of this test cell pass (None: it was not run)?"""
    if cell.get("execution_count") is None:
        return None
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return False
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            return False
    return True


class TrustedExecute(Execute):
    """nbgrader's ``Execute`` with trusted checks in place of the test cells' own asserts."""

    checks_file = Unicode("", help="The assignment's checks module (default: "
                                   "<source>/<assignment>/trusted_checks.py).").tag(config=True)
    seed = Integer(None, allow_none=True, help="Seed of the hidden inputs (default: the student's "
                                               "recorded seed, drawn once).").tag(config=True)
    stats_file = Unicode("", help="Append the time spent on the checks (JSON lines).").tag(config=True)
    submitted_notebook = Unicode("", help="The submitted notebook, for comparing the student's own "
                                          "run (default: found through the course directory).").tag(config=True)
    cpu_limited = Bool(True, help="Execute.timeout counts the kernel's CPU seconds per cell; the wall clock "
                                  f"stops a cell only at {WALL_FACTOR}x that (so grades do not depend on how "
                                  "busy the machine is).").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = SandboxedKernelManager
        super().__init__(*args, **kwargs)
        # widget state recorded from the kernel would be a channel out of the sandbox
        self.store_widget_state = False
        # the kernel's state is discarded once the verdicts are in: kill it at once (bubblewrap's
        # process 1 and with it every process of the submission) rather than ask it to shut down
        # and poll for its exit
        self.shutdown_kernel = "immediate"
        self._hidden_from = None
        self._cell_index = -1
        self._linked_files = []
        self._switched_off = ()
        self._probe_cells: set = set()
        self._cell_bytes: dict = {}
        self._notebook_bytes = 0

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        import asyncio

        self._cell_index = cell_index
        limit = super()._get_timeout(cell) if self.cpu_limited else None
        watch = asyncio.ensure_future(self._watch_cpu(limit)) if limit else None
        try:
            out = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        finally:
            if watch is not None:
                watch.cancel()
        if watch is not None and watch.done() and not watch.cancelled() and watch.result():
            cell.outputs.append(NotebookNode(output_type="stream", name="stderr", text=(
                f"[the grader stopped this cell: it used more than {limit:g} CPU seconds (an endless loop?)]\n")))
        return out

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        return timeout * WALL_FACTOR if timeout and self.cpu_limited else timeout

    async def _watch_cpu(self, limit: float) -> bool:
        """Interrupt the cell once the kernel's processes have used *limit* CPU seconds on it."""
        import asyncio

        from .limits import tree_cpu_seconds

        proc = getattr(self.km.provisioner, "process", None) if self.km and self.km.provisioner else None
        if proc is None:
            return False
        start = tree_cpu_seconds(proc.pid)
        while True:
            await asyncio.sleep(0.2)
            if tree_cpu_seconds(proc.pid) - start > limit:
                self.log.error("Cell used more than %s CPU seconds: interrupting the kernel", limit)
                await self.km.interrupt_kernel()
                return True

    def _update_display_id(self, display_id, msg):
        # Once the hidden probes run, the kernel has seen hidden inputs: it may no longer rewrite
        # the outputs of earlier cells (update_display_data), which would carry them out.
        if self._hidden_from is not None and self._cell_index >= self._hidden_from:
            return
        if not self._within_budget(self._cell_index, msg, None):
            return
        super()._update_display_id(display_id, msg)

    def _within_budget(self, cell_index, msg, outs) -> bool:
        """Count the message's bytes against its cell's and the notebook's budget; once one is spent,
        the cell gets a single note saying so (in *outs*) and no more output."""
        from .checks import MAX_RESULT_BYTES

        size = _content_bytes(msg.get("content", {}))
        used = self._cell_bytes.get(cell_index, 0)
        if used < 0:    # already cut
            return False
        probe = cell_index in self._probe_cells
        limit = MAX_RESULT_BYTES if probe else MAX_CELL_OUTPUT
        over = used + size > limit or (not probe and self._notebook_bytes + size > MAX_NOTEBOOK_OUTPUT)
        if not over:
            self._cell_bytes[cell_index] = used + size
            self._notebook_bytes += 0 if probe else size
            return True
        self._cell_bytes[cell_index] = -1
        if outs is not None:
            what = (f"this cell's output passed {limit // 1024 ** 2} MB" if used + size > limit else
                    f"the notebook's output passed {MAX_NOTEBOOK_OUTPUT // 1024 ** 2} MB")
            outs.append(NotebookNode(output_type="stream", name="stderr",
                                     text=f"[output cut by the grader: {what}; the rest was dropped]\n"))
        return False

    def output(self, outs, msg, display_id, cell_index):
        if msg.get("msg_type") in ("stream", "display_data", "execute_result", "error") \
                and not self._within_budget(cell_index, msg, outs):
            return None
        return super().output(outs, msg, display_id, cell_index)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.exclude_files = self._linked_files
        km.switched_off = list(self._switched_off)
        km.protected = [*km.protected, self._root()]
        return km

    def _root(self) -> str:
        from nbgrader.coursedir import CourseDirectory

        return CourseDirectory(config=self.config).root

    def _submitted_path(self, resources) -> str:
        from nbgrader.coursedir import CourseDirectory

        if self.submitted_notebook:
            return self.submitted_notebook
        info = resources["nbgrader"]
        cd = CourseDirectory(config=self.config)
        return os.path.join(cd.format_path(cd.submitted_directory, info["student"], info["assignment"]),
                            info["notebook"] + ".ipynb")

    def _submitted_cells(self, resources) -> dict:
        import nbformat

        path = self._submitted_path(resources)
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:
            return {}
        return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells if is_test_cell(c)}

    def _refuse(self, exc: MissingChecks, resources):
        """Stop on checks that would fail every submission.  Under the ``nbgrader autograde`` command
        the whole run stops here, before this submission's kernel starts (for a missing checks module:
        at the first submission, so before any kernel), with the reason in nbgrader's error log; the
        submission's half-made autograded folder is removed, as nbgrader removes a failed one, so a
        re-run grades it.  Elsewhere (nbgrader's API, mixlearn-course's workers) this submission fails
        with *exc*."""
        from nbgrader.apps.autogradeapp import AutogradeApp
        from nbgrader.converters import Autograde
        from nbgrader.utils import remove, rmtree

        chain, node = [], self.parent
        while node is not None and len(chain) < 8:
            chain.append(node)
            node = getattr(node, "parent", None)
        converter = next((n for n in chain if isinstance(n, Autograde)), None)
        if converter is None or not any(isinstance(n, AutogradeApp) for n in chain):
            raise exc
        info = resources["nbgrader"]
        dest = os.path.normpath(converter._format_dest(info["assignment"], info["student"]))
        if converter.coursedir.notebook_id == "*":
            if os.path.exists(dest):
                rmtree(dest)
        else:
            for notebook in converter.notebooks:
                out = os.path.join(dest, os.path.splitext(os.path.basename(notebook))[0] + ".ipynb")
                if os.path.exists(out):
                    remove(out)
        self.log.error("%s", exc)
        raise SystemExit(f"nbgrader autograde stopped at {info['student']!r} (whose notebook was not run): the "
                         f"trusted checks of {info['assignment']!r} are missing or unusable (see the error above)")

    def preprocess(self, nb: NotebookNode, resources):
        info = resources["nbgrader"]
        assignment, student = info["assignment"], info["student"]
        path = os.path.normpath(self.checks_file or checks_file_for(self.config, assignment))
        tests = [c for c in nb.cells if is_test_cell(c)]
        try:
            checks = load_trusted_checks(path, assignment, shown_path(path, self._root()),
                                         [c.metadata.nbgrader.grade_id for c in tests])
            self._switched_off = switched_off_in(path)
        except (MissingChecks, ValueError, SyntaxError) as exc:
            self._refuse(exc if isinstance(exc, MissingChecks) else MissingChecks(f"{path}: {exc}"), resources)
        self._linked_files = linked_files(os.path.dirname(self._submitted_path(resources)))
        seed = self.seed
        if seed is None:
            seed = seeds_for(self._root(), assignment, [student])[student]

        t0 = time.perf_counter()
        probes = {}
        hidden_cells = []
        for cell in tests:
            gid = cell.metadata.nbgrader.grade_id
            try:
                ctx = prepare(checks, gid, seed)
            except Exception as exc:
                self._refuse(MissingChecks(f"{shown_path(path, self._root())}: the check for {gid!r} raised "
                                           f"{type(exc).__name__}: {exc}"), resources)
            if not ctx.cases:
                self._refuse(MissingChecks(f"{shown_path(path, self._root())}: the check for {gid!r} registers "
                                           "no case (t.case): it would pass every answer"), resources)
            nonce, hidden_nonce = secrets.token_hex(16), secrets.token_hex(16)
            hidden_cell = None
            if ctx.calls_of(hidden=True):
                hidden_cell = new_code_cell(ctx.probe_source(hidden_nonce, hidden=True))
                hidden_cells.append(hidden_cell)
            probes[gid] = (ctx, nonce, hidden_nonce, hidden_cell, cell.source)
            cell.source = ctx.probe_source(nonce)
        # the hidden calls run after the notebook's last cell, one probe cell per test cell
        n_cells = len(nb.cells)
        nb.cells.extend(hidden_cells)
        self._hidden_from = n_cells
        self._probe_cells = {i for i, c in enumerate(nb.cells) if i >= n_cells or is_test_cell(c)}
        self._cell_bytes, self._notebook_bytes = {}, 0
        spent = time.perf_counter() - t0
        try:
            nb, resources = super().preprocess(nb, resources)
        finally:
            del nb.cells[n_cells:]
            for cell in tests:
                cell.source = probes[cell.metadata.nbgrader.grade_id][-1]
        t0 = time.perf_counter()
        # the kernel and every process of the sandbox are gone now: judge
        submitted = self._submitted_cells(resources)
        for cell in tests:
            gid = cell.metadata.nbgrader.grade_id
            ctx, nonce, hidden_nonce, hidden_cell, _ = probes[gid]
            problem = ctx.read_results(cell.outputs, nonce)
            if problem is None and hidden_cell is not None:
                problem = ctx.read_results(hidden_cell.outputs, hidden_nonce, hidden=True)
            verdict = ctx.judge(problem)
            own = _own_run(submitted[gid]) if gid in submitted else None
            comment = None
            if own is True and not verdict.passed:
                comment = (f"{gid}: your saved notebook showed this test passing, but the trusted check "
                           f"failed: {' '.join(verdict.messages)}")
            elif own is False and verdict.passed:
                comment = (f"{gid}: your saved notebook showed this test failing, but the trusted check "
                           "passed (run all cells again before submitting to see the current result).")
            cell.outputs = [_verdict_output(verdict, comment)]
            resources.setdefault(META, {})[gid] = {"passed": verdict.passed, "messages": verdict.messages,
                                                  "own_run": own, "comment": comment}
        if self.stats_file:
            with open(self.stats_file, "a") as fh:
                fh.write(json.dumps({"checks": spent + time.perf_counter() - t0}) + "\n")
        return nb, resources


VERDICT_PASSED = "Trusted check passed"
VERDICT_FAILED = "TrustedCheckFailed"


def is_verdict(output) -> bool:
    """Is this output a trusted verdict (the only output a graded test cell keeps)?"""
    return (output.get("output_type") == "stream" and output.get("text", "").startswith(VERDICT_PASSED)
            or output.get("output_type") == "error" and output.get("ename") == VERDICT_FAILED)


def _verdict_output(verdict, comment):
    if verdict.passed:
        text = f"{VERDICT_PASSED} ({verdict.cases} case{'s' * (verdict.cases != 1)}).\n"
        if comment:
            text += f"Note: {comment}\n"
        return NotebookNode(output_type="stream", name="stdout", text=text)
    lines = list(verdict.messages)
    if comment:
        lines.append(f"Note: {comment}")
    return NotebookNode(output_type="error", ename=VERDICT_FAILED, evalue="\n".join(verdict.messages),
                        traceback=[f"{VERDICT_FAILED}: {line}" for line in lines])


class TrustedComments(NbGraderPreprocessor):
    """Record the trusted checks' notes as automatic comments (runs after ``SaveAutoGrades``)."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook, MissingEntry

        info = resources["nbgrader"]
        verdicts = resources.get(META, {})
        notes: dict[str, list[str]] = {}
        owner = None
        for cell in nb.cells:
            nbg = cell.metadata.get("nbgrader", {})
            if nbg.get("solution"):
                owner = nbg.get("grade_id")
            comment = verdicts.get(nbg.get("grade_id"), {}).get("comment") if is_test_cell(cell) else None
            if comment and owner:
                notes.setdefault(owner, []).append(comment)
        if not notes:
            return nb, resources
        with Gradebook(info["db_url"]) as gb:
            for gid, lines in notes.items():
                try:
                    c = gb.find_comment(gid, info["notebook"], info["assignment"], info["student"])
                except MissingEntry:
                    continue
                c.auto_comment = "\n".join(([c.auto_comment] if c.auto_comment else []) + lines)
            gb.db.commit()
        return nb, resources
