"""``mixlearn-course export``: grades and feedback in the files Canvas and Moodle import.

A small class of the synthetic toy course is collected with submission times (one student late,
one late but within an extension), autograded with nbgrader's "zero" late penalty, one written
answer is graded by hand and one is left to grade, and the feedback is generated.  The exports
are then checked against the columns the platforms document, against ``final_grades`` and against
``nbgrader export``'s own ``score`` column.
"""

from __future__ import annotations

import csv
import datetime
import os
import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest

pytest.importorskip("nbgrader")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.course_support import synth  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

A = synth.ASSIGNMENT

# The columns each platform documents for its import.
# Canvas, "How do I import grades in the Gradebook?" (Student Name, Student ID, SIS User ID, SIS Login ID,
# Section, then the assignments):
#   https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807
# as Canvas's exporter writes and its importer reads them (header row, then a "Points Possible" row; an
# assignment column is "Title (id)"):
#   https://github.com/instructure/canvas-lms/blob/master/lib/gradebook_exporter.rb
#   https://github.com/instructure/canvas-lms/blob/master/lib/gradebook_importer.rb
CANVAS_DOCUMENTED_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_POSSIBLE = "Points Possible"
# Moodle, "Grade import": "The import file format is the same as the corresponding export format":
#   https://docs.moodle.org/311/en/Grade_import
# the plain-text export's columns (default grade_export_userprofilefields, then "<item> (Real)" and
# "<item> (Feedback)"):
#   https://github.com/moodle/moodle/blob/main/grade/export/txt/grade_export_txt.php
MOODLE_DOCUMENTED_COLUMNS = ("First name", "Last name", "ID number", "Institution", "Department", "Email address")
MOODLE_ITEM = "Assignment: Toy assignment"
CANVAS_COLUMN = "Toy assignment (4242)"

DUE = datetime.datetime(2026, 1, 15, 0, 0, 0)
CLASS = {  # student: (variant, submission time)
    "ada": ("correct_noanswer", "2026-01-10 09:00:00 UTC"),
    "bob": ("correct_noanswer", "2026-01-16 12:00:00 UTC"),      # 1 d 12 h late: "zero" penalty
    "cyd": ("correct_noanswer", "2026-01-16 12:00:00 UTC"),      # as late, but a 2-day extension
    "dee": ("correct", "2026-01-12 10:00:00 UTC"),               # written answer, graded by hand below
    "eve": ("correct", "2026-01-12 10:00:00 UTC"),               # written answer, left to grade
    "fay": ("wrong_double", "2026-01-13 10:00:00 UTC"),          # partial score
    "zed": ("correct_noanswer", "2026-01-13 10:00:00 UTC"),      # not in the roster
}
ROSTER = [  # student, name, email, canvas_id, sis_id, login_id, section, moodle_id
    ("ada", "Ada Lovelace", "ada@example.edu", "1001", "S1", "ada", "A", "501"),
    ("bob", "Bob Babbage", "bob@example.edu", "1002", "S2", "bob", "A", "502"),
    ("cyd", "Cyd Charisse", "cyd@example.edu", "1003", "S3", "cyd", "B", "503"),
    ("dee", "Dee Dee_Ramone", "dee@example.edu", "1004", "S4", "dee", "B", "504"),
    ("eve", "Eve Online", "eve@example.edu", "1005", "S5", "eve", "B", "505"),
    ("fay", "Fay Wray", "fay@example.edu", "1006", "S6", "fay", "A", "506"),
    ("gil", "Gil Absent", "gil@example.edu", "1007", "S7", "gil", "A", ""),   # never submitted
]
# Canvas's Download Submissions zip: <name>_[LATE_]<user id>_<attachment id>_<file>
CANVAS_DOWNLOAD = ["lovelaceada_1001_9001_toy.ipynb", "babbagebob_LATE_1002_9002_toy.ipynb",
                   "charissecyd_LATE_1003_9003_toy.ipynb", "ramonedee_1004_9004_notes.txt",
                   "ramonedee_1004_9005_toy-1.ipynb", "onlineeve_1005_9006_toy.ipynb"]   # fay: no file on Canvas


def course_cli(root, *args, timeout=300):
    return synth.course_cli(root, *args, timeout=timeout)


def export_cli(root, *args):
    """``mixlearn-course export`` in this process (cheaper than a new interpreter per call)."""
    import contextlib
    import io

    from mixlearn.course.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["export", *args, "--course", root])
    return subprocess.CompletedProcess(["export", *args], code, out.getvalue(), err.getvalue())


def _gradebook(root):
    from nbgrader.api import Gradebook

    return Gradebook("sqlite:///" + os.path.join(root, "gradebook.db"), "synthetic")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    base = tmp_path_factory.mktemp("lms")
    root = str(base / "course")
    synth.make_course(root, timeout=5)
    with open(os.path.join(root, "nbgrader_config.py"), "a") as fh:
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    with _gradebook(root) as gb:
        gb.update_or_create_assignment(A, duedate=DUE)
        gb.update_or_create_student("gil", first_name="Gil", last_name="Absent")
    rel = synth.release_notebook(root)
    drop = base / "drop"
    for student, (kind, _) in CLASS.items():
        (drop / student).mkdir(parents=True)
        nbformat.write(synth.VARIANTS[kind](rel), str(drop / student / f"{synth.NOTEBOOK}.ipynb"))
    times = base / "times.csv"
    times.write_text("student,time\n" + "".join(f"{s},{t}\n" for s, (_, t) in CLASS.items()))
    run = course_cli(root, "collect", A, str(drop), "--timestamps", str(times))
    for student, (_, stamp) in CLASS.items():   # the submission times nbgrader's late penalty reads
        with open(os.path.join(root, "submitted", student, A, "timestamp.txt")) as fh:
            assert fh.read() == stamp, run.stdout + run.stderr
    run = course_cli(root, "autograde", A, "--jobs", "2", "--no-progress")
    assert run.returncode == 0, run.stderr
    with _gradebook(root) as gb:
        gb.grant_extension(A, "cyd", days=2)            # after grading: cyd's stored "zero" penalty is stale
        g = gb.find_grade("explain", synth.NOTEBOOK, A, "dee")
        g.manual_score = 1.0                            # what formgrader stores for a hand grade
        g.needs_manual_grade = False
        gb.db.commit()
        assert gb.find_submission(A, "cyd").late_submission_penalty == 6.0
    roster = base / "roster.csv"
    with open(roster, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "name", "email", "canvas_id", "sis_id", "login_id", "section", "moodle_id"])
        w.writerows(ROSTER)
    # the first command after the extension: the export itself must bring the late penalty up to date
    canvas = course_cli(root, "export", A, "--format", "canvas", "--roster", str(roster),
                        "--canvas-assignment", CANVAS_COLUMN)
    run = course_cli(root, "feedback", A)
    assert run.returncode == 0, run.stderr
    download = base / "canvas_download.zip"
    with zipfile.ZipFile(download, "w") as zf:
        for name in CANVAS_DOWNLOAD:
            zf.writestr(name, "{}")
    proc = synth.run_nbgrader(root, "export", "--to", "nbgrader_grades.csv")
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(root, "nbgrader_grades.csv")) as fh:
        nbgrader_scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh) if r["assignment"] == A}
    return {"root": root, "roster": str(roster), "download": str(download), "nbgrader": nbgrader_scores,
            "base": base, "canvas_run": canvas}


def _final(root):
    from mixlearn.course.common import load_nbgrader_config, submitted_students
    from mixlearn.course.grades import final_grades

    _, cd = load_nbgrader_config(root)
    with _gradebook(root) as gb:
        return final_grades(gb, A, submitted_on_disk=submitted_students(cd, A))


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_the_class_is_graded_as_planned(course):
    fg = _final(course["root"])
    assert fg["bob"].late and fg["bob"].raw == 6.0 and fg["bob"].final == 0.0       # "zero" penalty
    assert not fg["cyd"].late and fg["cyd"].extension == datetime.timedelta(days=2) and fg["cyd"].final == 6.0
    assert fg["dee"].manual_left == 0 and fg["dee"].final == 7.0                     # 6 + the hand grade
    assert fg["eve"].manual_left == 1
    assert 0 < fg["fay"].final < 6
    assert fg["gil"].status == "missing"
    for s, g in fg.items():                                                           # one number for all
        assert (g.final or 0.0) == course["nbgrader"][s], s


def test_canvas_grades_file(course):
    root = course["root"]
    run = course["canvas_run"]   # `python -m mixlearn.course export ...`, run before anything else refreshed
    assert run.returncode == 0, run.stderr
    out = os.path.join(root, "reports", A)
    rows = _read(os.path.join(out, "canvas_grades.csv"))
    header, points, body = rows[0], rows[1], rows[2:]
    assert tuple(header[:5]) == CANVAS_DOCUMENTED_COLUMNS and header[5:] == [CANVAS_COLUMN]
    assert points[0].strip() == CANVAS_POINTS_POSSIBLE and float(points[5]) == 7.0
    assert [r[1] for r in body] == [r[3] for r in ROSTER]                             # one row per roster student
    fg = _final(root)
    by_id = {r[1]: r for r in body}
    for s, name, _, cid, sis, login, section, _ in ROSTER:
        row = by_id[cid]
        assert row[:5] == [name, cid, sis, login, section]
        if s == "eve":
            assert row[5] == ""                                                        # still to grade by hand
        else:
            assert float(row[5]) == (fg[s].final or 0.0) == course["nbgrader"][s], s
    assert "zed" not in run.stdout and "zed" in run.stderr                            # not in the roster: warned
    assert "eve" in run.stderr and "by hand" in run.stderr
    # late and manual status next to the import file (Canvas's import has no column for them)
    status = {r["student"]: r for r in csv.DictReader(open(os.path.join(out, "canvas_status.csv")))}
    assert set(status) == {r[0] for r in ROSTER}
    assert status["bob"]["late"] == "1" and float(status["bob"]["late_penalty"]) == 6.0
    assert "late by 1 d 12 h" in status["bob"]["note"]
    assert status["cyd"]["late"] == "0" and "extension of 2 d" in status["cyd"]["note"]
    assert status["eve"]["status"] == "needs manual grading" and status["eve"]["grade"] == ""
    assert float(status["eve"]["final"]) == course["nbgrader"]["eve"]
    assert status["gil"]["status"] == "missing" and float(status["gil"]["grade"]) == 0.0
    assert status["dee"]["status"] == "graded" and float(status["dee"]["grade"]) == 7.0


def test_moodle_grades_file(course):
    root = course["root"]
    out = os.path.join(course["base"], "moodle-out")
    run = export_cli(root, A, "--format", "moodle", "--roster", course["roster"],
                     "--moodle-item", MOODLE_ITEM, "--output", out)
    assert run.returncode == 0, run.stderr
    rows = _read(os.path.join(out, "moodle_grades.csv"))
    header, body = rows[0], rows[1:]
    assert tuple(header[:6]) == MOODLE_DOCUMENTED_COLUMNS
    assert header[6:] == [f"{MOODLE_ITEM} (Real)", f"{MOODLE_ITEM} (Feedback)"]
    assert [r[5] for r in body] == [r[2] for r in ROSTER]                             # Email address, per student
    fg = _final(root)
    by_email = {r[5]: r for r in body}
    for s, name, email, _, sis, *_ in ROSTER:
        row = by_email[email]
        assert f"{row[0]} {row[1]}" == name and row[2] == sis
        if s == "eve":
            assert row[6] == "" and "by hand" in row[7]
        else:
            assert float(row[6]) == (fg[s].final or 0.0) == course["nbgrader"][s], s
    assert "late by 1 d 12 h" in by_email["bob@example.edu"][7] and "6 point(s)" in by_email["bob@example.edu"][7]
    assert "extension" in by_email["cyd@example.edu"][7]
    assert by_email["ada@example.edu"][7] == ""


def test_csv_grades_file(course):
    root = course["root"]
    out = os.path.join(course["base"], "csv-out")
    run = export_cli(root, A, "--format", "csv", "--roster", course["roster"], "--output", out)
    assert run.returncode == 0, run.stderr
    rows = {r["student"]: r for r in csv.DictReader(open(os.path.join(out, "grades.csv")))}
    assert list(rows) == [r[0] for r in ROSTER]
    for s, r in rows.items():
        assert float(r["final"] or 0.0) == course["nbgrader"][s]


def test_feedback_zips(course):
    root = course["root"]
    out = os.path.join(course["base"], "feedback-out")
    fb = os.path.join(root, "feedback")
    run = export_cli(root, A, "--format", "canvas", "--roster", course["roster"], "--output", out,
                     "--feedback", "--canvas-download", course["download"])
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(os.path.join(out, "canvas_feedback.zip")) as zf:
        names = set(zf.namelist())
        assert names == {"lovelaceada_1001_9001_toy.html", "babbagebob_LATE_1002_9002_toy.html",
                         "charissecyd_LATE_1003_9003_toy.html", "ramonedee_1004_9005_toy.html",
                         "onlineeve_1005_9006_toy.html"}
        # read as Canvas's re-upload reads a name: the first two all-digit parts are the user id and
        # the id of a file that user submitted
        downloaded = {tuple(n.split("_")[i] for i in range(len(n.split("_"))) if n.split("_")[i].isdigit())[:2]
                      for n in CANVAS_DOWNLOAD}
        cid = {r[3]: r[0] for r in ROSTER}
        for n in names:
            ids = tuple(p for p in n.split("_") if p.isdigit())[:2]
            assert ids in downloaded
            s = cid[ids[0]]
            assert zf.read(n) == open(os.path.join(fb, s, A, "toy.html"), "rb").read()
    assert "fay" in run.stderr and "gil" in run.stderr                                # no Canvas file / no submission
    run = export_cli(root, A, "--format", "moodle", "--roster", course["roster"], "--output", out,
                     "--feedback")
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(os.path.join(out, "moodle_feedback.zip")) as zf:
        names = set(zf.namelist())
        pid = {r[7]: r[0] for r in ROSTER}
        assert names == {f"{r[1].replace('_', ' ')}_{r[7]}_assignfeedback_file/toy.html" for r in ROSTER if r[7]}
        for n in names:
            # read as Moodle's importer reads a path part: fullname_participantid_plugintype_pluginname
            info = n.split("/")[0].split("_", 4)
            assert info[2:4] == ["assignfeedback", "file"] and info[1] in pid
            assert zf.read(n) == open(os.path.join(fb, pid[info[1]], A, "toy.html"), "rb").read()


@pytest.mark.parametrize("args, words", [
    (["--format", "xls", "--roster", "R"], ["--format 'xls'", "canvas, moodle, csv"]),
    (["--format", "canvas"], ["--format canvas needs --roster"]),
    (["--format", "canvas", "--roster", "missing.csv"], ["--roster 'missing.csv'", "no such file"]),
    (["--format", "moodle", "--roster", "R", "--feedback", "--canvas-download", "D"], ["--canvas-download"]),
    (["--format", "canvas", "--roster", "R", "--feedback"], ["--canvas-download ZIP"]),
    (["--format", "canvas", "--roster", "R", "--canvas-assignment", "Final Grade"], ["--canvas-assignment"]),
    (["--format", "canvas", "--roster", "R", "--output", "F/sub"], ["--output", "is a file"]),
    (["--format", "moodle", "--roster", "R", "--output", "F"], ["--output", "is a file"]),
])
def test_options_are_checked_before_anything_is_written(course, args, words, tmp_path):
    root = course["root"]
    afile = tmp_path / "afile"
    afile.write_text("x")
    subs = {"R": course["roster"], "D": course["download"], "F": str(afile), "F/sub": str(afile / "sub")}
    args = [subs.get(a, a) for a in args]
    if "--output" not in args:
        args += ["--output", str(tmp_path / "out")]
    before = sorted(os.listdir(tmp_path))
    run = export_cli(root, A, *args)
    assert run.returncode == 2, run.stdout + run.stderr
    for w in words:
        assert w in run.stderr, run.stderr
    assert sorted(os.listdir(tmp_path)) == before


def test_unknown_assignment_and_roster_without_emails(course, tmp_path):
    root = course["root"]
    run = export_cli(root, "nope", "--format", "canvas", "--roster", course["roster"],
                     "--output", str(tmp_path / "out"))
    assert run.returncode == 2 and "'nope'" in run.stderr and "not in the gradebook" in run.stderr, run.stderr
    roster = tmp_path / "roster.csv"
    roster.write_text("student,name\nada,Ada Lovelace\nbob,Bob Babbage\n")
    run = export_cli(root, A, "--format", "moodle", "--roster", str(roster),
                     "--output", str(tmp_path / "out"))
    assert run.returncode == 2 and "--roster" in run.stderr and "e-mail" in run.stderr, run.stderr
    roster.write_text("student,name,canvas_id\nada,Ada Lovelace,1001\nbob,Bob Babbage,1001\n")
    run = export_cli(root, A, "--format", "canvas", "--roster", str(roster), "--output", str(tmp_path / "out"))
    assert run.returncode == 2 and "canvas_id" in run.stderr and "1001" in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()


def test_canvas_download_names_are_read_as_canvas_reads_them():
    from mixlearn.course.lms import parse_canvas_name

    f = parse_canvas_name("babbagebob_LATE_1002_9002_toy_v2.ipynb")
    assert (f.prefix, f.user_id, f.attachment_id, f.filename) == ("babbagebob_LATE", "1002", "9002", "toy_v2.ipynb")
    assert parse_canvas_name("babbagebob_1002_text.html") is None        # online text: no attachment id
    assert parse_canvas_name("._babbagebob_1002_9002_toy.ipynb") is None
