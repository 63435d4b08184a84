"""``mixlearn-course feedback`` says what it did, and its pages agree with the gradebook.

One small synthetic class (tests/course_support/synth.py) is autograded once by ``mixlearn-course``;
each test works on its own copy of it.  The toy notebook's written answer (a markdown cell graded by
hand) is what makes a submission "not graded yet": a student who wrote something there has no score
for it until a grader enters one; a student who left the stub gets 0 for it automatically.

* a first run writes every student's feedback, a second one writes nothing and says so;
* a manual grade entered afterwards (through nbgrader's Gradebook API, as formgrader does) makes
  exactly that student's feedback be written again, with the new total;
* an answer that nobody graded yet is shown as "not graded yet" (never "Score: 0.0 / 1.0"), the
  total says it is provisional, and the command warns;
* with a due date and nbgrader's late penalty, the page's total is ``final_grades(...)[s].final``.
"""

from __future__ import annotations

import datetime
import html
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("nbgrader")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.course_support import synth  # noqa: E402

A, NB = synth.ASSIGNMENT, synth.NOTEBOOK
DUE = "2026-01-10 12:00:00 UTC"
# student -> (kind, submission time); "lena" is two days late
CLASS = {
    "ada": ("correct", "2026-01-09 10:00:00.000000 UTC"),           # written answer: needs a grade by hand
    "bob": ("correct_noanswer", "2026-01-09 11:00:00.000000 UTC"),  # stub left: 0 for it, automatically
    "cy": ("wrong_int", "2026-01-08 09:00:00.000000 UTC"),
    "lena": ("correct", "2026-01-12 12:00:00.000000 UTC"),          # late: penalty "zero"
}


def course_cli(root, *args, timeout=300):
    return synth.course_cli(root, *args, timeout=timeout)


def feedback_cli(capsys, root, *args):
    """``mixlearn-course feedback`` (in this process: the command line's own ``main``)."""
    from mixlearn.course.cli import main

    capsys.readouterr()
    code = main(["feedback", A, "--course", root, *args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(["mixlearn-course", "feedback"], code, out.out, out.err)


def _url(root):
    return "sqlite:///" + os.path.join(root, "gradebook.db")


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    from nbgrader.api import Gradebook

    root = str(tmp_path_factory.mktemp("feedback") / "course")
    synth.make_course(root, timeout=3)
    with open(os.path.join(root, "nbgrader_config.py"), "a") as fh:
        fh.write('c.LateSubmissionPlugin.penalty_method = "zero"\n')
    with Gradebook(_url(root), "synthetic") as gb:
        gb.update_or_create_assignment(A, duedate=DUE)
    rel = synth.release_notebook(root)
    for s, (kind, when) in CLASS.items():
        synth.write_submission(root, s, synth.VARIANTS[kind](rel), timestamp=when)
    run = course_cli(root, "autograde", A, "--jobs", "2", "--no-progress")
    assert run.returncode == 0, run.stdout + run.stderr
    return root


@pytest.fixture
def course(graded_class, tmp_path):
    """A fresh copy of the autograded class (no feedback written yet)."""
    return synth.copy_course(graded_class, str(tmp_path / "course"))


def feedback(root, **kw):
    from mixlearn.course.feedback import feedback as run

    return run(root, A, **kw)


def finals(root):
    from nbgrader.api import Gradebook

    from mixlearn.course.grades import final_grades

    with Gradebook(_url(root), "synthetic") as gb:
        return final_grades(gb, A)


def set_grade(root, student, cell, manual):
    from nbgrader.api import Gradebook

    with Gradebook(_url(root), "synthetic") as gb:   # what formgrader's API handler does
        grade = gb.find_grade(cell, NB, A, student)
        grade.manual_score = manual
        grade.needs_manual_grade = manual is None and grade.auto_score is None
        gb.db.commit()


def page(root, student):
    with open(os.path.join(root, "feedback", student, A, NB + ".html"), encoding="utf-8") as fh:
        return fh.read()


def total(text):
    """``(score, max, rest)`` of the page's total: ``toy (Score: 6.0 / 7.0 so far; ...)``."""
    m = re.search(r'<h4 id="total">[^<]*?\(Score: (-?[0-9.]+) / ([0-9.]+)([^<]*)\)</h4>', text)
    assert m, "no total on the page"
    return float(m.group(1)), float(m.group(2)), m.group(3)


def cell_heading(text, grade_id):
    """The text of a graded cell's heading and of its line in the table of contents."""
    heading = re.search(rf'<a name="{grade_id}"></a><div class="panel-heading">(.*?)</div>', text, re.S).group(1)
    toc = re.search(rf'<li><a href="#{grade_id}">(.*?)</li>', text, re.S).group(1)
    return html.unescape(re.sub(r"<[^>]+>", "", heading)), html.unescape(re.sub(r"<[^>]+>", "", toc))


def assert_totals_agree(root, students=CLASS):
    fin = finals(root)
    for s in students:
        score, top, _ = total(page(root, s))
        assert score == pytest.approx(round(fin[s].final, 2)), s
        assert top == pytest.approx(fin[s].max_score), s


def test_second_run_writes_nothing_and_says_so(course, capsys):
    first = feedback_cli(capsys, course)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"feedback: {len(CLASS)} written, 0 unchanged (already up to date), 0 failed" in first.stdout
    mtimes = {s: os.stat(os.path.join(course, "feedback", s, A, NB + ".html")).st_mtime_ns for s in CLASS}
    second = feedback_cli(capsys, course)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"feedback: 0 written, {len(CLASS)} unchanged (already up to date), 0 failed" in second.stdout
    assert mtimes == {s: os.stat(os.path.join(course, "feedback", s, A, NB + ".html")).st_mtime_ns for s in CLASS}
    assert_totals_agree(course)
    # --force writes every one again; a page changed or deleted by hand is written again
    res = feedback(course, force=True)
    assert sorted(res.written) == sorted(CLASS) and not res.unchanged and not res.failed
    with open(os.path.join(course, "feedback", "cy", A, NB + ".html"), "a") as fh:
        fh.write("<!-- edited -->")
    os.remove(os.path.join(course, "feedback", "bob", A, NB + ".html"))
    res = feedback(course)
    assert sorted(res.written) == ["bob", "cy"] and len(res.unchanged) == len(CLASS) - 2
    assert "edited" not in page(course, "cy")


def test_manual_grade_rewrites_exactly_that_student(course):
    res = feedback(course)
    assert sorted(res.written) == sorted(CLASS)
    assert total(page(course, "ada")) == (6.0, 7.0, " so far; 1.0 point not graded yet")
    set_grade(course, "ada", "explain", 1.0)
    res = feedback(course)
    assert res.written == ["ada"] and sorted(res.unchanged) == sorted(set(CLASS) - {"ada"}) and not res.failed
    assert total(page(course, "ada")) == (7.0, 7.0, "")
    assert cell_heading(page(course, "ada"), "explain")[0].startswith("Student's answerScore: 1.0 / 1.0")
    assert "ada" not in res.ungraded
    # a grader's comment (and a changed manual grade) is a change too
    from nbgrader.api import Gradebook

    with Gradebook(_url(course), "synthetic") as gb:
        gb.find_comment("explain", NB, A, "ada").manual_comment = "Clear and **short**."
        gb.db.commit()
    set_grade(course, "ada", "explain", 0.5)
    res = feedback(course)
    assert res.written == ["ada"]
    assert total(page(course, "ada"))[0] == 6.5 and "Clear and <strong>short</strong>." in page(course, "ada")
    assert_totals_agree(course)


def test_ungraded_written_answer_is_not_graded_yet_and_warned(course, capsys):
    run = feedback_cli(capsys, course)
    assert run.returncode == 0, run.stdout + run.stderr
    assert ("warning: 2 student(s) have written answers not graded yet (ada: 1 cell, lena: 1 cell): their "
            "feedback shows them as not graded yet; grade them in formgrader, then run feedback again") in run.stderr
    ada = page(course, "ada")
    heading, toc = cell_heading(ada, "explain")
    assert "not graded yet" in heading and "not graded yet" in toc
    assert "Score" not in heading and "0.0 / 1.0" not in heading + toc
    assert total(ada) == (6.0, 7.0, " so far; 1.0 point not graded yet")
    assert "Score: 0.0 / 1.0" not in ada   # every other cell of ada's has its points
    # a stub left in the answer cell is graded (0, by nbgrader) and shown as such
    heading, toc = cell_heading(page(course, "bob"), "explain")
    assert "Score: 0.0 / 1.0" in heading and "not graded yet" not in heading + toc
    assert total(page(course, "bob")) == (6.0, 7.0, "")
    # the typed record says the same
    set_grade(course, "lena", "explain", 1.0)
    res = feedback(course)
    assert res.ungraded == {"ada": 1} and res.written == ["lena"] and res.exit_code == 0
    run = feedback_cli(capsys, course, "--student", "[bc]*")
    assert run.returncode == 0 and "feedback: 0 written, 2 unchanged (already up to date), 0 failed" in run.stdout
    assert "not graded yet" not in run.stderr


def test_late_penalty_total_is_the_final_grade(course):
    fin = finals(course)
    assert fin["lena"].late and fin["lena"].late_penalty == 6.0 and fin["lena"].final == 0.0
    assert not any(fin[s].late for s in CLASS if s != "lena")
    feedback(course)
    lena = page(course, "lena")
    assert total(lena) == (0.0, 7.0, " so far; 1.0 point not graded yet")
    text = html.unescape(re.sub(r"<[^>]+>", "", lena))
    assert "Submitted late: 6.0 points minus a late submission penalty of 6.0 = 0.0" in " ".join(text.split())
    assert "Late submission penalty (Score: -6.0)" in text
    # nbgrader stores the penalty of autograding (6.0), so a manual grade entered later would add to
    # the final number; feedback brings the penalty up to date first (grades.refresh_late_penalties):
    # late with penalty "zero" stays 0 whatever is graded by hand
    set_grade(course, "lena", "explain", 1.0)
    assert feedback(course).written == ["lena"]
    assert total(page(course, "lena")) == (finals(course)["lena"].final, 7.0, "") == (0.0, 7.0, "")
    assert finals(course)["lena"].late_penalty == 7.0
    # ... and a grade taken back never makes it negative (nbgrader's GetGrades alone would show -2.0
    # with the stored penalty)
    set_grade(course, "lena", "test_mean", 0.0)
    assert feedback(course).written == ["lena"]
    assert finals(course)["lena"].final == 0.0 and total(page(course, "lena"))[0] == 0.0
    assert_totals_agree(course)
    # the sidecar records what was written
    import json

    with open(os.path.join(course, ".mixlearn-course", A, "feedback.json")) as fh:
        record = json.load(fh)
    assert set(record) == set(CLASS)
    written = datetime.datetime.fromisoformat(record["lena"]["written"])
    assert written.tzinfo is not None and list(record["lena"]["files"]) == [NB + ".html"]
