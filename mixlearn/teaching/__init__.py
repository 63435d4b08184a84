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
"""

from __future__ import annotations

from .plots import (
    confidence_ellipse,
    figure_to_png,
    grid_for,
    new_figure,
    plot_gmm_2d,
    plot_mixture_1d,
)
from .widgets import FrameSlider, LiveFigure, render_frames, slider

__all__ = [
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
