"""``mixlearn-course``: collect, autograde, report and feedback for a whole class; ``new-checks``
and ``guide`` for writing an assignment's trusted checks."""

from __future__ import annotations

import argparse
import os
import sys

from .common import CourseError, printable, skip_iri_grammar
from .limits import Limits, format_size
from .options import default_jobs


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

    p = sub.add_parser("collect", help="import a folder or zip of submissions into submitted/",
                       description="Copy every valid submission of a download into submitted/<student>/<assignment>/; "
                                   "list the invalid ones with their reasons. Exit status: 0 all collected, 1 some "
                                   "skipped (the rest collected), 2 nothing done (an option to fix).")
    _add_common(p)
    p.add_argument("path", help="folder or .zip: <student>/<notebook>.ipynb or <student>.ipynb, or a Canvas or "
                                "Moodle bulk download (with --roster)")
    p.add_argument("--force", action="store_true", help="overwrite existing submissions")
    p.add_argument("--timestamps", default=None, metavar="CSV",
                   help="submission times from the learning platform, one 'student,time' per line (e.g. "
                        "'ada,2026-11-28 15:00:00 UTC'): they decide late penalties. A student's own "
                        "timestamp.txt is never copied; without this option no submission counts as late")
    p.add_argument("--roster", default=None, metavar="CSV",
                   help="the class roster (header row; columns student, name, email, canvas_id, moodle_id, ...): "
                        "maps a Canvas download's user ids (canvas_id) and a Moodle download's participant ids "
                        "(moodle_id, else the full name in name) to nbgrader student ids; needed for those")
    p.add_argument("--format", default="auto", choices=("auto", "folders", "canvas", "moodle"),
                   help="layout of the download (default auto: detected from its names): folders "
                        "(<student>/ or <student>.ipynb), canvas (Download Submissions: "
                        "<name>_<user id>_<file id>_<file>), moodle (Download all submissions: "
                        "<Full Name>_<participant id>_assignsubmission_file_/)")

    p = sub.add_parser("autograde", help="autograde submissions in parallel")
    _add_common(p)
    lim = Limits()   # the limits' defaults live there (also read by nbgrader's kernel manager)
    p.add_argument("--jobs", "-j", type=int, default=default_jobs(),
                   help="worker processes (default: number of CPUs)")
    p.add_argument("--student", default=None, help="only students matching this glob")
    p.add_argument("--force", action="store_true",
                   help="regrade every submission (without it: the ungraded ones, and those whose files "
                        "changed since they were graded)")
    p.add_argument("--memory", default=format_size(lim.memory),
                   help=f"address-space limit per kernel (default {format_size(lim.memory)}; 0 = none)")
    p.add_argument("--disk", default=format_size(lim.disk),
                   help="bytes each writable place of the sandbox may hold: /tmp, /dev/shm and the working folder "
                        f"beyond the submission's own files (default {format_size(lim.disk)}; they are in memory)")
    p.add_argument("--cpu", type=float, default=lim.cpu,
                   help=f"CPU seconds per kernel (default {lim.cpu:g}; 0 = none)")
    p.add_argument("--cell-timeout", type=int, default=lim.cell_timeout,
                   help="CPU seconds per cell (default: the course's Execute.timeout)")
    p.add_argument("--wall", type=float, default=lim.wall,
                   help=f"wall-clock seconds per submission (default {lim.wall:g}; 0 = none)")
    p.add_argument("--max-procs", type=int, default=lim.nproc,
                   help=f"processes a kernel may run at once (default {lim.nproc}; 0 = no cap)")
    p.add_argument("--threads", type=int, default=lim.threads,
                   help=f"BLAS threads per kernel (default {lim.threads})")
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
    p.add_argument("--force", action="store_true",
                   help="write every student's feedback again (without it, only missing feedback and feedback "
                        "whose grades or autograded notebook changed since it was written)")

    p = sub.add_parser("export", help="grades (and feedback) in the import files of Canvas and Moodle",
                       description="Write an assignment's final grades (nbgrader export's score) in the file "
                                   "Canvas's gradebook import or Moodle's grade import reads, or as a plain CSV, with "
                                   "each student's late and manual-grading status; with --feedback also a zip of the "
                                   "feedback HTML laid out for the platform's bulk feedback upload.")
    _add_common(p)
    p.add_argument("--format", "-f", required=True, metavar="{canvas,moodle,csv}", dest="format",
                   help="canvas: canvas_grades.csv (+ canvas_status.csv); moodle: moodle_grades.csv; "
                        "csv: grades.csv with every status column")
    p.add_argument("--roster", default=None, metavar="CSV",
                   help="the class roster: student (nbgrader id), name, email, canvas_id, sis_id, login_id, "
                        "section, moodle_id; one row is exported per roster student (needed for canvas and moodle)")
    p.add_argument("--output", "-o", default=None, help="output folder (default: reports/<assignment>)")
    p.add_argument("--canvas-assignment", default=None, metavar="'TITLE (ID)'",
                   help="the assignment's column in Canvas's gradebook export, e.g. 'Toy (12345)' "
                        "(default: the assignment's name, matched by title)")
    p.add_argument("--moodle-item", default=None, metavar="'Assignment: NAME'",
                   help="the grade item as Moodle names it (default: 'Assignment: <assignment>')")
    p.add_argument("--feedback", action="store_true",
                   help="also <format>_feedback.zip of feedback/<student>/<assignment>/*.html for the platform's "
                        "bulk feedback upload (Canvas: Re-Upload Submissions; Moodle: Upload multiple feedback "
                        "files in a zip)")
    p.add_argument("--canvas-download", default=None, metavar="ZIP",
                   help="Canvas's Download Submissions zip of the assignment: the feedback files are named after "
                        "it (Canvas needs each student's user id and the id of a file they submitted)")

    p = sub.add_parser("new-checks", help="start an assignment's trusted checks from the template",
                       description="Copy the template of a checks module to <source>/<assignment>/trusted_checks.py "
                                   "and list the assignment's test cells, each of which needs a @check.")
    p.add_argument("assignment", help="assignment name (its source notebook is <source>/<assignment>/)")
    p.add_argument("--course", default=".", help="course directory (default: current directory)")
    p.add_argument("--force", action="store_true", help="replace an existing trusted_checks.py")

    p = sub.add_parser("extension", help="give one student more time on an assignment (nbgrader's extension)",
                       description="Record an extension in the gradebook (nbgrader's Gradebook.grant_extension): the "
                                   "student's due date becomes the assignment's plus HOURS, for late penalties. Set the "
                                   "assignment's due date with `nbgrader db assignment add A --duedate=...`. No regrade "
                                   "is needed: report, feedback and export bring the late penalties up to date.")
    _add_common(p)
    p.add_argument("student", help="the student's id")
    p.add_argument("--hours", type=float, required=True, help="length of the extension in hours (0 removes it)")

    sub.add_parser("guide", help="print the guide to writing an assignment's trusted checks")

    from .similarity import FLOOR, THRESHOLD

    p = sub.add_parser("similarity", help="report of code shared between submissions (copying)",
                       description="Compare the code answer cells of every submission (starter code subtracted) "
                                   "with every other, with the model solution, with mixlearn's own functions and "
                                   "optionally with earlier terms; write reports/<assignment>/similarity.html and "
                                   ".csv. Evidence for a person to weigh: no grade is read or changed.")
    _add_common(p)
    p.add_argument("--threshold", type=float, default=THRESHOLD,
                   help=f"flag pairs whose score (share of the smaller answer found in the other) is at least "
                        f"this (default {THRESHOLD}); the report's slider moves it further")
    p.add_argument("--archive", default=None, metavar="DIR",
                   help="earlier terms' submissions to compare with: any DIR/.../<assignment>/<notebook>.ipynb "
                        "(e.g. last year's submitted/ folder)")
    p.add_argument("--no-library", action="store_true", help="do not compare with mixlearn's own functions")
    p.add_argument("--floor", type=int, default=FLOOR,
                   help=f"answers with fewer fingerprints than this score as if they had this many (default {FLOOR})")
    p.add_argument("--roster", default=None, metavar="CSV",
                   help="class roster (column student): students without a submission are listed (default: the "
                        "gradebook's students, when there is a gradebook)")
    p.add_argument("--output", "-o", default=None, help="output folder (default: reports/<assignment>)")
    return parser


def main(argv=None) -> int:
    skip_iri_grammar()
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
            from .collect import collect, print_result

            result = collect(root, args.assignment, args.path, force=args.force, db_url=args.db,
                             timestamps=args.timestamps, roster=args.roster, layout=args.format, partial=True)
            print_result(result, args.assignment, args.path)
            return result.exit_code
        if args.command == "extension":
            from .common import load_nbgrader_config
            from .gradebook import grant_extension

            _, coursedir = load_nbgrader_config(root, db_url=args.db)
            grant_extension(coursedir, args.assignment, args.student, args.hours)
            print(f"{args.student}: extension of {args.hours:g} h on {args.assignment}" if args.hours
                  else f"{args.student}: no extension on {args.assignment}")
            return 0
        if args.command == "autograde":
            from .coordinator import autograde, print_summary
            from .options import from_args

            summary = autograde(root, args.assignment, from_args(args))
            print_summary(summary, args.assignment)
            return summary.exit_code
        if args.command == "similarity":
            from .similarity import similarity
            from .similarity_report import write_report as write_similarity

            res = similarity(root, args.assignment, threshold=args.threshold, floor=args.floor,
                             archive=args.archive, library=not args.no_library, roster=args.roster, db_url=args.db)
            out = write_similarity(res, args.output or os.path.join(root, "reports", args.assignment))
            print(f"compared {len(res.students)} submission(s) of {args.assignment} in {res.seconds:.1f} s: "
                  f"{len(res.flagged('student'))} student pair(s) in {len(res.clusters)} cluster(s) and "
                  f"{len(res.flagged()) - len(res.flagged('student'))} match(es) with the model solution, the "
                  f"library or the archive at score >= {res.threshold:g}; {len(res.problems)} not compared")
            for p in res.problems[:20]:
                print(f"  not compared: {printable(p.student)}: {printable(p.reason)}", file=sys.stderr)
            print(f"report written to {out['html']} and {out['csv']}")
            return 0
        if args.command == "report":
            from .report import write_report

            out = write_report(root, args.assignment, args.output, db_url=args.db)
            print(f"report written to {out['html']} and {out['csv']}")
            return 0
        if args.command == "feedback":
            from .feedback import feedback

            res = feedback(root, args.assignment, student=args.student, force=args.force, db_url=args.db)
            print(f"feedback: {len(res.written)} written, {len(res.unchanged)} unchanged (already up to date), "
                  f"{len(res.failed)} failed")
            for s, reason in sorted(res.failed.items()):
                print(f"  {s}: {printable(reason)}", file=sys.stderr)
            if res.ungraded:
                shown = sorted(res.ungraded.items())[:12]
                cells = ", ".join(f"{printable(s)}: {n} cell{'s' if n != 1 else ''}" for s, n in shown)
                if len(res.ungraded) > len(shown):
                    cells += f", ... {len(res.ungraded) - len(shown)} more"
                print(f"warning: {len(res.ungraded)} student(s) have written answers not graded yet ({cells}): "
                      "their feedback shows them as not graded yet; grade them in formgrader, then run "
                      "feedback again", file=sys.stderr)
            return res.exit_code
        if args.command == "export":
            from .lms import export

            res = export(root, args.assignment, args.format, args.roster, output=args.output, db_url=args.db,
                         canvas_assignment=args.canvas_assignment, moodle_item=args.moodle_item,
                         feedback=args.feedback, canvas_download=args.canvas_download)
            counts = {}
            for r in res.rows:
                counts[r.status] = counts.get(r.status, 0) + 1
            print(f"exported {len(res.rows)} student(s) of {args.assignment} "
                  f"({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}):")
            for path in res.files:
                print(f"  {path}")
            for w in res.warnings:
                print(f"warning: {printable(w, 2000)}", file=sys.stderr)
            return 0
    except CourseError as exc:
        print(f"mixlearn-course: error: {exc}", file=sys.stderr)
        return 2
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
