"""Matplotlib helpers for the book's figures (presentation only)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextlib import contextmanager

import matplotlib.colors
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse
from matplotlib.text import Text

import mixlearn as ml

#: colours used for components throughout the book (colour-blind friendly)
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]


#: the phone layout: figure width (inches) and resolution; 3.6 in x 100 dpi = 360 px, so an
#: 8-point legend is 11 px in the image and stays above 9 CSS px on a 390 px wide phone
NARROW_WIDTH, NARROW_DPI = 3.6, 100
_layout = {"narrow": False}


@contextmanager
def narrow_layout():
    """Within this block :func:`new_figure` lays panels out for a phone.

    Panels side by side are stacked in one column of width :data:`NARROW_WIDTH`, and the
    layout engine keeps titles and labels inside the figure. The drawing code does not change.
    """
    previous = _layout["narrow"]
    _layout["narrow"] = True
    try:
        yield
    finally:
        _layout["narrow"] = previous


def is_narrow() -> bool:
    """True inside :func:`narrow_layout`."""
    return _layout["narrow"]


def new_figure(ncols: int = 1, nrows: int = 1, figsize=(8.0, 3.4), *, margins: dict | None = None, **subplots_kw):
    """A figure outside pyplot's state machine (nothing is shown unless we ask for it).

    Returns ``(fig, axes)`` like ``plt.subplots``; extra keywords go to ``Figure.subplots``
    (``sharey``, ``width_ratios``...). Margins are fixed rather than computed by a layout
    engine, which keeps rendering many frames fast; override them with ``margins``.
    Inside :func:`narrow_layout` the panels are stacked in a narrow column instead.
    """
    if _layout["narrow"]:
        subplots_kw.pop("width_ratios", None)
        subplots_kw.pop("height_ratios", None)
        n = ncols * nrows
        panel_height = min(figsize[1], 3.0) * (0.95 if n > 1 else 1.0)
        fig = Figure(figsize=(NARROW_WIDTH, panel_height * n + 0.1), layout="constrained")
        axes = fig.subplots(n, 1, squeeze=True, **subplots_kw)
        if nrows > 1 and ncols > 1:
            axes = np.asarray(axes).reshape(nrows, ncols)
        return fig, axes
    fig = Figure(figsize=figsize)
    axes = fig.subplots(nrows, ncols, squeeze=True, **subplots_kw)
    adjust = {"left": 0.08 / ncols ** 0.3, "right": 0.98, "bottom": 0.17, "top": 0.87, "wspace": 0.3}
    adjust.update(margins or {})
    fig.subplots_adjust(**adjust)
    return fig, axes


def smallest_text_pt(fig) -> float:
    """Font size (points) of the smallest visible, non-empty text in ``fig``."""
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return float(min(sizes)) if sizes else float("inf")


def figure_to_png(fig, dpi: int = 80) -> bytes:
    """Render ``fig`` to PNG bytes (and close it if pyplot manages it)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    try:  # figures made with pyplot would otherwise also be displayed inline
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:  # pragma: no cover - plotting backends vary
        pass
    return buf.getvalue()


def grid_for(x: np.ndarray, pad: float = 0.15, num: int = 400) -> np.ndarray:
    """An evenly spaced grid covering the data ``x`` with a margin."""
    lo, hi = float(np.min(x)), float(np.max(x))
    span = hi - lo if hi > lo else 1.0
    return np.linspace(lo - pad * span, hi + pad * span, num)


def plot_mixture_1d(ax, grid: np.ndarray, weights: Sequence[float], components: Sequence, *,
                    show_components: bool = True, label: str = "mixture", color: str = "black"):
    """Draw a 1-D mixture density on ``grid``: the total and (optionally) each weighted term.

    Densities come from :func:`mixlearn.mixture_logpdf` and each component's ``pdf``.
    """
    total = np.exp(ml.mixture_logpdf(grid, weights, components))
    if show_components:
        for k, (w, comp) in enumerate(zip(weights, components, strict=True)):
            ax.fill_between(grid, w * comp.pdf(grid), color=COLORS[k % len(COLORS)], alpha=0.25, lw=0,
                            label=f"$\\pi_{k + 1} f_{k + 1}(x)$" if len(weights) <= 4 else None)
    ax.plot(grid, total, color=color, lw=2, label=label)
    return total


def confidence_ellipse(ax, mean, cov, n_std: float = 2.0, **kwargs):
    """Draw the ellipse {x : (x-mean)^T cov^{-1} (x-mean) = n_std^2} of a 2-D Gaussian."""
    cov = np.asarray(cov, dtype=float)
    vals, vecs = np.linalg.eigh(cov)
    vals = np.clip(vals, 0.0, None)
    order = vals.argsort()[::-1]
    vals, vecs = vals[order], vecs[:, order]
    angle = np.degrees(np.arctan2(vecs[1, 0], vecs[0, 0]))
    width, height = 2 * n_std * np.sqrt(vals)
    ell = Ellipse(xy=mean, width=width, height=height, angle=angle, fill=False, **kwargs)
    ax.add_patch(ell)
    return ell


def _full_covariances(model) -> np.ndarray:
    """(K, D, D) covariance matrices whatever the model's covariance_type."""
    k, d = model.means_.shape
    cov = np.asarray(model.covariances_)
    kind = model.covariance_type
    if kind == "full":
        return cov
    if kind == "tied":
        return np.broadcast_to(cov, (k, d, d))
    if kind == "diag":
        return np.stack([np.diag(c) for c in cov])
    return np.stack([np.eye(d) * c for c in np.atleast_1d(cov)])  # spherical


def plot_gmm_2d(ax, X: np.ndarray, model, *, resp: np.ndarray | None = None, title: str | None = None):
    """Scatter ``X`` coloured by responsibilities and draw each component's 1- and 2-sigma ellipses."""
    k = model.means_.shape[0]
    if resp is None:
        resp = model.predict_proba(X)
    cols = np.array([matplotlib.colors.to_rgb(COLORS[i % len(COLORS)]) for i in range(k)])
    point_colors = np.clip(resp @ cols, 0, 1)
    ax.scatter(X[:, 0], X[:, 1], c=point_colors, s=12, alpha=0.8, edgecolors="none")
    for i, (m, c) in enumerate(zip(model.means_, _full_covariances(model), strict=True)):
        for n_std, ls in ((1.0, "-"), (2.0, "--")):
            confidence_ellipse(ax, m, c, n_std=n_std, edgecolor=COLORS[i % len(COLORS)], lw=1.8, ls=ls)
        ax.plot(*m, marker="x", color="black", ms=8, mew=2)
    if title:
        ax.set_title(title)
    return ax
