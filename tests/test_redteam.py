"""Red team: cheating and hostile submissions earn nothing, break nothing and leak nothing.

Every cheat of ``tests/redteam/cheats.py`` (IPython hooks, output tricks, redefined helpers,
rigged return values, the file system, shadowing files, killing, exfiltration, delegation,
knowing the tests) is submitted, together with three honest students and a sandbox detector,
as one class of assignment 04_em_n, and the class is graded ONCE per grader:

* ``nbgrader``        plain ``nbgrader autograde 04_em_n`` with the course's nbgrader_config.py;
* ``course``          ``mixlearn-course autograde 04_em_n --jobs 2``.

A grader whose kernels are not in a PID namespace (the detector student reports it) is skipped
for the mixlearn-course graders (they may not use the sandbox yet) and fails for nbgrader.

The properties, per grader: each cheat earns no more automatic points than its base notebook
without the cheat (graded in the same run); the honest students get the grades an in-process
oracle gives them (same checks, same seed); submitted files stay byte-identical; the course's
solutions/ and release are not written; nothing reaches a listener on 127.0.0.1; no process of a
submission survives; and nobody's feedback contains a hidden input, the seed, a hidden test line
or a line of trusted_checks.py, in plain text, ROT13, base64 or hex.

Run only this suite with ``pytest -m redteam``.  Known holes are listed in ``KNOWN_HOLES``
(strict xfail: the test starts failing as soon as the hole is closed, to remind us to remove it).
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from redteam import harness as h
from redteam.cheats import CATEGORIES, CHEATS, CHEATS_05

pytestmark = [pytest.mark.redteam,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")]

ALL_GRADERS = ("nbgrader", "course")
# REDTEAM_GRADERS=nbgrader,course limits the run to some graders (each grades the whole class once)
GRADERS = tuple(g for g in os.environ.get("REDTEAM_GRADERS", ",".join(ALL_GRADERS)).split(",") if g in ALL_GRADERS)

# Holes this suite found are fixed as they are found.  A hole that needs a fix outside the
# red-team files is listed here with its reason, keyed by (cheat name, "feedback:<student>" or
# "invisible"; grader), and runs as a strict xfail until it is closed.
KNOWN_HOLES: dict[tuple[str, str], str] = {}



def _known(request, name, grader):
    reason = KNOWN_HOLES.get((name, grader))
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


@dataclass
class Run:
    grader: str
    course: Path
    release: object
    scores: dict
    seeds: dict
    detector: dict | None
    received: list
    survivors: list
    before: dict
    after: dict
    log: str
    feedback_log: str
    token: str
    seconds: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return h.build_template(tmp_path_factory.mktemp("redteam") / "template")


@pytest.fixture(scope="module")
def answers():
    return h.answer_table(include_hidden=False), h.answer_table(include_hidden=True)


def _digests(course: Path) -> dict:
    return {part: h.tree_digest(course / part) for part in ("submitted", "solutions", "exercises")}


@pytest.fixture(scope="module", params=GRADERS)
def graded(request, template, answers, tmp_path_factory):
    grader = request.param
    course = tmp_path_factory.mktemp(f"redteam-{grader}") / "course"
    shutil.copytree(template, course, symlinks=True)
    release = nbformat.read(course / "exercises" / h.A / f"{h.A}.ipynb", as_version=4)
    listener = h.Listener()
    token = secrets.token_hex(6)
    values = h.placeholder_values(course, listener.port, token, *answers)
    try:
        h.write_submission(course, "honest_solution", h.base_notebook(release, "solution"))
        h.write_submission(course, "base_partial", h.base_notebook(release, "partial"))
        h.write_submission(course, "base_release", h.base_notebook(release, "release"))
        det = h.base_notebook(release, "release")
        det.cells[3].source += "\n" + h.fill(h.DETECTOR_CODE, values)
        h.write_submission(course, h.DETECTOR, det)
        for cheat in CHEATS:
            h.write_submission(course, cheat.name, h.cheat_notebook(release, cheat, values), cheat.files, values)
        h.record_seeds(course, h.all_students())
        release5 = nbformat.read(course / "exercises" / h.A5 / f"{h.A5}.ipynb", as_version=4)
        h.write_submission(course, "gmm_release", release5, assignment=h.A5)
        for cheat in CHEATS_05:
            h.write_submission(course, cheat.name, h.cheat_notebook(release5, cheat, values), assignment=h.A5)
        h.record_seeds(course, ["gmm_release", *(c.name for c in CHEATS_05)], h.A5)
        before = _digests(course)
        t0 = time.monotonic()
        res = h.grade(course, grader)
        res5 = h.grade(course, grader, h.A5)
        seconds = {"autograde": time.monotonic() - t0}
        time.sleep(1.0)
        alive = h.survivors(token)
    finally:
        listener.close()
    detector = h.detector_report(course)
    log = (res.stdout + res.stderr)[-20000:]
    if not (detector and detector.get("pid_namespace")):
        why = (f"`{grader}` does not run kernels in the bubblewrap sandbox yet (detector: {detector}); "
               "enable this grader once it does")
        if grader == "nbgrader":
            pytest.fail(why + "\n" + log[-4000:])
        pytest.skip(why)
    scores = h.auto_scores(course, h.all_students())
    scores.update(h.auto_scores(course, ["gmm_release", *(c.name for c in CHEATS_05)], h.A5))
    log += (res5.stdout + res5.stderr)[-5000:]
    t0 = time.monotonic()
    fb = h.feedback(course, grader)
    seconds["feedback"] = time.monotonic() - t0
    print(f"\n[redteam {grader}] {len(h.all_students())} submissions: autograde {seconds['autograde']:.0f} s, "
          f"feedback {seconds['feedback']:.0f} s; detector {detector}")
    return Run(grader, course, release, scores, h.read_seeds(course), detector, list(listener.received), alive,
               before, _digests(course), log, (fb.stdout + fb.stderr)[-20000:], token, seconds)


def _total(scores: dict) -> float:
    return sum(v for k, v in scores.items())


# ------------------------------------------------------------------------------ the suite itself
def test_the_suite_covers_every_class_of_cheat():
    assert len(CHEATS) >= 25
    counts = {c: sum(ch.category == c for ch in CHEATS) for c in CATEGORIES}
    assert all(counts.values()), counts


@pytest.mark.parametrize("cheat", [*CHEATS, *CHEATS_05], ids=lambda c: c.name)
def test_every_cheat_is_valid_python(cheat, tmp_path):
    values = h.placeholder_values(tmp_path, 1, "token", {"k": ([0.5], 0.0)}, {"k": ([0.5], 0.0)})
    for where, code in [*cheat.append.items(), *cheat.replace.items(), *cheat.files.items()]:
        if isinstance(code, str) and (where in cheat.append or where in cheat.replace or where.endswith(".py")):
            compile(h.fill(code, values), f"{cheat.name}:{where}", "exec")


# ------------------------------------------------------------------------------ per cheat
@pytest.mark.parametrize("cheat", CHEATS, ids=lambda c: c.name)
def test_cheat_earns_no_more_than_its_base(graded, cheat, request):
    _known(request, cheat.name, graded.grader)
    base = graded.scores["base_" + cheat.base]
    got = graded.scores[cheat.name]
    assert _total(base) > 0 or cheat.base == "release", "the base notebook itself was not graded"
    more = {k: (v, base.get(k, 0.0)) for k, v in got.items() if v > base.get(k, 0.0)}
    assert _total(got) <= _total(base) and not more, (
        f"{cheat.name} ({cheat.category}) earned {_total(got):g} points, its base `{cheat.base}` "
        f"{_total(base):g}; cells where it earned more (cheat, base): {more}")


@pytest.mark.parametrize("cheat", CHEATS_05, ids=lambda c: c.name)
def test_assignment_5_cheat_earns_no_more_than_the_release(graded, cheat, request):
    _known(request, cheat.name, graded.grader)
    got, base = graded.scores[cheat.name], graded.scores["gmm_release"]
    assert _total(got) <= _total(base), f"{cheat.name} earned {got} (the untouched release: {base})"


def test_edited_cell_roles_are_restored_and_the_rest_is_graded(graded):
    """Test cells that claim 100 points or "not graded", an answer cell that claims points and another
    kernel: the roles and points come back from the gradebook (RestoreCellRoles, OverwriteCells,
    OverwriteKernelspec), and the submission is graded like its base instead of failing as a whole."""
    got, base = graded.scores["meta_points_flags_and_kernel"], graded.scores["base_partial"]
    assert _total(base) > 0
    assert got == base, (got, base, graded.log[-3000:])


@pytest.mark.parametrize("student", [*h.HONEST, *(c.name for c in CHEATS)])
def test_feedback_carries_no_hidden_data(graded, student, request):
    _known(request, f"feedback:{student}", graded.grader)
    page = graded.course / "feedback" / student / h.A / f"{h.A}.html"
    if not page.exists():
        return   # no feedback (not graded, or withheld by the tool): nothing can leak
    seed = graded.seeds.get(student, h.student_seed(student))
    needles = h.leak_needles(graded.course, seed, graded.release)
    leaks = h.find_leaks(page.read_text(errors="replace"), needles)
    assert not leaks, f"{student}'s feedback carries: " + "; ".join(sorted(set(leaks))[:12])


# ------------------------------------------------------------------------------ per grader
def test_honest_students_get_their_correct_grades(graded):
    for student in h.HONEST:
        nb = nbformat.read(graded.course / "submitted" / student / h.A / f"{h.A}.ipynb", as_version=4)
        expected = h.expected_scores(graded.course, nb, graded.seeds[student], graded.release)
        assert graded.scores[student] == expected, (student, graded.scores[student], expected, graded.log[-3000:])
    assert _total(graded.scores["honest_solution"]) > _total(graded.scores["base_partial"]) > 0


def test_submitted_files_stay_byte_identical(graded):
    before, after = graded.before["submitted"], graded.after["submitted"]
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, changed


def test_solutions_and_release_are_not_written(graded):
    for part in ("solutions", "exercises"):
        before, after = graded.before[part], graded.after[part]
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        assert not changed, (part, changed)
    planted = [p for part in ("solutions", "exercises") for p in (h.ROOT / part).rglob("*")
               if p.name in ("rt_planted.py", "numpy.py", "sitecustomize.py")]
    assert not planted, planted


def test_nothing_reaches_localhost(graded):
    assert not graded.received, [r[:200] for r in graded.received]


def test_no_process_of_a_submission_survives(graded):
    assert not graded.survivors, graded.survivors


def test_gradebook_has_no_extra_credit_and_every_student(graded):
    assert set(h.all_students()) <= set(graded.scores)
    assert not [s for s, sc in graded.scores.items() if "extra_credit" in sc]
    ungraded = [s for s in (*h.HONEST, h.DETECTOR) if not graded.scores[s]]
    assert not ungraded, (ungraded, graded.log[-3000:])


def test_course_and_repository_are_invisible_to_the_kernel(graded, request):
    _known(request, "invisible", graded.grader)
    assert graded.detector["course_visible"] is False and graded.detector["repo_visible"] is False, graded.detector


def test_delegation_targets_are_out_of_reach(graded, request):
    """Neither scikit-learn (from any site-packages the sandbox mounts) nor an unstubbed copy of
    mixlearn's EM is reachable from the kernel."""
    _known(request, "delegation-targets", graded.grader)
    assert not graded.detector.get("sklearn") and not graded.detector.get("real_em"), graded.detector


def test_no_submission_reaches_a_later_kernel(graded):
    """aa_fs_plant_for_later_kernels leaves IPython startup files in /tmp, HOME and /dev/shm: no other
    submission's kernel may run them (each kernel starts from empty folders)."""
    marker = f"RT-CROSS-{graded.token}"
    reached = sorted(p.parent.parent.name for p in (graded.course / "autograded").glob(f"*/{h.A}/{h.A}.ipynb")
                     if p.parent.parent.name != "aa_fs_plant_for_later_kernels" and marker in p.read_text())
    assert not reached, reached


@pytest.mark.parametrize("grader", [g for g in GRADERS if g != "nbgrader"])
def test_a_frozen_neighbour_does_not_stall_the_next_submissions(grader, template, tmp_path, request):
    """With one worker, a submission that stops every process it can see and sends garbage to every
    socket is followed by two honest ones: they are graded, correctly (a kernel server shared between
    submissions must survive)."""
    from redteam.cheats import FREEZE_NEIGHBOURS

    _known(request, "frozen-neighbour", grader)
    course = tmp_path / "course"
    shutil.copytree(template, course, symlinks=True)
    release = nbformat.read(course / "exercises" / h.A / f"{h.A}.ipynb", as_version=4)
    values = h.placeholder_values(course, 1, "x", {}, {})
    freezer = h.base_notebook(release, "release")
    next(c for c in freezer.cells if h.nbgrader_meta(c).get("grade_id") == "log_likelihood_matrix").source += (
        "\n\n" + h.fill(FREEZE_NEIGHBOURS, values))
    h.write_submission(course, "a_freezer", freezer)
    h.write_submission(course, "b_partial", h.base_notebook(release, "partial"))
    h.write_submission(course, "c_solution", h.base_notebook(release, "solution"))
    students = ["a_freezer", "b_partial", "c_solution"]
    h.record_seeds(course, students)
    cmd = [h.BIN / "mixlearn-course", "autograde", h.A, "--course", course, "--jobs", "1", "--no-progress",
           "--wall", "120"]
    res = h.run(cmd, cwd=course, timeout=900)
    scores = h.auto_scores(course, students)
    for student in students[1:]:
        nb = nbformat.read(course / "submitted" / student / h.A / f"{h.A}.ipynb", as_version=4)
        expected = h.expected_scores(course, nb, h.read_seeds(course)[student], release)
        assert scores[student] == expected, (student, scores[student], expected, (res.stdout + res.stderr)[-3000:])


def test_student_edition_cache_follows_the_stub_rules(tmp_path, monkeypatch, request):
    """A cached student edition is rebuilt when the rules of what it switches off change (an upgrade of
    mixlearn-course must not keep grading with an older, leakier edition)."""
    from mixlearn.course import sandbox

    _known(request, "edition-cache", "any")
    first = Path(sandbox.student_edition(str(tmp_path)))
    assert "def logsumexp_components(*args, **kwargs)" in (first / "_logsumexp.py").read_text()
    rules = {k: tuple(v) for k, v in sandbox.STUB_FUNCTIONS.items()}
    rules["distributions.py"] = (*rules.get("distributions.py", ()), "as_components")
    monkeypatch.setattr(sandbox, "STUB_FUNCTIONS", rules)
    second = Path(sandbox.student_edition(str(tmp_path)))
    assert "def as_components(*args, **kwargs)" in (second / "distributions.py").read_text(), (
        f"{second} was built for the old rules")
