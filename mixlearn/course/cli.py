"""``mixlearn-course``: collect, autograde, report and feedback for a whole class; ``new-checks``
and ``guide`` for writing an assignment's trusted checks."""

from __future__ import annotations

import argparse
import os
import sys

from .common import CourseError, printable
from .limits import Limits, parse_size


def _add_common(p):
    p.add_argument("assignment", help="assignment name, e.g. 04_em_n")
    p.add_argument("--course", default=".", help="course directory (default: current directory)")
    p.add_argument("--db", default=None, metavar="URL",
                   help="gradebook database URL, replacing the course's CourseDirectory.db_url (default: "
                        "the course's SQLite gradebook.db), e.g. postgresql://USER@/DATABASE?host=/run/postgresql; "
                        "a plain postgresql:// URL uses psycopg 3 (pip install mixlearn[distributed]) unless "
                        "psycopg2 is installed. For nbgrader itself pass --CourseDirectory.db_url=URL")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixlearn-course",
        description="Grade a whole class of nbgrader submissions: collect, autograde in "
                    "parallel with limits, report, feedback.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("collect", help="import a folder or zip of submissions into submitted/")
    _add_common(p)
    p.add_argument("path", help="folder or .zip with <student>/<notebook>.ipynb or <student>.ipynb")
    p.add_argument("--force", action="store_true", help="overwrite existing submissions")
    p.add_argument("--timestamps", default=None, metavar="CSV",
                   help="submission times from the learning platform, one 'student,time' per line (e.g. "
                        "'ada,2026-11-28 15:00:00 UTC'): they decide late penalties. A student's own "
                        "timestamp.txt is never copied; without this option no submission counts as late")

    p = sub.add_parser("autograde", help="autograde submissions in parallel")
    _add_common(p)
    p.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                   help="worker processes (default: number of CPUs)")
    p.add_argument("--student", default=None, help="only students matching this glob")
    p.add_argument("--force", action="store_true", help="regrade already graded submissions")
    p.add_argument("--memory", default="2G", help="address-space limit per kernel (default 2G; 0 = none)")
    p.add_argument("--disk", default="256M",
                   help="bytes each writable place of the sandbox may hold: /tmp, /dev/shm and the working folder "
                        "beyond the submission's own files (default 256M; they are in memory)")
    p.add_argument("--cpu", type=float, default=600.0,
                   help="CPU seconds per kernel (default 600; 0 = none)")
    p.add_argument("--cell-timeout", type=int, default=None,
                   help="seconds per cell (default: the course's Execute.timeout)")
    p.add_argument("--wall", type=float, default=900.0,
                   help="wall-clock seconds per submission (default 900; 0 = none)")
    p.add_argument("--max-procs", type=int, default=64,
                   help="processes a kernel may run at once (default 64; 0 = no cap)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads per kernel (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="grade on this Dask cluster (dask.distributed scheduler address) instead of --jobs "
                        "local processes; the workers need mixlearn[course,distributed] and bubblewrap, no "
                        "shared files: each task carries the submission, the assignment's source and the "
                        "configuration (pip install mixlearn[distributed])")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run student code WITHOUT the bubblewrap sandbox (it can then read the course, the "
                        "gradebook and other students' work, use the network and signal the grader); only "
                        "for machines without bubblewrap, never the default")

    p = sub.add_parser("report", help="HTML + CSV report of an assignment")
    _add_common(p)
    p.add_argument("--output", "-o", default=None,
                   help="output folder (default: reports/<assignment>)")

    p = sub.add_parser("feedback", help="per-student feedback without hidden tests")
    _add_common(p)
    p.add_argument("--student", default=None, help="only students matching this glob")
    p.add_argument("--force", action="store_true", help="regenerate existing feedback")

    p = sub.add_parser("new-checks", help="start an assignment's trusted checks from the template",
                       description="Copy the template of a checks module to <source>/<assignment>/trusted_checks.py "
                                   "and list the assignment's test cells, each of which needs a @check.")
    p.add_argument("assignment", help="assignment name (its source notebook is <source>/<assignment>/)")
    p.add_argument("--course", default=".", help="course directory (default: current directory)")
    p.add_argument("--force", action="store_true", help="replace an existing trusted_checks.py")

    sub.add_parser("guide", help="print the guide to writing an assignment's trusted checks")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "guide":
        from .authoring import GUIDE

        with open(GUIDE, encoding="utf-8") as fh:
            sys.stdout.write(fh.read())
        return 0
    root = os.path.abspath(args.course)
    try:
        if args.command == "new-checks":
            from .authoring import GUIDE, ignored_by_release, new_checks, shown_path
            from .common import load_nbgrader_config

            config, coursedir = load_nbgrader_config(root)
            path, cells = new_checks(config, coursedir, args.assignment, force=args.force)
            print(f"wrote {shown_path(path, root)} from the template (its example checks a function mixture_pmf)")
            if cells:
                print(f"write a @check for each test cell: {', '.join(cells)}")
            else:
                print("no autograder test cells found in the source notebook yet")
            if not ignored_by_release(coursedir):
                print("warning: add 'trusted_checks.py' to c.CourseDirectory.ignore in nbgrader_config.py, or "
                      "generate_assignment copies the checks into the students' release", file=sys.stderr)
            print(f"the guide: {GUIDE} (or `mixlearn-course guide`)")
            return 0
        if args.command == "collect":
            from .collect import collect

            done = collect(root, args.assignment, args.path, force=args.force, db_url=args.db,
                           timestamps=args.timestamps)
            print(f"collected {len(done)} submission(s) for {args.assignment}")
            return 0
        if args.command == "autograde":
            from .pool import autograde, print_summary

            disk = parse_size(args.disk, "--disk")
            if disk <= 0:
                raise CourseError(f"--disk {args.disk!r}: the sandbox's writable places need a size above 0, e.g. 256M")
            lim = Limits(memory=parse_size(args.memory, "--memory"), disk=disk, cpu=args.cpu,
                         cell_timeout=args.cell_timeout, wall=args.wall,
                         nproc=args.max_procs, threads=args.threads)
            summary = autograde(root, args.assignment, jobs=max(1, args.jobs),
                                student=args.student, force=args.force, limits=lim,
                                progress=not args.no_progress, sandbox=not args.no_sandbox,
                                db_url=args.db, scheduler=args.scheduler)
            print_summary(summary, args.assignment)
            return summary.exit_code
        if args.command == "report":
            from .report import write_report

            out = write_report(root, args.assignment, args.output, db_url=args.db)
            print(f"report written to {out['html']} and {out['csv']}")
            return 0
        if args.command == "feedback":
            from .feedback import feedback

            res = feedback(root, args.assignment, student=args.student, force=args.force, db_url=args.db)
            print(f"feedback written for {len(res['done'])} student(s)")
            for s, reason in sorted(res["failed"].items()):
                print(f"  {s}: {printable(reason)}", file=sys.stderr)
            return 1 if res["failed"] else 0
    except CourseError as exc:
        print(f"mixlearn-course: error: {exc}", file=sys.stderr)
        return 2
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
