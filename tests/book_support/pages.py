"""Serve the built site as GitHub Pages does, and measure what a first visit costs.

* :class:`PagesServer` serves a folder on 127.0.0.1 the way GitHub Pages serves a Pages
  artifact: text types (HTML, CSS, JavaScript, JSON, SVG, fonts other than WOFF) gzip-encoded
  when the browser accepts it, ``index.html`` for folders, ``404.html`` for missing files.
* :func:`cold_load` opens one page in a fresh headless Chromium profile (cache disabled,
  optional network emulation), waits until the network has been idle for a while, and
  returns the bytes transferred, the requests, the first contentful paint and every console
  message of level error (what Selenium reports as SEVERE).

Used by ``benchmarks/bench_site.py`` and ``tests/test_book_site.py``.
"""

from __future__ import annotations

import gzip
import http.server
import mimetypes
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

try:
    from book_support.browser import StaticServer
except ImportError:  # tests/ imported as a package
    from tests.book_support.browser import StaticServer

try:
    from .browser import Browser, CDPError
except ImportError:  # imported as a top-level module (tests/ on sys.path)
    from browser import Browser, CDPError  # type: ignore[no-redef]

#: the network the issue asks for: 10 Mbit/s down, 40 ms latency (upload left unthrottled)
SLOW_NETWORK = {"offline": False, "latency": 40, "downloadThroughput": 10e6 / 8, "uploadThroughput": -1}

COMPRESSIBLE = ("text/", "application/javascript", "application/json", "application/xml", "image/svg+xml",
                "application/x-font-ttf", "font/ttf", "font/otf", "application/vnd.ms-fontobject",
                "image/x-icon", "image/vnd.microsoft.icon", "application/x-ipynb+json")
EXTRA_TYPES = {".js": "application/javascript", ".mjs": "application/javascript", ".woff2": "font/woff2",
               ".woff": "font/woff", ".ttf": "font/ttf", ".otf": "font/otf", ".eot": "application/vnd.ms-fontobject",
               ".svg": "image/svg+xml", ".ipynb": "application/json", ".json": "application/json",
               ".wasm": "application/wasm", ".ico": "image/x-icon", ".md": "text/markdown"}


def content_type(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in EXTRA_TYPES:
        return EXTRA_TYPES[ext]
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


class _PagesHandler(http.server.BaseHTTPRequestHandler):
    root: Path
    cache: dict
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _resolve(self) -> tuple[int, Path | None]:
        path = unquote(urlsplit(self.path).path)
        target = (self.root / path.lstrip("/")).resolve()
        try:
            target.relative_to(self.root)
        except ValueError:
            return 404, None
        if target.is_dir():
            if not path.endswith("/"):
                return 301, target
            target = target / "index.html"
        if target.is_file():
            return 200, target
        return 404, None

    def _send(self, head_only: bool) -> None:
        status, target = self._resolve()
        if status == 301:
            self.send_response(301)
            self.send_header("Location", urlsplit(self.path).path + "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if status == 404:
            page = self.root / "404.html"
            body = page.read_bytes() if page.is_file() else b"<!doctype html><title>404</title>Not found"
            ctype = "text/html; charset=utf-8"
        else:
            body, ctype = target.read_bytes(), content_type(target)
            if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
                ctype += "; charset=utf-8"
        encoded = None
        if "gzip" in self.headers.get("Accept-Encoding", "") and ctype.startswith(COMPRESSIBLE):
            key = (str(target), len(body))
            encoded = self.cache.get(key)
            if encoded is None:
                encoded = self.cache[key] = gzip.compress(body, compresslevel=6, mtime=0)
        payload = encoded if encoded is not None else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "max-age=600")
        self.send_header("Vary", "Accept-Encoding")
        if encoded is not None:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        if not head_only:
            self.wfile.write(payload)

    def do_GET(self):  # noqa: N802 (http.server naming)
        self._send(head_only=False)

    def do_HEAD(self):  # noqa: N802
        self._send(head_only=True)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a browser closed while a response was on its way: not the site's problem
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class PagesServer(StaticServer):
    """Serve ``root`` on 127.0.0.1 (random free port) like GitHub Pages; a context manager."""

    def __init__(self, root: Path):
        handler = type("Handler", (_PagesHandler,), {"root": Path(root).resolve(), "cache": {}})
        self._serve(_Server(("127.0.0.1", 0), handler))


@dataclass
class PageLoad:
    url: str
    bytes: int = 0                      # encoded bytes received (headers included), every request
    requests: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)  # url -> encoded bytes
    fcp_ms: float | None = None         # first contentful paint, ms after navigation start
    severe: list[str] = field(default_factory=list)       # console errors, exceptions, failed loads
    failed: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)     # render-blocking requests (Chromium's view)


def _severe_messages(events: list[dict]) -> list[str]:
    out = []
    for e in events:
        m, p = e["method"], e.get("params", {})
        if m == "Log.entryAdded" and p["entry"]["level"] == "error":
            out.append(f"log: {p['entry'].get('text', '')} {p['entry'].get('url', '')}".strip())
        elif m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
            out.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
        elif m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            out.append("exception: " + ((d.get("exception") or {}).get("description") or d.get("text", "?")))
    return out


def _wait_complete(b: Browser, timeout: float) -> None:
    """Wait for the load event of the page finally shown (a redirect page navigates on)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            b.wait_for("document.readyState === 'complete'", timeout=max(1.0, deadline - time.monotonic()))
            return
        except CDPError as exc:
            if "navigated" not in str(exc) or time.monotonic() > deadline:
                raise
            b.pump(0.2)


def cold_load(executable: str, url: str, network: dict | None = None, idle: float = 1.5,
              timeout: float = 90.0, width: int = 1366, height: int = 900, after_load=None,
              wait_idle: bool = True) -> PageLoad:
    """Open ``url`` once in a fresh profile with the HTTP cache disabled; see module docstring.

    ``wait_idle=False`` returns once the load event and the first contentful paint have
    happened (enough for timing the paint; the byte counts are then incomplete).
    ``after_load(browser)`` may run extra checks in the page once the network is idle.
    """
    result = PageLoad(url=url)
    with Browser(executable, width=width, height=height, timeout=timeout) as b:
        b.send("Network.setCacheDisabled", {"cacheDisabled": True})
        if network:
            b.send("Network.emulateNetworkConditions", network)
        b.events.clear()
        b.send("Page.navigate", {"url": url})
        _wait_complete(b, timeout)
        # then wait until no request has been in flight for `idle` seconds (a request left
        # open by a navigation, as on a redirect page, counts as done after 3 quiet periods)
        deadline = time.monotonic() + timeout
        quiet_periods = 0
        while wait_idle:
            started = {e["params"]["requestId"] for e in b.events if e["method"] == "Network.requestWillBeSent"}
            done = {e["params"]["requestId"] for e in b.events
                    if e["method"] in ("Network.loadingFinished", "Network.loadingFailed")}
            n_before = len(b.events)
            b.pump(idle)
            quiet = not any(e["method"].startswith("Network.") for e in b.events[n_before:])
            quiet_periods = quiet_periods + 1 if quiet else 0
            if quiet and (started <= done or quiet_periods >= 3):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}: network still busy after {timeout} s")
        b.wait_for("performance.getEntriesByName('first-contentful-paint').length > 0", timeout=timeout)
        result.fcp_ms = b.eval("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null")
        if after_load is not None:
            after_load(b)
            b.pump(0.2)
        urls = {}
        for e in b.events:
            if e["method"] == "Network.requestWillBeSent":
                urls[e["params"]["requestId"]] = e["params"]["request"]["url"]
                # Chromium's own classification of each request (Network.requestWillBeSent)
                if e["params"].get("renderBlockingBehavior") in ("Blocking", "InBodyParserBlocking"):
                    result.blocking.append(e["params"]["request"]["url"])
        for e in b.events:
            if e["method"] == "Network.loadingFinished":
                u = urls.get(e["params"]["requestId"], "?")
                n = int(e["params"].get("encodedDataLength", 0))
                result.sizes[u] = result.sizes.get(u, 0) + n
                result.bytes += n
            elif e["method"] == "Network.loadingFailed":
                result.failed.append(f"{urls.get(e['params']['requestId'], '?')}: {e['params'].get('errorText')}")
        result.requests = [u for u in urls.values() if not u.startswith("data:")]
        result.severe = _severe_messages(b.events)
    return result
