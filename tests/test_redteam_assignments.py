"""Red team on every other assignment: the cheats that do not depend on the assignment earn nothing.

``test_redteam.py`` attacks assignment 04 (and 05 with delegation) in depth.  Here the cheats of
``tests/redteam/generic.py`` (IPython hooks, forged outputs, redefined helpers, rigged return
values for every function asked for, shadowing files, the solutions read from disk, delegation
to the library) are submitted for assignments 01, 02, 03, 05 and 06, each on top of its base (the
untouched release, or for cheats that only change how answers are judged a "wrong" base whose
functions run and answer wrongly), next to the bases themselves and the model solution; the whole
class is graded once per grader, and no cheat may earn more than its base in any cell:

* ``course``    ``mixlearn-course autograde A --jobs 2`` (sandbox + trusted checks);
* ``nbgrader``  plain ``nbgrader autograde A`` with the course's nbgrader_config.py (with
                ``MIXLEARN_REDTEAM_FULL=1``, which also submits every variant of each mechanism;
                test_redteam.py runs plain nbgrader against the in-depth cheats of 04 anyway);
* ``stock``     plain ``nbgrader autograde A`` with a stock configuration (no sandbox, no trusted
                checks): the control, where the cheats marked ``fools_stock`` must earn points, so
                that "no point under the course's graders" means something.

Run only this suite with ``pytest -m redteam``.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from redteam import harness as h
from redteam.generic import ASSIGNMENTS, DELEGATE, WRONG_EACH, WRONG_FIRST, cheats_for

pytestmark = [pytest.mark.redteam,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")]

# MIXLEARN_REDTEAM_FULL=1: every generic cheat (else one or two per mechanism) and plain nbgrader too
FULL = os.environ.get("MIXLEARN_REDTEAM_FULL") == "1"
GRADERS = ("course", "nbgrader") if FULL else ("course",)
HONEST = ("release", "solution", "wrong")

STOCK_CONFIG = f'''c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "mixlearn"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "trusted_checks.py"]
c.Execute.timeout = {h.CELL_TIMEOUT}
'''


def _solution_sources(assignment: str) -> dict:
    nb = nbformat.read(h.ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return {h.nbgrader_meta(c)["grade_id"]: h.strip_markers(c.source)
            for c in nb.cells if h.nbgrader_meta(c).get("solution") and c.cell_type == "code"}


def _answer_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and h.nbgrader_meta(c).get("solution")]


def _copy(nb):
    return nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))


def _append(nb, first: str, each: str, values: dict):
    """*first* appended to the first answer cell, *each* (``{fn}``: the cell's function) to every one."""
    nb = _copy(nb)
    for i, cell in enumerate(_answer_cells(nb)):
        fn = h.nbgrader_meta(cell)["grade_id"]    # each answer cell defines the function of its id
        added = (first if i == 0 else "") + (each.format(fn=fn) if each else "")
        if added:
            cell.source = cell.source.rstrip("\n") + "\n\n\n" + h.fill(added, values)
    return nb


def _bases(release, assignment: str) -> dict:
    """The release, the model solution, and the "wrong" base (the solution with skewed answers)."""
    solution = _copy(release)
    sources = _solution_sources(assignment)
    for cell in _answer_cells(solution):
        cell.source = sources[h.nbgrader_meta(cell)["grade_id"]]
    return {"release": release, "solution": solution, "wrong": _append(solution, WRONG_FIRST, WRONG_EACH, {})}


def _cheat_notebook(bases: dict, cheat, values):
    return _append(bases[cheat.base], cheat.first, cheat.each, values)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return h.build_template(tmp_path_factory.mktemp("redteam-all") / "template", assignments=ASSIGNMENTS)


def _grade_class(grader: str, template: Path, tmp_path_factory):
    """Submit the release, the solution and the cheats of every assignment; grade; read the scores."""
    course = tmp_path_factory.mktemp(f"redteam-all-{grader}") / "course"
    shutil.copytree(template, course, symlinks=True)
    if grader == "stock":
        (course / "nbgrader_config.py").write_text(STOCK_CONFIG)
    values = h.placeholder_values(course, 1, "generic", {}, {})
    scores, logs = {}, {}
    t0 = time.monotonic()
    for a in ASSIGNMENTS:
        bases = _bases(nbformat.read(course / "exercises" / a / f"{a}.ipynb", as_version=4), a)
        for name in HONEST:
            h.write_submission(course, name, bases[name], assignment=a)
        # the control grades only the cheats that fool it (the others were measured not to)
        cheats = [c for c in cheats_for(a, FULL) if grader != "stock" or c.fools_stock]
        for cheat in cheats:
            h.write_submission(course, cheat.name, _cheat_notebook(bases, cheat, values), cheat.files, values,
                               assignment=a)
        students = [*HONEST, *(c.name for c in cheats)]
        h.record_seeds(course, students, a)
        res = h.grade(course, "nbgrader" if grader == "stock" else grader, a)
        logs[a] = (res.stdout + res.stderr)[-6000:]
        scores[a] = h.auto_scores(course, students, a)
    print(f"\n[redteam-all {grader}] {sum(len(v) for v in scores.values())} submissions of {len(ASSIGNMENTS)} "
          f"assignments graded in {time.monotonic() - t0:.0f} s")
    return grader, scores, logs


@pytest.fixture(scope="module", params=GRADERS)
def graded(request, template, tmp_path_factory):
    """The class graded by one of the course's graders."""
    return _grade_class(request.param, template, tmp_path_factory)


@pytest.fixture(scope="module")
def stock(template, tmp_path_factory):
    """The class graded by stock nbgrader: the control."""
    return _grade_class("stock", template, tmp_path_factory)


def _points(scores: dict) -> float:
    return sum(scores.values())


def _cases():
    return [(a, c) for a in ASSIGNMENTS for c in cheats_for(a, FULL)]


def test_every_assignment_is_attacked_by_each_kind_of_cheat():
    for a in ASSIGNMENTS:
        for full in (True, False):
            names = [c.name for c in cheats_for(a, full)]
            assert len(names) >= (17 if full else 9) - (a not in DELEGATE), (a, names)
            for prefix in ("hook_", "output_", "redefine_", "rig_", "shadow_", "fs_"):
                assert any(n.startswith(prefix) for n in names), (a, full, prefix)
    assert {a for a in ASSIGNMENTS if any(c.name == "delegate_library" for c in cheats_for(a))} == {
        "02_posteriors", "03_em_two", "06_gmm_missing"}


@pytest.mark.parametrize("assignment,cheat", _cases(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_generic_cheat_is_valid_python(assignment, cheat):
    release = nbformat.read(h.ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    values = h.placeholder_values(Path("/nonexistent"), 1, "token", {}, {})
    for cell in _answer_cells(_cheat_notebook(_bases(release, assignment), cheat, values)):
        compile(cell.source, f"{assignment}:{cheat.name}", "exec")


def _check_honest(run):
    grader, scores, logs = run
    for a in ASSIGNMENTS:
        release_nb = nbformat.read(h.ROOT / "exercises" / a / f"{a}.ipynb", as_version=4)
        full = sum(h.test_points(release_nb).values())
        assert _points(scores[a]["release"]) == 0, (grader, a, scores[a]["release"], logs[a][-3000:])
        assert _points(scores[a]["solution"]) == full, (grader, a, scores[a]["solution"], logs[a][-3000:])
        assert _points(scores[a]["wrong"]) < full, (grader, a, "the wrong base should lose points", scores[a]["wrong"])


def test_the_honest_submissions_are_graded_as_before(graded):
    """Under the course's graders the release earns nothing and the model solution everything."""
    _check_honest(graded)


def test_the_control_grades_the_honest_submissions_alike(stock):
    """So does stock nbgrader (the control differs only on the cheats)."""
    _check_honest(stock)


@pytest.mark.parametrize("assignment,cheat", _cases(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_cheat_earns_nothing_under_the_course_graders(graded, assignment, cheat):
    grader, scores, logs = graded
    got, base = scores[assignment][cheat.name], scores[assignment][cheat.base]
    assert got, f"{cheat.name} was not graded for {assignment}:\n{logs[assignment][-3000:]}"
    more = {k: (v, base.get(k, 0.0)) for k, v in got.items() if v > base.get(k, 0.0)}
    assert not more, f"{cheat.name} earned more than its base `{cheat.base}` on {assignment} under {grader}: {more}"


def test_the_cheats_are_real(stock):
    """The control: under stock nbgrader (the notebook's own tests decide) the cheats marked
    ``fools_stock`` earn more than their base on every assignment, so the suite would notice a grader that
    trusts the notebook again."""
    grader, scores, logs = stock
    missed = {}
    fooled = {}
    for a, cheat in [(a, c) for a, c in _cases() if c.fools_stock]:
        gained = _points(scores[a][cheat.name]) - _points(scores[a][cheat.base])
        fooled.setdefault(a, []).append(cheat.name) if gained > 0 else None
        if gained <= 0:
            missed.setdefault(a, []).append(cheat.name)
    print("\n[redteam stock] cheats that fool stock nbgrader:",
          {a: len(v) for a, v in fooled.items()}, os.linesep, fooled)
    assert not missed, f"cheats marked fools_stock that earned nothing under stock nbgrader: {missed}"
