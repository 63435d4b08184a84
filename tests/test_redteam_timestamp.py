"""Red team: a student's own ``timestamp.txt`` must not decide when the work was submitted.

nbgrader takes a submission's time from ``timestamp.txt`` in the submitted folder, and the late
penalty (``AssignLatePenalties``, ``LateSubmissionPlugin``) from that time and the due date.
``mixlearn-course collect`` copied every file of a student's folder, so a late student who put
``timestamp.txt`` with a time before the due date into the folder (or the zip) was graded as on
time.  Now the times come from the learning platform's CSV (``--timestamps``) and a student's own
``timestamp.txt`` is never copied.  Two late students submit the same notebook; one adds such a
file.  Both must get the same late penalty, and an early student none.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest
from redteam import harness as h
from redteam.judges import notebook, solution_sources

pytestmark = [pytest.mark.redteam,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")]

A = "01_sampling"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return h.build_template(tmp_path_factory.mktemp("timestamp") / "template", assignments=(A,))


def _course(template, tmp_path):
    course = tmp_path / "course"
    shutil.copytree(template, course, symlinks=True)
    return course


def test_a_forged_timestamp_does_not_escape_the_late_penalty(template, tmp_path):
    from nbgrader.api import Gradebook

    course = _course(template, tmp_path)
    with open(course / "nbgrader_config.py", "a") as fh:
        fh.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')   # late: no points
    res = h.run([h.BIN / "nbgrader", "db", "assignment", "add", A, "--duedate=2026-01-01 00:00:00 UTC"], cwd=course)
    assert res.returncode == 0, res.stderr[-2000:]
    release = nbformat.read(course / "exercises" / A / f"{A}.ipynb", as_version=4)
    nb = notebook(release, solution_sources(A))
    drop = tmp_path / "drop"
    # the learning platform's export: when each student really handed in
    lms = {"late_honest": "2026-11-28 15:00:00 UTC", "late_forger": "2026-11-28 15:05:00 UTC",
           "early": "2025-12-30 09:00:00 UTC"}
    for student in lms:
        (drop / student).mkdir(parents=True)
        nbformat.write(nb, drop / student / f"{A}.ipynb")
    (drop / "late_forger" / "timestamp.txt").write_text("2025-12-31 12:00:00.000000 UTC")   # the forgery
    csv = tmp_path / "times.csv"
    csv.write_text("student,time\n" + "".join(f"{s},{t}\n" for s, t in lms.items()))
    res = h.run([h.BIN / "mixlearn-course", "collect", A, drop, "--course", course, "--timestamps", csv], cwd=course)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    for student, stamp in lms.items():
        assert (course / "submitted" / student / A / "timestamp.txt").read_text() == stamp
    res = h.grade(course, "course", A)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="mixlearn") as gb:
        penalty = {s: gb.find_submission(A, s).late_submission_penalty for s in lms}
    assert penalty["late_honest"] > 0 and not penalty["early"], penalty   # the set-up works
    assert penalty["late_forger"] == penalty["late_honest"], (
        f"a timestamp.txt written by the student decides the late penalty: {penalty}")


def test_collect_refuses_a_times_file_that_misses_a_student_or_a_time(template, tmp_path):
    course = _course(template, tmp_path)
    release = nbformat.read(course / "exercises" / A / f"{A}.ipynb", as_version=4)
    drop = tmp_path / "drop"
    for student in ("ada", "bob"):
        (drop / student).mkdir(parents=True)
        nbformat.write(release, drop / student / f"{A}.ipynb")
    for text, message in [("ada,2026-11-28 15:00:00 UTC\n", "no time for 1 student(s): bob"),
                          ("ada,2026-11-28 15:00:00 UTC\nbob,yesterday\n", "'yesterday' is not a time")]:
        csv = tmp_path / "times.csv"
        csv.write_text(text)
        res = h.run([h.BIN / "mixlearn-course", "collect", A, drop, "--course", course, "--timestamps", csv],
                    cwd=course)
        assert res.returncode != 0 and message in res.stdout + res.stderr, res.stdout + res.stderr
        assert not (course / "submitted").exists()
