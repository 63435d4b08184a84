"""Build the book once per test session, from scratch, into a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
CHAPTERS = sorted(p.stem for p in BOOK.glob("[0-9][0-9]_*.md"))
SCREENSHOTS = ROOT / "_build" / "screenshots"

_cache: dict[str, object] = {}


def clean_build(base: Path) -> dict:
    """Run ``python book/build.py --builddir <base>`` once; return paths, log and timing.

    ``base`` is empty, so there is no previous ``_build`` and no execution cache: every
    notebook executes. (The npm assets in ``book/_vendor`` and the wheel are reused when
    present; ``build.py`` fetches/builds them otherwise.)
    """
    if "result" in _cache:
        return _cache["result"]  # type: ignore[return-value]
    base = Path(base)
    assert not (base / "_build").exists()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(BOOK / "build.py"), "--builddir", str(base)],
                          cwd=ROOT, capture_output=True, text=True, env=dict(os.environ))
    result = {
        "returncode": proc.returncode,
        "log": proc.stdout + proc.stderr,
        "seconds": time.perf_counter() - t0,
        "html": base / "_build" / "html",
        "build": base / "_build",
    }
    _cache["result"] = result
    return result
