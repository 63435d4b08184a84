"""Class-scale autograding (``mixlearn-course``) against nbgrader's own serial autograde.

One synthetic class of 40 submissions (correct, wrong, stubs, hostile) is graded once
by plain ``nbgrader autograde`` (the oracle; the two submissions that are unsafe to
run without limits are left out of it) and once by ``mixlearn-course autograde
--jobs 2``; the other tests reuse both courses.  The interrupt test grades part of the class
again and compares it with the same oracle.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import nbformat
import pytest

pytest.importorskip("nbgrader")
pytest.importorskip("tqdm")

from mixlearn.course.trusted import is_test_cell  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.course_support import synth  # noqa: E402

N_ORDINARY, UNSAFE = synth.N_ORDINARY, set(synth.UNSAFE)
NBGRADER_FAILS = {"x_invalid_json", "x_kernel_killer"}


course_cli = synth.course_cli


def course_popen(root, *args):
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", "mixlearn.course", *args], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def processes_in(root):
    """Processes whose working directory is inside *root* (kernels run in the course)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + os.sep):
            found.append((int(pid), cwd))
    return found


@pytest.fixture(scope="module")
def courses(synthetic_class):
    base, kinds = synthetic_class["base"], synthetic_class["kinds"]
    parallel = synth.copy_course(base, base + "-parallel")
    t0 = time.monotonic()
    run = course_cli(parallel, "autograde", synth.ASSIGNMENT, "--jobs", "2")
    t_parallel = time.monotonic() - t0
    print(f"\nserial nbgrader: {synthetic_class['t_serial']:.1f} s for {len(kinds) - 2}; "
          f"mixlearn-course --jobs 2: {t_parallel:.1f} s for {len(kinds)}")
    return {"base": base, "serial": synthetic_class["serial"], "parallel": parallel, "kinds": kinds, "run": run}


def _graded_by_nbgrader(root):
    d = os.path.join(root, "autograded")
    return {s for s in os.listdir(d)
            if os.path.exists(os.path.join(d, s, synth.ASSIGNMENT, synth.NOTEBOOK + ".ipynb"))}


def test_parallel_scores_equal_serial_nbgrader(courses):
    serial = synth.gradebook_snapshot(courses["serial"])
    parallel = synth.gradebook_snapshot(courses["parallel"])
    graded_serial = _graded_by_nbgrader(courses["serial"])
    ordinary = {s for s, k in courses["kinds"].items() if s.startswith("s")}
    assert graded_serial == ordinary
    assert set(parallel) == ordinary
    for s in sorted(ordinary):
        assert parallel[s] == serial[s], s
    # the class really is mixed: full marks, zero and partial scores all occur
    scores = {parallel[s]["score"] for s in ordinary}
    assert 0.0 in scores and 6.0 in scores and len(scores) >= 4
    # same autograded notebooks: cell sources, kinds of outputs of the student's cells, and the
    # same pass/fail per test cell (whose only output is now the trusted verdict)
    def outputs(nb):
        kinds = []
        for c in nb.cells:
            outs = c.get("outputs", [])
            if is_test_cell(c):
                kinds.append(any(o["output_type"] == "error" for o in outs))
            else:
                kinds.append([o.get("ename", o["output_type"]) for o in outs])
        return kinds

    for s in sorted(ordinary)[:12]:
        a, b = (nbformat.read(os.path.join(root, "autograded", s, synth.ASSIGNMENT,
                                           synth.NOTEBOOK + ".ipynb"), as_version=4)
                for root in (courses["serial"], courses["parallel"]))
        assert [c.source for c in a.cells] == [c.source for c in b.cells]
        assert outputs(a) == outputs(b), s
        verdicts = [c.outputs for c in b.cells if is_test_cell(c)]
        assert all(len(o) == 1 for o in verdicts)  # nothing of the student's own output survives


def test_tampered_and_looping_submissions_are_graded_like_nbgrader(courses):
    snap = synth.gradebook_snapshot(courses["parallel"])
    tampered = next(s for s, k in courses["kinds"].items() if k == "tampered_test")
    looping = next(s for s, k in courses["kinds"].items() if k == "infinite_loop")
    grades = snap[tampered]["notebooks"][synth.NOTEBOOK]["grades"]
    assert grades["test_square"][0] == 0.0  # the restored test failed the bad square()
    grades = snap[looping]["notebooks"][synth.NOTEBOOK]["grades"]
    assert grades["test_square"][0] == 2.0 and grades["test_mean"][0] == 0.0


def test_failures_fail_alone_with_reasons(courses):
    run = courses["run"]
    assert run.returncode == 1, run.stderr
    summary = run.stderr[run.stderr.index("Failed submissions"):]
    lines = {m.group(1): m.group(2) for m in re.finditer(r"^  (\S+): (.*)$", summary, re.M)}
    assert set(lines) == UNSAFE | NBGRADER_FAILS
    assert "memory limit exceeded" in lines["z_memory_hog"] and "GiB" in lines["z_memory_hog"]
    assert "process limit exceeded" in lines["z_fork_bomb"]
    assert lines["x_invalid_json"].startswith("invalid notebook")
    assert "kernel" in lines["x_kernel_killer"]
    # nothing of theirs reached the gradebook or autograded/ (nbgrader would store silent zeros)
    snap = synth.gradebook_snapshot(courses["parallel"])
    for s in UNSAFE | NBGRADER_FAILS:
        assert s not in snap
        assert not os.path.exists(os.path.join(courses["parallel"], "autograded", s, synth.ASSIGNMENT))
    serial = synth.gradebook_snapshot(courses["serial"])
    for s in NBGRADER_FAILS:
        assert serial[s]["score"] == 0.0  # what plain nbgrader exports for them
    failures = json.load(open(os.path.join(courses["parallel"], ".mixlearn-course",
                                           synth.ASSIGNMENT, "failures.json")))
    assert set(failures) == UNSAFE | NBGRADER_FAILS
    # no process of the fork bomb (or any kernel) survived
    assert processes_in(courses["parallel"]) == []


def test_rerun_grades_only_what_is_missing(courses):
    before = synth.row_counts(courses["parallel"])
    snap = synth.gradebook_snapshot(courses["parallel"])
    run = course_cli(courses["parallel"], "autograde", synth.ASSIGNMENT, "--jobs", "2",
                     "--student", "s*", "--no-progress")
    assert run.returncode == 0, run.stderr
    assert f"{N_ORDINARY} submission(s) already autograded" in run.stderr
    assert synth.row_counts(courses["parallel"]) == before
    assert synth.gradebook_snapshot(courses["parallel"]) == snap


def test_nbgrader_export_reads_our_gradebook(courses):
    proc = synth.run_nbgrader(courses["parallel"], "export", "--to", "grades.csv")
    snap = synth.gradebook_snapshot(courses["parallel"])
    with open(os.path.join(courses["parallel"], "grades.csv")) as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == synth.ASSIGNMENT}
    assert proc.returncode == 0
    for s, rec in snap.items():
        assert float(rows[s]["raw_score"]) == rec["score"]


def test_report_numbers_equal_gradebook(courses):
    root = courses["parallel"]
    run = course_cli(root, "report", synth.ASSIGNMENT)
    assert run.returncode == 0, run.stderr
    snap = synth.gradebook_snapshot(root)
    out = os.path.join(root, "reports", synth.ASSIGNMENT)
    with open(os.path.join(out, "scores.csv")) as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(courses["kinds"])
    for s, rec in snap.items():
        assert rows[s]["status"] == "graded"
        assert float(rows[s]["score"]) == rec["score"]
        for cell, g in rec["notebooks"][synth.NOTEBOOK]["grades"].items():
            if cell.startswith("test_"):
                assert float(rows[s][f"{synth.NOTEBOOK}/{cell}"]) == g[3]
    for s in UNSAFE | NBGRADER_FAILS:
        assert rows[s]["status"] == "failed" and rows[s]["reason"]
    with open(os.path.join(out, "tests.csv")) as fh:
        tests = {r["cell"]: r for r in csv.DictReader(fh)}
    assert set(tests) == {"test_square", "test_square_hidden", "test_mean"}
    for cell, t in tests.items():
        scores = [rec["notebooks"][synth.NOTEBOOK]["grades"][cell][3] for rec in snap.values()]
        points = next(iter(snap.values()))["notebooks"][synth.NOTEBOOK]["grades"][cell][4]
        assert int(t["n"]) == len(scores)
        assert float(t["mean"]) == pytest.approx(sum(scores) / len(scores), abs=1e-12)
        assert float(t["pass_rate"]) == pytest.approx(
            sum(x == points for x in scores) / len(scores), abs=1e-12)
    page = open(os.path.join(out, "report.html")).read()
    assert len(re.findall(r"src='data:image/png;base64,[A-Za-z0-9+/=]{200,}'", page)) == 2
    totals = [rec["score"] for rec in snap.values()]
    m = re.search(r"<span id='mean-score'>([^<]*)</span>", page)
    assert float(m.group(1)) == pytest.approx(sum(totals) / len(totals), rel=1e-3)
    for cell, t in tests.items():
        m = re.search(rf"data-cell='{cell}' data-mean='([^']*)' data-pass-rate='([^']*)'", page)
        assert float(m.group(1)) == float(t["mean"]) and float(m.group(2)) == float(t["pass_rate"])
    for s in UNSAFE | NBGRADER_FAILS:
        assert f"<tr data-student='{s}'><td>{s}</td><td>failed</td>" in page
    hardest = re.search(r"<ol id='hardest'>(.*?)</ol>", page, re.S).group(1)
    worst = min(tests.values(), key=lambda t: float(t["pass_rate"]))["cell"]
    assert re.search(r"<li>(\w+)", hardest).group(1) == worst


def test_feedback_has_no_hidden_tests(courses):
    root = courses["parallel"]
    run = course_cli(root, "feedback", synth.ASSIGNMENT)
    assert run.returncode == 0, run.stderr + run.stdout
    files = []
    for s in sorted(synth.gradebook_snapshot(root)):
        path = os.path.join(root, "feedback", s, synth.ASSIGNMENT, synth.NOTEBOOK + ".html")
        assert os.path.exists(path), s
        files.append((s, open(path).read()))
    for s, page in files:
        assert "square(1.5)" not in page, s
        assert "HIDDEN TESTS" not in page
    wrong_int = next(s for s, k in courses["kinds"].items() if k == "wrong_int")
    page = dict(files)[wrong_int]
    assert "square must work for floats" in page  # the helpful message stays
    assert "Score: 0.0 / 1.0" in page


def test_interrupt_and_rerun_loses_and_duplicates_nothing(courses, tmp_path):
    students = sorted(s for s in courses["kinds"] if s.startswith("s"))[:8]
    root = synth.copy_course(
        courses["base"], str(tmp_path / "interrupted"),
        exclude_students=tuple(s for s in courses["kinds"] if s not in students and s not in UNSAFE))

    def graded_count():
        if not os.path.exists(os.path.join(root, "gradebook.db")):
            return 0
        con = sqlite3.connect(os.path.join(root, "gradebook.db"), timeout=30)
        try:
            return con.execute("SELECT COUNT(*) FROM submitted_assignment").fetchone()[0]
        finally:
            con.close()

    codes = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        # interrupt once two more submissions are committed (so the run is surely under way)
        target = graded_count() + 2
        proc = course_popen(root, "autograde", synth.ASSIGNMENT, "--jobs", "2")
        deadline = time.monotonic() + 120
        while graded_count() < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        codes.append(proc.returncode)
        assert "Interrupted by" in err
        n = graded_count()
        assert target <= n < len(students)
    assert codes == [130, 143]
    run = course_cli(root, "autograde", synth.ASSIGNMENT, "--jobs", "2", "--no-progress")
    assert run.returncode == 1, run.stderr  # the two unsafe submissions fail (alone)
    m = re.search(r"(\d+) submission\(s\) already autograded", run.stderr)
    assert m and 4 <= int(m.group(1)) < len(students)
    assert re.search(r"^  z_memory_hog: memory limit exceeded \(2 GiB\)", run.stderr, re.M)
    assert re.search(r"^  z_fork_bomb: process limit exceeded", run.stderr, re.M)
    counts = synth.row_counts(root)
    n = len(students)
    assert counts == {"student": n, "submitted_assignment": n, "submitted_notebook": n,
                      "grade": n * 4, "comment": n * 3}
    serial = synth.gradebook_snapshot(courses["serial"])
    snap = synth.gradebook_snapshot(root)
    assert snap == {s: serial[s] for s in students}
    assert sorted(os.listdir(os.path.join(root, "autograded"))) == students
    assert processes_in(root) == []
    leftovers = [d for d in os.listdir(os.path.join(root, ".mixlearn-course")) if d.startswith("run-")]
    assert leftovers == []
