"""A term as an instructor runs it, through the command line only, with one final number per student.

One assignment of the synthetic toy course (2 + 1 + 3 points checked automatically, 1 point
written answer graded by hand), a due date, nbgrader's "zero" late penalty, and a class of six:

* ``ada``  correct, on time, written answer graded 1          → 7
* ``bob``  correct, 3 hours late, graded 1 by hand            → 0 (late: zero)
* ``cy``   correct, 3 hours late but a 48-hour extension, 1    → 7
* ``dan``  first a wrong mean (3 of 6), then resubmits a correct notebook, written answer 0 → 6
* ``fay``  correct, downloaded twice by the browser (``toy (1).ipynb``), written answer not graded
  yet → 6 for now, and listed as left to grade by hand
* ``eve``  a notebook that is not JSON: not collected, listed with its reason

The final numbers are computed by hand above; every output must show them: ``report``'s
``scores.csv`` and HTML, the feedback, ``nbgrader export`` and the LMS exports.
"""

from __future__ import annotations

import csv
import os
import re
import shutil

import nbformat
import pytest

pytest.importorskip("nbgrader")
pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

from tests.course_support import synth  # noqa: E402

A = synth.ASSIGNMENT
DUE = "2026-11-28 12:00:00 UTC"
FINAL = {"ada": 7.0, "bob": 0.0, "cy": 7.0, "dan": 6.0, "fay": 6.0}
RAW = {"ada": 7.0, "bob": 7.0, "cy": 7.0, "dan": 6.0, "fay": 6.0}
MANUAL = {"ada": 1.0, "bob": 1.0, "cy": 1.0, "dan": 0.0}      # fay: not graded yet


cli = synth.course_cli


def _download(folder, notebooks: dict, raw: dict = None):
    for student, nb in notebooks.items():
        name = "toy (1).ipynb" if student == "fay" else "toy.ipynb"
        (folder / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(folder / student / name))
    for student, text in (raw or {}).items():
        (folder / student).mkdir(parents=True, exist_ok=True)
        (folder / student / "toy.ipynb").write_text(text)


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    base = tmp_path_factory.mktemp("term")
    root = base / "course"
    synth.make_course(str(root), timeout=5)
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    synth.run_nbgrader(str(root), "db", "assignment", "add", A, f"--duedate={DUE}")
    release = synth.release_notebook(str(root))
    good = synth.VARIANTS["correct"](release)
    log = {}

    # 1. collect: one broken download, one renamed by the browser
    drop = base / "download"
    _download(drop, {"ada": good, "bob": good, "cy": good, "dan": synth.VARIANTS["wrong_mean_count"](release),
                     "fay": good}, raw={"eve": "{this is not a notebook"})
    times = base / "times.csv"
    times.write_text("ada,2026-11-28 11:00:00 UTC\nbob,2026-11-28 15:00:00 UTC\ncy,2026-11-28 15:00:00 UTC\n"
                     "dan,2026-11-28 11:00:00 UTC\neve,2026-11-28 11:00:00 UTC\nfay,2026-11-28 11:30:00 UTC\n")
    log["collect"] = cli(root, "collect", A, str(drop), "--timestamps", str(times))
    log["extension"] = cli(root, "extension", A, "cy", "--hours", "48")

    # 2. autograde, then dan resubmits
    log["autograde"] = cli(root, "autograde", A, "--jobs", "2", "--no-progress")
    log["first_scores"] = synth.gradebook_snapshot(str(root))
    again = base / "download2"
    _download(again, {"dan": good})
    (base / "times2.csv").write_text("dan,2026-11-28 11:45:00 UTC\n")
    log["recollect"] = cli(root, "collect", A, str(again), "--timestamps", str(base / "times2.csv"), "--force")
    log["regrade"] = cli(root, "autograde", A, "--jobs", "2", "--no-progress")

    # 3. manual grades, entered as formgrader would (nbgrader's Gradebook API)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "synthetic") as gb:
        for student, points in MANUAL.items():
            grade = gb.find_grade("explain", synth.NOTEBOOK, A, student)
            grade.manual_score = points
            grade.needs_manual_grade = False
        gb.db.commit()

    # 4. the outputs
    log["report"] = cli(root, "report", A)
    log["feedback"] = cli(root, "feedback", A)
    roster = base / "roster.csv"
    roster.write_text("student,name,email,canvas_id,moodle_id\n" + "".join(
        f"{s},{s.title()} Tester,{s}@example.org,{100 + i},{500 + i}\n"
        for i, s in enumerate(["ada", "bob", "cy", "dan", "eve", "fay"])))
    log["canvas"] = cli(root, "export", A, "--format", "canvas", "--roster", str(roster),
                        "--canvas-assignment", "Toy (77)")
    log["moodle"] = cli(root, "export", A, "--format", "moodle", "--roster", str(roster),
                        "--moodle-item", "Assignment: Toy", "--feedback")
    log["export"] = synth.run_nbgrader(str(root), "export", "--to", str(base / "nbgrader_export.csv"), check=False)
    return root, base, log


def _ok(run):
    return run.returncode, (run.stdout + run.stderr)[-3000:]


def test_collect_takes_what_it_can(term):
    root, _, log = term
    code, out = _ok(log["collect"])
    assert code == 1, out                      # one download was invalid: said, and a non-zero exit
    assert "eve" in log["collect"].stderr
    assert ".mixlearn-course" not in out
    assert sorted(os.listdir(root / "submitted")) == ["ada", "bob", "cy", "dan", "fay"]
    assert (root / "submitted" / "fay" / A / "toy.ipynb").is_file()
    assert log["extension"].returncode == 0, _ok(log["extension"])


def test_autograde_then_a_resubmission_is_regraded_alone(term):
    root, _, log = term
    assert log["autograde"].returncode == 0, _ok(log["autograde"])
    first = log["first_scores"]
    assert first["dan"]["score"] == 3.0 and first["ada"]["score"] == 6.0
    assert log["recollect"].returncode == 0, _ok(log["recollect"])
    regrade = log["regrade"]
    assert regrade.returncode == 0, _ok(regrade)
    assert "1 submission(s) changed since they were graded" in regrade.stderr
    assert re.search(r"\b1 graded, 0 failed, 4 already graded", regrade.stderr), regrade.stderr


def test_report_shows_the_final_number_and_what_is_left_to_grade(term):
    root, _, log = term
    assert log["report"].returncode == 0, _ok(log["report"])
    out = root / "reports" / A
    with open(out / "scores.csv") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert {s: float(rows[s]["score"]) for s in FINAL} == FINAL
    assert {s: float(rows[s]["raw_score"]) for s in RAW} == RAW
    assert float(rows["bob"]["late_penalty"]) == 7.0 and float(rows["cy"]["late_penalty"]) == 0.0
    assert rows["fay"]["cells_to_grade_by_hand"] == "1" and rows["ada"]["cells_to_grade_by_hand"] == "0"
    page = (out / "report.html").read_text()
    for s, final in FINAL.items():
        assert f"<tr data-student='{s}' data-score='{final!r}'>" in page
    manual = re.search(r"<table id='manual'>(.*?)</table>", page, re.S).group(1)
    assert "fay" in manual and "ada" not in manual


def test_nbgrader_export_agrees(term):
    _, base, log = term
    assert log["export"].returncode == 0, _ok(log["export"])
    with open(base / "nbgrader_export.csv") as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == A}
    assert {s: float(rows[s]["score"]) for s in FINAL} == FINAL


def test_feedback_shows_the_final_number(term):
    root, _, log = term
    assert log["feedback"].returncode == 0, _ok(log["feedback"])
    for s, final in FINAL.items():
        page = (root / "feedback" / s / A / f"{synth.NOTEBOOK}.html").read_text()
        total = re.search(r'<h4 id="total">[^(]*\(Score: ([0-9.]+) / ([0-9.]+)', page)
        assert total and float(total.group(1)) == final and float(total.group(2)) == 7.0, (s, total)
    fay = (root / "feedback" / "fay" / A / f"{synth.NOTEBOOK}.html").read_text()
    assert "not graded yet" in fay
    assert "feedback: 5 written" in log["feedback"].stdout + log["feedback"].stderr
    assert "fay" in log["feedback"].stderr   # warned: a written answer not graded yet


def test_lms_files_carry_the_same_numbers(term):
    """Canvas's gradebook import and Moodle's grade import: the final number for every student whose
    grade is complete; fay's (a written answer still to grade by hand) is left blank and said so;
    eve, who has no collected submission, gets 0 as nbgrader export gives."""
    from mixlearn.course.lms import CANVAS_STUDENT_COLUMNS, MOODLE_USER_COLUMNS

    root, _, log = term
    assert log["canvas"].returncode == 0, _ok(log["canvas"])
    assert log["moodle"].returncode == 0, _ok(log["moodle"])
    out = root / "reports" / A
    with open(out / "canvas_grades.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0][:5]) == CANVAS_STUDENT_COLUMNS and rows[0][5] == "Toy (77)"
    canvas = {r[1]: r[5] for r in rows[1:] if r[0].strip() != "Points Possible"}
    with open(out / "moodle_grades.csv", newline="") as fh:
        mrows = list(csv.DictReader(fh))
    assert tuple(list(mrows[0])[:6]) == MOODLE_USER_COLUMNS
    moodle = {r["Email address"].split("@")[0]: r["Assignment: Toy (Real)"] for r in mrows}
    for i, s in enumerate(["ada", "bob", "cy", "dan", "eve", "fay"]):
        expected = "" if s == "fay" else FINAL.get(s, 0.0)
        got_canvas, got_moodle = canvas[str(100 + i)], moodle[s]
        if expected == "":
            assert got_canvas == "" and got_moodle == "", s
        else:
            assert float(got_canvas) == expected and float(got_moodle) == expected, (s, got_canvas, got_moodle)
    assert "fay" in log["canvas"].stderr
    assert (out / "moodle_feedback.zip").is_file()
