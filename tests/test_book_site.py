"""The published site as a first-time reader loads it: light, nothing blocking, no errors, links that resolve.

The built book is served on 127.0.0.1 the way GitHub Pages serves a Pages artifact (gzip for
text types) and every page is opened once in a fresh headless Chromium profile with the cache
disabled (``book_support.pages.cold_load``). First contentful paint under network emulation
is measured by ``benchmarks/bench_site.py``, not asserted here (tests check behaviour, not time).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

try:
    from book_support.browser import find_chromium
    from book_support.build import ROOT, clean_build
    from book_support.pages import PagesServer, cold_load
except ImportError:  # tests/ imported as a package
    from tests.book_support.browser import find_chromium
    from tests.book_support.build import ROOT, clean_build
    from tests.book_support.pages import PagesServer, cold_load

sys.path.insert(0, str(ROOT / "book"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import build as book_build  # noqa: E402
import linkcheck  # noqa: E402
import mixlearn_site  # noqa: E402

BUDGET_BYTES = 2.0e6
MANAGER = "_static/html-manager/embed-amd.js"
WIDGET_STATE = '<script type="application/vnd.jupyter.widget-state+json">'
ASSIGNMENTS = sorted(p.name for p in (ROOT / "exercises").iterdir() if (p / f"{p.name}.ipynb").is_file())

CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the browser test: install Debian's chromium (bash .ci/run does).")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian package `chromium` is not installed")


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    result = clean_build(tmp_path_factory.mktemp("book"))
    if result["returncode"] != 0:
        pytest.fail(f"book build failed:\n{result['log'][-4000:]}")
    return result["html"]


def _pages(html: Path) -> list[str]:
    return [p.relative_to(html).as_posix() for p in linkcheck.site_pages(html)]


_PAGE_PROBE = """(() => {
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const mgr = performance.getEntriesByType('resource').filter(e => e.name.includes('html-manager/embed-amd.js'))[0];
  return {fcp: fcp ? fcp.startTime : null, manager_start: mgr ? mgr.startTime : null,
          controls: document.querySelectorAll('.widget-slider, .widget-dropdown').length,
          loaded_flag: window.mixlearnWidgetManagerLoaded === true,
          widget_errors: document.querySelectorAll('.jupyter-widgets-error-widget, .widget-error').length};
})()"""


@pytest.fixture(scope="module")
def first_visits(html) -> dict:
    """page -> (PageLoad, probe) for one cold first visit of every page."""
    if CHROMIUM is None:
        pytest.skip("Debian package `chromium` is not installed")
    out = {}
    with PagesServer(html) as server:
        for page in _pages(html):
            probe = {}

            def after(b, probe=probe, page=page):
                if WIDGET_STATE in (html / page).read_text(encoding="utf-8"):
                    b.wait_for("document.querySelectorAll('.widget-slider, .widget-dropdown').length > 0", timeout=60)
                probe.update(b.eval(_PAGE_PROBE))

            out[page] = (cold_load(CHROMIUM, f"{server.url}/{page}", idle=1.0, after_load=after), probe)
    return out


# ---------------------------------------------------------------------------------------
# weight, blocking, console
# ---------------------------------------------------------------------------------------
@needs_chromium
def test_server_compresses_like_github_pages(html):
    """The byte counts are of gzip transfers: the page's own response is its gzip size."""
    page = html / "book" / "03_em_two.html"
    with PagesServer(html) as server:
        load = cold_load(CHROMIUM, f"{server.url}/book/03_em_two.html", idle=0.5)
    own = next(n for u, n in load.sizes.items() if urlsplit(u).path == "/book/03_em_two.html")
    expected = len(gzip.compress(page.read_bytes(), compresslevel=6))
    assert expected < page.stat().st_size / 1.5  # the page compresses well ...
    assert expected <= own <= expected + 1000    # ... and went over the wire compressed (+ headers)


@needs_chromium
def test_every_page_is_at_most_2_mb_transferred(first_visits):
    sizes = {page: load.bytes for page, (load, _) in first_visits.items()}
    assert len(sizes) >= 10
    over = {p: n for p, n in sizes.items() if n > BUDGET_BYTES}
    assert not over, over
    # each load saw its own resources: HTML, stylesheets, scripts
    for page, (load, _) in first_visits.items():
        assert len(load.requests) >= 10 and load.bytes > 50_000, (page, load.requests)


@needs_chromium
def test_no_page_loads_the_widget_manager(html, first_visits):
    """The interactive figures are plain HTML (mixlearn.teaching.static): no page carries widget
    state, so none loads the widget manager or require.js.  (mixlearn_site still defers the
    manager after the first paint for a page that would carry widget state.)"""
    for page, (load, _probe) in first_visits.items():
        text = (html / page).read_text(encoding="utf-8")
        assert WIDGET_STATE not in text, page
        assert not [u for u in load.requests if MANAGER in u or "require.js" in u], page
        assert "embed-amd.js" not in text, page


@needs_chromium
def test_no_severe_console_message_on_a_first_visit(first_visits):
    problems = {page: load.severe + load.failed for page, (load, _) in first_visits.items()
                if load.severe or load.failed}
    assert not problems, json.dumps(problems, indent=1)


def test_the_page_has_an_icon_and_no_icon_script(html):
    for page in _pages(html):
        text = (html / page).read_text(encoding="utf-8")
        if re.search(r'http-equiv="refresh"', text, re.I):  # the root redirect to the intro
            continue
        icon = re.search(r'<link rel="icon" href="([^"]+)"', text)
        assert icon and ((html / page).parent / icon.group(1)).resolve().is_file(), page
        assert "scripts/fontawesome.js" not in text, page


def test_icon_font_subsets_hold_every_icon_the_pages_use(html):
    from fontTools.ttLib import TTFont

    css = (html / "_static" / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    codepoints = {}
    for selectors, cp in mixlearn_site._ICON_RULE.findall(css):
        for sel in selectors.split(","):
            m = mixlearn_site._ICON_SELECTOR.match(sel.strip())
            if m:
                codepoints.setdefault(m.group(1), int(cp, 16))
    used = {codepoints[n] for n in mixlearn_site._used_icons(html) if n in codepoints}
    # Font Awesome's published code points for three icons the header shows
    assert (codepoints["github"], codepoints["magnifying-glass"], codepoints["download"]) == (0xF09B, 0xF002, 0xF019)
    assert {0xF09B, 0xF002, 0xF019} <= used
    cmap = set()
    for out_name, _family, _weight in mixlearn_site.ICON_FONTS.values():
        font = TTFont(html / "_static" / out_name)
        cmap |= set(font.getBestCmap())
        assert (html / "_static" / out_name).stat().st_size < 20_000
    assert used <= cmap, sorted(hex(c) for c in used - cmap)
    override = (html / "_static" / "styles" / "mixlearn-icons.css").read_text()
    for out_name, _family, _weight in mixlearn_site.ICON_FONTS.values():
        assert f"url(../{out_name})" in override


# ---------------------------------------------------------------------------------------
# building blocks, against independent oracles
# ---------------------------------------------------------------------------------------
def test_palette_png_keeps_the_picture():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    fig, ax = plt.subplots(figsize=(5, 3), dpi=100)
    x = np.linspace(-4, 4, 400)
    ax.plot(x, np.exp(-x**2 / 2), label="N(0, 1)")
    ax.fill_between(x, 0.3 * np.exp(-(x - 1) ** 2), alpha=0.4)
    ax.scatter(np.random.default_rng(0).normal(size=200), np.random.default_rng(1).random(200) * 0.3, s=5)
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    original = buf.getvalue()
    smaller = mixlearn_site.palette_png(original)
    assert len(smaller) < 0.6 * len(original)
    a = np.asarray(Image.open(io.BytesIO(original)).convert("RGB"), dtype=float)
    b = np.asarray(Image.open(io.BytesIO(smaller)).convert("RGB"), dtype=float)
    assert a.shape == b.shape
    # on average within 2 of 255 levels per channel, and no pixel far off
    assert np.abs(a - b).mean() < 2.0 and np.abs(a - b).max() < 64
    # already a palette image: returned unchanged
    assert mixlearn_site.palette_png(smaller) == smaller


def test_widget_state_pngs_are_recompressed_and_the_rest_kept():
    from PIL import Image, ImageDraw

    im = Image.new("RGBA", (240, 120), (255, 255, 255, 255))
    draw = ImageDraw.Draw(im)
    for i in range(0, 240, 6):
        draw.line([(i, 0), (240 - i, 120)], fill=(i, 80, 255 - i, 255), width=2)
    png = io.BytesIO()
    im.save(png, "PNG")
    raw = png.getvalue()
    state = {"version_major": 2, "state": {
        "a": {"model_name": "ImageModel", "state": {"value": {}}, "buffers": [
            {"encoding": "base64", "path": ["value"], "data": base64.b64encode(raw).decode()}]},
        "b": {"model_name": "HTMLModel", "state": {"value": "</script><b>x</b>"}}}}
    # myst-nb hands over the JSON with "</" escaped; the rewritten JSON must stay escaped
    out = mixlearn_site._compress_state(json.dumps(state).replace("</", "<\\/"))
    assert "</" not in out
    doc = json.loads(out)
    new = base64.b64decode(doc["state"]["a"]["buffers"][0]["data"])
    assert len(new) < len(raw)
    with Image.open(io.BytesIO(new)) as small:
        assert small.mode == "P" and small.size == (240, 120)
    assert doc["state"]["b"] == state["state"]["b"]


def test_slim_bundle_cuts_source_maps_and_ipywidgets7_modules():
    tricky = '{version:3,sources:["a.css"],names:[],mappings:"AAAA;{[",sourcesContent:["a{b:\\"}\\"}"]}'
    bundle = (
        '/*! For license information please see base.js.LICENSE.txt */\ndefine("@jupyter-widgets/base",[],'
        'function(){var i=[];i.push([1,".x{y:z}","",' + tricky + ']);return i});\n'
        '/*! For license information please see base7.js.LICENSE.txt */\ndefine("@jupyter-widgets/base7",[],'
        'function(){return 7});\n'
        '/*! For license information please see controls7.js.LICENSE.txt */\ndefine("@jupyter-widgets/controls7",[],'
        'function(){return 7});\n'
        '/*! For license information please see index.js.LICENSE.txt */\ndefine("@jupyter-widgets/html-manager",[],'
        'function(){return "version:3"});\n')
    slim = book_build.slim_bundle(bundle)
    assert slim.startswith(book_build.SLIM_MARK)
    assert "mappings" not in slim and "sourcesContent" not in slim
    assert 'i.push([1,".x{y:z}","",""])' in slim
    assert "base7" not in slim and "controls7" not in slim
    assert 'define("@jupyter-widgets/base"' in slim and 'define("@jupyter-widgets/html-manager"' in slim


def test_served_widget_manager_is_slim_and_complete(html):
    text = (html / MANAGER).read_text(encoding="utf-8")
    assert text.startswith(book_build.SLIM_MARK)
    modules = re.findall(r'define\("([^"]+)"', text)
    assert modules == ["@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/html-manager",
                       "@jupyter-widgets/html-manager/dist/libembed-amd"]
    assert "{version:3,sources:[" not in text
    # every model the book's widget states use comes from a module the bundle still defines
    for page in _pages(html):
        page_text = (html / page).read_text(encoding="utf-8")
        if WIDGET_STATE in page_text:
            for mod, ver in re.findall(r'"_model_module": "([^"]+)", "_model_module_version": "([^"]+)"', page_text):
                assert mod in modules and ver.startswith("2."), (page, mod, ver)


# ---------------------------------------------------------------------------------------
# links
# ---------------------------------------------------------------------------------------
def test_no_broken_internal_or_launch_link(html):
    repo, branch = linkcheck.repository()
    problems = linkcheck.Checker(html, repo, branch, linkcheck.repo_files()).run()
    assert problems == []


def test_link_checker_finds_what_is_broken(tmp_path):
    site = tmp_path / "html"
    (site / "book").mkdir(parents=True)
    (site / "lite" / "lab").mkdir(parents=True)
    (site / "lite" / "lab" / "index.html").write_text("lite")
    (site / "lite" / "files" / "book").mkdir(parents=True)
    (site / "lite" / "files" / "book" / "a.ipynb").write_text("{}")
    (site / "index.html").write_text('<a href="book/a.html#sec">ok</a>')
    good = [
        "a.html#sec", "#top", "../index.html", "../lite/lab/index.html?path=book/a.ipynb",
        "https://mybinder.org/v2/gh/me/book/main?labpath=ex%2Fn.ipynb",
        "https://mybinder.org/v2/gh/me/book/main?urlpath=lab/tree/book/a.md",
        "https://colab.research.google.com/github/me/book/blob/main/ex/n.ipynb",
        "https://github.com/me/book", "https://github.com/me/book/blob/main/book/a.md",
        "mailto:x@example.org",
    ]
    bad = [
        "missing.html", "a.html#nowhere", "../lite/lab/index.html?path=book/zzz.ipynb",
        "https://mybinder.org/v2/gh/me/book/main?labpath=ex%2Fmissing.ipynb",
        "https://colab.research.google.com/github/me/book/blob/gh-pages/_sources/book/a.ipynb",
        "https://colab.research.google.com/github/me/book/blob/main/book/a.md",
        "https://mybinder.org/v2/gh/other/book/main?labpath=ex%2Fn.ipynb",
        "https://github.com/me/book/tree/main/nothing",
    ]
    links = "".join(f'<a href="{u}">x</a>' for u in good + bad)
    (site / "book" / "a.html").write_text(f'<html><body><h1 id="top">A</h1><p id="sec">{links}</p></body></html>')
    checker = linkcheck.Checker(site, "me/book", "main", {"ex/n.ipynb", "book/a.md"})
    problems = checker.run()
    flagged = {p.split(": ", 2)[1].removeprefix("<a> ") for p in problems}
    assert flagged == set(bad), problems
    assert "https://github.com/me/book" not in checker.external  # the repository itself is checked offline
    (site / "book" / "b.html").write_text('<a href="https://example.org/page">x</a>')
    checker = linkcheck.Checker(site, "me/book", "main", {"ex/n.ipynb", "book/a.md"})
    checker.run()
    assert list(checker.external) == ["https://example.org/page"]  # left for --external


def test_exercises_page_links_each_student_notebook(html):
    page = html / "book" / "exercises" / "index.html"
    hrefs = re.findall(r'href="([^"]+)"', page.read_text(encoding="utf-8"))
    assert len(ASSIGNMENTS) >= 6  # the five graded assignments and the optional sixth
    for a in ASSIGNMENTS:
        repo_path = f"exercises/{a}/{a}.ipynb"
        source = json.loads((ROOT / repo_path).read_text())
        # download: a copy of the student notebook served by the site itself
        downloads = [h for h in hrefs if not urlsplit(h).scheme and h.endswith(f"/{a}.ipynb") and "lite/" not in h]
        assert len(downloads) == 1, (a, downloads)
        served = (page.parent / unquote(downloads[0])).resolve()
        assert served.is_file() and json.loads(served.read_text()) == source
        # Binder and Colab: the notebook in the repository's main branch
        binder = [h for h in hrefs if h.startswith("https://mybinder.org/") and a in h]
        assert len(binder) == 1 and parse_qs(urlsplit(binder[0]).query)["labpath"] == [repo_path]
        colab = [h for h in hrefs if h.startswith("https://colab.research.google.com/") and a in h]
        assert colab == [f"https://colab.research.google.com/github/mixlearn/mixlearn/blob/main/{repo_path}"]
        # JupyterLite: the same notebook inside the site, after one cell that installs mixlearn
        lite = [h for h in hrefs if "lite/lab/index.html" in h and a in h]
        assert len(lite) == 1 and parse_qs(urlsplit(lite[0]).query)["path"] == [repo_path]
        assert (page.parent / urlsplit(lite[0]).path).resolve() == (html / "lite" / "lab" / "index.html").resolve()
        bundled = json.loads((html / "lite" / "files" / repo_path).read_text())
        assert "piplite" in "".join(bundled["cells"][0]["source"])
        def text(cells):
            return ["".join(c["source"]) for c in cells]

        assert text(bundled["cells"][1:]) == text(source["cells"])
