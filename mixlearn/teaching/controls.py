"""Controls of the book's interactive figures, described once for both renderings.

A :class:`Choice` is a named, finite list of values a reader picks from. The same
description becomes an ipywidgets control in a running notebook (:meth:`Choice.to_widget`)
and a native HTML ``<input type="range">`` or ``<select>`` in the static book (see
:mod:`mixlearn.teaching.static`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class Choice:
    """A control that selects one of ``values``.

    Parameters
    ----------
    name : str
        Keyword under which the selected value is passed to the drawing function.
    description : str
        The visible label, e.g. ``"components K"``.
    values : sequence
        The values in order (a slider moves through them left to right).
    index : int, default 0
        Position of the value shown first.
    labels : sequence of str, optional
        How each value is printed (readout, option text). Default ``str(value)``.
    symbol : str, optional
        Short name used when the value is announced to screen readers and in alt texts:
        ``symbol = label`` (``"K = 2"``). Default: the description.
    kind : {"slider", "dropdown"}, default "slider"

    Examples
    --------
    >>> k = Choice("K", "components K", range(1, 7), index=1, symbol="K")
    >>> k.value, k.valuetext(1)
    (2, 'K = 2')
    """

    def __init__(self, name: str, description: str, values: Sequence[Any], *, index: int = 0,
                 labels: Sequence[str] | None = None, symbol: str | None = None, kind: str = "slider"):
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"name must be a Python identifier (it becomes a keyword argument), got {name!r}")
        values = [v.item() if isinstance(v, np.generic) else v for v in values]
        if not values:
            raise ValueError("values must not be empty")
        if labels is None:
            labels = [str(v) for v in values]
        labels = [str(lbl) for lbl in labels]
        if len(labels) != len(values):
            raise ValueError(f"labels and values differ in length ({len(labels)} != {len(values)})")
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be distinct (they identify the values)")
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(values):
            raise ValueError(f"index must be an integer in [0, {len(values) - 1}], got {index!r}")
        if kind not in ("slider", "dropdown"):
            raise ValueError(f"kind must be 'slider' or 'dropdown', got {kind!r}")
        self.name = name
        self.description = description
        self.values = values
        self.labels = labels
        self.index = int(index)
        self.symbol = symbol if symbol is not None else description
        self.kind = kind

    @property
    def value(self) -> Any:
        """The value selected at first."""
        return self.values[self.index]

    def valuetext(self, index: int) -> str:
        """What a screen reader announces for ``values[index]``, e.g. ``"K = 2"``."""
        return f"{self.symbol} = {self.labels[index]}"

    def to_widget(self):
        """The equivalent ipywidgets control (for a running notebook)."""
        import ipywidgets as widgets

        options = list(zip(self.labels, self.values, strict=True))
        common = {"description": self.description, "style": {"description_width": "initial"}}
        if self.kind == "dropdown":
            return widgets.Dropdown(options=options, index=self.index, **common)
        return widgets.SelectionSlider(options=options, index=self.index, continuous_update=True,
                                       layout=widgets.Layout(width="min(100%, 520px)"), **common)

    def spec(self) -> dict:
        """JSON-ready description for the static page's script."""
        return {"name": self.name, "description": self.description, "labels": self.labels,
                "values": [v if isinstance(v, (int, float, str)) else str(v) for v in self.values],
                "index": self.index, "symbol": self.symbol, "kind": self.kind}

    def __repr__(self) -> str:
        return f"Choice({self.name!r}, {self.description!r}, {len(self.values)} values, index={self.index})"
