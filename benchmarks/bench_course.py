"""Benchmark: ``mixlearn-course autograde --jobs N`` against serial ``nbgrader autograde``.

Builds a throw-away course from the repository's ``nbgrader_config.py`` and
``solutions/<assignment>``, records the assignment with ``nbgrader generate_assignment``,
writes a class of submissions (complete solutions, untouched releases and partly
solved ones), grades identical copies of it both ways, checks that the gradebooks agree
and prints the wall times, the speed-up and submissions per minute.

The serial reference is ``nbgrader autograde`` with the course's own configuration, so it
runs the same sandbox and trusted checks; ``serial_plain`` is nbgrader with its stock
``Execute`` (no sandbox, the notebooks' own asserts), the way the course graded before the
trusted checks.  Each mixlearn-course run also reports the sandbox's and the checks' cost per
submission (time spent by the grader building/removing sandboxes and preparing/judging checks).

    python benchmarks/bench_course.py                 # 60 submissions of 04_em_n, --jobs 2
    python benchmarks/bench_course.py --n 20 --jobs 2 --assignment 03_em_two
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env():
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(cmd, cwd, check=True):
    return subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, check=check)


def _source_dir_name():
    sys.path.insert(0, REPO)
    from mixlearn.course.common import load_nbgrader_config

    _, cd = load_nbgrader_config(REPO)
    return cd.source_directory, cd.release_directory


def make_course(root, assignment):
    src_name, rel_name = _source_dir_name()
    os.makedirs(root)
    shutil.copy(os.path.join(REPO, "nbgrader_config.py"), root)
    shutil.copytree(os.path.join(REPO, src_name, assignment), os.path.join(root, src_name, assignment))
    _run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"], root)
    return src_name, rel_name


def make_class(root, assignment, n, src_name, rel_name):
    import nbformat

    nb_files = sorted(f for f in os.listdir(os.path.join(root, src_name, assignment))
                      if f.endswith(".ipynb"))
    for i in range(n):
        kind = ("solution", "release", "partial")[i % 3]
        d = os.path.join(root, "submitted", f"student{i:03d}", assignment)
        os.makedirs(d)
        for f in nb_files:
            source = nbformat.read(os.path.join(root, src_name, assignment, f), as_version=4)
            release = nbformat.read(os.path.join(root, rel_name, assignment, f), as_version=4)
            if kind == "solution":
                nb = release
                sol = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in source.cells
                       if c.metadata.get("nbgrader", {}).get("solution")}
                for c in nb.cells:
                    gid = c.metadata.get("nbgrader", {}).get("grade_id")
                    if gid in sol:
                        c.source = sol[gid]
            elif kind == "partial":
                nb = release
                done = 0
                for c, s in zip(nb.cells, source.cells, strict=False):
                    md = c.metadata.get("nbgrader", {})
                    if md.get("solution") and c.cell_type == "code" and done < 2:
                        c.source = s.source
                        done += 1
            else:
                nb = release
            nbformat.write(nb, os.path.join(d, f))


PLAIN = """
# benchmark reference: nbgrader's stock autograde pipeline (no sandbox, no trusted checks)
from nbgrader.preprocessors import Execute
c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
"""


def scores(root, assignment):
    con = sqlite3.connect(os.path.join(root, "gradebook.db"))
    rows = con.execute(
        """SELECT sa.student_id, bc.name, g.auto_score, g.needs_manual_grade
           FROM grade g JOIN submitted_notebook sn ON g.notebook_id = sn.id
           JOIN submitted_assignment sa ON sn.assignment_id = sa.id
           JOIN assignment a ON sa.assignment_id = a.id
           JOIN base_cell bc ON g.cell_id = bc.id WHERE a.name = ?""", (assignment,)).fetchall()
    con.close()
    return sorted(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assignment", default="04_em_n")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--modes", default="fresh,prefork",
                    help="comma-separated: fresh (a new kernel process per submission, the default "
                         "of mixlearn-course) and/or prefork (kernels forked from a kernel server)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary courses")
    ap.add_argument("--no-plain", action="store_true", help="skip the stock-nbgrader reference run")
    args = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="bench-course-")
    try:
        base = os.path.join(tmp, "base")
        src_name, rel_name = make_course(base, args.assignment)
        make_class(base, args.assignment, args.n, src_name, rel_name)
        serial = base + "-serial"
        shutil.copytree(base, serial)
        load0 = os.getloadavg()[0]
        t0 = time.monotonic()
        r1 = _run([sys.executable, "-m", "nbgrader", "autograde", args.assignment], serial, check=False)
        t_serial = time.monotonic() - t0
        out = {
            "assignment": args.assignment, "submissions": args.n, "jobs": args.jobs,
            "cpus": os.cpu_count(), "load_avg_1min_before": round(load0, 2),
            "serial_nbgrader_s": round(t_serial, 1),
            "serial_per_min": round(args.n / t_serial * 60, 1), "serial_exit": r1.returncode,
        }
        if not args.no_plain:
            plain = base + "-plain"
            shutil.copytree(base, plain)
            with open(os.path.join(plain, "nbgrader_config.py"), "a") as fh:
                fh.write(PLAIN)
            t0 = time.monotonic()
            _run([sys.executable, "-m", "nbgrader", "autograde", args.assignment], plain, check=False)
            t_plain = time.monotonic() - t0
            out["serial_plain"] = {"seconds": round(t_plain, 1), "per_min": round(args.n / t_plain * 60, 1),
                                   "same_grades": scores(plain, args.assignment) == scores(serial, args.assignment)}
        ok = True
        for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
            parallel = f"{base}-{mode}"
            shutil.copytree(base, parallel)
            extra = ["--prefork"] if mode == "prefork" else []
            t0 = time.monotonic()
            r2 = _run([sys.executable, "-m", "mixlearn.course", "autograde", args.assignment,
                       "--jobs", str(args.jobs), "--no-progress", *extra], parallel, check=False)
            t_par = time.monotonic() - t0
            same = scores(serial, args.assignment) == scores(parallel, args.assignment)
            out[mode] = {"seconds": round(t_par, 1), "speedup": round(t_serial / t_par, 2),
                         "per_min": round(args.n / t_par * 60, 1), "same_grades": same,
                         "exit": r2.returncode}
            if "serial_plain" in out:
                out[mode]["speedup_vs_plain"] = round(out["serial_plain"]["seconds"] / t_par, 2)
            m = re.search(r"per submission: sandbox (\d+) ms, trusted checks (\d+) ms", r2.stderr)
            if m:
                out[mode]["sandbox_ms_per_submission"] = int(m.group(1))
                out[mode]["checks_ms_per_submission"] = int(m.group(2))
            if r2.returncode != 0:
                print(r2.stderr[-3000:], file=sys.stderr)
            ok = ok and same and r2.returncode == 0
        out["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
        print(json.dumps(out, indent=1))
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"courses kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
