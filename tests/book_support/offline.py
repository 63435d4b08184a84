"""Find every resource a built HTML page would load from another host.

"Loads" means: ``src`` of script/img/iframe/audio/video/source/embed/track/input, ``href`` of
``<link>`` (stylesheets, preloads, icons, manifests...), ``data`` of ``<object>``, ``srcset``,
``poster``, ``<meta http-equiv=refresh>`` targets, and ``url(...)``/``@import`` in inline
styles, ``<style>`` blocks and every local CSS file the pages reference (followed
recursively). Plain ``<a href>`` links are navigation, not loads, and are ignored.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

LOAD_ATTRS = {
    "script": ["src"],
    "img": ["src", "srcset"],
    "iframe": ["src"],
    "frame": ["src"],
    "audio": ["src"],
    "video": ["src", "poster"],
    "source": ["src", "srcset"],
    "track": ["src"],
    "embed": ["src"],
    "input": ["src"],
    "object": ["data"],
    "link": ["href"],
    "image": ["href", "xlink:href"],
    "use": ["href", "xlink:href"],
}
# <link rel=...> values that do not fetch anything
NON_FETCHING_LINK_RELS = {"canonical", "alternate", "author", "help", "license", "next", "prev",
                          "search", "bookmark", "index", "top", "up", "first", "last"}
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""", re.I)


def is_remote(url: str) -> bool:
    """True if ``url`` points at another host (scheme-relative or with a network scheme)."""
    url = url.strip()
    if url.startswith("//"):
        return True
    scheme = urlsplit(url).scheme.lower()
    return scheme not in ("", "data", "blob", "about", "javascript", "mailto")


class _PageScanner(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[str, str]] = []  # (what, url)
        self.css_texts: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v or "") for k, v in attrs}
        tag = tag.lower()
        if tag == "link":
            rels = set(a.get("rel", "").lower().split())
            if rels and rels <= NON_FETCHING_LINK_RELS:
                return
        for attr in LOAD_ATTRS.get(tag, []):
            if attr in a and a[attr]:
                vals = [a[attr]]
                if attr == "srcset":
                    vals = [part.strip().split()[0] for part in a[attr].split(",") if part.strip()]
                for v in vals:
                    self.loads.append((f"<{tag} {attr}>", v))
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            m = re.search(r"url\s*=\s*(\S+)", a.get("content", ""), re.I)
            if m:
                self.loads.append(("<meta refresh>", m.group(1).strip("'\"")))
        if "style" in a:
            self.css_texts.append(a["style"])
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        if tag.lower() == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.css_texts.append(data)


def css_urls(text: str) -> list[str]:
    out = []
    for m in CSS_URL.finditer(text):
        out.append(m.group(2) or m.group(4))
    return out


def _local_path(root: Path, page: Path, url: str) -> Path | None:
    path = unquote(urlsplit(url).path)
    if not path:
        return None
    target = (root / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
    try:
        target = target.resolve()
        target.relative_to(root.resolve())
    except (ValueError, OSError):
        return None
    return target


def scan_site(root: Path, exclude_dirs: tuple[str, ...] = ("lite",)) -> dict[str, list[str]]:
    """Map page/stylesheet (relative path) -> list of remote URLs it would load.

    Pages under ``exclude_dirs`` (the JupyterLite app) are skipped.
    """
    root = Path(root)
    problems: dict[str, list[str]] = {}
    css_seen: set[Path] = set()
    css_queue: list[Path] = []
    pages = [p for p in root.rglob("*.html") if p.relative_to(root).parts[0] not in exclude_dirs]
    for page in pages:
        scanner = _PageScanner()
        scanner.feed(page.read_text(encoding="utf-8", errors="replace"))
        bad = [f"{what} {url}" for what, url in scanner.loads if is_remote(url)]
        for text in scanner.css_texts:
            bad += [f"inline css {u}" for u in css_urls(text) if is_remote(u)]
        for _what, url in scanner.loads:
            if not is_remote(url) and urlsplit(url).path.endswith(".css"):
                local = _local_path(root, page, url)
                if local and local.exists() and local not in css_seen:
                    css_seen.add(local)
                    css_queue.append(local)
        if bad:
            problems[str(page.relative_to(root))] = bad
    while css_queue:
        css = css_queue.pop()
        text = css.read_text(encoding="utf-8", errors="replace")
        bad = []
        for u in css_urls(text):
            if is_remote(u):
                bad.append(f"css {u}")
            elif urlsplit(u).path.endswith(".css"):
                nxt = _local_path(root, css, u)
                if nxt and nxt.exists() and nxt not in css_seen:
                    css_seen.add(nxt)
                    css_queue.append(nxt)
        if bad:
            problems[str(css.relative_to(root))] = bad
    return problems


def page_scripts(page: Path) -> list[str]:
    scanner = _PageScanner()
    scanner.feed(Path(page).read_text(encoding="utf-8", errors="replace"))
    return [url for what, url in scanner.loads if what.startswith("<script")]
