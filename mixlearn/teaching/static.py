"""Static HTML renditions of the book's interactive figures (no kernel, no widget manager).

When the book is built (``book/build.py`` sets ``MIXLEARN_STATIC_FIGURES=1`` for the kernels),
an interactive figure displays as plain HTML: native ``<input type="range">`` / ``<select>``
controls with labels and ``aria-valuetext``, the figure itself, and a JSON block with what
the page's script (``book/_assets/mixlearn-figures.js``) needs to change the figure when a
control moves:

* ``frames`` figures carry every pre-rendered state, in a wide and a narrow (phone) layout;
* ``drawn`` figures carry a few parameters and are drawn in the browser as SVG.

The controls are ``hidden`` in the markup and revealed by that script, so a reader who sees
the HTML without it (a notebook viewer, say) gets the default figure and no dead control.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
from collections.abc import Sequence

from .controls import Choice

#: environment variable that switches the interactive figures to their static rendition
STATIC_ENV = "MIXLEARN_STATIC_FIGURES"

#: viewport width (CSS px) at and below which the narrow frames are shown
NARROW_MAX_WIDTH = 640
#: width (CSS px) a figure gets on a 390 px wide phone, and the smallest text we accept there
PHONE_FIGURE_WIDTH, PHONE_MIN_TEXT_PX = 340, 9.5


def static_mode() -> bool:
    """True when interactive figures should display as static HTML (the book build)."""
    return os.environ.get(STATIC_ENV, "").strip().lower() in ("1", "true", "yes")


def compact_png(png: bytes, colors: int = 64) -> bytes:
    """Re-encode a matplotlib PNG with an adaptive palette (plots use few colours).

    Typically a quarter of the size of the RGBA original. The max-coverage quantizer keeps
    thin dark lines (axes, ticks) that the fast octree one merges into the background.
    """
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        rgb = im.convert("RGB")
        pal = rgb.quantize(colors=colors, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE)
        out = io.BytesIO()
        pal.save(out, format="PNG")
    data = out.getvalue()
    return data if len(data) < len(png) else png


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _dom_id(payload: str) -> str:
    return "mlf-" + hashlib.sha1(payload.encode("utf-8")).hexdigest()[:10]


def _controls_html(fid: str, controls: Sequence[Choice]) -> str:
    parts = []
    for c in controls:
        cid = f"{fid}-{c.name}"
        label = f'<label for="{cid}">{html.escape(c.description)}</label>'
        if c.kind == "dropdown":
            opts = "".join(f'<option value="{i}"{" selected" if i == c.index else ""}>{html.escape(lbl)}</option>'
                           for i, lbl in enumerate(c.labels))
            field = f'<select id="{cid}" data-name="{c.name}">{opts}</select>'
        else:
            field = (f'<input type="range" id="{cid}" data-name="{c.name}" min="0" max="{len(c.values) - 1}" '
                     f'step="1" value="{c.index}" aria-valuetext="{html.escape(c.valuetext(c.index), quote=True)}">'
                     f'<output for="{cid}" aria-hidden="true">{html.escape(c.labels[c.index])}</output>')
        parts.append(f'<div class="mixlearn-control mixlearn-{c.kind}">{label}{field}</div>')
    return f'<div class="mixlearn-controls" hidden>{"".join(parts)}</div>'


def _script_json(data: dict) -> str:
    # "</" cannot appear inside a <script> element
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


def frames_html(controls: Sequence[Choice], frames: Sequence[dict], default: int) -> str:
    """HTML for a figure that flips through pre-rendered states.

    ``frames`` lists one dict per state, in row-major order over ``controls`` (the last
    control varies fastest), with keys ``wide`` and ``narrow`` (PNG bytes; ``narrow`` is None when
    the wide image stays legible on a phone), ``alt`` (text),
    ``size`` and ``narrow_size`` (``(width, height)`` in pixels) and ``min_font_px`` /
    ``narrow_min_font_px`` (the smallest text in the image, in its own pixels).
    """
    encoded = [[data_uri(f["wide"]), data_uri(f["narrow"]) if f["narrow"] else None, f["alt"]] for f in frames]
    # the default state's pictures are in the markup already: the JSON says "see the markup"
    listed = [[None, None, alt] if i == default else [w, n, alt] for i, (w, n, alt) in enumerate(encoded)]
    payload = {"kind": "frames", "controls": [c.spec() for c in controls], "default": default, "frames": listed}
    body = _script_json(payload)
    fid = _dom_id(body)
    first = frames[default]
    (w, h) = first["size"]
    source, narrow_attrs = "", ""
    if first["narrow"]:
        nw, nh = first["narrow_size"]
        source = (f'<source media="(max-width: {NARROW_MAX_WIDTH}px)" srcset="{encoded[default][1]}" '
                  f'width="{nw}" height="{nh}">')
        narrow_attrs = f' data-narrow-min-font-px="{first["narrow_min_font_px"]:.1f}" data-narrow-width="{nw}"'
    picture = (
        f'<picture>{source}'
        f'<img class="mixlearn-frame" src="{encoded[default][0]}" alt="{html.escape(first["alt"], quote=True)}" '
        f'width="{w}" height="{h}" data-min-font-px="{first["min_font_px"]:.1f}"{narrow_attrs}></picture>'
    )
    return (f'<figure class="mixlearn-figure" id="{fid}" data-kind="frames">{_controls_html(fid, controls)}'
            f'<div class="mixlearn-plot">{picture}</div>'
            f'<script type="application/json" class="mixlearn-data">{body}</script></figure>')


def drawn_html(controls: Sequence[Choice], renderer: str, params: dict, alt: str, fallback_png: bytes,
               size: tuple[int, int]) -> str:
    """HTML for a figure the page's script draws from ``params`` (``renderer`` names how).

    ``alt`` and any string in ``params`` may contain ``{name}`` placeholders, replaced by the
    label of the control ``name``. ``fallback_png`` (the default state drawn by matplotlib)
    is shown until the script replaces it.
    """
    payload = {"kind": "drawn", "renderer": renderer, "controls": [c.spec() for c in controls],
               "params": params, "alt": alt}
    body = _script_json(payload)
    fid = _dom_id(body)
    labels = {c.name: c.labels[c.index] for c in controls}
    first_alt = alt.format(**labels)
    w, h = size
    img = (f'<img class="mixlearn-fallback" src="{data_uri(fallback_png)}" alt="{html.escape(first_alt, quote=True)}" '
           f'width="{w}" height="{h}">')
    return (f'<figure class="mixlearn-figure" id="{fid}" data-kind="drawn">{_controls_html(fid, controls)}'
            f'<div class="mixlearn-plot">{img}</div>'
            f'<script type="application/json" class="mixlearn-data">{body}</script></figure>')


# -- ordinary matplotlib figures ----------------------------------------------------------------

#: resolution of the inline backend's PNGs (``figure.dpi`` of matplotlib-inline)
STATIC_DPI = 100


def _png_with_size(fig, dpi: int) -> tuple[bytes, tuple[int, int]]:
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    png = buf.getvalue()
    with Image.open(io.BytesIO(png)) as im:
        size = im.size
    return png, size


def _stack_panels(fig) -> bool:
    """Re-lay a one-row grid of panels as one column (for a phone); False if it is not one."""
    from matplotlib.gridspec import GridSpec

    axes = [ax for ax in fig.axes if ax.get_subplotspec() is not None]
    if len(axes) < 2:
        return False
    rows, cols = axes[0].get_subplotspec().get_gridspec().get_geometry()
    if rows != 1 or cols != len(axes):
        return False
    gs = GridSpec(len(axes), 1, figure=fig)
    for i, ax in enumerate(sorted(axes, key=lambda a: a.get_subplotspec().colspan.start)):
        ax.set_subplotspec(gs[i])
    return True


def static_figure_html(fig) -> str:
    """A matplotlib figure as ``<picture>``: the usual PNG, plus a narrow rendering for phones
    when the usual one would shrink its text below :data:`PHONE_MIN_TEXT_PX`.

    The narrow rendering is drawn from a copy of ``fig`` (side-by-side panels stacked, width
    :data:`~mixlearn.teaching.plots.NARROW_WIDTH`). The ``alt`` text is left to the book's
    Sphinx extension, which takes it from the cell's ``mystnb.image.alt`` metadata.
    """
    import pickle

    from .plots import NARROW_DPI, NARROW_WIDTH, smallest_text_pt

    wide, (w, h) = _png_with_size(fig, STATIC_DPI)
    font = smallest_text_pt(fig) * STATIC_DPI / 72  # after drawing: tick labels exist now
    source, narrow_attrs = "", ""
    if font * min(1.0, PHONE_FIGURE_WIDTH / w) < PHONE_MIN_TEXT_PX:
        narrow = pickle.loads(pickle.dumps(fig))
        stacked = _stack_panels(narrow)
        n = max(1, len(narrow.axes)) if stacked else 1
        old_w, old_h = narrow.get_size_inches()
        panel_h = min(old_h, 3.0) if stacked else old_h * NARROW_WIDTH / old_w
        narrow.set_size_inches(NARROW_WIDTH, panel_h * n)
        narrow.set_layout_engine("constrained")
        npng, (nw, nh) = _png_with_size(narrow, NARROW_DPI)
        nfont = smallest_text_pt(narrow) * NARROW_DPI / 72
        source = (f'<source media="(max-width: {NARROW_MAX_WIDTH}px)" srcset="{data_uri(compact_png(npng))}" '
                  f'width="{nw}" height="{nh}">')
        narrow_attrs = f' data-narrow-min-font-px="{nfont:.1f}" data-narrow-width="{nw}"'
    return (f'<figure class="mixlearn-static-figure"><picture>{source}'
            f'<img class="mixlearn-static" src="{data_uri(compact_png(wide))}" alt="" data-alt-from="cell" '
            f'width="{w}" height="{h}" data-min-font-px="{font:.1f}"{narrow_attrs}></picture></figure>')


def register_static_figure_formatter(ip=None) -> None:
    """Make IPython display matplotlib figures with :func:`static_figure_html` (book build only).

    ``book/build.py`` runs this in every kernel through an IPython startup file; the PNG the
    inline backend produces stays in the output too, for notebook viewers.
    """
    if ip is None:
        from IPython import get_ipython

        ip = get_ipython()
    if ip is None:
        return
    formatter = ip.display_formatter.formatters["text/html"]

    def register(*_):
        formatter.for_type_by_name("matplotlib.figure", "Figure", static_figure_html)

    register()
    # Activating the inline backend (the first `import matplotlib.pyplot`) removes every
    # formatter for Figure; put ours back before each cell and before figures are flushed.
    ip.events.register("pre_run_cell", register)
    ip.events.register("post_execute", register)
