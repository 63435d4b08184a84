"""The book builds from a clean _build, has every page, and loads nothing from another host."""

from __future__ import annotations

import base64
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

try:
    from book_support.build import CHAPTERS, clean_build, one_page_book
    from book_support.offline import is_remote, page_scripts, scan_site
except ImportError:  # tests/ imported as a package
    from tests.book_support.build import CHAPTERS, clean_build, one_page_book
    from tests.book_support.offline import is_remote, page_scripts, scan_site

EXPECTED_CHAPTERS = [
    "01_mixtures",
    "02_latent_posteriors",
    "03_em_two",
    "04_em_n",
    "05_universal_approximation",
    "06_faithful",
    "07_missing",
    "08_inference",
]


@pytest.fixture(scope="session")
def book(tmp_path_factory):
    result = clean_build(tmp_path_factory.mktemp("book"))
    if result["returncode"] != 0:
        pytest.fail(f"book build failed (exit {result['returncode']}):\n{result['log'][-6000:]}")
    return result


def _static_figures(page: Path) -> list[dict]:
    """The interactive figures of a page: the JSON each <figure class="mixlearn-figure"> carries."""
    text = page.read_text(encoding="utf-8")
    blocks = re.findall(r'<figure class="mixlearn-figure" id="([^"]+)" data-kind="(\w+)">(.*?)</figure>', text, re.S)
    out = []
    for fid, kind, inner in blocks:
        m = re.search(r'<script type="application/json" class="mixlearn-data">(.*?)</script>', inner, re.S)
        assert m, f"{page.name}: figure {fid} has no data"
        data = json.loads(m.group(1))
        assert data["kind"] == kind
        out.append({"id": fid, "inner": inner, **data})
    return out


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


def test_math_and_figure_scripts_are_local(book):
    html = book["html"]
    for ch in EXPECTED_CHAPTERS:
        scripts = page_scripts(html / "book" / f"{ch}.html")
        local = {re.sub(r"^(\.\./)+|\?.*$", "", s) for s in scripts}
        for needed in ["_static/mathjax/tex-chtml.js", "_static/mixlearn-figures.js", "_static/mixlearn-a11y.js"]:
            assert needed in local, f"{ch}: {needed} not loaded"
            assert (html / needed).is_file(), needed
        # the interactive figures are plain HTML: no page needs the widget manager any more
        text = (html / "book" / f"{ch}.html").read_text(encoding="utf-8")
        assert "html-manager/embed-amd.js" not in text, f"{ch}: loads the widget manager"
    # MathJax fonts are served too
    assert list((html / "_static/mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))


class _ImgCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs).get("src", ""))


def test_each_chapter_has_interactive_figures_that_need_no_kernel(book):
    """Every chapter's controls are static HTML: labelled native inputs plus what the page's
    script needs to change the figure (every frame, or the drawing parameters). No page carries
    Jupyter widget state, so none needs the widget manager."""
    html = book["html"]
    for ch in EXPECTED_CHAPTERS:
        page = html / "book" / f"{ch}.html"
        assert "application/vnd.jupyter.widget-state+json" not in page.read_text(encoding="utf-8"), ch
        figures = _static_figures(page)
        assert figures, f"{ch}: no interactive figure"
        for fig in figures:
            assert fig["controls"], fig["id"]
            for c in fig["controls"]:
                cid = f'{fig["id"]}-{c["name"]}'
                assert f'<label for="{cid}">' in fig["inner"], f"{ch}: control {cid} has no label"
                if c["kind"] == "slider":
                    # announced with its value ("K = 2"), not the step number
                    want = f'aria-valuetext="{c["symbol"]} = {c["labels"][c["index"]]}"'
                    assert want in fig["inner"], f"{ch}: {cid} lacks {want}"
            if fig["kind"] == "frames":
                n = 1
                for c in fig["controls"]:
                    n *= len(c["labels"])
                assert len(fig["frames"]) == n, f"{ch}: {len(fig['frames'])} frames for {n} states"
                # the default state's pictures are in the markup; every other state's in the JSON
                assert sum(f[0] is None for f in fig["frames"]) == 1 and 'class="mixlearn-frame" src="data:' in fig["inner"]
                for wide, narrow, alt in fig["frames"]:
                    for uri in filter(None, [wide, narrow]):
                        png = base64.b64decode(uri.removeprefix("data:image/png;base64,"))
                        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000, ch
                    assert len(alt.split()) >= 8, alt
            else:
                assert fig["renderer"] and fig["params"], fig["id"]
                assert 'class="mixlearn-fallback"' in fig["inner"]


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
    proc = one_page_book(tmp_path, "broken", "# Broken\n\n```{code-cell} ipython3\n"
                         "raise RuntimeError('deliberately broken cell')\n```\n", timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, "a book whose cell raises must fail to build:\n" + output[-2000:]
    assert "deliberately broken cell" in output
