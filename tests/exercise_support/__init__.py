"""Helpers for the exercise tests: run a solution notebook's cells in this process, swap a
solution cell for a kept mistake, and build an nbgrader course in a temporary directory.

Running the cells in-process is how the many mistake fixtures are checked cheaply: the test
cells are executed exactly as written in the notebook, only without a kernel. A few of the same
mistakes also go through real ``nbgrader autograde`` (tests/test_exercises_nbgrader.py), which
confirms that both ways give the same scores.
"""

import contextlib
import importlib.util
import os
import re
import shutil
import signal
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
SUPPORT = Path(__file__).resolve().parent
MISTAKES = SUPPORT / "mistakes"
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.M | re.S)


def load_script(name):
    """Import ``scripts/<name>.py`` (the authoring and release scripts) as a module."""
    spec = importlib.util.spec_from_file_location(f"mixlearn_scripts_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def solution_path(assignment):
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def release_path(assignment):
    return ROOT / "exercises" / assignment / f"{assignment}.ipynb"


def load_solution(assignment):
    return nbformat.read(solution_path(assignment), as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def is_test_cell(cell):
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("grade", False) and not meta.get("solution", False)


def is_solution_code_cell(cell):
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("solution", False) and not meta.get("grade", False)


def grade_points(nb):
    """{grade_id: points} of the autograder test cells."""
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"]) for c in nb.cells if is_test_cell(c)}


def strip_hidden(source):
    return HIDDEN.sub("", source)


@dataclass
class Outcome:
    passed: bool
    ename: str = ""
    message: str = ""


@dataclass
class Mistake:
    assignment: str
    cell: str  # grade_id of the solution cell the mistake replaces
    name: str
    path: Path

    @property
    def source(self):
        return self.path.read_text()

    @property
    def description(self):
        match = re.match(r'\s*"""(.*?)"""', self.source, re.S)
        return " ".join(match.group(1).split()) if match else ""

    @property
    def kind(self):
        """'mistake' (a wrong answer), 'hardcoded' (fits only the visible tests) or 'shortcut' (calls mixlearn)."""
        for kind in ("hardcoded", "shortcut"):
            if self.name.startswith(kind):
                return kind
        return "mistake"

    def __str__(self):
        return f"{self.assignment}/{self.cell}--{self.name}"


def mistakes():
    """All kept mistakes: files ``mistakes/<assignment>/<solution cell>--<name>.py``."""
    found = []
    for assignment in ASSIGNMENTS:
        for path in sorted((MISTAKES / assignment).glob("*.py")):
            cell, _, name = path.stem.partition("--")
            found.append(Mistake(assignment, cell, name, path))
    return found


@contextlib.contextmanager
def _quiet_environment():
    """Like a fresh kernel: warnings are not errors, plots go nowhere, cwd is the notebook's."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    old_cwd = os.getcwd()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            os.chdir(old_cwd)
            if "matplotlib.pyplot" in sys.modules:
                sys.modules["matplotlib.pyplot"].close("all")


class CellTimeout(Exception):
    """A cell ran longer than the limit (as nbgrader's per-cell timeout would interrupt it)."""


@contextlib.contextmanager
def _time_limit(seconds):
    def interrupt(signum, frame):
        raise CellTimeout(f"cell ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_in_process(nb, replace=None, visible_only=False, cwd=None, cell_timeout=20):
    """Execute the code cells of ``nb`` in order in one fresh namespace, as a kernel would.

    ``replace`` maps a solution cell's grade_id to the source that takes its place (a mistake).
    With ``visible_only`` the hidden-test regions are removed first (what a student can run).
    Returns ``{grade_id: Outcome}`` for the autograder test cells; an error in any cell is
    recorded and execution goes on (nbgrader's ``allow_errors``); a cell running longer than
    ``cell_timeout`` seconds is interrupted, like nbgrader's per-cell timeout.
    """
    replace = dict(replace or {})
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    outcomes = {}
    with _quiet_environment():
        os.chdir(cwd or ROOT)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            grade_id = nbgrader_meta(cell).get("grade_id")
            source = replace.pop(grade_id, cell.source) if grade_id else cell.source
            if visible_only:
                source = strip_hidden(source)
            try:
                with _time_limit(cell_timeout):
                    exec(compile(source, f"<cell {grade_id or cell.get('id')}>", "exec"), namespace)
                outcome = Outcome(True)
            except Exception as exc:  # noqa: BLE001 - a failing cell is a result, not an error here
                outcome = Outcome(False, type(exc).__name__, str(exc) or traceback.format_exc(limit=1))
            if is_test_cell(cell):
                outcomes[grade_id] = outcome
    if replace:
        raise KeyError(f"no cells with grade_id {sorted(replace)} in the notebook")
    return outcomes


def score(nb, outcomes):
    points = grade_points(nb)
    return sum(points[g] for g, o in outcomes.items() if o.passed)


# --------------------------------------------------------------------------------------------
# nbgrader course in a temporary directory


def nbgrader_env():
    """Environment for nbgrader: it runs ``alembic`` and kernels, found through PATH."""
    bin_dir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + path
    os.environ.setdefault("MPLBACKEND", "Agg")


def make_course(root, assignments=ASSIGNMENTS, extra_config=""):
    """Copy the course config and solutions into ``root``; return the path."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    config = (ROOT / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(config + "\n" + extra_config)
    for assignment in assignments:
        shutil.copytree(ROOT / "solutions" / assignment, root / "solutions" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return root


def nbgrader_api(root):
    """An ``NbGraderAPI`` for the course in ``root``, configured by its nbgrader_config.py."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    nbgrader_env()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def release_from_solution_cells(release_nb, solution_nb, replace=None):
    """A submission: the release with every solution cell filled in from ``solution_nb``.

    ``replace`` maps grade_ids to sources used instead (mistakes, endless loops, ...). The
    solution markers are removed, as a student's notebook would not have them.
    """
    sources = {nbgrader_meta(c).get("grade_id"): c.source for c in solution_nb.cells}
    replace = replace or {}
    nb = nbformat.from_dict(release_nb)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            gid = meta["grade_id"]
            source = replace.get(gid, sources[gid])
            cell.source = "\n".join(line for line in source.splitlines()
                                    if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
    return nb
