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
    python benchmarks/bench_course.py --scheduler     # the same class on a local Dask cluster

``--scheduler`` starts a Dask scheduler and worker processes on 127.0.0.1 (``--nthreads 1`` each,
own local folders) and a PostgreSQL server on a unix socket (Debian's ``postgresql``), then grades
the class with ``mixlearn-course autograde --scheduler ... --db postgresql://...`` on 1 and on 2
workers, next to the local ``--jobs 2`` run (SQLite) as the peer, and checks that all three store
the same grades.  It reports submissions per minute and the coordinator's own cost per submission
(packing and sending a task, storing its outcome: unpacking, the gradebook transaction, the move
into ``autograded/``), which decides how many workers one coordinator can feed.
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


def scores_url(url, assignment):
    from sqlalchemy import create_engine, text

    from mixlearn.course.common import normalize_db_url

    engine = create_engine(normalize_db_url(url))
    with engine.connect() as con:
        rows = con.execute(text(
            """SELECT sa.student_id, bc.name, g.auto_score, g.needs_manual_grade
               FROM grade g JOIN submitted_notebook sn ON g.notebook_id = sn.id
               JOIN submitted_assignment sa ON sn.assignment_id = sa.id
               JOIN assignment a ON sa.assignment_id = a.id
               JOIN base_cell bc ON g.cell_id = bc.id WHERE a.name = :a"""), {"a": assignment}).fetchall()
    engine.dispose()
    return sorted((r[0], r[1], r[2], bool(r[3])) for r in rows)


def _per_submission(stderr):
    out = {}
    m = re.search(r"per submission: sandbox (\d+) ms, trusted checks (\d+) ms", stderr)
    if m:
        out["sandbox_ms_per_submission"] = int(m.group(1))
        out["checks_ms_per_submission"] = int(m.group(2))
    m = re.search(r"coordinator per submission: shipping ([\d.]+) ms, storing ([\d.]+) ms", stderr)
    if m:
        out["coordinator_ship_ms"] = float(m.group(1))
        out["coordinator_store_ms"] = float(m.group(2))
    return out


def bench_scheduler(args, tmp, base):
    """Local --jobs 2 (SQLite) against the Dask cluster with 1 and 2 workers (PostgreSQL)."""
    sys.path.insert(0, REPO)
    from mixlearn.course.trusted import seeds_for
    from tests.course_support.services import DaskCluster, PostgresServer

    # one set of hidden-check seeds for every copy of the course, so all runs judge the same inputs
    seeds_for(base, args.assignment, sorted(os.listdir(os.path.join(base, "submitted"))))
    out = {"assignment": args.assignment, "submissions": args.n, "cpus": os.cpu_count(),
           "load_avg_1min_before": round(os.getloadavg()[0], 2)}
    local = base + "-local"
    shutil.copytree(base, local)
    t0 = time.monotonic()
    r = _run([sys.executable, "-m", "mixlearn.course", "autograde", args.assignment, "--jobs", str(args.jobs),
              "--no-progress"], local, check=False)
    t_local = time.monotonic() - t0
    reference = scores(local, args.assignment)
    out[f"local_jobs{args.jobs}"] = {"seconds": round(t_local, 1), "per_min": round(args.n / t_local * 60, 1),
                                     "exit": r.returncode, **_per_submission(r.stderr)}
    ok = r.returncode == 0
    pg = PostgresServer().start()
    try:
        for n_workers in [int(w) for w in args.workers.split(",") if w.strip()]:
            course = f"{base}-cluster{n_workers}"
            shutil.copytree(base, course)
            url = pg.createdb(f"bench{n_workers}")
            _run([sys.executable, "-m", "nbgrader", "generate_assignment", args.assignment, "--force",
                  f"--CourseDirectory.db_url={url}"], course)
            cluster = DaskCluster().start(n_workers)
            try:
                t0 = time.monotonic()
                r = _run([sys.executable, "-m", "mixlearn.course", "autograde", args.assignment, "--db", url,
                          "--scheduler", cluster.address, "--no-progress"], course, check=False)
                t_cluster = time.monotonic() - t0
            finally:
                cluster.stop()
            same = scores_url(url, args.assignment) == reference
            rec = {"seconds": round(t_cluster, 1), "per_min": round(args.n / t_cluster * 60, 1), "same_grades": same,
                   "exit": r.returncode, "speedup_vs_local": round(t_local / t_cluster, 2), **_per_submission(r.stderr)}
            if "coordinator_ship_ms" in rec:
                worker_s = n_workers * t_cluster / args.n   # worker-seconds per submission
                coord_s = (rec["coordinator_ship_ms"] + rec["coordinator_store_ms"]) / 1000
                rec["worker_seconds_per_submission"] = round(worker_s, 2)
                rec["workers_one_coordinator_can_feed"] = int(worker_s / coord_s) if coord_s else None
            out[f"cluster_{n_workers}_workers"] = rec
            if r.returncode != 0:
                print(r.stderr[-3000:], file=sys.stderr)
            ok = ok and same and r.returncode == 0
    finally:
        pg.stop()
    if "cluster_1_workers" in out and "cluster_2_workers" in out:
        out["two_over_one_workers"] = round(out["cluster_1_workers"]["seconds"] / out["cluster_2_workers"]["seconds"], 2)
    out["load_avg_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, indent=1))
    return 0 if ok else 1


def fix_costs(args, out):
    """What the grading fixes cost, per submission (milliseconds of wall time on --jobs workers).

    * the sandbox check (``sandbox.locate`` asks the kernel's interpreter where it imports from,
      ``sandbox.verify`` starts one sandbox and looks from inside): once per run on the local pool
      (the coordinator checks; its forked workers inherit the result), once per worker on Dask;
    * the CPU-time cell limit: the difference to a run whose cell limit counts wall-clock seconds.
    The per-kernel steps (dropping to an unprivileged user, sized tmpfs, closing the run folder,
    bounding outputs in bytes) are inside the ``sandbox_ms_per_submission`` and the totals."""
    sys.path.insert(0, REPO)
    from mixlearn.course import sandbox

    t0 = time.perf_counter()
    kernel = sandbox.locate(sys.executable)
    edition = sandbox.student_edition(package_dir=kernel.mixlearn)
    with tempfile.TemporaryDirectory() as tmp:
        for sub in ("work", "run"):
            os.makedirs(os.path.join(tmp, sub))
        spec = sandbox.SandboxSpec(workdir=os.path.join(tmp, "work"), mountpoint="/course",
                                   rundir=os.path.join(tmp, "run"), student_edition=edition,
                                   env={}, kernel=kernel, protected=(REPO,))
        sandbox.verify(spec)
    check_ms = (time.perf_counter() - t0) * 1000
    costs = {"sandbox_check_ms_per_run": round(check_ms),
             "sandbox_check_ms_per_submission": round(check_ms / args.n, 1)}
    if "wall_clock_cell_limit" in out:
        diff = (out["fresh"]["seconds"] - out["wall_clock_cell_limit"]["seconds"]) * args.jobs / args.n
        costs["cpu_time_cell_limit_ms_per_submission"] = round(diff * 1000)
    return costs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assignment", default="04_em_n")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--costs", action="store_true",
                    help="also measure what the grading fixes cost: the once-per-worker sandbox check, and a "
                         "run with the cell limit in wall-clock seconds instead of CPU seconds")
    ap.add_argument("--keep", action="store_true", help="keep the temporary courses")
    ap.add_argument("--no-plain", action="store_true", help="skip the stock-nbgrader reference run")
    ap.add_argument("--scheduler", action="store_true",
                    help="grade on a local Dask cluster (1 and 2 workers) into PostgreSQL, against local --jobs")
    ap.add_argument("--workers", default="1,2", help="with --scheduler: the cluster sizes to run (default 1,2)")
    args = ap.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="bench-course-")
    try:
        base = os.path.join(tmp, "base")
        src_name, rel_name = make_course(base, args.assignment)
        make_class(base, args.assignment, args.n, src_name, rel_name)
        if args.scheduler:
            return bench_scheduler(args, tmp, base)
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
        variants = [("fresh", "")]
        if args.costs:
            variants.append(("wall_clock_cell_limit", "\nc.TrustedExecute.cpu_limited = False\n"))
        for mode, config in variants:
            parallel = f"{base}-{mode}"
            shutil.copytree(base, parallel)
            if config:
                with open(os.path.join(parallel, "nbgrader_config.py"), "a") as fh:
                    fh.write(config)
            t0 = time.monotonic()
            r2 = _run([sys.executable, "-m", "mixlearn.course", "autograde", args.assignment,
                       "--jobs", str(args.jobs), "--no-progress"], parallel, check=False)
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
        if args.costs:
            out["costs"] = fix_costs(args, out)
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
