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
    from book_support.browser import Browser, StaticServer, find_chromium
    from book_support.build import SCREENSHOTS, clean_build
except ImportError:  # tests/ imported as a package
    from tests.book_support.browser import Browser, StaticServer, find_chromium
    from tests.book_support.build import SCREENSHOTS, clean_build

CHAPTERS = ["01_mixtures", "02_latent_posteriors", "03_em_two", "04_em_n", "05_universal_approximation",
            "06_faithful"]
KERNEL_FREE = ["01_mixtures", "03_em_two", "05_universal_approximation", "06_faithful"]

CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the browser test: install Debian's chromium (bash .ci/run does).")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian package `chromium` is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    result = clean_build(tmp_path_factory.mktemp("book"))
    if result["returncode"] != 0:
        pytest.fail(f"book build failed:\n{result['log'][-4000:]}")
    with StaticServer(result["html"]) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with Browser(CHROMIUM) as b:
        yield b


def _load(browser, site, page):
    browser.goto(f"{site.url}/{page}")
    # MathJax typesets asynchronously; widgets render after the window's load event
    browser.wait_for("document.querySelectorAll('mjx-container').length > 0", timeout=40)
    browser.wait_for("document.querySelectorAll('.widget-slider, .widget-dropdown').length > 0", timeout=40)
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
    # the widgets rendered from the embedded state: controls plus a visible figure
    widgets = browser.eval("""(() => ({
        sliders: document.querySelectorAll('.widget-slider, .widget-dropdown').length,
        figures: Array.from(document.querySelectorAll('.widget-image')).filter(
            i => i.getBoundingClientRect().width > 100 && i.naturalWidth > 100).length,
        errors: document.querySelectorAll('.jupyter-widgets-error-widget, .widget-error').length }))()""")
    assert widgets["sliders"] >= 1, widgets
    assert widgets["figures"] >= 1, widgets
    assert widgets["errors"] == 0, widgets
    assert _foreign_requests(browser, site) == []
    assert browser.failed_requests() == []
    assert browser.exceptions() == []
    browser.screenshot(SCREENSHOTS / f"{chapter}.png", full_page=True)


_FRAME_STATE = """(() => {
  const box = document.querySelectorAll('.mixlearn-frames')[0];
  document.documentElement.style.scrollBehavior = 'auto';
  box.scrollIntoView({block: 'center', behavior: 'instant'});
  const shown = Array.from(box.querySelectorAll('img')).filter(
    i => i.offsetParent !== null && i.getBoundingClientRect().width > 0);
  const c = document.createElement('canvas');
  const img = shown[0];
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  c.getContext('2d').drawImage(img, 0, 0);
  return {n_shown: shown.length, readout: box.querySelector('.widget-readout').textContent,
          pixels: c.toDataURL('image/png'), w: img.naturalWidth};
})()"""


@pytest.mark.parametrize("chapter", KERNEL_FREE)
def test_kernel_free_slider_changes_the_figure(site, browser, chapter):
    _load(browser, site, f"book/{chapter}.html")
    browser.wait_for("document.querySelectorAll('.mixlearn-frames .noUi-handle').length > 0", timeout=40)
    before = browser.eval(_FRAME_STATE)
    assert before["n_shown"] == 1 and before["w"] > 100, before["n_shown"]
    browser.pump(0.3)
    # viewport screenshots, with the widget scrolled to the middle of the window
    shot_before = browser.screenshot(SCREENSHOTS / f"{chapter}-slider-before.png")
    # move the slider the way a keyboard user would: focus its handle, press the right arrow twice
    browser.eval("document.querySelector('.mixlearn-frames .noUi-handle').focus()")
    for _ in range(2):
        for kind in ("keyDown", "keyUp"):
            browser.send("Input.dispatchKeyEvent", {"type": kind, "key": "ArrowRight", "code": "ArrowRight",
                                                    "windowsVirtualKeyCode": 39})
    browser.pump(0.8)
    after = browser.eval(_FRAME_STATE)
    browser.pump(0.3)
    shot_after = browser.screenshot(SCREENSHOTS / f"{chapter}-slider-after.png")
    assert after["readout"] != before["readout"], "slider did not move"
    assert after["n_shown"] == 1
    # the displayed picture changed: compare decoded pixels and the on-screen screenshot
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
