"""mixlearn.teaching's interactive figures: the same object is ipywidgets in a notebook and
static HTML (native controls, every frame or the drawing parameters) in the built book."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("ipywidgets")

import ipywidgets as widgets  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from mixlearn.teaching import Choice, DrawnFigure, FrameFigure, narrow_layout, new_figure  # noqa: E402
from mixlearn.teaching.static import STATIC_ENV, compact_png, static_figure_html  # noqa: E402


def draw_line(slope, colour="C0"):
    fig, axes = new_figure(ncols=2, figsize=(8, 3))
    axes[0].plot([0, 1], [0, slope], color=colour)
    axes[0].set_title(f"slope {slope}")
    axes[1].bar([0], [slope])
    return fig


def _payload(html: str) -> dict:
    m = re.search(r'<script type="application/json" class="mixlearn-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def test_choice_validates_and_announces_values():
    k = Choice("K", "components K", range(1, 7), index=1, symbol="K")
    assert k.value == 2 and k.valuetext(1) == "K = 2"
    assert Choice("p", "prior", np.array([0.25, 0.5])).values == [0.25, 0.5]  # numpy scalars become floats
    with pytest.raises(ValueError, match="index"):
        Choice("K", "K", [1, 2], index=2)
    with pytest.raises(ValueError, match="distinct"):
        Choice("K", "K", [1, 2], labels=["a", "a"])
    with pytest.raises(ValueError, match="identifier"):
        Choice("my K", "K", [1, 2])
    with pytest.raises(ValueError, match="kind"):
        Choice("K", "K", [1, 2], kind="knob")


def test_choice_becomes_the_matching_ipywidget():
    s = Choice("K", "components K", [1, 2, 3], index=2).to_widget()
    assert isinstance(s, widgets.SelectionSlider) and s.value == 3 and s.description == "components K"
    d = Choice("cov", "covariance", ["full", "diag"], kind="dropdown").to_widget()
    assert isinstance(d, widgets.Dropdown) and d.value == "full"


def test_in_a_notebook_the_figure_is_an_ipywidget(monkeypatch):
    monkeypatch.delenv(STATIC_ENV, raising=False)
    fig = FrameFigure(draw_line, [Choice("slope", "slope", [1, 2, 3])], alt="a line of slope {slope} and a bar")
    bundle = fig._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "text/html" not in bundle
    live = fig.widget()
    first = live.image.value
    live.controls["slope"].value = 3  # moving the control redraws through Python
    assert live.image.value != first


def test_static_frames_hold_every_state_in_two_layouts(monkeypatch):
    monkeypatch.setenv(STATIC_ENV, "1")
    controls = [Choice("slope", "slope", [1, 2, 3], index=1, symbol="s"),
                Choice("colour", "colour", ["C0", "C1"], kind="dropdown")]
    fig = FrameFigure(draw_line, controls, alt=lambda slope, colour: f"A line of slope {slope} drawn in {colour}")
    html = fig._repr_mimebundle_()["text/html"]
    data = _payload(html)
    assert data["kind"] == "frames" and len(data["frames"]) == 6
    # row-major order, last control fastest: frame 3 is slope 2 (index 1), colour C1... index (1, 1) -> 3
    assert data["frames"][3][2] == "A line of slope 2 drawn in C1"
    # the default state (index 2: slope 2, C0) is in the markup only; the other five are listed
    assert data["default"] == 2 and data["frames"][2][:2] == [None, None]
    assert 'alt="A line of slope 2 drawn in C0"' in html and html.count("data:image/png") == 2 * 6
    assert len({f[0] for i, f in enumerate(data["frames"]) if i != 2}) == 5  # five different pictures
    for i, (wide, narrow, _) in enumerate(data["frames"]):
        if i == 2:
            continue
        for uri in (wide, narrow):  # two panels at 8 in would be unreadable on a phone: narrow frames exist
            assert base64.b64decode(uri.split(",", 1)[1]).startswith(b"\x89PNG")
    # native, labelled controls, hidden until the page's script runs; value announced, not the step
    assert '<div class="mixlearn-controls" hidden>' in html
    assert re.search(r'<label for="(mlf-\w+)-slope">slope</label><input type="range" id="\1-slope"', html)
    assert 'aria-valuetext="s = 2"' in html
    assert "<select" in html and '<option value="0" selected>C0</option>' in html
    # the default state is in the markup with its alt text
    assert 'alt="A line of slope 2 drawn in C0"' in html


def test_frame_grids_that_would_bloat_the_page_are_refused():
    big = [Choice("a", "a", range(10)), Choice("b", "b", range(10))]
    with pytest.raises(ValueError, match="too many"):
        FrameFigure(draw_line, big, alt="x")


def test_drawn_figure_carries_parameters_and_a_fallback(monkeypatch):
    monkeypatch.setenv(STATIC_ENV, "1")
    fig = DrawnFigure(lambda w: draw_line(w), [Choice("w", "weight", [0.1, 0.2], symbol="w")],
                      alt="mixture with weight {w}", renderer="gaussian-mixture-2",
                      params={"weight1": {"control": "w"}, "mean1": 0, "sd1": 1, "mean2": 2, "sd2": 1})
    html = fig._repr_mimebundle_()["text/html"]
    data = _payload(html)
    assert data["renderer"] == "gaussian-mixture-2" and data["params"]["weight1"] == {"control": "w"}
    assert 'class="mixlearn-fallback"' in html and 'alt="mixture with weight 0.1"' in html
    with pytest.raises(TypeError, match="template"):
        DrawnFigure(draw_line, [Choice("w", "w", [1])], alt=lambda w: "x", renderer="r", params={})


def test_narrow_layout_stacks_panels_and_keeps_text_legible():
    with narrow_layout():
        fig = draw_line(2)
    assert len(fig.axes) == 2
    (x0, y0), (x1, y1) = (ax.get_position().p0 for ax in fig.axes)
    assert abs(x0 - x1) < 1e-6 and y0 != y1  # one column
    width_px = fig.get_size_inches()[0] * 100
    smallest = min(t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip()) * 100 / 72
    # shown 340 px wide on a phone, the smallest text stays above 9 px
    assert smallest * 340 / width_px >= 9


def test_compact_png_keeps_the_picture():
    import io

    from PIL import Image

    from mixlearn.teaching import figure_to_png

    png = figure_to_png(draw_line(1), dpi=80)
    small = compact_png(png)
    assert len(small) <= len(png)
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)
    b = np.asarray(Image.open(io.BytesIO(small)).convert("RGB"), dtype=float)
    assert a.shape == b.shape and np.abs(a - b).mean() < 3.0  # of 255
    # thin dark lines (the axes' frame, ticks, text) survive: as many dark pixels as before
    dark_a, dark_b = (a.mean(axis=2) < 110).sum(), (b.mean(axis=2) < 110).sum()
    assert abs(dark_a - dark_b) <= 0.1 * dark_a, (dark_a, dark_b)


def test_static_figure_html_adds_a_phone_rendering_without_touching_the_figure():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3))
    a1.plot([1, 2])
    a2.plot([2, 1])
    html = static_figure_html(fig)
    plt.close(fig)
    assert "<source media=" in html and 'alt="" data-alt-from="cell"' in html
    assert tuple(fig.get_size_inches()) == (9, 3)
    assert [ax.get_subplotspec().get_geometry()[:2] for ax in fig.axes] == [(1, 2), (1, 2)]
    small = plt.figure(figsize=(4, 3))
    small.add_subplot().plot([1, 2])
    assert "<source" not in static_figure_html(small)  # already legible on a phone
    plt.close(small)
