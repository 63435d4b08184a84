"""An instructor's own assignment, added the documented way.

* Assignments are discovered from ``solutions/`` (scripts and tests hold no list of them).
* ``mixlearn-course new-checks`` starts the checks module from the shipped template, ``guide`` prints
  the guide; the template is a working checks module.
* ``mixlearn-course autograde`` refuses an assignment without usable trusted checks before any
  kernel starts (naming the file, relative to the course, and the guide); plain ``nbgrader
  autograde`` stops at the first submission, before its kernel starts.
* End to end, in a course folder of its own: a new assignment (a source notebook with two answer
  functions, its checks started from the template, one library function switched off), released
  with ``nbgrader generate_assignment``, a class of four collected and graded.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

pytest.importorskip("nbgrader")

from exercise_support import ASSIGNMENTS, load_script  # noqa: E402
from redteam.harness import auto_scores  # noqa: E402

from mixlearn.course import authoring  # noqa: E402
from mixlearn.course.checks import build, load_checks, prepare  # noqa: E402
from mixlearn.course.cli import main  # noqa: E402
from mixlearn.course.trusted import MissingChecks, TrustedExecute  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.course_support import synth  # noqa: E402

A = "07_weights"   # the new assignment
POINTS = {"test_weighted_mean": 2.0, "test_draw_components": 3.0}


# ------------------------------------------------------------------------------ helpers
def _env():
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")  # nbgrader runs alembic
    env["PYTHONPATH"] = str(ROOT)
    return env


def _run(cwd, *args, timeout=600):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


def _course_cli(cwd, *args):
    return _run(cwd, "-m", "mixlearn.course", *args)


def _nbgrader(cwd, *args):
    return _run(cwd, "-m", "nbgrader", *args)


@pytest.fixture
def toy(tmp_path):
    """The synthetic one-assignment course (source/toy), with its checks."""
    root = synth.course_folder(tmp_path / "course")
    synth.write_submission(str(root), "alice", synth.VARIANTS["correct"](synth.source_notebook()))
    return root


@pytest.fixture
def nothing_starts(monkeypatch):
    """Fail the test if autograde gets as far as the sandbox or a grading worker."""
    import mixlearn.course.pool as pool
    import mixlearn.course.sandbox as sandbox
    import mixlearn.course.worker as worker

    def started(*args, **kwargs):
        raise AssertionError("autograde went on to the sandbox or a worker")

    monkeypatch.setattr(sandbox, "check_sandbox_works", started)
    monkeypatch.setattr(worker, "check_sandbox", started)
    monkeypatch.setattr(pool, "_Worker", started)


def _autograde(root, capsys):
    code = main(["autograde", synth.ASSIGNMENT, "--course", str(root), "--no-progress", "--jobs", "1"])
    return code, capsys.readouterr().err


# ------------------------------------------------------------------------------ discovery
def _fake_solutions(tmp_path):
    for name in ("01_old", "09_new"):
        (tmp_path / "solutions" / name).mkdir(parents=True)
        (tmp_path / "solutions" / name / f"{name}.ipynb").write_text("{}")
    (tmp_path / "solutions" / "notes").mkdir()            # a folder without its notebook
    (tmp_path / "solutions" / "README.md").write_text("")
    return tmp_path


def test_assignments_are_discovered_from_solutions(tmp_path):
    found = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())
    assert ASSIGNMENTS == found and len(found) >= 6
    release = load_script("release_exercises")
    assert release.ASSIGNMENTS == found
    assert release.discover(_fake_solutions(tmp_path)) == ["01_old", "09_new"]
    sources = load_script("make_solutions").ASSIGNMENTS
    assert all(module == "a" + a for a, module in sources.items()) and set(sources) <= set(found)
    assert set(sources) == {a for a in found if (ROOT / "scripts" / "exercise_sources" / f"a{a}.py").exists()}
    from redteam.generic import ASSIGNMENTS as GENERIC
    from redteam.harness import A as IN_DEPTH

    assert GENERIC == tuple(a for a in found if a != IN_DEPTH)


# ------------------------------------------------------------------------------ template and guide
def test_template_and_guide_ship_with_the_package():
    assert os.path.isfile(authoring.TEMPLATE) and os.path.isfile(authoring.GUIDE)
    tomllib = pytest.importorskip("tomllib")
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["mixlearn.course"]
    for path in (authoring.TEMPLATE, authoring.GUIDE):
        rel = os.path.relpath(path, ROOT / "mixlearn" / "course")
        assert any(fnmatch.fnmatch(rel, pattern) for pattern in data), rel


def test_the_template_is_a_working_checks_module():
    from scipy.stats import poisson

    checks = load_checks(authoring.TEMPLATE)
    assert list(checks) == ["test_mixture_pmf"] and authoring.SECTION in Path(authoring.TEMPLATE).read_text()

    def pmf(x, weights, rates):
        return sum(w * poisson.pmf(np.asarray(x), r) for w, r in zip(weights, rates, strict=True))

    for answer, passes in [(pmf, True), (lambda *a: 1.01 * pmf(*a), False)]:
        ctx = prepare(checks, "test_mixture_pmf", 7)
        assert any(c.hidden for c in ctx.cases) and any(not c.hidden for c in ctx.cases)
        for call in ctx.calls:
            call.outcome = answer(*build(call.args))
        verdict = ctx.judge()
        assert verdict.passed is passes, verdict.messages
    assert "should be" in verdict.messages[0] and "Hidden check failed (mixture_pmf on random" in verdict.messages[-1]


def test_guide_is_printed_and_covers_what_an_instructor_needs(capsys):
    assert main(["guide"]) == 0
    text = capsys.readouterr().out
    assert text == Path(authoring.GUIDE).read_text()
    for needle in ("## What a check receives and returns", "t.rng", "hidden=True", "## Expected values: mixlearn's real",
                   "SWITCHED_OFF = (", "## Messages students understand", "## Try the checks before releasing",
                   "mixlearn-course collect", "seeds.json", "TrustedExecute", "CourseDirectory.ignore"):
        assert needle in text, needle


def test_new_checks_copies_the_template_and_lists_the_test_cells(toy, capsys):
    path = toy / "source" / synth.ASSIGNMENT / "trusted_checks.py"
    path.unlink()
    assert main(["new-checks", synth.ASSIGNMENT, "--course", str(toy)]) == 0
    out = capsys.readouterr().out
    assert "wrote source/toy/trusted_checks.py" in out and authoring.GUIDE in out
    assert "test_square, test_square_hidden, test_mean" in out
    text = path.read_text()
    assert text.startswith('"""Trusted checks of assignment toy.')
    assert "#   test_square_hidden  (toy.ipynb, 1 points)" in text
    assert load_checks(str(path)).keys() == {"test_mixture_pmf"}
    # never overwritten by accident
    path.write_text("# mine\n")
    assert main(["new-checks", synth.ASSIGNMENT, "--course", str(toy)]) == 2
    assert "already exists (use --force" in capsys.readouterr().err and path.read_text() == "# mine\n"
    assert main(["new-checks", synth.ASSIGNMENT, "--course", str(toy), "--force"]) == 0
    assert "test_mixture_pmf" in path.read_text()
    # an assignment without a source folder
    assert main(["new-checks", "nope", "--course", str(toy)]) == 2
    assert "source/nope does not exist: put the assignment's source notebook there" in capsys.readouterr().err


# ------------------------------------------------------------------------------ refusals (no kernel)
def test_autograde_refuses_an_assignment_without_checks_before_anything_starts(toy, capsys, nothing_starts):
    (toy / "source" / synth.ASSIGNMENT / "trusted_checks.py").unlink()
    code, err = _autograde(toy, capsys)
    assert code == 2
    assert "no trusted checks for assignment 'toy': source/toy/trusted_checks.py does not exist" in err
    assert "mixlearn-course new-checks toy" in err and authoring.GUIDE in err
    assert str(toy) not in err   # the path as the instructor knows it, not an internal run folder
    assert not (toy / "autograded").exists() and not (toy / ".mixlearn-course").exists()


BROKEN = {
    "a test cell without a check": (
        lambda text: text.replace('@check("test_mean")', '@check("test_mean_typo")'),
        "source/toy/trusted_checks.py has no check for the test cell(s) test_mean. The guide"),
    "a module that does not load": (
        lambda text: text + "\ndef broken(:\n", "source/toy/trusted_checks.py could not be loaded (line"),
    "a check that raises": (
        lambda text: text.replace('t.case("square(3)"', 'undefined_helper()\n    t.case("square(3)"'),
        "the check for 'test_square' raised NameError"),
    "a check without a case": (
        lambda text: text.replace('    t.case("mean_of([1, 2, 3])"', '    return\n    t.case("mean_of([1, 2, 3])"'),
        "the check for 'test_mean' registers no case (t.case): it would pass every answer"),
    "SWITCHED_OFF naming nothing": (
        lambda text: text + '\nSWITCHED_OFF = ("mixture.py:no_such_function",)\n',
        "SWITCHED_OFF names 'mixture.py:no_such_function', but mixlearn/mixture.py defines no top-level function"),
    "SWITCHED_OFF of the wrong form": (
        lambda text: text + '\nSWITCHED_OFF = ("sample_mixture",)\n', "should read '<file under mixlearn/>:<function>'"),
}


@pytest.mark.parametrize("what", BROKEN)
def test_autograde_refuses_unusable_checks_before_anything_starts(toy, capsys, nothing_starts, what):
    edit, message = BROKEN[what]
    path = toy / "source" / synth.ASSIGNMENT / "trusted_checks.py"
    path.write_text(edit(path.read_text()))
    code, err = _autograde(toy, capsys)
    assert code == 2 and message in err, err
    assert not (toy / "autograded").exists()


def test_autograde_warns_about_checks_of_unknown_cells_and_released_checks(toy, capsys, monkeypatch):
    path = toy / "source" / synth.ASSIGNMENT / "trusted_checks.py"
    path.write_text(path.read_text() + '\n\n@check("test_sqaure")\ndef _(t):\n    t.case("x", lambda got: None, '
                                       't.call("square", 1))\n')
    config = toy / "nbgrader_config.py"
    config.write_text(config.read_text().replace(', "trusted_checks.py"', ""))
    from mixlearn.course.common import load_nbgrader_config

    cfg, coursedir = load_nbgrader_config(str(toy))
    said = []
    assert set(authoring.preflight(cfg, coursedir, synth.ASSIGNMENT, said.append)) >= {"test_square", "test_sqaure"}
    assert any("has checks for test_sqaure, which are not test cells" in s for s in said), said
    assert any("add 'trusted_checks.py' to c.CourseDirectory.ignore" in s for s in said), said


def test_trusted_execute_outside_the_nbgrader_command_fails_the_submission(toy):
    """Under nbgrader's API or mixlearn-course's workers, unusable checks fail the submission
    (MissingChecks, before its kernel starts) instead of ending the process."""
    from traitlets.config import Config

    cfg = Config()
    cfg.CourseDirectory.root = str(toy)
    cfg.CourseDirectory.source_directory = "source"
    cfg.TrustedExecute.seed = 1
    nb = synth.source_notebook()
    resources = {"nbgrader": {"assignment": synth.ASSIGNMENT, "student": "alice", "notebook": "toy"}}
    path = toy / "source" / synth.ASSIGNMENT / "trusted_checks.py"
    good = path.read_text()
    path.write_text(good.replace('    t.case("mean_of([1, 2, 3])"', '    return\n    t.case("mean_of([1, 2, 3])"'))
    with pytest.raises(MissingChecks, match="registers no case"):
        TrustedExecute(config=cfg).preprocess(nb, resources)
    path.unlink()
    with pytest.raises(MissingChecks, match="source/toy/trusted_checks.py does not exist"):
        TrustedExecute(config=cfg).preprocess(nb, resources)


# ------------------------------------------------------------------------------ end to end
def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    md = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
          "task": False}
    if points is not None:
        md["points"] = points
    return {"nbgrader": md}


WEIGHTED_MEAN = '''def weighted_mean(x, w):
    """The mean of the values x, value x[i] counted with weight w[i] >= 0."""
    ### BEGIN SOLUTION
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    return float(np.sum(w * x) / np.sum(w))
    ### END SOLUTION'''
DRAW_COMPONENTS = '''def draw_components(weights, n, rng):
    """n component numbers, k drawn with probability weights[k], every random number from rng."""
    ### BEGIN SOLUTION
    cumulative = np.cumsum(weights)
    u = rng.random(n) * cumulative[-1]
    return np.searchsorted(cumulative, u, side="right")
    ### END SOLUTION'''


def source_notebook():
    cells = [
        new_markdown_cell("# Weights\nA weighted mean, and drawing the components of a mixture.",
                          metadata=_meta("intro", locked=True)),
        new_code_cell("import numpy as np\nimport mixlearn as ml", metadata=_meta("setup", locked=True)),
        new_code_cell(WEIGHTED_MEAN, metadata=_meta("weighted_mean", solution=True)),
        new_code_cell("assert weighted_mean([1, 2, 3], [1, 1, 2]) == 2.25\n"
                      "### BEGIN HIDDEN TESTS\nassert weighted_mean([5.0], [3.0]) == 5.0\n### END HIDDEN TESTS",
                      metadata=_meta("test_weighted_mean", grade=True, locked=True, points=2)),
        new_code_cell(DRAW_COMPONENTS, metadata=_meta("draw_components", solution=True)),
        new_code_cell("z = draw_components([0.2, 0.5, 0.3], 10_000, np.random.default_rng(0))\n"
                      "assert z.shape == (10_000,) and abs(np.mean(z == 1) - 0.5) < 0.03",
                      metadata=_meta("test_draw_components", grade=True, locked=True, points=3)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


# What the instructor writes in place of the template's example (below its section line).
OWN_CHECKS = '''
def _mean_case(t, x, w, what, hidden=False):
    expected = float(np.average(x, weights=w))

    def judge(got):
        expect_close(as_array(got, what, ()), expected, what)

    t.case(what, judge, t.call("weighted_mean", x, w), hidden=hidden)


@check("test_weighted_mean")
def _(t):
    _mean_case(t, [1.0, 2.0, 3.0], [1.0, 1.0, 2.0], "weighted_mean([1, 2, 3], [1, 1, 2])")
    r = t.rng
    for _ in range(3):
        n = int(r.integers(2, 30))
        _mean_case(t, r.normal(0, 10, n), r.uniform(0, 5, n), "weighted_mean on random values and weights", hidden=True)


def _draws_case(t, weights, n, seed, what, hidden=False):
    w = np.asarray(weights, dtype=float) / np.sum(weights)

    def labels(got):
        z = as_array(got, what, (n,))
        expect(np.all((z >= 0) & (z < len(w)) & (z == np.round(z))),
               f"{what} should contain component numbers 0 to {len(w) - 1}.")
        return z.astype(int)

    def judge(first, again, other):
        z = labels(first)
        expect(np.array_equal(z, labels(again)),
               "Two calls with generators seeded alike should give the same components: draw every random number from rng.")
        expect(not np.array_equal(z, labels(other)), "Different seeds should give different components.")
        freq = np.bincount(z, minlength=len(w)) / n
        expect(np.all(np.abs(freq - w) <= 5 * np.sqrt(w * (1 - w) / n) + 1e-12),
               f"Component k should be drawn with probability weights[k] ({what}).")

    calls = [t.call("draw_components", list(weights), n, Rng(s)) for s in (seed, seed, seed + 1)]
    t.case(what, judge, *calls, hidden=hidden)


@check("test_draw_components")
def _(t):
    _draws_case(t, [0.2, 0.5, 0.3], 10_000, 0, "draw_components([0.2, 0.5, 0.3], 10_000, rng)")
    r = t.rng
    k = int(r.integers(2, 6))
    _draws_case(t, r.dirichlet(np.ones(k)).tolist(), 20_000, int(r.integers(2**31)),
                "draw_components for other weights", hidden=True)
'''

ANSWERS = {
    "weighted_mean": "def weighted_mean(x, w):\n    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)\n"
                     "    return float(np.sum(w * x) / np.sum(w))",
    "draw_components": "def draw_components(weights, n, rng):\n    return rng.choice(len(weights), size=n, p=weights)",
}
WRONG_MEAN = "def weighted_mean(x, w):\n    return float(np.mean(x))   # forgets the weights"
SHORTCUT = ("def draw_components(weights, n, rng):\n"
            "    return ml.sample_mixture(weights, [ml.Poisson(1.0)] * len(weights), n, random_state=rng)[1]")


def _answered(release, **answers):
    nb = nbformat.from_dict(release)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


@pytest.fixture(scope="module")
def own_course(tmp_path_factory):
    """A course folder of its own (the course's nbgrader_config.py and nothing else of the checkout),
    with the new assignment added as the guide says, released, and a class of four collected."""
    course = tmp_path_factory.mktemp("own") / "course"
    (course / "solutions" / A).mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    nbformat.write(source_notebook(), str(course / "solutions" / A / f"{A}.ipynb"))

    r = _course_cli(course, "new-checks", A)
    assert r.returncode == 0, r.stderr
    assert "test_weighted_mean, test_draw_components" in r.stdout
    checks = course / "solutions" / A / "trusted_checks.py"
    text = checks.read_text()
    assert text.startswith(f'"""Trusted checks of assignment {A}.') and "test_mixture_pmf" in text
    # the instructor's edits: their own checks in place of the example, a sampler switched off
    head, _, _ = text.partition(authoring.SECTION)
    head = head.replace("SWITCHED_OFF = ()", 'SWITCHED_OFF = ("mixture.py:sample_mixture",)')
    head = head.replace("import as_array, check,", "import Rng, as_array, check,")
    checks.write_text(head + authoring.SECTION + OWN_CHECKS)

    r = _nbgrader(course, "generate_assignment", A, "--force")
    assert r.returncode == 0, r.stderr[-3000:]
    assert not (course / "exercises" / A / "trusted_checks.py").exists()   # never released
    release = nbformat.read(course / "exercises" / A / f"{A}.ipynb", as_version=4)
    tries = course.parent / "tries"
    tries.mkdir()
    shutil.copy2(course / "solutions" / A / f"{A}.ipynb", tries / "model.ipynb")
    shutil.copy2(course / "exercises" / A / f"{A}.ipynb", tries / "stub.ipynb")
    nbformat.write(_answered(release, weighted_mean=WRONG_MEAN, draw_components=ANSWERS["draw_components"]),
                   str(tries / "wrong_mean.ipynb"))
    nbformat.write(_answered(release, weighted_mean=ANSWERS["weighted_mean"], draw_components=SHORTCUT),
                   str(tries / "shortcut.ipynb"))
    r = _course_cli(course, "collect", A, str(tries))
    assert r.returncode == 0, r.stderr
    return course


def test_the_shortcut_would_pass_but_for_switched_off(own_course):
    """The call to the library is a correct sampler (the real mixlearn passes the check), so only
    SWITCHED_OFF keeps it from earning the points."""
    import mixlearn as ml

    checks = load_checks(str(own_course / "solutions" / A / "trusted_checks.py"))
    ctx = prepare(checks, "test_draw_components", 3)
    for call in ctx.calls:
        weights, n, rng = build(call.args)
        call.outcome = ml.sample_mixture(weights, [ml.Poisson(1.0)] * len(weights), n, random_state=rng)[1]
    assert ctx.judge().passed


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_a_class_of_the_new_assignment_is_graded(own_course, tmp_path):
    course = tmp_path / "graded"
    shutil.copytree(own_course, course, symlinks=True)
    r = _course_cli(course, "autograde", A, "--jobs", "4", "--no-progress")
    assert r.returncode == 0, r.stderr[-4000:]
    assert "has checks for" not in r.stderr and "CourseDirectory.ignore" not in r.stderr, r.stderr[-2000:]
    scores = auto_scores(course, ["model", "stub", "wrong_mean", "shortcut"], assignment=A)
    assert scores["model"] == POINTS
    assert scores["stub"] == {"test_weighted_mean": 0.0, "test_draw_components": 0.0}
    assert scores["wrong_mean"] == {"test_weighted_mean": 0.0, "test_draw_components": 3.0}
    assert scores["shortcut"] == {"test_weighted_mean": 2.0, "test_draw_components": 0.0}
    autograded = nbformat.read(course / "autograded" / "shortcut" / A / f"{A}.ipynb", as_version=4)
    test = next(c for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_draw_components")
    assert "mixlearn.sample_mixture is switched off while grading" in test.outputs[0]["evalue"]
    autograded = nbformat.read(course / "autograded" / "wrong_mean" / A / f"{A}.ipynb", as_version=4)
    test = next(c for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_weighted_mean")
    assert "weighted_mean([1, 2, 3], [1, 1, 2]) should be 2.25, but it is 2" in test.outputs[0]["evalue"]


@pytest.mark.parametrize("grader", ["mixlearn-course", "nbgrader"])
def test_grading_the_new_assignment_without_its_checks_is_refused(own_course, tmp_path, grader):
    course = tmp_path / "no-checks"
    shutil.copytree(own_course, course, symlinks=True)
    (course / "solutions" / A / "trusted_checks.py").unlink()
    if grader == "mixlearn-course":
        r = _course_cli(course, "autograde", A, "--no-progress")
        assert r.returncode == 2
    else:
        r = _nbgrader(course, "autograde", A)
        assert r.returncode != 0
        assert r.stderr.count("Autograding ") == 1          # stopped at the first submission
        assert "nbgrader autograde stopped at 'model' (whose notebook was not run)" in r.stderr
        assert not (course / "autograded" / "model" / A).exists()   # a re-run grades it
    assert f"no trusted checks for assignment '{A}': solutions/{A}/trusted_checks.py does not exist" in r.stderr
    assert f"mixlearn-course new-checks {A}" in r.stderr and authoring.GUIDE in r.stderr
    assert not list(course.glob("autograded/*/*/*.ipynb"))
