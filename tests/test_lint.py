"""The code base passes ruff (style, imports, common bugs) with the project's configuration."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.fail("ruff is not installed; install the test extra: pip install -e '.[test]'")
    paths = ["mixlearn", "tests", "benchmarks", "scripts", "book/build.py", "book/linkcheck.py", "book/_ext"]
    result = subprocess.run([ruff, "check", *paths], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, "ruff found problems:\n" + result.stdout + result.stderr
