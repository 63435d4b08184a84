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


def compact_png(png: bytes, colors: int = 128) -> bytes:
    """Re-encode a matplotlib PNG with an adaptive palette (plots use few colours).

    Typically a third of the size of the RGBA original, with no visible change.
    """
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        rgb = im.convert("RGB")
        pal = rgb.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
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
    payload = {"kind": "frames", "controls": [c.spec() for c in controls], "frames": encoded}
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
