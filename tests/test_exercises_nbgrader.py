"""Real nbgrader on a temporary copy of the course: release in sync, autograding gives the
expected scores, failures stay isolated, feedback hides the hidden checks.

One module-level course holds a small class per assignment; each assignment is autograded once
with ``NbGraderAPI.autograde(assignment, "*")`` (one kernel per submission), which is also how
an instructor's ``nbgrader autograde <assignment>`` runs. The course config grades with trusted
checks (``TrustedExecute``: probes in a bubblewrap-sandboxed kernel, verdicts computed in the
grader's process from ``solutions/<assignment>/trusted_checks.py``), so bubblewrap must be
installed. ``nbgrader validate`` is not used: it exits with status 0 even when tests fail.
"""

import html
import json
import re
import shutil

import nbformat
import pytest
from exercise_support import (
    ASSIGNMENTS,
    ROOT,
    grade_points,
    load_script,
    load_solution,
    make_course,
    mistakes,
    nbgrader_api,
    nbgrader_meta,
    release_from_solution_cells,
    strip_hidden,
)
from exercise_support.trusted_grading import Run, grade_runs, load_assignment_checks

from mixlearn.course.checks import prepare
from mixlearn.course.trusted import read_seeds

TIMEOUT = 6  # per-cell limit for this course (the real config uses 60 s)

# one kept mistake per assignment goes through real nbgrader (all of them are checked in-process)
GRADED_MISTAKES = {
    "01_sampling": "sample_marbles--one_uniform_for_both",
    "02_posteriors": "even_odds_prior--no_complement_for_blue",  # only a hidden test catches it
    "03_em_two": "em_two--history_without_start",
    "04_em_n": "e_step_n--normalised_over_samples",
    "05_gmm_1d": "gmm_m_step--means_divided_by_n",
    "06_gmm_missing": "conditional_gaussian--variances_not_covariance",  # only hidden checks catch it
}
ENDLESS_LOOP = '''
{solution}

# a leftover debugging loop after the definition
while True:
    pass
'''
KILL_KERNEL = "import os\nos._exit(1)\n"


def _mistake(assignment):
    if assignment not in GRADED_MISTAKES:  # an assignment added since: its first kept mistake
        return next(m for m in mistakes() if m.assignment == assignment and m.kind == "mistake")
    cell, _, name = GRADED_MISTAKES[assignment].partition("--")
    return next(m for m in mistakes() if m.assignment == assignment and m.cell == cell and m.name == name)


def _write(root, student, assignment, nb_or_text):
    path = root / "submitted" / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb_or_text, str):
        path.write_text(nb_or_text)
    else:
        nbformat.write(nb_or_text, path)


def _tampered(release):
    """Every test cell emptied to `pass`, one with its points raised, one deleted."""
    nb = nbformat.from_dict(json.loads(json.dumps(release)))
    tests = [c for c in nb.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"]
    for cell in tests:
        cell.source = "pass"
    nbgrader_meta(tests[0])["points"] = 100
    nb.cells.remove(tests[-1])
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("course"), extra_config=f"c.Execute.timeout = {TIMEOUT}\n")
    api = nbgrader_api(root)
    for assignment in ASSIGNMENTS:
        result = api.generate_assignment(assignment, force=True)
        assert result["success"], result.get("log")

    for assignment in ASSIGNMENTS:
        release = nbformat.read(root / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
        solution = load_solution(assignment)
        _write(root, "solution", assignment, release_from_solution_cells(release, solution))
        _write(root, "untouched", assignment, release)
        mistake = _mistake(assignment)
        _write(root, "mistake", assignment, release_from_solution_cells(release, solution, {mistake.cell: mistake.source}))
    sol04 = next(c.source for c in load_solution("04_em_n").cells if nbgrader_meta(c).get("grade_id") == "em_n")
    release04 = nbformat.read(root / "exercises" / "04_em_n" / "04_em_n.ipynb", as_version=4)
    _write(root, "endless_loop", "04_em_n", release_from_solution_cells(
        release04, load_solution("04_em_n"), {"em_n": ENDLESS_LOOP.format(solution=sol04)}))
    release02 = nbformat.read(root / "exercises" / "02_posteriors" / "02_posteriors.ipynb", as_version=4)
    _write(root, "tampered", "02_posteriors", _tampered(release02))
    release01 = nbformat.read(root / "exercises" / "01_sampling" / "01_sampling.ipynb", as_version=4)
    _write(root, "kills_kernel", "01_sampling", release_from_solution_cells(
        release01, load_solution("01_sampling"), {"p_red": KILL_KERNEL}))
    _write(root, "invalid_json", "03_em_two", '{"cells": [ this is not a notebook')

    results = {assignment: api.autograde(assignment, "*") for assignment in ASSIGNMENTS}
    return root, api, results


def code_scores(api, assignment, student):
    """{test cell: (auto score, max score)} from the gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(api.coursedir.db_url, course_id=api.coursedir.course_id) as gb:
        nb = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.auto_score, g.max_score) for g in nb.grades if g.cell.cell_type == "code"}


def autograded(root, student, assignment):
    return nbformat.read(root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4)


def comparable(path):
    return load_script("release_exercises").comparable(path)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_is_in_sync_with_solutions(course, assignment):
    root, _, _ = course
    fresh = root / "exercises" / assignment / f"{assignment}.ipynb"
    committed = ROOT / "exercises" / assignment / f"{assignment}.ipynb"
    assert comparable(fresh) == comparable(committed), "run: python scripts/release_exercises.py"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_gets_full_automatic_marks(course, assignment):
    _, api, _ = course
    scores = code_scores(api, assignment, "solution")
    assert scores and all(auto == top for auto, top in scores.values()), scores
    assert sum(top for _, top in scores.values()) == sum(grade_points(load_solution(assignment)).values())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero(course, assignment):
    _, api, _ = course
    scores = code_scores(api, assignment, "untouched")
    assert scores and all(auto == 0 for auto, _ in scores.values()), scores


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_kept_mistake_loses_the_points_predicted_without_nbgrader(course, assignment):
    """The trusted grading of tests/exercise_support (no kernel, no sandbox), run with the seed
    that nbgrader drew and recorded for this student, predicts the gradebook cell by cell."""
    root, api, _ = course
    mistake = _mistake(assignment)
    seed = read_seeds(str(root), assignment)["mistake"]
    predicted = grade_runs(assignment, [Run("mistake", seed, {mistake.cell: mistake.source})])["mistake"]
    scores = code_scores(api, assignment, "mistake")
    assert {g: auto for g, (auto, _) in scores.items()} == {
        g: float(predicted.points[g]) * v.passed for g, v in predicted.verdicts.items()}
    assert sum(auto for auto, _ in scores.values()) == predicted.score < predicted.full


def test_test_cells_show_the_trusted_verdict(course):
    root, _, _ = course
    for assignment in ASSIGNMENTS:
        for cell in autograded(root, "solution", assignment).cells:
            if nbgrader_meta(cell).get("grade") and cell.cell_type == "code":
                assert [o.output_type for o in cell.outputs] == ["stream"], cell.outputs
                assert cell.outputs[0].text.startswith("Trusted check passed ("), cell.outputs
        seeds = read_seeds(str(root), assignment)
        assert {"solution", "untouched", "mistake"} <= set(seeds) and len(set(seeds.values())) == len(seeds)


def test_endless_loop_is_interrupted_and_the_rest_grades(course):
    root, api, results = course
    scores = code_scores(api, "04_em_n", "endless_loop")
    assert all(auto == top for auto, top in scores.values()), scores  # em_n was defined before the loop
    cell = next(c for c in autograded(root, "endless_loop", "04_em_n").cells if c.get("id") == "em_n")
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors and errors[0].ename in ("CellTimeoutError", "KeyboardInterrupt"), cell.outputs
    assert results["04_em_n"]["success"] and "for student 'endless_loop'" not in results["04_em_n"]["log"]


def test_tampered_and_deleted_test_cells_are_restored(course):
    root, api, _ = course
    scores = code_scores(api, "02_posteriors", "tampered")
    solution = load_solution("02_posteriors")
    assert set(scores) == set(grade_points(solution)), "the deleted test cell is back"
    assert all(auto == 0 for auto, _ in scores.values()), scores  # the real tests ran on the stubs
    assert {name: top for name, (_, top) in scores.items()} == grade_points(solution)
    restored = {nbgrader_meta(c)["grade_id"]: c.source for c in autograded(root, "tampered", "02_posteriors").cells
                if nbgrader_meta(c).get("grade") and c.cell_type == "code"}
    for cell in solution.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in restored:
            assert cell.source in restored[gid]  # with the hidden tests


def test_broken_submissions_fail_alone_and_are_reported(course):
    root, api, results = course
    for assignment, student in [("01_sampling", "kills_kernel"), ("03_em_two", "invalid_json")]:
        result = results[assignment]
        assert not result["success"]
        assert re.search(rf"error processing assignment '{assignment}' for student '{student}'", result["log"])
        assert not (root / "autograded" / student / assignment / f"{assignment}.ipynb").exists()
        for other in ("solution", "untouched", "mistake"):
            assert other not in re.findall(r"for student '(\w+)'", result["log"])
            assert code_scores(api, assignment, other)  # graded despite the broken neighbour
    assert "Kernel died" in results["01_sampling"]["log"]
    for assignment in ("02_posteriors", "04_em_n", "05_gmm_1d"):
        assert results[assignment]["success"], results[assignment].get("log")


def _visible_text(path):
    text = re.sub(r"<[^>]+>", "", path.read_text())
    return html.unescape(text)


def test_feedback_shows_scores_and_messages_but_not_hidden_tests(course):
    root, api, _ = course
    result = api.generate_feedback("02_posteriors", "mistake")
    assert result["success"], result.get("log")
    page = _visible_text(root / "feedback" / "mistake" / "02_posteriors" / "02_posteriors.html")
    solution = load_solution("02_posteriors")
    sources = [c.source for c in solution.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"]
    visible_lines = {ln.strip() for s in sources for ln in strip_hidden(s).splitlines() if len(ln.strip()) > 25}
    hidden_lines = {ln.strip() for s in sources for ln in s.splitlines() if len(ln.strip()) > 25} - visible_lines
    assert hidden_lines and visible_lines
    assert all(line in page for line in visible_lines), "the visible tests are shown"
    leaked = [line for line in hidden_lines if line in page]
    assert not leaked, leaked
    # the failed hidden check is named, but neither its inputs nor its expected value are shown
    assert "Hidden check failed (even_odds_prior for a blue marble)." in page
    assert "Traceback (most recent call last)" not in page
    seed = read_seeds(str(root), "02_posteriors")["mistake"]
    ctx = prepare(load_assignment_checks("02_posteriors"), "test_even_odds_prior", seed)
    hidden = [v for case in ctx.cases if case.hidden for call in case.calls for v in call.args if isinstance(v, float)]
    assert hidden
    _, p1, p2 = next(call.args for case in ctx.cases if case.hidden for call in case.calls)
    for value in hidden + [(1 - p2) / ((1 - p1) + (1 - p2))]:
        assert f"{value:.6f}" not in page, value  # the precision the messages use
    scores = code_scores(api, "02_posteriors", "mistake")
    got, top = sum(a for a, _ in scores.values()), sum(t for _, t in scores.values())
    assert f"{got:g}" in page and f"{top:g}" in page
    shutil.rmtree(root / "feedback")
