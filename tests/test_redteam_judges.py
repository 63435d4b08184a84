"""Red team on the judges: answers that skip the asked-for work must not pass a trusted check.

The cheats of ``tests/redteam/judges.py`` are plain functions returning plain data (no hook, no
rigged object): an ``em_two`` that returns the closed form with a made-up history, an ``em_two``
whose flat history the student's own ``log_likelihood_two`` confirms, a ``fit_gmm_1d`` that runs
no EM.  Each is compared with its base (the same notebook without the cheat), cell by cell:

* in this process, with the trusted checks of the assignment for several seeds (fast, no
  sandbox: the judges alone decide; every answer cell runs before any call, whereas the grader
  runs the visible calls in place of each test cell, so only the second run is authoritative);
* under ``mixlearn-course autograde --jobs 2`` (the real grader, sandbox and all).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from redteam import harness as h
from redteam.judges import ASSIGNMENTS, JUDGE_CHEATS, base_sources, cheat_sources, notebook

SEEDS = (1, 2, 3, 20261128)


def _release(assignment: str, root: Path = h.ROOT):
    return nbformat.read(root / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)


def _in_process_scores(assignment: str, nb, seed: int) -> dict:
    """``{test cell: points}``: the notebook's setup and answer cells run here, in order, and the
    trusted checks' calls judged by the checks themselves (as the grader would, seed and all)."""
    return h.expected_scores(h.ROOT, nb, seed, assignment=assignment, strict=True)


def _gains(got: dict, base: dict) -> dict:
    return {k: (v, base.get(k, 0.0)) for k, v in got.items() if v > base.get(k, 0.0)}


@pytest.mark.parametrize("cheat", [c for c in JUDGE_CHEATS if c.judged_in_process],
                         ids=lambda c: f"{c.assignment}:{c.name}")
def test_judge_cheat_earns_nothing_in_process(cheat):
    release = _release(cheat.assignment)
    for seed in SEEDS:
        base = _in_process_scores(cheat.assignment, notebook(release, base_sources(cheat)), seed)
        got = _in_process_scores(cheat.assignment, notebook(release, cheat_sources(cheat)), seed)
        assert not _gains(got, base), (f"{cheat.name} earns more than its base on {cheat.assignment} "
                                       f"(seed {seed}): {_gains(got, base)}")


def test_the_model_solution_passes_in_process():
    """The in-process judging above is sound: the model solution passes every check."""
    from redteam.judges import solution_sources

    for a in ASSIGNMENTS:
        release = _release(a)
        full = h.test_points(release)
        for seed in SEEDS[:2]:
            assert _in_process_scores(a, notebook(release, solution_sources(a)), seed) == full, (a, seed)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    return h.build_template(tmp_path_factory.mktemp("redteam-judges") / "template", assignments=ASSIGNMENTS)


@pytest.fixture(scope="module", params=["course"])
def graded(request, template, tmp_path_factory):
    """Every base and cheat submitted for its assignment and graded by mixlearn-course."""
    course = tmp_path_factory.mktemp(f"redteam-judges-{request.param}") / "course"
    shutil.copytree(template, course, symlinks=True)
    scores, logs = {}, {}
    for a in ASSIGNMENTS:
        release = _release(a, course)
        students = []
        for cheat in (c for c in JUDGE_CHEATS if c.assignment == a):
            for who, sources in ((f"base_{cheat.name}", base_sources(cheat)), (cheat.name, cheat_sources(cheat))):
                h.write_submission(course, who, notebook(release, sources), assignment=a)
                students.append(who)
        h.record_seeds(course, students, a)
        res = h.grade(course, request.param, a)
        logs[a] = (res.stdout + res.stderr)[-4000:]
        scores[a] = h.auto_scores(course, students, a)
    return scores, logs


@pytest.mark.redteam
@pytest.mark.parametrize("cheat", JUDGE_CHEATS, ids=lambda c: f"{c.assignment}:{c.name}")
def test_judge_cheat_earns_nothing_under_mixlearn_course(graded, cheat):
    scores, logs = graded
    got, base = scores[cheat.assignment][cheat.name], scores[cheat.assignment][f"base_{cheat.name}"]
    assert got and base, f"{cheat.name} was not graded:\n{logs[cheat.assignment]}"
    assert not _gains(got, base), f"{cheat.name} earns more than its base on {cheat.assignment}: {_gains(got, base)}"
