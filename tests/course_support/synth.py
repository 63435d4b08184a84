"""A small synthetic nbgrader course and class of submissions for the course-CLI tests.

The assignment is deliberately tiny (no numpy import in the graded code) so that the
cost of a submission is dominated by starting its kernel; the grading machinery is
the same as for the real exercises.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ASSIGNMENT = "toy"
NOTEBOOK = "toy"

CONFIG = """\
c = get_config()
c.CourseDirectory.course_id = "synthetic"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.Execute.timeout = {timeout}
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "trusted_checks.py"]
"""


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    md = {"grade": grade, "grade_id": grade_id, "locked": locked,
          "schema_version": 3, "solution": solution, "task": False}
    if points is not None:
        md["points"] = points
    return {"nbgrader": md}


SOLUTION_SQUARE = "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"
SOLUTION_MEAN = ("def mean_of(xs):\n    ### BEGIN SOLUTION\n    xs = list(xs)\n"
                 "    return sum(xs) / len(xs)\n    ### END SOLUTION")
HIDDEN_MARK = "assert square(1.5) == 2.25, 'square must work for floats'"


# The toy assignment's trusted checks (mixlearn-course grades with them; they mirror the asserts).
TRUSTED_CHECKS = """\
from mixlearn.course.checks import Range, check, expect


def _equal(what, expected):
    def judge(got):
        expect(isinstance(got, (int, float)) and got == expected, f"{what} should be {expected!r}, got {got!r}")
    return judge


@check("test_square")
def _(t):
    t.case("square(3)", _equal("square(3)", 9), t.call("square", 3))


@check("test_square_hidden")
def _(t):
    t.case("square(-2)", _equal("square(-2)", 4), t.call("square", -2))
    x = float(t.rng.integers(1, 40)) / 8 + 0.125
    t.case("square must work for floats", _equal("square", x * x), t.call("square", x), hidden=True)
    t.case("square must work for floats", _equal("square", 2.25), t.call("square", 1.5), hidden=True)


@check("test_mean")
def _(t):
    t.case("mean_of([1, 2, 3])", _equal("mean_of([1, 2, 3])", 2), t.call("mean_of", [1, 2, 3]))
    t.case("mean_of(range(5))", _equal("mean_of(range(5))", 2), t.call("mean_of", Range(5)))
"""


def write_checks(root) -> None:
    with open(os.path.join(root, "source", ASSIGNMENT, "trusted_checks.py"), "w") as fh:
        fh.write(TRUSTED_CHECKS)


def source_notebook():
    cells = [
        new_markdown_cell("# Toy assignment\nWrite two small functions.",
                          metadata=_meta("intro", locked=True)),
        new_code_cell(SOLUTION_SQUARE, metadata=_meta("square", solution=True)),
        new_code_cell("assert square(3) == 9, 'square(3) should be 9'",
                      metadata=_meta("test_square", grade=True, locked=True, points=2)),
        new_code_cell("assert square(-2) == 4, 'square(-2) should be 4'\n"
                      "### BEGIN HIDDEN TESTS\n" + HIDDEN_MARK + "\n### END HIDDEN TESTS",
                      metadata=_meta("test_square_hidden", grade=True, locked=True, points=1)),
        new_code_cell(SOLUTION_MEAN, metadata=_meta("mean", solution=True)),
        new_code_cell("assert mean_of([1, 2, 3]) == 2, 'mean_of([1, 2, 3]) should be 2'\n"
                      "assert mean_of(range(5)) == 2, 'mean_of must accept any iterable'",
                      metadata=_meta("test_mean", grade=True, locked=True, points=3)),
        new_markdown_cell("Explain in one sentence why squaring is useful.",
                          metadata=_meta("explain_q", locked=True)),
        new_markdown_cell("YOUR ANSWER HERE",
                          metadata=_meta("explain", grade=True, solution=True, points=1)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def course_folder(root, timeout: int = 5):
    """The course's files only (configuration, source notebook, trusted checks): nothing released or
    recorded in a gradebook yet."""
    os.makedirs(os.path.join(root, "source", ASSIGNMENT), exist_ok=True)
    with open(os.path.join(root, "nbgrader_config.py"), "w") as fh:
        fh.write(CONFIG.format(timeout=timeout))
    nbformat.write(source_notebook(), os.path.join(root, "source", ASSIGNMENT, NOTEBOOK + ".ipynb"))
    write_checks(root)
    return root


def make_course(root: str, timeout: int = 3) -> str:
    """Create the course, record the assignment in the gradebook and release it."""
    course_folder(root, timeout)
    run_nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    return root


def course_cli(root, *args, timeout=600):
    """``mixlearn-course ARGS`` in a new interpreter, in the course folder *root*."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "mixlearn.course", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout)


def run_nbgrader(root, *args, check=True):
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env,
                          check=check, capture_output=True, text=True)


def release_notebook(root):
    return nbformat.read(os.path.join(root, "release", ASSIGNMENT, NOTEBOOK + ".ipynb"),
                         as_version=4)


def _fill(nb, square=None, mean=None, answer=None, edit=None):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "square" and square is not None:
            cell.source = square
        elif gid == "mean" and mean is not None:
            cell.source = mean
        elif gid == "explain" and answer is not None:
            cell.source = answer
        if edit and gid in edit:
            cell.source = edit[gid]
    return nb


GOOD_SQUARE = "def square(x):\n    return x * x"
GOOD_MEAN = "def mean_of(xs):\n    xs = list(xs)\n    return sum(xs) / len(xs)"

# (kind, builder) pairs; builders take the release notebook
VARIANTS = {
    "correct": lambda nb: _fill(nb, GOOD_SQUARE, GOOD_MEAN, "Because."),
    "correct_noanswer": lambda nb: _fill(nb, GOOD_SQUARE, GOOD_MEAN),
    "stub": lambda nb: _fill(nb),
    "wrong_double": lambda nb: _fill(nb, "def square(x):\n    return 2 * x", GOOD_MEAN),
    "wrong_abs": lambda nb: _fill(nb, "def square(x):\n    return abs(x) * x", GOOD_MEAN),
    "wrong_int": lambda nb: _fill(nb, "def square(x):\n    return int(x) ** 2", GOOD_MEAN),
    "hardcoded": lambda nb: _fill(
        nb, "def square(x):\n    return {3: 9, -2: 4}[x]", GOOD_MEAN),
    "wrong_mean_list": lambda nb: _fill(
        nb, GOOD_SQUARE, "def mean_of(xs):\n    return sum(xs) / len(xs)"),
    "wrong_mean_count": lambda nb: _fill(
        nb, GOOD_SQUARE, "def mean_of(xs):\n    xs = list(xs)\n    return sum(xs) / (len(xs) - 1)"),
    "syntax_error": lambda nb: _fill(nb, "def square(x)\n    return x * x", GOOD_MEAN),
    # hostile but gradable by nbgrader
    "infinite_loop": lambda nb: _fill(nb, GOOD_SQUARE, "while True:\n    pass"),
    "tampered_test": lambda nb: _fill(nb, "def square(x):\n    return 0", GOOD_MEAN,
                                      edit={"test_square": "pass",
                                            "test_square_hidden": "pass"}),
    "prints_a_lot": lambda nb: _fill(
        nb, "for i in range(5000):\n    print(i)\n" + GOOD_SQUARE, GOOD_MEAN),
}

# hostile submissions that must fail (alone) with a reason
KILLER = lambda nb: _fill(nb, "import os\nos._exit(3)", GOOD_MEAN)  # noqa: E731
MEMORY_HOG = lambda nb: _fill(  # noqa: E731
    nb, "blob = bytearray(50 * 1024 ** 3)  # 50 GB\n" + GOOD_SQUARE, GOOD_MEAN)
# forks a bounded tree (at most ~600 processes even without any limit) that stays alive
FORK_BOMB = lambda nb: _fill(nb, (  # noqa: E731
    "import os, time\n"
    "for _ in range(600):\n"
    "    if os.fork() == 0:\n"
    "        time.sleep(60)\n"
    "        os._exit(0)\n"
    + GOOD_SQUARE), GOOD_MEAN)


def write_submission(root, student, nb=None, raw: str | None = None, timestamp=None):
    d = os.path.join(root, "submitted", student, ASSIGNMENT)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, NOTEBOOK + ".ipynb")
    if raw is not None:
        with open(path, "w") as fh:
            fh.write(raw)
    else:
        nbformat.write(nb, path)
    if timestamp:
        with open(os.path.join(d, "timestamp.txt"), "w") as fh:
            fh.write(timestamp)
    return path


# the synthetic class shared by tests/test_course_class.py and tests/test_course_cluster.py
N_ORDINARY = 36  # + 2 hostile that nbgrader also fails + 2 unsafe ones = 40
UNSAFE = ("z_memory_hog", "z_fork_bomb")


def make_class(root, n: int = 40, hostile: bool = True) -> dict:
    """Write *n* ordinary submissions (+ hostile ones) and return {student: kind}."""
    rel = release_notebook(root)
    kinds = list(VARIANTS)
    out = {}
    for i in range(n):
        kind = kinds[i % len(kinds)]
        student = f"s{i:03d}_{kind}"
        write_submission(root, student, VARIANTS[kind](rel),
                         timestamp=f"2026-01-{1 + i % 28:02d} 10:00:00.000000 UTC")
        out[student] = kind
    if hostile:
        write_submission(root, "x_invalid_json", raw='{"cells": [ this is not json')
        out["x_invalid_json"] = "invalid_json"
        write_submission(root, "x_kernel_killer", KILLER(rel))
        out["x_kernel_killer"] = "kernel_killer"
    return out


def add_unsafe(root) -> dict:
    """Submissions that are only ever graded with limits (never by plain nbgrader)."""
    rel = release_notebook(root)
    write_submission(root, "z_memory_hog", MEMORY_HOG(rel))
    write_submission(root, "z_fork_bomb", FORK_BOMB(rel))
    return {"z_memory_hog": "memory_hog", "z_fork_bomb": "fork_bomb"}


def copy_course(src, dst, exclude_students=()):
    def ignore(path, names):
        if os.path.basename(path) == "submitted":
            return [n for n in names if n in exclude_students]
        return []
    shutil.copytree(src, dst, ignore=ignore, symlinks=True)
    return dst


def gradebook_snapshot(root, assignment=ASSIGNMENT, course_id="synthetic", url=None):
    """Everything autograde stores for an assignment, keyed by student (via nbgrader's API).

    *url*: another gradebook database than the course's SQLite ``gradebook.db``.
    """
    from nbgrader.api import Gradebook

    url = url or "sqlite:///" + os.path.join(root, "gradebook.db")
    out = {}
    with Gradebook(url, course_id) as gb:
        for sub in gb.assignment_submissions(assignment):
            rec = {"timestamp": sub.timestamp, "notebooks": {}}
            for nb in sub.notebooks:
                rec["notebooks"][nb.name] = {
                    "late_penalty": nb.late_submission_penalty,
                    "grades": {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade,
                                        g.score, g.max_score) for g in nb.grades},
                    "comments": {c.name: (c.auto_comment, c.manual_comment) for c in nb.comments},
                    "score": nb.score,
                }
            rec["score"] = sub.score
            out[sub.student_id] = rec
    return out


def row_counts(root):
    import sqlite3

    con = sqlite3.connect(os.path.join(root, "gradebook.db"))
    try:
        return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("student", "submitted_assignment", "submitted_notebook",
                          "grade", "comment")}
    finally:
        con.close()
