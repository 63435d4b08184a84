"""ipywidgets building blocks for the book (presentation only)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np

from .controls import Choice
from .plots import NARROW_DPI, figure_to_png, narrow_layout, smallest_text_pt
from .static import PHONE_FIGURE_WIDTH, PHONE_MIN_TEXT_PX, compact_png, drawn_html, frames_html, static_mode


def render_frames(draw: Callable[[Any], Any], values: Iterable[Any], dpi: int = 80) -> list[bytes]:
    """Call ``draw(value)`` (which returns a matplotlib Figure) for each value; return PNG bytes."""
    return [figure_to_png(draw(v), dpi=dpi) for v in values]


class FrameSlider(widgets.VBox):
    """A slider that flips through precomputed figures, without needing a kernel.

    The frames sit in an ``ipywidgets.Stack``; the slider's ``index`` is linked to the stack's
    ``selected_index`` with :func:`ipywidgets.jslink`, a link that lives in the browser. When the
    notebook's widget state is embedded in a static page, every frame and the link come along,
    so moving the slider changes the figure with no Python behind it.

    Parameters
    ----------
    frames : list of PNG bytes (see :func:`render_frames`)
    labels : one label per frame, shown as the slider's readout (must be distinct)
    description : the slider's label
    index : frame shown first

    No "play" button: the ``Play`` view of the embeddable widget manager
    (``@jupyter-widgets/html-manager`` 1.0.x) throws when its value changes, which would
    break the link in static pages.
    """

    def __init__(self, frames: Sequence[bytes], labels: Sequence[str], description: str = "",
                 index: int = 0, **kwargs):
        frames = list(frames)
        labels = [str(lbl) for lbl in labels]
        if len(frames) != len(labels):
            raise ValueError(f"frames and labels differ in length ({len(frames)} != {len(labels)})")
        if not frames:
            raise ValueError("frames must not be empty")
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be distinct")
        if not 0 <= index < len(frames):
            raise ValueError(f"index must be in [0, {len(frames) - 1}], got {index}")
        self.slider = widgets.SelectionSlider(
            options=labels, index=index, description=description, continuous_update=True,
            style={"description_width": "initial"}, layout=widgets.Layout(width="min(100%, 560px)"),
        )
        self.images = [widgets.Image(value=png, format="png") for png in frames]
        self.stack = widgets.Stack(self.images, selected_index=index)
        self.links = [widgets.jslink((self.slider, "index"), (self.stack, "selected_index"))]
        super().__init__([self.slider, self.stack], **kwargs)
        self.add_class("mixlearn-frames")


class LiveFigure(widgets.VBox):
    """A figure redrawn by the kernel whenever one of ``controls`` changes.

    ``draw(**values)`` must return a matplotlib Figure; ``values`` maps each control's name to
    its current ``value``. The picture is an ``ipywidgets.Image``, so a static page built from
    the executed notebook shows the figure for the default values.
    """

    def __init__(self, draw: Callable[..., Any], controls: Mapping[str, widgets.ValueWidget], dpi: int = 80,
                 **kwargs):
        if not controls:
            raise ValueError("controls must not be empty")
        self._draw = draw
        self._dpi = dpi
        self.controls = dict(controls)
        self.image = widgets.Image(format="png")
        for ctrl in self.controls.values():
            ctrl.observe(self._update, names="value")
        self._update()
        super().__init__([widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap")),
                          self.image], **kwargs)
        self.add_class("mixlearn-live")

    @property
    def values(self) -> dict[str, Any]:
        return {name: ctrl.value for name, ctrl in self.controls.items()}

    def _update(self, change=None) -> None:
        self.image.value = figure_to_png(self._draw(**self.values), dpi=self._dpi)


def slider(kind: str = "float", **kwargs) -> widgets.ValueWidget:
    """A slider with the book's default style (wide description, continuous updates off)."""
    cls = {"float": widgets.FloatSlider, "int": widgets.IntSlider}[kind]
    kwargs.setdefault("continuous_update", False)
    kwargs.setdefault("style", {"description_width": "initial"})
    return cls(**kwargs)


def _alt_text(alt: str | Callable[..., str], values: Mapping[str, Any], labels: Mapping[str, str]) -> str:
    text = alt(**values) if callable(alt) else alt.format(**labels)
    text = " ".join(str(text).split())
    if not text:
        raise ValueError("alt must describe the figure (got an empty text)")
    return text


class InteractiveFigure:
    """A figure with controls that works in a running notebook *and* in the static book.

    In a notebook, displaying it shows ordinary ipywidgets (:meth:`widget`). When the book is
    built (``MIXLEARN_STATIC_FIGURES=1``, see :mod:`mixlearn.teaching.static`) it displays as
    plain HTML whose controls work in the browser with no kernel and no widget manager.
    Subclasses say how: :class:`FrameFigure` or :class:`DrawnFigure`.
    """

    def __init__(self, draw: Callable[..., Any], controls: Sequence[Choice], alt: str | Callable[..., str],
                 dpi: int = 80):
        controls = list(controls)
        if not controls:
            raise ValueError("controls must not be empty")
        if not all(isinstance(c, Choice) for c in controls):
            raise TypeError("controls must be mixlearn.teaching.Choice objects")
        names = [c.name for c in controls]
        if len(set(names)) != len(names):
            raise ValueError(f"control names must be distinct, got {names}")
        if not callable(draw):
            raise TypeError("draw must be a function returning a matplotlib Figure")
        self.draw = draw
        self.controls = controls
        self.alt = alt
        self.dpi = dpi

    def widget(self):
        """The ipywidgets rendition: the controls and a figure redrawn when one changes."""
        return LiveFigure(self.draw, {c.name: c.to_widget() for c in self.controls}, dpi=self.dpi)

    def static_html(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        if static_mode():
            return {"text/html": self.static_html(), "text/plain": repr(self)}
        return self.widget()._repr_mimebundle_(include=include, exclude=exclude, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(c.name for c in self.controls)})"


class FrameFigure(InteractiveFigure):
    """An interactive figure whose every state is drawn in advance (a small grid of controls).

    ``draw(**values)`` returns a matplotlib Figure made with :func:`new_figure`; it is called
    for every combination of the controls' values, once in the normal layout and once in the
    phone layout (:func:`~mixlearn.teaching.plots.narrow_layout`). ``alt`` is the text
    alternative of each state: a function of the values, or a template with ``{name}``
    placeholders (filled with the controls' labels).

    Examples
    --------
    >>> fig = FrameFigure(draw_K, [Choice("K", "components K", range(1, 7), symbol="K")],
    ...                   alt="Fitted mixture with K = {K} components")  # doctest: +SKIP
    """

    #: refuse grids that would make a page heavy (two PNGs per state are embedded)
    MAX_STATES = 40

    def __init__(self, draw, controls, alt, dpi: int = 80):
        super().__init__(draw, controls, alt, dpi)
        n = int(np.prod([len(c.values) for c in self.controls]))
        if n > self.MAX_STATES:
            raise ValueError(f"{n} states is too many to pre-render (at most {self.MAX_STATES}); "
                             "draw the figure in the browser (DrawnFigure) or use fewer values")

    def states(self):
        """Every combination of control indices, last control fastest (the page's order)."""
        return list(itertools.product(*[range(len(c.values)) for c in self.controls]))

    def render_state(self, idx: Sequence[int]) -> dict:
        values = {c.name: c.values[i] for c, i in zip(self.controls, idx, strict=True)}
        labels = {c.name: c.labels[i] for c, i in zip(self.controls, idx, strict=True)}
        fig = self.draw(**values)
        wide = compact_png(figure_to_png(fig, dpi=self.dpi))
        wide_font = smallest_text_pt(fig) * self.dpi / 72  # after drawing: tick labels exist now
        size = tuple(int(round(v * self.dpi)) for v in fig.get_size_inches())
        state = {"wide": wide, "alt": _alt_text(self.alt, values, labels), "size": size, "min_font_px": wide_font,
                 "narrow": None, "narrow_size": None, "narrow_min_font_px": None}
        # on a phone the image shrinks to PHONE_FIGURE_WIDTH: is its smallest text still legible?
        if wide_font * min(1.0, PHONE_FIGURE_WIDTH / size[0]) < PHONE_MIN_TEXT_PX:
            with narrow_layout():
                nfig = self.draw(**values)
            state["narrow"] = compact_png(figure_to_png(nfig, dpi=NARROW_DPI))
            state["narrow_min_font_px"] = smallest_text_pt(nfig) * NARROW_DPI / 72
            state["narrow_size"] = tuple(int(round(v * NARROW_DPI)) for v in nfig.get_size_inches())
        return state

    def static_html(self) -> str:
        states = self.states()
        frames = [self.render_state(idx) for idx in states]
        default = states.index(tuple(c.index for c in self.controls))
        return frames_html(self.controls, frames, default)


class DrawnFigure(InteractiveFigure):
    """An interactive figure the static page draws itself, from a few numbers.

    For control grids too large to pre-render. ``renderer`` names a drawing function of
    ``book/_assets/mixlearn-figures.js`` and ``params`` is what it needs (strings may hold
    ``{name}`` placeholders, and a value ``{"control": name}`` stands for the control's
    current value). In a notebook, ``draw(**values)`` (matplotlib) draws the same figure.
    """

    def __init__(self, draw, controls, alt: str, renderer: str, params: Mapping[str, Any], dpi: int = 80):
        if callable(alt):
            raise TypeError("alt must be a template string (the browser fills it in), not a function")
        super().__init__(draw, controls, alt, dpi)
        self.renderer = renderer
        self.params = json.loads(json.dumps(params))  # JSON-ready, and a copy

    def static_html(self) -> str:
        values = {c.name: c.value for c in self.controls}
        fig = self.draw(**values)
        size = tuple(int(round(v * self.dpi)) for v in fig.get_size_inches())
        png = compact_png(figure_to_png(fig, dpi=self.dpi))
        return drawn_html(self.controls, self.renderer, self.params, self.alt, png, size)
