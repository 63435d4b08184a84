"""What a first visit to each page of the built book costs, served as GitHub Pages serves it.

    python benchmarks/bench_site.py                  # measures _build/html (build it first)
    python benchmarks/bench_site.py --html DIR       # ... or another built site
    python benchmarks/bench_site.py --runs 3 --json out.json

The site is served on 127.0.0.1 with gzip for text types (as GitHub Pages does). Each page is
opened in a fresh headless Chromium profile with the HTTP cache disabled, and everything it
loads until the network is idle is counted (widgets and fonts loaded late included).

* per page: bytes transferred (encoded, headers included), number of requests, SEVERE console
  messages (console errors, exceptions, failed loads), and the render-blocking requests;
* per chapter: first contentful paint under Chromium's network emulation (10 Mbit/s down,
  40 ms latency), the median of ``--runs`` cold loads.

Budgets (issue 9): every page <= 2.0 MB transferred; FCP <= 1.0 s; no SEVERE message.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from book_support.browser import find_chromium  # noqa: E402
from book_support.pages import SLOW_NETWORK, PagesServer, cold_load  # noqa: E402

BUDGET_BYTES = 2.0e6
BUDGET_FCP_MS = 1000.0
WIDGET_MANAGER = "html-manager/embed-amd.js"


def site_pages(html: Path) -> list[str]:
    """Every HTML page of the book (the JupyterLite app and its files excluded)."""
    pages = []
    for p in sorted(html.rglob("*.html")):
        rel = p.relative_to(html)
        if rel.parts[0] in ("lite", "_static", "_sources", "_downloads"):
            continue
        pages.append(rel.as_posix())
    return pages


def is_chapter(page: str) -> bool:
    return page.startswith("book/") and page.split("/")[-1][:2].isdigit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--html", default=str(ROOT / "_build" / "html"), help="built site (default _build/html)")
    parser.add_argument("--runs", type=int, default=3, help="cold loads per chapter for the FCP median")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()

    html = Path(args.html).resolve()
    if not (html / "index.html").is_file():
        raise SystemExit(f"no built site in {html}: run `python book/build.py` first")
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("Debian's chromium is needed (apt-get install chromium)")

    rows, ok = [], True
    with PagesServer(html) as server:
        for page in site_pages(html):
            load = cold_load(chromium, f"{server.url}/{page}")
            row = {"page": page, "bytes": load.bytes, "requests": len(load.requests), "severe": load.severe,
                   "widget_manager": any(WIDGET_MANAGER in u for u in load.requests),
                   "blocking_widget_manager": any(WIDGET_MANAGER in u for u in load.blocking),
                   "fcp_ms": None}
            if is_chapter(page):
                fcps = [cold_load(chromium, f"{server.url}/{page}", network=SLOW_NETWORK, wait_idle=False).fcp_ms
                        for _ in range(args.runs)]
                row["fcp_ms"] = statistics.median(f for f in fcps if f is not None)
                row["fcp_runs"] = fcps
            rows.append(row)
            ok &= row["bytes"] <= BUDGET_BYTES and not row["severe"]
            ok &= row["fcp_ms"] is None or row["fcp_ms"] <= BUDGET_FCP_MS
            fcp = f"{row['fcp_ms']:7.0f}" if row["fcp_ms"] is not None else "      -"
            print(f"{page:42s} {row['bytes'] / 1e6:6.2f} MB {row['requests']:4d} req  FCP {fcp} ms  "
                  f"manager {'blocking' if row['blocking_widget_manager'] else ('async' if row['widget_manager'] else '-'):8s} "
                  f"severe {len(row['severe'])}", flush=True)
            for msg in row["severe"]:
                print(f"    SEVERE {msg[:160]}")

    chapters = [r for r in rows if r["fcp_ms"] is not None]
    print(f"\npages: {len(rows)}; largest {max(r['bytes'] for r in rows) / 1e6:.2f} MB "
          f"(budget {BUDGET_BYTES / 1e6:.1f} MB); chapters' FCP {min(r['fcp_ms'] for r in chapters):.0f}-"
          f"{max(r['fcp_ms'] for r in chapters):.0f} ms (budget {BUDGET_FCP_MS:.0f} ms, "
          f"{SLOW_NETWORK['downloadThroughput'] * 8 / 1e6:.0f} Mbit/s, {SLOW_NETWORK['latency']} ms latency, "
          f"median of {args.runs})")
    print("within budget" if ok else "OVER BUDGET")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
