"""Small Sphinx extension used by the mixlearn book (loaded through ``_config.yml``).

* Puts the JupyterLite staging folder inside the build folder (``<build>/lite_contents``),
  so that building into a temporary directory never touches the repository's ``_build``.
* Drops the Google Fonts stylesheet that ``jupyterlite_sphinx`` adds to every page (it is
  only decoration for its buttons), so the pages load nothing from another host.
* Adds ``mixlearn-book.js`` early in every page: it tells the widget manager where its
  font files are, and lets it typeset labels with MathJax 3.
* Adds ``mixlearn-figures.js`` (the book's interactive figures, see
  ``mixlearn.teaching.static``) and fixes the theme's accessibility defects in the page body:
  the "Show code cell source" toggles get their visible text as their name, and the
  bibliography's entries become list items of its list.
* Converts every chapter (MyST markdown notebook) into an unexecuted ``.ipynb`` under
  ``<build>/lite_contents/book/`` so that JupyterLite serves it at ``book/<chapter>.ipynb``
  (the path the "JupyterLite" launch button asks for). A first cell installs the bundled
  mixlearn wheel with piplite; it does nothing outside the browser kernel.
"""

from __future__ import annotations

import html as html_lib
import os
import re
from pathlib import Path

import nbformat
from docutils import nodes
from myst_nb.core.read import read_myst_markdown_notebook
from sphinx.application import Sphinx
from sphinx.config import Config

LITE_SETUP_CELL = """\
# Runs only inside JupyterLite (the in-browser Pyodide kernel): install the mixlearn wheel
# that ships with the site, plus the plotting/widget packages the chapter uses.
import sys

if sys.platform == "emscripten":
    import piplite

    await piplite.install(["mixlearn", "matplotlib", "ipywidgets"])
"""


def _lite_dir(app: Sphinx) -> Path:
    # app.outdir is <build>/html; stage next to it
    return Path(app.outdir).parent / "lite_contents"


def _set_content_dir(app: Sphinx, config: Config) -> None:
    config.jupyterlite_content_dir = os.path.relpath(_lite_dir(app), app.srcdir)


def _chapters(app: Sphinx) -> list[Path]:
    book = Path(app.srcdir) / "book"
    # every executable page (chapters and their sections): MyST notebooks declare a kernelspec
    return sorted(p for p in book.glob("*.md") if "\nkernelspec:" in p.read_text(encoding="utf-8")[:400])


def _stage_notebooks(app: Sphinx, config: Config) -> None:
    target = _lite_dir(app) / "book"
    target.mkdir(parents=True, exist_ok=True)
    for md in _chapters(app):
        nb = read_myst_markdown_notebook(md.read_text(encoding="utf-8"), path=md)
        nb.cells.insert(0, nbformat.v4.new_code_cell(LITE_SETUP_CELL, metadata={"tags": ["lite-setup"]}))
        nb.metadata["kernelspec"] = {"name": "python", "display_name": "Python (Pyodide)", "language": "python"}
        nbformat.write(nb, target / (md.stem + ".ipynb"))


def _is_remote(filename: str) -> bool:
    return "://" in filename or filename.startswith("//")


def _drop_remote_assets(app: Sphinx) -> None:
    """Remove CSS/JS files registered (globally) with a URL on another host."""
    app.registry.css_files = [(f, kw) for f, kw in app.registry.css_files if not _is_remote(f)]
    app.registry.js_files = [(f, kw) for f, kw in app.registry.js_files if not (f and _is_remote(f))]
    builder = app.builder
    if hasattr(builder, "_css_files"):
        builder._css_files[:] = [c for c in builder._css_files if not _is_remote(c.filename)]


def _clean_page_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Per page: drop remote assets and duplicate scripts.

    sphinx-thebe registers its inline ``const THEBE_JS_URL = ...`` script once per build
    environment read, and Jupyter Book ends up with two copies on every page: a SyntaxError
    in the browser. Keep the first copy of every script.
    """
    if "script_files" in context:
        kept, seen = [], set()
        for js in context["script_files"]:
            filename = getattr(js, "filename", js)
            attrs = getattr(js, "attributes", {})
            if filename and _is_remote(str(filename)):
                continue
            key = (str(filename or ""), tuple(sorted((k, str(v)) for k, v in attrs.items())))
            if key in seen:
                continue
            seen.add(key)
            kept.append(js)
        context["script_files"] = kept
    if "css_files" in context:
        context["css_files"] = [c for c in context["css_files"] if not _is_remote(str(getattr(c, "filename", c)))]
    if "body" in context:
        context["body"] = accessible_body(context["body"])


def accessible_body(body: str) -> str:
    """Repair two accessibility defects of the page body as the extensions write it.

    * myst-nb's hidden-cell toggles (``<summary aria-label="Toggle hidden content">``) show
      "Show code cell source": a name that differs from the visible text fails WCAG 2.5.3,
      so the aria-label goes and the summary's text names it.
    * sphinxcontrib-bibtex writes ``<div role="list">`` whose children have the role
      ``doc-biblioentry``; a list may only hold list items (WCAG 1.3.1).
    """
    body = body.replace('<summary aria-label="Toggle hidden content">', "<summary>")
    if 'class="citation-list"' in body:
        body = re.sub(r'(<div class="citation" id="[^"]*" )role="doc-biblioentry"', r'\1role="listitem"', body)
    return body


def _alt_from_cell_metadata(app: Sphinx, doctree) -> None:
    """Give matplotlib figures rendered by ``mixlearn.teaching.static.static_figure_html`` the
    alt text written in their cell's metadata (``mystnb: image: alt:``, the key myst-nb uses
    for PNG outputs). A figure without one keeps an empty alt, which the tests reject."""
    marker = 'alt="" data-alt-from="cell"'
    for raw in list(doctree.findall(nodes.raw)):
        text = raw.astext()
        if marker not in text:
            continue
        parent, alt = raw.parent, None
        while parent is not None and alt is None:
            meta = parent.get("cell_metadata") if isinstance(parent, nodes.Element) else None
            if meta is not None:
                alt = ((meta.get("mystnb") or {}).get("image") or {}).get("alt")
                break
            parent = parent.parent
        if alt:
            new = text.replace(marker, f'alt="{html_lib.escape(alt, quote=True)}"')
            raw.replace_self(nodes.raw(new, new, format="html", classes=raw.get("classes", [])))


def setup(app: Sphinx) -> dict:
    # jupyterlite_sphinx wipes its content dir on config-inited at the default priority (500):
    # choose the folder before it, fill it after it.
    app.connect("config-inited", _set_content_dir, priority=400)
    app.connect("config-inited", _stage_notebooks, priority=600)
    app.connect("builder-inited", _drop_remote_assets, priority=900)
    app.connect("html-page-context", _clean_page_assets, priority=900)
    app.connect("doctree-read", _alt_from_cell_metadata)
    # must run before the widget manager's bundle, hence the low priority (default is 500)
    app.add_js_file("mixlearn-book.js", priority=200)
    app.add_js_file("mixlearn-figures.js", loading_method="defer")
    app.add_js_file("mixlearn-a11y.js", loading_method="defer")
    app.add_css_file("mixlearn-book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
