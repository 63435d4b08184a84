"""ipywidgets building blocks for the book (presentation only)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from .plots import figure_to_png


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
