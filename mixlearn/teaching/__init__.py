"""Widgets and plot helpers used by the mixlearn book.

This subpackage is only for presentation: it draws figures and wires ipywidgets controls.
Every number it shows comes from mixlearn's public API (densities, posteriors, EM fits);
nothing here implements EM. It needs the ``book`` extra (matplotlib, ipywidgets), which is
why ``import mixlearn`` never imports it.

Two kinds of interactive figure are provided:

``FrameSlider``
    Precomputed frames (PNG images) in an ipywidgets ``Stack``, whose ``selected_index`` is
    linked *in the browser* (``jslink``) to a slider. It keeps working in the static HTML
    book, where no kernel runs: the embedded widget state holds every frame.

``LiveFigure``
    A figure redrawn by Python whenever a control changes. In Jupyter it is fully live; in
    the static book it shows the figure for the controls' default values.

``FrameFigure`` and ``DrawnFigure`` (with :class:`Choice` controls)
    What the book uses. In a notebook they display as ipywidgets (a ``LiveFigure``); when the
    book is built (``MIXLEARN_STATIC_FIGURES=1``) they display as plain HTML with native,
    labelled controls that change the figure in the browser: ``FrameFigure`` from states
    pre-rendered in a wide and a phone layout, ``DrawnFigure`` by drawing SVG from a few
    parameters (``book/_assets/mixlearn-figures.js``). See :mod:`mixlearn.teaching.static`.
"""

from __future__ import annotations

from .controls import Choice
from .plots import (
    confidence_ellipse,
    figure_to_png,
    grid_for,
    narrow_layout,
    new_figure,
    plot_gmm_2d,
    plot_mixture_1d,
)
from .widgets import DrawnFigure, FrameFigure, FrameSlider, InteractiveFigure, LiveFigure, render_frames, slider

__all__ = [
    "Choice",
    "DrawnFigure",
    "FrameFigure",
    "InteractiveFigure",
    "narrow_layout",
    "FrameSlider",
    "LiveFigure",
    "render_frames",
    "slider",
    "figure_to_png",
    "plot_mixture_1d",
    "plot_gmm_2d",
    "confidence_ellipse",
    "grid_for",
    "new_figure",
]
