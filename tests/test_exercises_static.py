"""The graded exercises without nbgrader or kernels: notebook structure, solutions pass their own
test cells, and, against the trusted checks that grading uses (``solutions/*/trusted_checks.py``),
the solution gets full marks for several grader seeds, the release gets none, every kept mistake
is caught, hidden checks catch code fitted to the visible tests, and students cannot hand the
work to mixlearn.

The notebooks' own test cells run in this process (``exercise_support.run_in_process``); the
trusted grading runs the student's side in one subprocess per assignment that sees the student
edition of mixlearn (``exercise_support.trusted_grading``). Real ``nbgrader autograde`` gives the
same scores (checked in test_exercises_nbgrader.py).
"""

import contextlib
import functools
import io
from collections import Counter

import nbformat
import numpy as np
import pytest
from exercise_support import (
    ASSIGNMENTS,
    ROOT,
    grade_points,
    is_solution_code_cell,
    is_test_cell,
    load_script,
    load_solution,
    mistakes,
    nbgrader_meta,
    release_path,
    run_in_process,
    score,
)
from exercise_support.trusted_grading import Run, grade_runs, stub_replacements

import mixlearn as ml

MISTAKES = mistakes()
SOLUTIONS = {a: load_solution(a) for a in ASSIGNMENTS}


def _run(nb, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return run_in_process(nb, **kwargs)


def checks_of(nb):
    """{solution cell grade_id: [grade_ids of the test cells that follow it]}."""
    owner, found = None, {}
    for cell in nb.cells:
        if is_solution_code_cell(cell):
            owner = nbgrader_meta(cell)["grade_id"]
            found[owner] = []
        elif is_test_cell(cell):
            found[owner].append(nbgrader_meta(cell)["grade_id"])
    return found


def test_solution_notebooks_are_generated_from_the_sources():
    """solutions/*.ipynb match scripts/exercise_sources (edit the sources, then regenerate)."""
    assert load_script("make_solutions").main(["--check"]) == 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_notebook_structure(assignment):
    nb = SOLUTIONS[assignment]
    nbformat.validate(nb)
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        assert meta["schema_version"] == 3 and cell.id == meta["grade_id"]
        if is_solution_code_cell(cell):
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        if is_test_cell(cell):
            assert meta["locked"] and meta["points"] > 0
            assert "assert" in cell.source or "expect_close" in cell.source or "check_" in cell.source
    owners = checks_of(nb)
    assert len(owners) >= 3, "every assignment asks for several functions"
    for function, test_ids in owners.items():
        assert test_ids, f"{function} has no test cell"
        hidden = [t for t in test_ids if "### BEGIN HIDDEN TESTS" in
                  next(c.source for c in nb.cells if nbgrader_meta(c).get("grade_id") == t)]
        assert hidden, f"{function} has no hidden tests"
    written = [c for c in nb.cells if c.cell_type == "markdown" and nbgrader_meta(c).get("grade")]
    assert len(written) >= 2 and all(nbgrader_meta(c)["points"] > 0 for c in written)
    # points reflect difficulty: the EM loops are worth more than the one-line steps
    points = grade_points(nb)
    assert max(points.values()) > min(points.values())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_no_solutions_or_hidden_tests(assignment):
    release = nbformat.read(release_path(assignment), as_version=4)
    solution = SOLUTIONS[assignment]
    text = "\n".join(c.source for c in release.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    assert all(not c.get("outputs") for c in release.cells if c.cell_type == "code")
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in release.cells if nbgrader_meta(c).get("solution")}
    assert set(answers) == {nbgrader_meta(c)["grade_id"] for c in solution.cells if nbgrader_meta(c).get("solution")}
    for grade_id, source in answers.items():
        assert "NotImplementedError" in source or source == "YOUR ANSWER HERE", grade_id


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_passes_every_test_cell(assignment):
    nb = SOLUTIONS[assignment]
    outcomes = _run(nb)
    failed = {g: o.message for g, o in outcomes.items() if not o.passed}
    assert not failed
    assert score(nb, outcomes) == sum(grade_points(nb).values())


def test_every_function_has_three_kept_mistakes():
    counts = Counter((m.assignment, m.cell) for m in MISTAKES if m.kind == "mistake")
    for assignment in ASSIGNMENTS:
        for cell in SOLUTIONS[assignment].cells:
            if is_solution_code_cell(cell):
                key = (assignment, nbgrader_meta(cell)["grade_id"])
                assert counts[key] >= 3, f"{key} has only {counts[key]} kept mistakes"
    kinds = Counter(m.kind for m in MISTAKES)
    assert kinds["hardcoded"] >= 3 and kinds["shortcut"] >= 4
    assert all(m.description for m in MISTAKES), "every mistake file starts with a docstring saying what is wrong"


# ---------------------------------------------------------------------------------------------
# The kept mistakes against the trusted checks (what grading uses): every run of an assignment
# goes through one subprocess that sees the student edition of mixlearn (exercise_support.
# trusted_grading); the verdicts are computed here with the real library.

# grader seeds for the solution; mistakes use the first.  6144450523818970316: a seed whose hidden case of
# 04's test_em_n_agrees has a component with weight near 0, where 500 EM iterations (the student's
# budget) stop short of the fixed point; the check once compared with the fixed point itself
SEEDS = (3, 1_000_003, 2**40 + 7, 6144450523818970316)


@functools.cache
def trusted(assignment):
    """{run name: Graded} for the solution (several seeds), the release stubs and every mistake."""
    runs = [Run(f"solution-{seed}", seed) for seed in SEEDS]
    runs.append(Run("release", SEEDS[0], stub_replacements(assignment)))
    runs += [Run(str(m), SEEDS[0], {m.cell: m.source}) for m in MISTAKES if m.assignment == assignment]
    return grade_runs(assignment, runs)


def visible_failures(graded, test_ids):
    return [msg for g in test_ids for msg in graded.verdicts[g].messages if not msg.startswith("Hidden check failed")]


def hidden_failures(graded, test_ids):
    return [msg for g in test_ids for msg in graded.verdicts[g].messages if msg.startswith("Hidden check failed")]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_gets_full_trusted_marks_for_several_seeds(assignment):
    graded = trusted(assignment)
    for seed in SEEDS:
        run = graded[f"solution-{seed}"]
        assert run.score == run.full == sum(grade_points(SOLUTIONS[assignment]).values()), (seed, run.failed())
        assert all(v.cases >= 2 for v in run.verdicts.values())
        # no setup, solution or demo cell needs what the student edition switches off
        assert not run.cell_errors, run.cell_errors


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_stubs_get_no_trusted_marks(assignment):
    run = trusted(assignment)["release"]
    assert run.score == 0 and len(run.verdicts) == len(grade_points(SOLUTIONS[assignment]))
    for messages in run.failed().values():
        assert any("raised NameError" in m and "run the cell that defines it" in m for m in messages), messages


@pytest.mark.parametrize("mistake", [m for m in MISTAKES if m.kind == "mistake"], ids=str)
def test_mistake_loses_points_with_a_helpful_message(mistake):
    run = trusted(mistake.assignment)[str(mistake)]
    assert run.score < run.full, f"not caught: {mistake.description}"
    messages = [m for ms in run.failed().values() for m in ms]
    judged = [m for m in messages if "` raised " not in m]
    assert judged, "the first sign of the mistake should be a failed check with a message, not a crash"
    for message in judged:
        assert message.startswith("Hidden check failed (") or "should" in message, message
        assert message.rstrip().endswith((".", ")")), message


@pytest.mark.parametrize("mistake", [m for m in MISTAKES if m.kind == "hardcoded"], ids=str)
def test_hidden_checks_catch_answers_fitted_to_the_visible_tests(mistake):
    own_tests = checks_of(SOLUTIONS[mistake.assignment])[mistake.cell]
    run = trusted(mistake.assignment)[str(mistake)]
    assert not visible_failures(run, own_tests), "the fitted answer should pass what the student can see"
    assert hidden_failures(run, own_tests), "the hidden checks should catch it"
    assert any(not run.verdicts[t].passed for t in own_tests)


@pytest.mark.parametrize("mistake", [m for m in MISTAKES if m.kind == "shortcut"], ids=str)
def test_calling_mixlearn_instead_fails_and_says_why(mistake):
    own_tests = checks_of(SOLUTIONS[mistake.assignment])[mistake.cell]
    run = trusted(mistake.assignment)[str(mistake)]
    failed = [t for t in own_tests if not run.verdicts[t].passed]
    assert failed, "using the library's answer must not earn the points"
    for test_id in failed:
        reasons = visible_failures(run, [test_id])
        assert reasons and all("is switched off while grading" in m and "yourself" in m
                               or "No module named 'sklearn'" in m for m in reasons), reasons


def test_trusted_checks_judge_the_library_not_the_student_edition():
    """The oracles run in this process with the real mixlearn, even right after a sandbox run."""
    trusted("04_em_n")
    assert np.allclose(ml.em_two_components([1, 0, 1], 0.8, 0.3).weights.sum(), 1.0)
    assert ml.posterior.__module__ == "mixlearn.mixture" and "student" not in ml.__file__


def test_own_work_only_switches_off_aliases_and_restores():
    """The helper in the setup cell, exercised directly (imported names are covered too)."""
    namespace = {"__name__": "__main__"}
    exec(SOLUTIONS["04_em_n"].cells[1].source, namespace)
    from mixlearn import em_n_components as alias

    with namespace["own_work_only"]("em_n_components"):
        with pytest.raises(RuntimeError, match="mixlearn.em_n_components is switched off"):
            alias([0, 1], [ml.Poisson(1.0), ml.Poisson(3.0)])
    assert alias([0, 1, 4], [ml.Poisson(1.0), ml.Poisson(3.0)]).weights.shape == (2,)


def test_book_page_lists_every_assignment_with_links():
    page = (ROOT / "book" / "exercises" / "index.md").read_text()
    for assignment in ASSIGNMENTS:
        notebook = f"exercises/{assignment}/{assignment}.ipynb"
        assert f"<../../{notebook}>" in page and (ROOT / notebook).exists()
        assert f"mybinder.org/v2/gh/mixlearn/mixlearn/main?labpath={notebook.replace('/', '%2F')}" in page
        assert f"colab.research.google.com/github/mixlearn/mixlearn/blob/main/{notebook}" in page
        nb = SOLUTIONS[assignment]
        written = sum(nbgrader_meta(c)["points"] for c in nb.cells if c.cell_type == "markdown" and nbgrader_meta(c))
        assert f"Points: {sum(grade_points(nb).values()):g} automatic, {written:g} for written answers" in page
    assert "solutions/" not in page.replace("`solutions/`", "")
