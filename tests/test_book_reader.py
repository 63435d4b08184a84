"""The built book as a reader meets it: every control works without a kernel, every page passes
axe-core's WCAG 2.1 A/AA rules in light, dark and phone modes, and phones get legible figures.

The site is built once (``book_support.build.clean_build``), served on 127.0.0.1 and loaded in
headless Chromium. axe-core comes from npm (``book_support.axe``). Screenshots of every
interactive figure, before and after its controls move, go to ``_build/screenshots/reader/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

import numpy as np
import pytest
from scipy import stats

try:
    from book_support.axe import run_axe
    from book_support.browser import Browser, find_chromium
    from book_support.build import CHAPTERS, SCREENSHOTS, served_book
except ImportError:  # tests/ imported as a package
    from tests.book_support.axe import run_axe
    from tests.book_support.browser import Browser, find_chromium
    from tests.book_support.build import CHAPTERS, SCREENSHOTS, served_book

PAGES = ["book/intro.html", *[f"book/{c}.html" for c in CHAPTERS], "book/em_at_scale.html", "book/exercises/index.html",
         "book/bibliography.html"]
SHOTS = SCREENSHOTS / "reader"
PHONE = {"width": 390, "height": 844}

CHROMIUM = find_chromium()
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must run the browser test: install Debian's chromium (bash .ci/run does).")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian package `chromium` is not installed")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    yield from served_book(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="module")
def desktop():
    with Browser(CHROMIUM, width=1366, height=900) as b:
        yield b


@pytest.fixture(scope="module")
def phone():
    with Browser(CHROMIUM, width=PHONE["width"], height=PHONE["height"]) as b:
        b.send("Emulation.setDeviceMetricsOverride", {**PHONE, "deviceScaleFactor": 1, "mobile": True})
        yield b


def _open(browser, site, page, dark=False):
    browser.send("Emulation.setEmulatedMedia",
                 {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})
    browser.goto(f"{site.url}/{page}")
    # the theme stores the reader's choice; set it as a reader would by switching the mode
    browser.eval(f"localStorage.setItem('mode', '{'dark' if dark else 'light'}');"
                 f"localStorage.setItem('theme', '{'dark' if dark else 'light'}')")
    browser.goto(f"{site.url}/{page}")
    browser.wait_for(f"document.documentElement.dataset.theme === '{'dark' if dark else 'light'}'", timeout=20)
    if page.split("/")[-1].startswith("0"):
        browser.wait_for("document.querySelectorAll('mjx-container').length > 0", timeout=40)
        browser.wait_for("Array.from(document.querySelectorAll('figure.mixlearn-figure'))"
                         ".every(f => f.classList.contains('mixlearn-ready'))", timeout=20)
    browser.wait_for("Array.from(document.images).every(i => i.complete)", timeout=40)
    browser.pump(0.3)


def _press(browser, key, code, keycode):
    for kind in ("keyDown", "keyUp"):
        browser.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": code,
                                                "windowsVirtualKeyCode": keycode})


_FIGURES = """Array.from(document.querySelectorAll('figure.mixlearn-figure')).map(f => {
  const data = JSON.parse(f.querySelector('script.mixlearn-data').textContent);
  return {id: f.id, kind: data.kind, n_frames: data.frames ? data.frames.length : 0,
          controls: data.controls.map(c => ({name: c.name, kind: c.kind, labels: c.labels, symbol: c.symbol,
                                             description: c.description, id: f.id + '-' + c.name}))};
})"""

_STATE = """((fid) => {
  const f = document.getElementById(fid);
  const img = f.querySelector('img.mixlearn-frame'), svg = f.querySelector('svg.mixlearn-svg');
  const inputs = Array.from(f.querySelectorAll('input, select'));
  return {
    picture: img ? img.currentSrc : svg.outerHTML,
    alt: img ? img.alt : svg.getAttribute('aria-label'),
    title: svg ? Array.from(svg.querySelectorAll('.mixlearn-title')).map(t => t.textContent).join(' ') : '',
    controls: Object.fromEntries(inputs.map(i => [i.dataset.name, {
      value: i.value, valuetext: i.getAttribute('aria-valuetext'),
      readout: (f.querySelector('output[for="' + i.id + '"]') || {}).textContent || null,
      label: Array.from(i.labels || []).map(l => l.textContent).join(' '),
      visible: i.getBoundingClientRect().width > 0}])),
  };
})(%s)"""


def _state(browser, fid):
    return browser.eval(_STATE % json.dumps(fid))


def _digest(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()[:16]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_control_changes_its_figure(site, desktop, chapter):
    """Move each control with the keyboard; its figure, alt text, readout and announcement follow."""
    b = desktop
    _open(b, site, f"book/{chapter}.html")
    figures = b.eval(_FIGURES)
    assert figures, f"{chapter}: no interactive figure"
    assert b.eval("document.querySelectorAll('.jupyter-widgets, .widget-slider').length") == 0, \
        "a Jupyter widget on the static page needs a kernel or the widget manager"
    moved = 0
    for fig in figures:
        b.eval(f"document.documentElement.style.scrollBehavior = 'auto';"
               f"document.getElementById({json.dumps(fig['id'])}).scrollIntoView({{block: 'center'}})")
        b.pump(0.2)
        b.screenshot(SHOTS / f"{chapter}-{fig['id']}-before.png")
        for ctrl in fig["controls"]:
            before = _state(b, fig["id"])
            c0 = before["controls"][ctrl["name"]]
            assert c0["visible"], f"{chapter}: control {ctrl['name']} is hidden"
            assert c0["label"].strip() == ctrl["description"], c0
            index = int(c0["value"])
            b.eval(f"document.getElementById({json.dumps(ctrl['id'])}).focus()")
            if ctrl["kind"] == "dropdown":
                target = index + 1 if index + 1 < len(ctrl["labels"]) else index - 1
                key = ("ArrowDown", "ArrowDown", 40) if target > index else ("ArrowUp", "ArrowUp", 38)
            else:
                target = index + 1 if index + 1 < len(ctrl["labels"]) else index - 1
                key = ("ArrowRight", "ArrowRight", 39) if target > index else ("ArrowLeft", "ArrowLeft", 37)
            _press(b, *key)
            b.pump(0.3)
            after = _state(b, fig["id"])
            c1 = after["controls"][ctrl["name"]]
            assert int(c1["value"]) == target, f"{chapter}/{ctrl['name']}: the control did not move ({c1})"
            label = ctrl["labels"][target]
            if ctrl["kind"] == "slider":
                # announced as "K = 2", never as the step number
                assert c1["valuetext"] == f"{ctrl['symbol']} = {label}", c1
                assert c1["readout"] == label, c1
            assert _digest(after["picture"]) != _digest(before["picture"]), \
                f"{chapter}/{ctrl['name']}: the figure did not change"
            assert after["alt"] != before["alt"], f"{chapter}/{ctrl['name']}: the alt text did not change"
            # the figure agrees with every control: alt text (and the drawn title) name the current values
            for other in fig["controls"]:
                shown = ctrl["labels"][target] if other is ctrl else \
                    other["labels"][int(after["controls"][other["name"]]["value"])]
                assert shown in after["alt"], f"{chapter}: alt text does not say {other['name']} = {shown}: " \
                                              f"{after['alt']!r}"
                if fig["kind"] == "drawn":
                    assert shown in after["title"], f"{chapter}: title {after['title']!r} lacks {shown}"
            moved += 1
        b.pump(0.2)
        b.screenshot(SHOTS / f"{chapter}-{fig['id']}-after.png")
    assert moved == sum(len(f["controls"]) for f in figures)
    assert b.exceptions() == []


def test_frames_cover_every_state_with_distinct_alt_texts(site, desktop):
    """A pre-rendered figure holds one frame per combination of its controls, each described differently."""
    checked = 0
    for chapter in CHAPTERS:
        _open(desktop, site, f"book/{chapter}.html")
        for fig in desktop.eval(_FIGURES):
            if fig["kind"] != "frames":
                continue
            assert fig["n_frames"] == int(np.prod([len(c["labels"]) for c in fig["controls"]])), fig["id"]
            alts = desktop.eval(f"""JSON.parse(document.getElementById({json.dumps(fig['id'])})
                                .querySelector('script.mixlearn-data').textContent).frames.map(f => f[2])""")
            assert len(set(alts)) == len(alts), f"{chapter}: two states share an alt text"
            checked += 1
    assert checked >= 6


def test_drawn_mixture_density_matches_scipy(site, desktop):
    """The density the browser draws for chapter 1 is the two-Gaussian mixture (oracle: scipy)."""
    _open(desktop, site, "book/01_mixtures.html")
    rng = np.random.default_rng(0)
    for _ in range(5):
        w1 = float(rng.uniform(0, 1))
        means = rng.uniform(-4, 4, 2).tolist()
        sds = rng.uniform(0.2, 3, 2).tolist()
        xs = np.linspace(-5, 5, 23)
        got = desktop.eval(f"{json.dumps(xs.tolist())}.map(x => MixlearnFigures.mixtureDensity("
                           f"{json.dumps([w1, 1 - w1])}, {json.dumps(means)}, {json.dumps(sds)}, x))")
        want = w1 * stats.norm.pdf(xs, means[0], sds[0]) + (1 - w1) * stats.norm.pdf(xs, means[1], sds[1])
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", ["light", "dark", "phone"])
def test_axe_finds_no_serious_violation(site, desktop, phone, mode):
    """axe-core, WCAG 2.0/2.1 A and AA rules (experimental ones included), on every page."""
    b = phone if mode == "phone" else desktop
    problems = {}
    for page in PAGES:
        _open(b, site, page, dark=(mode == "dark"))
        bad = [v for v in run_axe(b) if v["impact"] in ("critical", "serious")]
        if bad:
            problems[page] = bad
    assert problems == {}, json.dumps(problems, indent=1)[:6000]


_IMAGES = """Array.from(document.querySelectorAll('.bd-article img, .bd-article svg[role="img"]')).map(e => ({
  tag: e.tagName.toLowerCase(), src: (e.getAttribute('src') || '').slice(0, 60),
  alt: e.tagName === 'IMG' ? e.getAttribute('alt') : e.getAttribute('aria-label')}))"""


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_says_what_it_shows(site, desktop, page):
    _open(desktop, site, page)
    for im in desktop.eval(_IMAGES):
        alt = (im["alt"] or "").strip()
        assert alt, f"{page}: image without alt text: {im}"
        assert not re.search(r"(^|/)_images/|\.(png|svg|jpe?g)$|^\.\./", alt), f"{page}: alt text is a file path: {alt}"
        if "logo" not in alt.lower():
            assert len(alt.split()) >= 8, f"{page}: alt text too thin to describe a figure: {alt!r}"


_FOCUS = """(() => {
  const el = document.querySelector('figure.mixlearn-figure input[type=range]');
  el.focus();
  const cs = getComputedStyle(el);
  return {focused: document.activeElement === el, visible: el.matches(':focus-visible'),
          style: cs.outlineStyle, width: parseFloat(cs.outlineWidth)};
})()"""


def test_keyboard_focus_is_visible(site, desktop):
    _open(desktop, site, "book/06_faithful.html")
    _press(desktop, "Tab", "Tab", 9)  # a keyboard user: focus rings are for them
    got = desktop.eval(_FOCUS)
    assert got["focused"] and got["visible"], got
    assert got["style"] != "none" and got["width"] >= 2, got


_PHONE_FIGURES = """Array.from(document.querySelectorAll('figure.mixlearn-figure')).map(f => {
  f.scrollIntoView({block: 'center'});
  const img = f.querySelector('img.mixlearn-frame'), svg = f.querySelector('svg.mixlearn-svg');
  let font;
  if (img) {
    const narrow = img.dataset.narrowWidth && img.naturalWidth === Number(img.dataset.narrowWidth);
    const px = Number(narrow ? img.dataset.narrowMinFontPx : img.dataset.minFontPx);
    font = px * img.getBoundingClientRect().width / img.naturalWidth;
  } else {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    font = Math.min(...Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim())
                    .map(t => parseFloat(getComputedStyle(t).fontSize))) * scale;
  }
  return {id: f.id, font: font, width: (img || svg).getBoundingClientRect().width,
          tracks: Array.from(f.querySelectorAll('input[type=range]')).map(r => r.getBoundingClientRect().width)};
})"""

_STATIC_FIGURES = """Array.from(document.querySelectorAll('.cell_output img')).filter(
    i => !i.closest('figure.mixlearn-figure')).map(img => {
  const narrow = img.dataset.narrowWidth && img.naturalWidth === Number(img.dataset.narrowWidth);
  const px = Number(narrow ? img.dataset.narrowMinFontPx : img.dataset.minFontPx);
  return {measured: 'minFontPx' in img.dataset, font: px * img.getBoundingClientRect().width / img.naturalWidth,
          width: img.getBoundingClientRect().width, alt: img.alt};
})"""

_EQUATIONS = """Array.from(document.querySelectorAll('mjx-container[display="true"]')).map(m => {
  const cs = getComputedStyle(m);
  return {wide: m.scrollWidth > m.clientWidth + 1, overflow: cs.overflowX, cue: m.classList.contains('mixlearn-scrolls'),
          background: cs.backgroundImage, tabindex: m.getAttribute('tabindex'),
          right: m.getBoundingClientRect().right};
})"""


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_phone_figures_are_legible_and_equations_scroll(site, phone, chapter):
    _open(phone, site, f"book/{chapter}.html")
    phone.pump(0.5)
    for fig in phone.eval(_PHONE_FIGURES):
        assert fig["width"] <= PHONE["width"], fig
        assert fig["font"] >= 9, f"{chapter}: figure text {fig['font']:.1f} CSS px on a phone ({fig['id']})"
        assert all(t >= 150 for t in fig["tracks"]), f"{chapter}: slider track too short on a phone: {fig}"
    # ordinary matplotlib figures: the build records their smallest text (static_figure_html)
    for fig in phone.eval(_STATIC_FIGURES):
        assert fig["measured"], f"{chapter}: a figure without a phone rendering: {fig['alt'][:60]}"
        assert fig["font"] >= 9, f"{chapter}: figure text {fig['font']:.1f} CSS px on a phone ({fig['alt'][:60]})"
        assert fig["width"] <= PHONE["width"], fig
    phone.eval("document.documentElement.style.scrollBehavior = 'auto';"
               "(document.querySelector('figure.mixlearn-figure') || document.body).scrollIntoView({block: 'start'})")
    phone.pump(0.3)
    phone.screenshot(SHOTS / f"phone-{chapter}.png")
    for eq in phone.eval(_EQUATIONS):
        assert eq["right"] <= PHONE["width"] + 1, f"{chapter}: an equation runs off the screen: {eq}"
        if eq["wide"]:
            assert eq["overflow"] in ("auto", "scroll"), eq
            assert eq["cue"] and "gradient" in eq["background"], f"{chapter}: a wide equation has no scroll cue"
            assert eq["tabindex"] == "0", "a scrolling equation must be reachable by keyboard"
    # the page itself never scrolls sideways
    assert phone.eval("document.documentElement.scrollWidth") <= PHONE["width"]
