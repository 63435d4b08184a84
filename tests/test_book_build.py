"""The book builds from a clean _build, has every page, and loads nothing from another host."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

try:
    from book_support.build import CHAPTERS, clean_build
    from book_support.offline import is_remote, page_scripts, scan_site
except ImportError:  # tests/ imported as a package
    from tests.book_support.build import CHAPTERS, clean_build
    from tests.book_support.offline import is_remote, page_scripts, scan_site

EXPECTED_CHAPTERS = [
    "01_mixtures",
    "02_latent_posteriors",
    "03_em_two",
    "04_em_n",
    "05_universal_approximation",
    "06_faithful",
]
# the figures that must work without a kernel (precomputed frames + jslink)
KERNEL_FREE = {"01_mixtures", "03_em_two", "05_universal_approximation"}


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    result = clean_build(tmp_path_factory.mktemp("book"))
    if result["returncode"] != 0:
        pytest.fail(f"book build failed (exit {result['returncode']}):\n{result['log'][-6000:]}")
    return result


def _widget_state(page: Path) -> dict:
    m = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>',
                  page.read_text(encoding="utf-8"), re.S)
    assert m, f"{page.name}: no embedded widget state"
    return json.loads(m.group(1))["state"]


def test_chapter_sources_match_the_plan():
    assert CHAPTERS == EXPECTED_CHAPTERS


def test_build_succeeds_and_executes_every_chapter(book):
    log = book["log"]
    for ch in EXPECTED_CHAPTERS:
        # with an empty build folder there is no cache: each chapter must really run
        assert re.search(rf"{ch}\.md: Executed notebook", log), f"{ch} was not executed"
    assert "build succeeded" in log
    print(f"clean build took {book['seconds']:.1f}s")


def test_every_page_exists(book):
    html = book["html"]
    for ch in EXPECTED_CHAPTERS:
        assert (html / "book" / f"{ch}.html").is_file(), ch
    for page in ["index.html", "book/intro.html", "book/bibliography.html", "book/exercises/index.html"]:
        assert (html / page).is_file(), page


def test_scanner_detects_remote_loads(tmp_path):
    """The offline scanner itself must catch the kinds of loads we care about."""
    (tmp_path / "a.css").write_text("@import 'https://cdn.example/x.css'; .x{background:url(//img.example/a.png)}")
    (tmp_path / "p.html").write_text(
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=X">'
        '<link rel="stylesheet" href="a.css"><script src="https://cdn.example/m.js"></script>'
        '<img src="ok.png"><a href="https://example.org/">a link is fine</a>'
        '<div style="background: url(https://img.example/b.png)"></div>')
    found = scan_site(tmp_path)
    assert len(found["p.html"]) == 3
    assert len(found["a.css"]) == 2
    assert is_remote("//x.org/a.js") and not is_remote("_static/a.js") and not is_remote("data:image/png;base64,AA")


def test_no_page_loads_anything_from_another_host(book):
    html = book["html"]
    problems = scan_site(html, exclude_dirs=("lite",))
    assert problems == {}, json.dumps(problems, indent=1)[:4000]


def test_math_and_widget_scripts_are_local(book):
    html = book["html"]
    for ch in EXPECTED_CHAPTERS:
        scripts = page_scripts(html / "book" / f"{ch}.html")
        local = {re.sub(r"^(\.\./)+|\?.*$", "", s) for s in scripts}
        for needed in ["_static/mathjax/tex-chtml.js", "_static/mixlearn-book.js"]:
            assert needed in local, f"{ch}: {needed} not loaded"
            assert (html / needed).is_file(), needed
        # the widget manager is appended after the first paint by an inline loader (mixlearn_site)
        text = (html / "book" / f"{ch}.html").read_text(encoding="utf-8")
        for needed in ["_static/requirejs/require.js", "_static/html-manager/embed-amd.js"]:
            assert f'"../{needed}"' in text, f"{ch}: {needed} not loaded"
            assert (html / needed).is_file(), needed
    # MathJax fonts and the widget manager's font files are served too
    assert list((html / "_static/mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))
    assert list((html / "_static/html-manager").glob("*.woff2"))


class _ImgCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs).get("src", ""))


def test_each_chapter_has_a_widget_with_a_default_figure(book):
    html = book["html"]
    for ch in EXPECTED_CHAPTERS:
        state = _widget_state(html / "book" / f"{ch}.html")
        names = [m["model_name"] for m in state.values()]
        controls = {"FloatSliderModel", "IntSliderModel", "SelectionSliderModel", "DropdownModel"}
        assert controls & set(names), f"{ch}: no control widget ({sorted(set(names))})"
        pngs = []
        for m in state.values():
            if m["model_name"] == "ImageModel":
                for buf in m.get("buffers", []):
                    pngs.append(base64.b64decode(buf["data"]))
        assert pngs, f"{ch}: no figure in the widget state"
        assert all(p.startswith(b"\x89PNG\r\n\x1a\n") and len(p) > 2000 for p in pngs), ch


def test_kernel_free_figures_are_linked_in_the_browser(book):
    html = book["html"]
    for ch in KERNEL_FREE:
        state = _widget_state(html / "book" / f"{ch}.html")
        by_id = {k: v for k, v in state.items()}
        stacks = {k for k, v in state.items() if v["model_name"] == "StackModel"}
        assert stacks, ch
        linked = False
        for m in state.values():
            if m["model_name"] == "LinkModel":
                src, tgt = m["state"]["source"], m["state"]["target"]
                ends = {src[0].removeprefix("IPY_MODEL_"): src[1], tgt[0].removeprefix("IPY_MODEL_"): tgt[1]}
                for mid, attr in ends.items():
                    if mid in stacks and attr == "selected_index":
                        other = next(i for i in ends if i != mid)
                        assert by_id[other]["model_name"] == "SelectionSliderModel"
                        # every frame of the stack is embedded
                        children = [c.removeprefix("IPY_MODEL_") for c in by_id[mid]["state"]["children"]]
                        assert len(children) >= 5
                        assert all(by_id[c].get("buffers") for c in children)
                        linked = True
        assert linked, f"{ch}: no slider jslink-ed to a Stack"


def test_static_figures_are_images(book):
    html = book["html"]
    for ch in EXPECTED_CHAPTERS:
        collector = _ImgCollector()
        collector.feed((html / "book" / f"{ch}.html").read_text(encoding="utf-8"))
        for src in collector.srcs:
            if src.startswith("data:"):
                continue
            assert (html / "book" / src).resolve().is_file(), f"{ch}: missing image {src}"


def test_bibliography_has_the_references(book):
    text = (book["html"] / "book" / "bibliography.html").read_text(encoding="utf-8")
    for needle in ["Nguyen", "Dempster", "Schwarz", "Teicher"]:
        assert needle in text, needle
    chapter5 = (book["html"] / "book" / "05_universal_approximation.html").read_text(encoding="utf-8")
    assert "bibliography.html#id" in chapter5 or "bibliography.html#" in chapter5


def test_jupyterlite_site_bundles_the_chapters_and_the_wheel(book):
    lite = book["html"] / "lite"
    assert (lite / "lab" / "index.html").is_file()
    for ch in EXPECTED_CHAPTERS:
        nb_path = lite / "files" / "book" / f"{ch}.ipynb"
        assert nb_path.is_file(), nb_path
        nb = json.loads(nb_path.read_text())
        assert "piplite" in "".join(nb["cells"][0]["source"])
    wheels = list((lite / "pypi").glob("mixlearn-*.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as zf:
        assert "mixlearn/__init__.py" in zf.namelist()
    index = json.loads((lite / "pypi" / "all.json").read_text())
    assert "mixlearn" in index


def test_launch_buttons_point_at_the_repository(book):
    text = (book["html"] / "book" / "03_em_two.html").read_text(encoding="utf-8")
    assert "https://mybinder.org/v2/gh/mixlearn/mixlearn/main?urlpath=lab/tree/book/03_em_two.md" in text
    assert "../lite/lab/index.html?path=book/03_em_two.ipynb" in text
    # no Colab button: Colab opens notebooks from GitHub, and the chapters are MyST markdown there
    assert "colab.research.google.com" not in text
    # the executed notebook is downloadable from the site itself
    assert 'href="../_sources/book/03_em_two.ipynb"' in text
    assert (book["html"] / "_sources" / "book" / "03_em_two.ipynb").is_file()


def test_a_failing_cell_fails_the_build(tmp_path):
    """The project's execution settings turn an error in any cell into a failed build.

    A one-page book with the real ``_config.yml``'s ``execute`` section and a cell that
    raises is built with the same flags as ``book/build.py``.
    """
    root = Path(__file__).resolve().parents[1]
    execute = yaml.safe_load((root / "_config.yml").read_text())["execute"]
    (tmp_path / "_config.yml").write_text(yaml.safe_dump({"title": "broken", "execute": execute}))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: index\n")
    (tmp_path / "index.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\n"
        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: python3\n---\n\n"
        "# Broken\n\n```{code-cell} ipython3\nraise RuntimeError('deliberately broken cell')\n```\n"
    )
    exe = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(exe) if exe.exists() else shutil.which("jupyter-book"), "build", str(tmp_path), "-W", "--keep-going"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, "a book whose cell raises must fail to build:\n" + output[-2000:]
    assert "deliberately broken cell" in output
