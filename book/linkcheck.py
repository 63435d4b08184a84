"""Check the links of the built book (``_build/html``) as they resolve once published.

    python book/linkcheck.py                 # offline: internal links and launch links
    python book/linkcheck.py --external      # ... and every link to another site (network)
    python book/linkcheck.py --html DIR      # another built site

Offline checks, which need no network:

* every relative link and resource (``href``/``src``) of every page points at a file of the
  site, and a ``#fragment`` at an element with that id in the target page;
* JupyterLite links (``lite/lab/index.html?path=P``) open a notebook the site bundles
  (``lite/files/P``);
* launch links into the repository (Binder ``mybinder.org/v2/gh/...``, Colab
  ``colab.research.google.com/github/...``, ``github.com/<repo>/blob|tree/...``) name the
  book's repository and branch (``_config.yml``: ``repository``) and a file tracked there
  (``git ls-files``; Colab files must be notebooks).

``--external`` also requests every other ``http(s)`` link (HEAD, then GET when HEAD is not
allowed) and reports the ones that fail; the weekly workflow runs it. Exit status 1 when
any problem is found.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import subprocess
import sys
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = ("lite", "_static", "_sources", "_downloads", "_images")
ATTRS = {"a": "href", "link": "href", "img": "src", "script": "src", "iframe": "src", "source": "src"}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("id", "name"):
            if a.get(key):
                self.ids.add(a[key])
        attr = ATTRS.get(tag)
        if attr and a.get(attr):
            self.links.append((tag, a[attr].strip()))


def parse_page(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def site_pages(html: Path) -> list[Path]:
    return sorted(p for p in html.rglob("*.html") if p.relative_to(html).parts[0] not in SKIP_DIRS)


def repo_files(root: Path = ROOT) -> set[str]:
    """Files the published repository holds: git's tracked files (or, outside git, all files)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
        return {f for f in out.stdout.decode().split("\0") if f}
    except (OSError, subprocess.CalledProcessError):
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def repository(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """(``owner/name``, branch) of the book's repository from ``_config.yml``."""
    repo = yaml.safe_load(config.read_text(encoding="utf-8")).get("repository", {})
    url = repo.get("url", "").rstrip("/")
    parts = urlsplit(url)
    if parts.netloc != "github.com" or parts.path.count("/") != 2:
        raise ValueError(f"_config.yml repository.url must be https://github.com/<owner>/<name>, got {url!r}")
    return parts.path.strip("/"), repo.get("branch", "main")


class Checker:
    def __init__(self, html: Path, repo: str, branch: str, files: set[str]):
        self.html = Path(html).resolve()
        self.repo, self.branch, self.files = repo, branch, files
        self._ids: dict[Path, set[str]] = {}
        self.external: dict[str, list[str]] = {}  # url -> pages linking it

    def _page_ids(self, page: Path) -> set[str]:
        if page not in self._ids:
            self._ids[page] = parse_page(page).ids
        return self._ids[page]

    # -- one link ---------------------------------------------------------------------
    def check(self, page: Path, tag: str, url: str) -> str | None:
        parts = urlsplit(url)
        if parts.scheme in ("mailto", "data", "javascript", "tel", "blob", "about"):
            return None
        if parts.scheme in ("http", "https") or url.startswith("//"):
            return self._check_remote(page, url, parts)
        if parts.scheme:
            return f"unknown scheme {parts.scheme!r}"
        return self._check_internal(page, url, parts)

    def _check_internal(self, page: Path, url: str, parts) -> str | None:
        path = unquote(parts.path)
        if not path:  # "#fragment" within the page
            target = page
        else:
            target = (self.html / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
            target = target.resolve()
            try:
                target.relative_to(self.html)
            except ValueError:
                return "points outside the site"
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                return "no such file in the site"
        rel = target.relative_to(self.html)
        if rel.parts[:2] == ("lite", "lab") and parts.query:
            nb = parse_qs(parts.query).get("path", [None])[0]
            if nb and not (self.html / "lite" / "files" / nb).is_file():
                return f"JupyterLite has no notebook {nb}"
        if parts.fragment and target.suffix == ".html" and rel.parts[0] not in SKIP_DIRS:
            if unquote(parts.fragment) not in self._page_ids(target):
                return f"no element with id {parts.fragment!r} in {rel}"
        return None

    def _repo_path(self, owner_repo: str, ref: str, path: str, notebook: bool = False) -> str | None:
        if owner_repo != self.repo:
            return f"names repository {owner_repo!r}, not {self.repo!r}"
        if ref != self.branch:
            return f"names branch {ref!r}, not {self.branch!r} (nothing publishes other branches)"
        path = unquote(path).strip("/")
        if path and path not in self.files and not any(f.startswith(path + "/") for f in self.files):
            return f"{path!r} is not a file of the repository"
        if notebook and not path.endswith(".ipynb"):
            return f"Colab opens notebooks only, not {path!r}"
        return None

    def _check_remote(self, page: Path, url: str, parts) -> str | None:
        host, segs = parts.netloc.lower(), [s for s in parts.path.split("/") if s]
        if host == "mybinder.org" and segs[:2] == ["v2", "gh"]:
            if len(segs) < 5:
                return "Binder link without owner/name/ref"
            q = parse_qs(parts.query)
            path = (q.get("labpath") or q.get("filepath") or [""])[0]
            if not path and q.get("urlpath"):
                up = q["urlpath"][0]
                path = up.split("/tree/", 1)[1] if "/tree/" in up else ""
            return self._repo_path(f"{segs[2]}/{segs[3]}", "/".join(segs[4:]), path)
        if host == "colab.research.google.com" and segs[:1] == ["github"]:
            if len(segs) < 6 or segs[3] != "blob":
                return "Colab link is not .../github/<owner>/<name>/blob/<ref>/<path>"
            return self._repo_path(f"{segs[1]}/{segs[2]}", segs[4], "/".join(segs[5:]), notebook=True)
        if host == "github.com" and len(segs) >= 2 and f"{segs[0]}/{segs[1]}" == self.repo:
            if len(segs) >= 4 and segs[2] in ("blob", "tree"):
                return self._repo_path(self.repo, segs[3], "/".join(segs[4:]))
            return None
        self.external.setdefault(url, []).append(str(page.relative_to(self.html)))
        return None

    # -- whole site ---------------------------------------------------------------------
    def run(self) -> list[str]:
        problems = []
        for page in site_pages(self.html):
            links = parse_page(page)
            self._ids[page] = links.ids
            for tag, url in links.links:
                why = self.check(page, tag, url)
                if why:
                    problems.append(f"{page.relative_to(self.html)}: <{tag}> {url}: {why}")
        return problems


def fetch_status(url: str, timeout: float = 20.0) -> str | None:
    """None if ``url`` answers with a success or redirect, otherwise why it failed."""
    headers = {"User-Agent": "mixlearn-linkcheck (+https://github.com/mixlearn/mixlearn)"}
    last = None
    for method in ("HEAD", "GET"):
        req = urllib.request.Request(url, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                if resp.status < 400:
                    return None
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
            if exc.code == 429:  # rate limited: the link exists
                return None
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
    return last


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--html", default=str(ROOT / "_build" / "html"), help="built site (default _build/html)")
    parser.add_argument("--external", action="store_true", help="also request every link to another site")
    args = parser.parse_args(argv)
    html = Path(args.html)
    if not (html / "index.html").is_file():
        raise SystemExit(f"no built site in {html}: run `python book/build.py` first")
    repo, branch = repository()
    checker = Checker(html, repo, branch, repo_files())
    problems = checker.run()
    print(f"internal and launch links: {len(problems)} problem(s) in {len(site_pages(html))} pages")
    if args.external:
        urls = sorted(checker.external)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            for url, why in zip(urls, pool.map(fetch_status, urls), strict=True):
                if why:
                    problems.append(f"{', '.join(sorted(set(checker.external[url])))}: {url}: {why}")
        print(f"external links: {len(urls)} checked")
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
