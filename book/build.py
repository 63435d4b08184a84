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
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
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


def _source_hash() -> str:
    h = hashlib.sha256()
    files = sorted((ROOT / "mixlearn").rglob("*"))
    files += [ROOT / "pyproject.toml"]
    for f in files:
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


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
    res = subprocess.run(cmd, cwd=ROOT, env=env)
    if res.returncode != 0:
        raise SystemExit(f"jupyter-book build failed (exit code {res.returncode})")


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

    t0 = time.perf_counter()
    fetch_vendor(offline=args.skip_fetch)
    timings["assets"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    build_wheel()
    timings["wheel"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    jupyter_book(builddir)
    timings["jupyter-book + lite"] = time.perf_counter() - t0

    timings["total"] = time.perf_counter() - t_all
    html = builddir / "_build" / "html"
    log("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    log(f"done: open {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
