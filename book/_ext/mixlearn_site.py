"""How the published pages load: light first visit, nothing that blocks the first paint.

A Sphinx extension of the mixlearn book (loaded through ``_config.yml``), separate from
``mixlearn_book`` which holds the book's content glue. Per page it:

* **loads the widget manager after the first paint, and only where there are widgets.**
  myst-nb puts the embedded widget state (a large JSON ``<script>``), require.js and the
  3.6 MB ``html-manager/embed-amd.js`` into ``<head>``, where they block rendering. Here the
  state moves to the end of the page body and the two scripts are replaced by a small inline
  loader that appends them once the page has loaded and painted; the manager then renders
  the widget views at once (it does so when the document is already complete).
* **stores widget figures as palette PNGs.** Matplotlib's RGBA PNGs in the widget state are
  re-encoded with an adaptive palette (at most 256 colours, no dithering), about a fifth of
  the bytes for the same picture; a re-encoding that is not smaller is dropped.
* **defers the small scripts that only act once the page is parsed** (the
  copy and toggle buttons, the book theme's, sphinx-design's, jupyterlite-sphinx's), so that
  only stylesheets and three small scripts stand between the HTML and the first paint.
* **drops Font Awesome's JavaScript** (1.5 MB, 0.5 MB gzipped, on every page): the theme's
  stylesheet already draws the same icons from the web font, and ``aria-hidden`` is set on
  the icon elements (which the script did) by a few lines of inline JavaScript.
* **subsets the icon fonts** to the icons the site uses (``build-finished``), served through
  ``mixlearn-icons.css``, which re-declares the theme's ``@font-face`` rules.
* **fixes the theme mode on a first visit**: pydata-sphinx-theme logs the console error "Got
  invalid theme mode" when nothing is stored yet; an inline script in ``<head>`` sets the
  stored-or-default mode ("auto") before the theme reads it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from pathlib import Path

from sphinx.application import Sphinx

try:  # Sphinx >= 7.2
    from sphinx.builders.html._assets import _JavaScript
except ImportError:  # pragma: no cover - older Sphinx
    from sphinx.builders.html import JavaScript as _JavaScript  # type: ignore[attr-defined,no-redef]

WIDGET_STATE_TYPE = "application/vnd.jupyter.widget-state+json"
#: the scripts myst-nb adds for the widget manager (``nb_ipywidgets_js`` in _config.yml)
MANAGER_SCRIPTS = ("requirejs/require.js", "html-manager/embed-amd.js")

# Runs in <head>, before the theme's script reads the mode (which it does when deferred).
THEME_MODE_JS = """\
(function () {
  var d = document.documentElement, ok = {light: 1, dark: 1, auto: 1};
  if (!ok[d.dataset.mode]) { d.dataset.mode = "auto"; }
  if (d.dataset.theme !== "light" && d.dataset.theme !== "dark") {
    d.dataset.theme = d.dataset.mode !== "auto" ? d.dataset.mode
      : (window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  }
})();"""

# Icons drawn from the web font are decoration: hide them from assistive technology, as
# Font Awesome's script does for the SVGs it inserts.
ICON_ARIA_JS = """\
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("i[class*='fa-'], span[class*='fa-']").forEach(function (el) {
    if (!el.hasAttribute("aria-hidden") && !el.textContent.trim()) { el.setAttribute("aria-hidden", "true"); }
  });
});"""

# Appends require.js, then the widget manager, once the page has loaded and painted its first
# content (a page that paints nothing, e.g. in a background tab, waits at most 3 s more). The
# manager renders the widget views as soon as it runs in a complete document. Page scripts that
# need the manager can listen for the "mixlearn:widget-manager" event.
LOADER_JS = """\
(function (urls) {
  var started = false;
  function next(i) {
    if (i >= urls.length) {
      window.mixlearnWidgetManagerLoaded = true;
      document.dispatchEvent(new Event("mixlearn:widget-manager"));
      return;
    }
    var s = document.createElement("script");
    s.src = urls[i];
    s.onload = function () { next(i + 1); };
    document.body.appendChild(s);
  }
  function start() { if (!started) { started = true; next(0); } }
  function painted() {
    return window.performance && performance.getEntriesByName("first-contentful-paint").length > 0;
  }
  function afterLoad() {
    if (painted() || !window.PerformanceObserver) { start(); return; }
    try {
      new PerformanceObserver(function (list, obs) {
        if (painted()) { obs.disconnect(); start(); }
      }).observe({type: "paint", buffered: true});
    } catch (e) { start(); return; }
    setTimeout(start, 3000);
  }
  if (document.readyState === "complete") { afterLoad(); } else { window.addEventListener("load", afterLoad); }
})(%s);"""


# --------------------------------------------------------------------------------------
# widget state: palette PNGs
# --------------------------------------------------------------------------------------
_png_cache: dict[str, str] = {}


def palette_png(data: bytes, colors: int = 256) -> bytes:
    """Re-encode a PNG with an adaptive palette; return the original if that is not smaller.

    Octree quantisation (fast, and on Matplotlib figures smaller than median cut at about one
    level of error per channel on average), without dithering so flat areas and lines stay
    clean; transparency is kept when the image has any.
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()
        if im.mode == "P":
            return data
        has_alpha = im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema()[0] < 255
        q = im.convert("RGBA" if has_alpha else "RGB").quantize(
            colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        out = io.BytesIO()
        q.save(out, "PNG", compress_level=9)
    new = out.getvalue()
    return new if len(new) < len(data) else data


def _compress_state(body: str) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    changed = False
    for model in doc.get("state", {}).values():
        for buf in model.get("buffers", []) or []:
            if buf.get("encoding") != "base64" or not buf.get("data", "").startswith("iVBORw0KGgo"):
                continue
            key = hashlib.sha256(buf["data"].encode()).hexdigest()
            if key not in _png_cache:
                raw = base64.b64decode(buf["data"])
                _png_cache[key] = base64.b64encode(palette_png(raw)).decode()
            if _png_cache[key] != buf["data"]:
                buf["data"] = _png_cache[key]
                changed = True
    if not changed:
        return body
    # the same escaping myst-nb applies, so the JSON cannot close its <script> early
    return json.dumps(doc).replace("</", "<\\/")


# --------------------------------------------------------------------------------------
# per page
# --------------------------------------------------------------------------------------
def _static_name(js) -> str:
    filename = str(getattr(js, "filename", "") or "")
    return filename.split("?", 1)[0].removeprefix("_static/")


def _defer_widget_manager(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts or "body" not in context:
        return
    states = [js for js in scripts if getattr(js, "attributes", {}).get("type") == WIDGET_STATE_TYPE]
    manager = [js for js in scripts if _static_name(js) in MANAGER_SCRIPTS]
    if not states and not manager:
        return
    kept = [js for js in scripts if js not in states and js not in manager]
    if states:
        pathto = context["pathto"]
        urls = [pathto("_static/" + name, 1) for name in MANAGER_SCRIPTS]
        kept.append(_JavaScript(None, priority=900, body=LOADER_JS % json.dumps(urls)))
        tail = "".join(
            f'\n<script type="{WIDGET_STATE_TYPE}">{_compress_state(js.attributes.get("body", ""))}</script>'
            for js in states)
        context["body"] = context["body"] + tail
    context["script_files"] = kept


#: scripts that only act on DOMContentLoaded or on clicks, and that no inline script of the page
#: calls while the page is parsed (doctools.js stays: searchtools.js, loaded by the template,
#: calls its `_ready` at once): loading them deferred (in the same order) keeps them working
#: and takes them off the path to the first paint
DEFERRABLE = {"sphinx_highlight.js", "clipboard.min.js", "copybutton.js", "sphinx-book-theme.js",
              "jupyterlite_sphinx.js", "togglebutton.js", "design-tabs.js"}


def _defer_page_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    out = []
    for js in scripts:
        name = _static_name(js).rsplit("/", 1)[-1]
        attrs = dict(getattr(js, "attributes", {}) or {})
        if name in DEFERRABLE and not ({"defer", "async", "type", "body"} & set(attrs)):
            attrs["defer"] = "defer"
            js = _JavaScript(js.filename, priority=getattr(js, "priority", 500), **attrs)
        out.append(js)
    context["script_files"] = out


def _drop_fontawesome_js(app: Sphinx) -> None:
    """Serve the theme's ``webpack-macros.html`` without the Font Awesome ``<script>``.

    The template is read from the installed theme and written, minus that one line, into a
    folder searched before the theme's own (so a theme upgrade keeps working).
    """
    builder = app.builder
    templates = getattr(builder, "templates", None)
    if templates is None or not hasattr(templates, "loaders"):
        return
    try:
        source, _, _ = templates.environment.loader.get_source(templates.environment, "static/webpack-macros.html")
    except Exception:  # noqa: BLE001 - another theme: nothing to do
        return
    slim = "\n".join(line for line in source.splitlines() if "scripts/fontawesome.js" not in line)
    if slim == source:
        return
    folder = Path(app.outdir).parent / "mixlearn_templates"
    (folder / "static").mkdir(parents=True, exist_ok=True)
    target = folder / "static" / "webpack-macros.html"
    if not target.exists() or target.read_text(encoding="utf-8") != slim:
        target.write_text(slim, encoding="utf-8")
    from sphinx.jinja2glue import SphinxFileSystemLoader

    templates.loaders.insert(0, SphinxFileSystemLoader(str(folder)))
    templates.templatepathlen += 1


# --------------------------------------------------------------------------------------
# icon fonts: keep only the glyphs the site uses
# --------------------------------------------------------------------------------------
ICON_FONTS = {  # theme web font -> (subset file name, CSS family, weight)
    "fa-solid-900": ("mixlearn-fa-solid.woff", "Font Awesome 6 Free", 900),
    "fa-regular-400": ("mixlearn-fa-regular.woff", "Font Awesome 6 Free", 400),
    "fa-brands-400": ("mixlearn-fa-brands.woff", "Font Awesome 6 Brands", 400),
}
_ICON_RULE = re.compile(r"(?:^|(?<=[{}]))([^{}]+)\{content:\"\\([0-9a-f]+)\"\}")
_ICON_SELECTOR = re.compile(r"^\.fa-([a-z0-9-]+)::?before$")
_ICON_USE = re.compile(r"\bfa-([a-z0-9-]+)")
_ICON_VERSION = "1"  # bump when subset_icon_fonts changes what it writes


def _used_icons(html_dir: Path) -> set[str]:
    names: set[str] = set()
    files = [p for p in html_dir.rglob("*.html") if p.relative_to(html_dir).parts[0] != "lite"]
    files += list((html_dir / "_static").glob("scripts/*.js")) + list((html_dir / "_static").glob("*.js"))
    for f in files:
        names.update(_ICON_USE.findall(f.read_text(encoding="utf-8", errors="replace")))
    return names


def subset_icon_fonts(html_dir: Path) -> dict[str, int]:
    """Write subsets of the theme's icon fonts and ``mixlearn-icons.css`` that uses them.

    Returns the number of glyphs kept per font. Does nothing when the theme's files are not
    where pydata-sphinx-theme puts them.
    """
    from fontTools import subset

    static = html_dir / "_static"
    css = static / "styles" / "pydata-sphinx-theme.css"
    fonts_dir = static / "vendor" / "fontawesome" / "webfonts"
    if not css.is_file() or not fonts_dir.is_dir():
        return {}
    codepoints = {}
    for selectors, cp in _ICON_RULE.findall(css.read_text(encoding="utf-8")):
        for sel in selectors.split(","):
            m = _ICON_SELECTOR.match(sel.strip())
            if m:
                codepoints.setdefault(m.group(1), int(cp, 16))
    used = sorted({codepoints[n] for n in _used_icons(html_dir) if n in codepoints})
    # skip the work when the icons and the theme's fonts are those of the last build
    stamp = html_dir.parent / "mixlearn_icons.stamp"
    fonts = [(p.name, p.stat().st_size) for p in sorted(fonts_dir.glob("*.ttf"))]
    key = hashlib.sha256(json.dumps([used, fonts, _ICON_VERSION]).encode()).hexdigest()
    outputs = [static / name for name, _f, _w in ICON_FONTS.values()] + [static / "styles" / "mixlearn-icons.css"]
    if stamp.is_file() and stamp.read_text() == key and all(p.is_file() for p in outputs):
        return json.loads((html_dir.parent / "mixlearn_icons.json").read_text())
    rules, kept = [], {}
    for stem, (out_name, family, weight) in ICON_FONTS.items():
        ttf = fonts_dir / f"{stem}.ttf"
        if not ttf.is_file():
            continue
        options = subset.Options()
        options.flavor = "woff"
        options.layout_features = ["*"]
        options.notdef_outline = True
        font = subset.load_font(str(ttf), options)
        cmap = font.getBestCmap()
        unicodes = [u for u in used if u in cmap]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=unicodes)
        subsetter.subset(font)
        subset.save_font(font, str(static / out_name), options)
        kept[stem] = len(unicodes)
        rules.append(f'@font-face{{font-display:block;font-family:"{family}";font-style:normal;'
                     f'font-weight:{weight};src:url(../{out_name}) format("woff")}}')
    # The widget manager's stylesheet (injected later) re-styles .fas/.fab with Font Awesome 5
    # and would download its 155 kB of fonts for the theme's header icons: keep them on ours.
    rules.append('html .fa-solid,html .fas{font-family:"Font Awesome 6 Free";font-weight:900}'
                 'html .fa-regular,html .far{font-family:"Font Awesome 6 Free";font-weight:400}'
                 'html .fa-brands,html .fab{font-family:"Font Awesome 6 Brands";font-weight:400}')
    header = "/* mixlearn: the theme's icon fonts cut down to the icons this site uses (build-finished) */\n"
    (static / "styles" / "mixlearn-icons.css").write_text(header + "\n".join(rules) + "\n", encoding="utf-8")
    (html_dir.parent / "mixlearn_icons.json").write_text(json.dumps(kept))
    stamp.write_text(key)
    return kept


def _subset_fonts(app: Sphinx, exception) -> None:
    if exception is None and app.builder.format == "html":
        subset_icon_fonts(Path(app.outdir))


# --------------------------------------------------------------------------------------
# exercises in JupyterLite
# --------------------------------------------------------------------------------------
def _stage_exercises(app: Sphinx, config) -> None:
    """Copy each assignment's student notebook into the JupyterLite contents.

    ``exercises/<a>/<a>.ipynb`` is served as ``lite/files/exercises/<a>/<a>.ipynb`` (the
    exercises page's JupyterLite links), with the same first cell as the chapters: it
    installs the bundled mixlearn wheel inside the browser kernel and does nothing elsewhere.
    """
    import nbformat
    from mixlearn_book import LITE_SETUP_CELL, _lite_dir

    for src in sorted((Path(app.srcdir) / "exercises").glob("*/*.ipynb")):
        if src.parent.name != src.stem:
            continue
        nb = nbformat.read(src, as_version=4)
        nb.cells.insert(0, nbformat.v4.new_code_cell(LITE_SETUP_CELL, metadata={"tags": ["lite-setup"]}))
        nb.metadata["kernelspec"] = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
        target = _lite_dir(app) / "exercises" / src.parent.name / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)


def setup(app: Sphinx) -> dict:
    # after jupyterlite_sphinx has emptied its content folder (config-inited, priority 500)
    app.connect("config-inited", _stage_exercises, priority=600)
    app.add_js_file(None, body=THEME_MODE_JS, priority=100)
    app.add_js_file(None, body=ICON_ARIA_JS, priority=100)
    app.add_css_file("styles/mixlearn-icons.css", priority=900)
    app.connect("builder-inited", _drop_fontawesome_js)
    app.connect("html-page-context", _defer_widget_manager, priority=950)
    app.connect("html-page-context", _defer_page_scripts, priority=960)
    app.connect("build-finished", _subset_fonts)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
