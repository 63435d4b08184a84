"""Load the built book in headless Chromium and check what a reader actually sees.

Pages are served from 127.0.0.1; every network request the browser makes is recorded.
Screenshots go to ``_build/screenshots/`` in the repository for people to look at.
"""

from __future__ import annotations

import hashlib
import os
from urllib.parse import urlsplit

import pytest

try:
    from book_support.browser import Browser, find_chromium
    from book_support.build import CHAPTERS, SCREENSHOTS, served_book
except ImportError:  # tests/ imported as a package
    from tests.book_support.browser import Browser, find_chromium
    from tests.book_support.build import CHAPTERS, SCREENSHOTS, served_book

# every chapter's interactive figures work without a kernel (mixlearn.teaching.static); the chapter
# list is the book's (book_support.build.CHAPTERS; test_book_build checks it against the plan)
KERNEL_FREE = CHAPTERS

CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the browser test: install Debian's chromium (bash .ci/run does).")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian package `chromium` is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    yield from served_book(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="module")
def browser():
    with Browser(CHROMIUM) as b:
        yield b


def _load(browser, site, page):
    browser.goto(f"{site.url}/{page}")
    # MathJax typesets asynchronously; widgets render after the window's load event
    browser.wait_for("document.querySelectorAll('mjx-container').length > 0", timeout=40)
    browser.wait_for("document.querySelectorAll('figure.mixlearn-figure.mixlearn-ready').length > 0", timeout=40)
    browser.wait_for("Array.from(document.images).every(i => i.complete)", timeout=40)
    browser.pump(0.5)


def _foreign_requests(browser, site):
    own = urlsplit(site.url).netloc
    bad = []
    for url in browser.requested_urls():
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            continue
        if parts.netloc != own:
            bad.append(url)
    return bad


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_renders_math_figures_and_widgets(site, browser, chapter):
    _load(browser, site, f"book/{chapter}.html")
    n_math = browser.eval("document.querySelectorAll('mjx-container').length")
    assert n_math >= 3, f"only {n_math} typeset formulas"
    # every figure is an image that decoded to a non-zero size
    images = browser.eval("""Array.from(document.querySelectorAll('article img, .bd-article img')).map(i => ({
        src: i.src.slice(0, 60), w: i.naturalWidth, h: i.naturalHeight, shown: i.getBoundingClientRect().width}))""")
    assert images, "no images on the page"
    broken = [i for i in images if i["w"] == 0 or i["h"] == 0]
    assert not broken, broken
    # the interactive figures: visible controls plus a visible figure, and no Jupyter widget
    # (those would need a kernel or the widget manager)
    widgets = browser.eval("""(() => ({
        controls: Array.from(document.querySelectorAll('figure.mixlearn-figure input, figure.mixlearn-figure select'))
            .filter(c => c.getBoundingClientRect().width > 0).length,
        figures: Array.from(document.querySelectorAll('figure.mixlearn-figure')).filter(f => {
            const p = f.querySelector('img.mixlearn-frame, svg.mixlearn-svg');
            return p && p.getBoundingClientRect().width > 100; }).length,
        jupyter: document.querySelectorAll('.jupyter-widgets, .widget-slider').length }))()""")
    assert widgets["controls"] >= 1, widgets
    assert widgets["figures"] >= 1, widgets
    assert widgets["jupyter"] == 0, widgets
    assert _foreign_requests(browser, site) == []
    assert browser.failed_requests() == []
    assert browser.exceptions() == []
    browser.screenshot(SCREENSHOTS / f"{chapter}.png", full_page=True)


_FIGURE_STATE = """(() => {
  const box = document.querySelectorAll('figure.mixlearn-figure')[0];
  document.documentElement.style.scrollBehavior = 'auto';
  box.scrollIntoView({block: 'center', behavior: 'instant'});
  const img = box.querySelector('img.mixlearn-frame'), svg = box.querySelector('svg.mixlearn-svg');
  let pixels = svg ? svg.outerHTML : '';
  if (img) {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    c.getContext('2d').drawImage(img, 0, 0);
    pixels = c.toDataURL('image/png');
  }
  const out = box.querySelector('output');
  return {readout: out ? out.textContent : box.querySelector('select').value, pixels: pixels,
          w: img ? img.naturalWidth : svg.getBoundingClientRect().width};
})()"""


@pytest.mark.parametrize("chapter", KERNEL_FREE)
def test_kernel_free_slider_changes_the_figure(site, browser, chapter):
    _load(browser, site, f"book/{chapter}.html")
    before = browser.eval(_FIGURE_STATE)
    assert before["w"] > 100, before["w"]
    browser.pump(0.3)
    # viewport screenshots, with the figure scrolled to the middle of the window
    shot_before = browser.screenshot(SCREENSHOTS / f"{chapter}-slider-before.png")
    # move the first control the way a keyboard user would: focus it, press the right arrow twice
    browser.eval("document.querySelector('figure.mixlearn-figure input, figure.mixlearn-figure select').focus()")
    for _ in range(2):
        for kind in ("keyDown", "keyUp"):
            browser.send("Input.dispatchKeyEvent", {"type": kind, "key": "ArrowRight", "code": "ArrowRight",
                                                    "windowsVirtualKeyCode": 39})
    browser.pump(0.8)
    after = browser.eval(_FIGURE_STATE)
    browser.pump(0.3)
    shot_after = browser.screenshot(SCREENSHOTS / f"{chapter}-slider-after.png")
    assert after["readout"] != before["readout"], "slider did not move"
    # the displayed picture changed: compare decoded pixels (or the drawn SVG) and the screenshot
    assert hashlib.sha256(after["pixels"].encode()).digest() != hashlib.sha256(before["pixels"].encode()).digest()
    assert shot_after != shot_before
    assert _foreign_requests(browser, site) == []
    assert browser.exceptions() == []


def test_landing_page_and_bibliography(site, browser):
    browser.goto(f"{site.url}/index.html")  # redirects to book/intro.html
    browser.wait_for("location.pathname.endsWith('book/intro.html')", timeout=20)
    browser.wait_for("document.querySelectorAll('mjx-container').length > 0", timeout=40)
    assert "Who it is for" in browser.eval("document.body.innerText")
    browser.screenshot(SCREENSHOTS / "intro.png", full_page=True)
    browser.goto(f"{site.url}/book/bibliography.html")
    assert "Nguyen" in browser.eval("document.body.innerText")
    assert _foreign_requests(browser, site) == []
