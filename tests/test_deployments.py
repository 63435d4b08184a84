"""Grades are right wherever the course is installed: three deployments, two graders each.

The grader and the kernel may import mixlearn from different places, and the course folder may
or may not hold a copy of it.  Each deployment is built as an instructor would build it, in a
fresh virtual environment of its own (the test environment's packages are reached through a path
line in a ``.pth`` file, so that only mixlearn itself is installed anew):

* ``editable``  a copy of the checkout installed with ``pip install -e``; the course is that copy;
* ``wheel``     a wheel built from the checkout and installed (site-packages); the course is a copy
  of the checkout, so a second, real mixlearn sits in the course folder;
* ``own-folder`` the editable environment, and a course folder elsewhere holding only what an
  instructor's course holds (``nbgrader_config.py`` and ``solutions/04_em_n``).

In each, ``mixlearn-course autograde`` (local workers, and ``--scheduler`` on a Dask cluster whose
workers run the deployment's own Python) and plain ``nbgrader autograde`` grade the same class: the
model solution earns full marks, the release nothing, and the library-delegation controls no more
than the same notebook without the delegation; the three graders agree cell by cell.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
from redteam import harness as h
from redteam.cheats import CHEATS

from tests.course_support.services import DaskCluster

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

ROOT = h.ROOT
A = h.A
DELEGATION = ("delegate_library_em", "delegate_source_from_disk", "delegate_sklearn")
DEPLOYMENTS = ("editable", "wheel", "own-folder")
GRADERS = ("course", "scheduler", "nbgrader")


def _copy_checkout(dest: Path) -> Path:
    """The checkout's tracked files (what a clone holds)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def _venv(dest: Path, install: list[str]) -> Path:
    """A fresh environment that installs mixlearn by *install* (pip arguments) and reaches every other
    package of the test environment through a ``.pth`` path line (its own .pth files, among them this
    checkout's editable finder, are not run)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dest)], check=True)
    py = dest / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                        "--no-build-isolation", "--ignore-installed", *install], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    where = subprocess.run([py, "-c", "import mixlearn; print(mixlearn.__file__)"], capture_output=True, text=True,
                           cwd="/").stdout.strip()
    assert where and not where.startswith(str(ROOT)), where
    return dest


def _env(venv: Path, cwd: Path) -> dict:
    env = h.env(cwd)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{h.BIN}{os.pathsep}{env['PATH']}"
    return env


def _run(venv: Path, cmd, cwd: Path, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env(venv, cwd), capture_output=True, text=True,
                          timeout=timeout)


def _class(course: Path) -> list[str]:
    release = nbformat.read(course / "exercises" / A / f"{A}.ipynb", as_version=4)
    values = h.placeholder_values(course, 1, "x", {}, {})
    h.write_submission(course, "solution", h.base_notebook(release, "solution"))
    h.write_submission(course, "release", h.base_notebook(release, "release"))
    h.write_submission(course, "base_partial", h.base_notebook(release, "partial"))
    cheats = {c.name: c for c in CHEATS}
    for name in DELEGATION:
        assert cheats[name].base == "partial"
        h.write_submission(course, name, h.cheat_notebook(release, cheats[name], values))
    students = ["solution", "release", "base_partial", *DELEGATION]
    h.record_seeds(course, students)
    return students


@pytest.fixture(scope="module")
def deployments(tmp_path_factory):
    base = tmp_path_factory.mktemp("deploy")
    checkout = _copy_checkout(base / "checkout")
    editable = _venv(base / "venv-editable", ["-e", str(checkout)])
    wheels = base / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                        str(wheels), str(checkout)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = _venv(base / "venv-wheel", [str(next(wheels.glob("mixlearn-*.whl")))])
    own = base / "own-course"
    (own / "solutions").mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", own / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions" / A, own / "solutions" / A)
    layouts = {"editable": (editable, checkout), "wheel": (wheel, _copy_checkout(base / "clone")),
               "own-folder": (editable, own)}
    out = {}
    for name, (venv, course) in layouts.items():
        with open(course / "nbgrader_config.py", "a") as fh:
            fh.write(f"\nc.Execute.timeout = {h.CELL_TIMEOUT}\n")
        r = _run(venv, [venv / "bin" / "python", "-m", "nbgrader", "generate_assignment", A, "--force"], course)
        assert r.returncode == 0, r.stderr[-3000:]
        students = _class(course)
        for grader in GRADERS:
            graded = base / f"{name}-{grader}"
            shutil.copytree(course, graded, symlinks=True,
                            ignore=shutil.ignore_patterns(".git", "_build", "node_modules"))
            cluster = None
            if grader == "course":
                cmd = [venv / "bin" / "mixlearn-course", "autograde", A, "--jobs", "2", "--no-progress"]
            elif grader == "scheduler":   # a Dask cluster whose workers run the deployment's Python
                cluster = DaskCluster(python=venv / "bin" / "python", env=_env(venv, graded)).start(2)
                cmd = [venv / "bin" / "mixlearn-course", "autograde", A, "--scheduler", cluster.address,
                       "--no-progress"]
            else:
                cmd = [venv / "bin" / "python", "-m", "nbgrader", "autograde", A]
            try:
                res = _run(venv, cmd, graded)
            finally:
                if cluster is not None:
                    cluster.stop()
            out[name, grader] = (h.auto_scores(graded, students), (res.stdout + res.stderr)[-4000:])
    return out


@pytest.mark.parametrize("grader", GRADERS)
@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_honest_work_earns_its_grade_and_delegation_nothing(deployments, deployment, grader):
    scores, log = deployments[deployment, grader]
    release = nbformat.read(ROOT / "exercises" / A / f"{A}.ipynb", as_version=4)
    full = h.test_points(release)
    assert scores["solution"] == full, log
    assert scores["release"] and not any(scores["release"].values()), log
    base = scores["base_partial"]
    assert base and 0 < sum(base.values()) < sum(full.values()), log
    for cheat in DELEGATION:
        gains = {k: v for k, v in scores[cheat].items() if v > base.get(k, 0.0)}
        assert scores[cheat] and not gains, (cheat, gains, log)


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_graders_agree(deployments, deployment):
    course = deployments[deployment, "course"][0]
    assert course == deployments[deployment, "scheduler"][0]
    assert course == deployments[deployment, "nbgrader"][0]


def test_a_course_inside_the_python_installation_is_refused(tmp_path):
    """A course folder the sandbox would have to show the kernel (inside the Python installation) is
    refused with a message, not graded with the course visible."""
    from mixlearn.course import sandbox

    kernel = sandbox.locate()
    inside = os.path.join(kernel.prefixes[-1], "some-course")
    with pytest.raises(sandbox.SandboxUnavailable, match="lies inside"):
        sandbox._python_paths(kernel, protected=(inside,))
