"""Build the mixlearn book into ``_build/html`` (run from anywhere: ``python book/build.py``).

Steps, each timed:

1. **Local JavaScript.** MathJax 3, require.js and ``@jupyter-widgets/html-manager`` are
   fetched with ``npm pack`` from the npm registry into ``book/_vendor/`` (git-ignored).
   Sphinx copies that folder into ``_build/html/_static/``, and ``_config.yml`` points
   ``mathjax_path`` and myst-nb's ``nb_ipywidgets_js`` at the copies, so no page needs a CDN.
   Skipped when the pinned versions are already present.
2. **mixlearn wheel** for JupyterLite, written to ``book/_lite/pypi/`` (git-ignored).
   Skipped when the package sources have not changed since the last wheel.
3. **Jupyter Book**: ``jupyter-book build . -W --keep-going``. Notebooks execute with the
   jupyter-cache in ``_build/.jupyter_cache``; a failing cell or any Sphinx warning makes the
   build fail. The ``jupyterlite_sphinx`` extension then builds the JupyterLite site into
   ``_build/html/lite`` with the chapters (as .ipynb) and the mixlearn wheel.

Options: ``--clean`` removes ``_build`` first (a clean build: every notebook executes);
``--builddir DIR`` builds somewhere else (the tests use a temporary folder);
``--skip-fetch`` fails instead of contacting npm when the assets are missing.

Every build writes its output to ``_build/build.log`` and, when it succeeds,
``_build/build-stamp.json``: whether it started from an empty build folder (a clean build)
and a digest of the files it was built from (``book/``, ``mixlearn/``, ``exercises/``, the
two YAML files, ``pyproject.toml``). The tests reuse a clean build whose digest matches the
working tree instead of building the same sources a second time (CI builds once, in the
README's first command).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from html import escape as html_escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
VENDOR = BOOK / "_vendor"
LITE_PYPI = BOOK / "_lite" / "pypi"

# Pinned npm packages -> what we keep from each tarball (paths inside ``package/``).
NPM_PACKAGES = {
    "mathjax": {
        "spec": "mathjax@3.2.2",
        "dest": "mathjax",
        # the CHTML component, its fonts and the lazily loaded extensions
        "keep": ["es5/tex-chtml.js", "es5/input/", "es5/output/chtml/", "es5/output/chtml.js",
                 "es5/a11y/", "es5/ui/", "es5/sre/", "es5/adaptors/", "es5/core.js", "es5/startup.js",
                 "LICENSE"],
        "strip": "es5/",
    },
    "requirejs": {
        "spec": "requirejs@2.3.8",
        "dest": "requirejs",
        "keep": ["require.js", "README.md"],
        "strip": "",
    },
    "html-manager": {
        "spec": "@jupyter-widgets/html-manager@1.0.15",
        "dest": "html-manager",
        # the AMD bundle and the font files webpack emitted next to it (Font Awesome)
        "keep": ["dist/embed-amd.js", "dist/*.woff2", "dist/*.woff", "dist/*.ttf", "dist/*.eot",
                 "dist/*.svg", "dist/embed.js.LICENSE.txt"],
        "strip": "dist/",
    },
}
STAMP = VENDOR / "versions.json"


def log(msg: str) -> None:
    print(f"[book/build] {msg}", flush=True)


def _wanted(member: str, keep: list[str]) -> bool:
    from fnmatch import fnmatch

    for pattern in keep:
        if pattern.endswith("/") and member.startswith(pattern):
            return True
        if "*" in pattern and fnmatch(member, pattern):
            return True
        if member == pattern:
            return True
    return False


def vendor_is_current() -> bool:
    if not STAMP.exists():
        return False
    try:
        recorded = json.loads(STAMP.read_text())
    except ValueError:
        return False
    wanted = {name: spec["spec"] for name, spec in NPM_PACKAGES.items()}
    return recorded.get("specs") == wanted and all((VENDOR / s["dest"]).is_dir() for s in NPM_PACKAGES.values())


def fetch_vendor(offline: bool = False) -> None:
    """Download the pinned npm tarballs and unpack the files we serve."""
    if vendor_is_current():
        log(f"assets: already present in {VENDOR.relative_to(ROOT)} (skipped)")
        return
    if offline:
        raise SystemExit(f"assets missing in {VENDOR} and --skip-fetch given")
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed to fetch MathJax, require.js and the widget manager")
    with tempfile.TemporaryDirectory() as tmp:
        specs = [s["spec"] for s in NPM_PACKAGES.values()]
        log(f"assets: npm pack {' '.join(specs)}")
        out = subprocess.run([npm, "pack", "--json", "--pack-destination", tmp, *specs],
                             check=True, capture_output=True, text=True, cwd=tmp)
        packed = json.loads(out.stdout)
        integrity = {p["id"]: p["integrity"] for p in packed}
        files = {p["id"]: Path(tmp) / p["filename"] for p in packed}
        staging = Path(tmp) / "vendor"
        for spec in NPM_PACKAGES.values():
            tgz = files[spec["spec"]]
            dest = staging / spec["dest"]
            with tarfile.open(tgz) as tar:
                for member in tar.getmembers():
                    if not member.isfile():
                        continue
                    rel = member.name.split("/", 1)[1]  # drop the leading "package/"
                    if not _wanted(rel, spec["keep"]):
                        continue
                    if spec["strip"] and rel.startswith(spec["strip"]):
                        rel = rel[len(spec["strip"]):]
                    target = dest / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with tar.extractfile(member) as src, open(target, "wb") as fh:
                        shutil.copyfileobj(src, fh)
        (staging / "versions.json").write_text(json.dumps(
            {"specs": {n: s["spec"] for n, s in NPM_PACKAGES.items()}, "integrity": integrity}, indent=2))
        if VENDOR.exists():
            shutil.rmtree(VENDOR)
        shutil.copytree(staging, VENDOR)
    size = sum(f.stat().st_size for f in VENDOR.rglob("*") if f.is_file())
    log(f"assets: unpacked into {VENDOR.relative_to(ROOT)} ({size / 1e6:.1f} MB)")


# --------------------------------------------------------------------------------------
# The widget manager, slimmed (issue 9: pages at most 2 MB). The npm bundle embed-amd.js
# (3.6 MB) carries inline source maps for its CSS (0.46 MB) and the ipywidgets 7
# compatibility modules base7/controls7 (0.8 MB), which widget states written by
# ipywidgets 8 (model module version 2.x) never load. Both are cut out once, in place.
# --------------------------------------------------------------------------------------
SLIM_MARK = "/* mixlearn: slimmed (no CSS source maps, no ipywidgets 7 modules) */\n"
SLIM_DROP_MODULES = ("base7", "controls7")


def _js_literal_end(text: str, start: int) -> int:
    """Index just past the object/array literal that opens at ``text[start]``."""
    depth, quote, i = 0, None, start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unterminated literal at {start}")


def slim_bundle(text: str) -> str:
    """Remove inline CSS source maps and the ipywidgets 7 modules from embed-amd.js."""
    parts, i = [], 0
    while (j := text.find("{version:3,sources:[", i)) >= 0:
        parts += [text[i:j], '""']  # css-loader skips a falsy source map
        i = _js_literal_end(text, j)
    text = "".join(parts) + text[i:]
    for name in SLIM_DROP_MODULES:
        head = f"/*! For license information please see {name}.js.LICENSE.txt */"
        a = text.find(head)
        if a < 0:
            continue
        b = text.find("/*! For license information please see", a + len(head))
        if b < 0 or f'define("@jupyter-widgets/{name}"' not in text[a:b]:
            raise ValueError(f"unexpected layout of embed-amd.js around {name}")
        text = text[:a] + text[b:]
    return SLIM_MARK + text


def slim_widget_manager() -> None:
    bundle = VENDOR / "html-manager" / "embed-amd.js"
    if not bundle.is_file():
        return
    text = bundle.read_text(encoding="utf-8")
    if text.startswith(SLIM_MARK):
        log("widget manager: already slimmed (skipped)")
        return
    slim = slim_bundle(text)
    bundle.write_text(slim, encoding="utf-8")
    log(f"widget manager: {len(text) / 1e6:.1f} MB -> {len(slim) / 1e6:.1f} MB")


def _digest(names) -> str:
    """SHA-256 over the relative paths *names* under ROOT and their bytes (missing files skipped)."""
    h = hashlib.sha256()
    for name in sorted(set(names)):
        path = ROOT / name
        if path.is_file():  # a tracked file deleted in the working tree is simply absent
            h.update(name.encode() + b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def _source_hash() -> str:
    """Digest of what the wheel is built from (mixlearn/ and pyproject.toml; works outside git)."""
    names = [str(f.relative_to(ROOT)) for f in (ROOT / "mixlearn").rglob("*") if "__pycache__" not in f.parts]
    return _digest([*names, "pyproject.toml"])


BUILD_INPUTS = ("book", "mixlearn", "exercises", "_config.yml", "_toc.yml", "pyproject.toml")


def sources_digest() -> str | None:
    """SHA-256 of the files the book is built from (git-tracked or new and not ignored).

    ``None`` outside a git checkout: then no build can be matched to its sources.
    """
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
                              *BUILD_INPUTS], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return _digest(set(out.stdout.decode().split("\0")) - {""})


def build_wheel() -> None:
    """Build the mixlearn wheel JupyterLite's piplite serves to the in-browser kernel."""
    digest = _source_hash()
    stamp = LITE_PYPI / ".source-hash"
    if stamp.exists() and stamp.read_text() == digest and list(LITE_PYPI.glob("mixlearn-*.whl")):
        log("wheel: mixlearn unchanged (skipped)")
        return
    if LITE_PYPI.exists():
        shutil.rmtree(LITE_PYPI)
    LITE_PYPI.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        # copy the sources so setuptools' build/ and egg-info litter stays out of the repo
        src = Path(tmp) / "src"
        shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
            ".git", ".venv", "_build", "book", "exercises", "solutions", "tests", "benchmarks",
            "build", "dist", "*.egg-info", "__pycache__", "node_modules"))
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
               "--disable-pip-version-check", "-q", str(src), "-w", str(LITE_PYPI)]
        subprocess.run(cmd, check=True)
    stamp.write_text(digest)
    wheels = [w.name for w in LITE_PYPI.glob("*.whl")]
    log(f"wheel: {', '.join(wheels)}")


def jupyter_book(builddir: Path) -> None:
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else "jupyter-book", "build", str(ROOT), "--path-output", str(builddir),
           "-W", "--keep-going"]
    log("jupyter-book: " + " ".join(cmd))
    env = dict(os.environ)
    # Matplotlib needs no display; keep kernels quiet and reproducible.
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env["PYTHONHASHSEED"] = "0"
    # interactive figures display as static HTML whose controls work without a kernel
    # (mixlearn.teaching.static); in a live notebook the same cells show ipywidgets
    env["MIXLEARN_STATIC_FIGURES"] = "1"
    # ... and ordinary matplotlib figures get a narrow rendering for phones: an IPython
    # startup file registers mixlearn.teaching.static's figure formatter in every kernel
    ipython_dir = builddir / "_build" / ".ipython"
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-mixlearn-static-figures.py").write_text(
        "try:\n"
        "    from mixlearn.teaching.static import register_static_figure_formatter\n"
        "except ImportError:  # the book extra is not installed\n"
        "    pass\n"
        "else:\n"
        "    register_static_figure_formatter()\n")
    env["IPYTHONDIR"] = str(ipython_dir)
    # make `import mixlearn` work in the kernels even without `pip install -e .`
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # put this interpreter's bin first (jupyterlite and the kernels are looked up on PATH)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    # the output goes to the terminal and to _build/build.log (the tests read the log of a reused build)
    with open(builddir / "_build" / "build.log", "w", encoding="utf-8") as logfile:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace")
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            logfile.write(line)
        proc.wait()
    sys.stdout.flush()
    res = proc
    if res.returncode != 0:
        raise SystemExit(f"jupyter-book build failed (exit code {res.returncode})")


def write_root_redirect(html: Path) -> None:
    """Replace Jupyter Book's one-line ``index.html`` redirect by a small complete page.

    The generated file is a bare ``<meta http-equiv="Refresh">``: no language, no title and no
    icon, so browsers ask for ``/favicon.ico`` (a 404 in the console on every first visit).
    The page written here redirects the same way, names the book, points at the book's icon
    and offers a link for readers whose browser does not follow the refresh.
    """
    index = html / "index.html"
    text = index.read_text(encoding="utf-8") if index.exists() else ""
    match = re.search(r'url=([^"\s]+)"', text)
    if not match:
        return  # not the generated redirect (for instance a real root page): leave it alone
    target = match.group(1)
    import yaml  # installed with jupyter-book

    title = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8")).get("title") or "mixlearn"
    index.write_text(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html_escape(title)}</title>\n"
        "<link rel=\"icon\" href=\"_static/favicon.svg\" type=\"image/svg+xml\">\n"
        f"<meta http-equiv=\"Refresh\" content=\"0; url={target}\">\n</head>\n"
        f"<body><p><a href=\"{target}\">{html_escape(title)}</a></p></body>\n</html>\n",
        encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clean", action="store_true", help="delete the build folder first")
    parser.add_argument("--builddir", default=str(ROOT), help="folder that receives _build/ (default: repo root)")
    parser.add_argument("--skip-fetch", action="store_true", help="never call npm")
    args = parser.parse_args(argv)

    builddir = Path(args.builddir).resolve()
    timings: dict[str, float] = {}
    t_all = time.perf_counter()
    if args.clean and (builddir / "_build").exists():
        shutil.rmtree(builddir / "_build")
    clean = not (builddir / "_build" / ".jupyter_cache").exists() and not (builddir / "_build" / "html").exists()
    stamp = builddir / "_build" / "build-stamp.json"
    stamp.unlink(missing_ok=True)       # a failed or interrupted build leaves no stamp
    digest = sources_digest()

    t0 = time.perf_counter()
    fetch_vendor(offline=args.skip_fetch)
    slim_widget_manager()
    timings["assets"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    build_wheel()
    timings["wheel"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    jupyter_book(builddir)
    timings["jupyter-book + lite"] = time.perf_counter() - t0
    write_root_redirect(builddir / "_build" / "html")

    timings["total"] = time.perf_counter() - t_all
    html = builddir / "_build" / "html"
    stamp.write_text(json.dumps({"clean": clean, "sources": digest, "seconds": timings["total"],
                                 "sources_after": sources_digest()}, indent=1))
    log("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    log(f"done: open {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
