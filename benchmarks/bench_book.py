"""Time a clean build of the book and a rebuild with nothing changed.

    python benchmarks/bench_book.py            # builds into a temporary folder
    python benchmarks/bench_book.py --keep DIR # ... or into DIR (kept afterwards)

Budgets (issue 3): clean build <= 180 s on 2 cores, no-change rebuild <= 20 s.
The npm assets (book/_vendor) are fetched first if missing; that download is not timed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_CLEAN, BUDGET_REBUILD = 180.0, 20.0


def run_build(builddir: Path, *extra: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "book" / "build.py"), "--builddir", str(builddir), *extra],
                          cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-5000:] + proc.stderr[-5000:])
        raise SystemExit(f"build failed (exit {proc.returncode})")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", help="build into this folder and keep it")
    args = parser.parse_args()

    # make sure the one-off downloads/wheel exist, so they are not part of the timings
    sys.path.insert(0, str(ROOT / "book"))
    import build as book_build  # noqa: E402

    book_build.fetch_vendor()
    book_build.build_wheel()

    tmp = None
    if args.keep:
        builddir = Path(args.keep).resolve()
        builddir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(builddir / "_build", ignore_errors=True)
    else:
        tmp = tempfile.mkdtemp(prefix="mixlearn-bench-book-")
        builddir = Path(tmp)
    try:
        print(f"cores available: {len(os.sched_getaffinity(0))}, load average: {os.getloadavg()[0]:.2f}")
        clean = run_build(builddir)
        print(f"clean build (all chapters executed): {clean:6.1f} s   (budget {BUDGET_CLEAN:.0f} s)")
        rebuild = run_build(builddir)
        print(f"rebuild with nothing changed:        {rebuild:6.1f} s   (budget {BUDGET_REBUILD:.0f} s)")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    ok = clean <= BUDGET_CLEAN and rebuild <= BUDGET_REBUILD
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
