"""Build the book once per test session, from scratch, into a temporary folder.

If the repository's own ``_build`` holds a clean build of exactly the current sources (see
``_build/build-stamp.json``, written by ``book/build.py``), that build is used instead: CI's
first command has just made it on a clean clone. ``MIXLEARN_FRESH_BOOK_BUILD=1`` always
builds anew.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
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
    reused = reusable_build()
    if reused is not None:
        _cache["result"] = reused
        return reused
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


def served_book(base: Path):
    """Build (or reuse) the book with :func:`clean_build` and serve it on 127.0.0.1.

    A generator for module fixtures: ``yield from served_book(tmp_path_factory.mktemp("book"))``;
    the test fails with the end of the build log when the build failed.
    """
    import pytest

    try:
        from book_support.browser import StaticServer
    except ImportError:  # tests/ imported as a package
        from tests.book_support.browser import StaticServer

    result = clean_build(base)
    if result["returncode"] != 0:
        pytest.fail(f"book build failed:\n{result['log'][-4000:]}")
    with StaticServer(result["html"]) as server:
        yield server


MYST_NOTEBOOK_HEADER = ("---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
                        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n")


def one_page_book(folder: Path, title: str, body: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """Build a one-page book in ``folder`` with the real ``_config.yml``'s ``execute`` section.

    ``body`` is the MyST markdown after the notebook header; the build uses the flags of
    ``book/build.py`` (``-W --keep-going``), so a failing cell or a warning fails it.
    """
    import yaml

    execute = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]
    (folder / "_config.yml").write_text(yaml.safe_dump({"title": title, "execute": execute}))
    (folder / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (folder / "index.md").write_text(MYST_NOTEBOOK_HEADER + body)
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else shutil.which("jupyter-book"), "build", str(folder), "-W", "--keep-going"]
    return subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=timeout)


def _book_build_module():
    spec = importlib.util.spec_from_file_location("mixlearn_book_build", BOOK / "build.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def reusable_build() -> dict | None:
    """The repository's ``_build`` if it is a clean build of the current sources, else None."""
    if os.environ.get("MIXLEARN_FRESH_BOOK_BUILD") == "1":
        return None
    build = ROOT / "_build"
    try:
        stamp = json.loads((build / "build-stamp.json").read_text())
        log = (build / "build.log").read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    digest = _book_build_module().sources_digest()
    if not stamp.get("clean") or digest is None or stamp.get("sources") != digest \
            or stamp.get("sources_after") != digest or not (build / "html" / "index.html").is_file():
        return None
    print(f"\nbook: reusing the clean build in {build} (same sources, built in {stamp['seconds']:.0f} s)")
    return {"returncode": 0, "log": log, "seconds": stamp["seconds"], "html": build / "html", "build": build,
            "reused": True}
