"""``export``: an assignment's grades and feedback in the files Canvas and Moodle import.

Every number written is :func:`mixlearn.course.grades.final_grades`'s ``final`` (nbgrader export's
``score``: the cells' scores minus nbgrader's late penalty, never below zero); nothing here
recomputes a grade.  Once every option has been checked, the stored late penalties are brought up
to date first (:func:`~mixlearn.course.grades.refresh_late_penalties`: due dates, extensions and
manual grades since autograding), as every command that shows grades does, so ``nbgrader export``
run afterwards shows the same numbers.  One row is written per student of the roster (``--roster``, see
:mod:`mixlearn.course.roster`); students of the gradebook who are not in the roster are listed as a
warning and not exported.

Formats and where they come from
================================

**Canvas gradebook import** (``canvas_grades.csv``).  Canvas imports the CSV file its own gradebook
exports (Instructor Guide "How do I import grades in the Gradebook?",
https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807,
which lists Student Name, Student ID, SIS User ID and SIS Login ID (with SIS), Section and the
assignment columns, as quoted in https://github.com/ucfopen/Materia/issues/1071).  What the
importer really reads was checked in Canvas's source,
``lib/gradebook_importer.rb`` and ``lib/gradebook_exporter.rb`` of
https://github.com/instructure/canvas-lms:

* header: ``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per
  assignment named ``Title (assignment id)`` (the exporter's ``title_with_id``); the importer
  requires ``Student`` and ``ID`` first and ``Section`` last of the student columns;
* a second row whose first cell is ``    Points Possible`` gives each assignment's points (we write
  nbgrader's maximum score; a new assignment is created with it);
* a student is matched by ``ID`` (Canvas user id), then ``SIS User ID``, then ``SIS Login ID``,
  then by name; an assignment column by the id in parentheses, else by its exact title, else a
  new assignment is created;
* any further column that is not an existing custom gradebook column is taken for an assignment
  (and would create one), and a column whose name contains ``Current Score``, ``Final Grade``,
  ... is dropped.  So the import file carries **no status column**: the late and manual-grading
  status of every student is written next to it, in ``canvas_status.csv`` (the columns of the
  ``csv`` format), for the instructor, not for import;
* a blank cell means "no grade": it leaves an empty Canvas cell empty and *removes* a grade
  Canvas already holds (the importer compares the cell with the current score and posts
  ``""``; the confirmation page lists it as a change).

**Moodle grade import** (``moodle_grades.csv``).  "The import file format is the same as the
corresponding export format" (https://docs.moodle.org/311/en/Grade_import; also
https://docs.moodle.org/27/en/Grade_import).  The plain-text export's columns were checked in
Moodle's source (https://github.com/moodle/moodle, ``grade/export/txt/grade_export_txt.php``,
``grade/export/lib.php``, the default ``grade_export_userprofilefields``
``firstname,lastname,idnumber,institution,department,email``): ``First name``, ``Last name``,
``ID number``, ``Institution``, ``Department``, ``Email address``, then per grade item
``<item> (Real)`` and, with feedback, ``<item> (Feedback)``, where ``<item>`` is
``Assignment: <activity name>`` for an assignment activity.  On import the instructor maps the
user column ("Map from" *Email address* to "Map to" *Email address*; Moodle can also map from
ID number or username) and each grade column to its grade item
(``grade/import/csv/classes/load_data.php``).  Decisions and assumptions:

* the late and manual-grading status goes into the feedback column (the students see it).
  Moodle's docs warn that importing feedback overwrites the item's grades, so both columns must
  be mapped together;
* ``Last downloaded from this course`` is left out: this file was not downloaded from Moodle,
  and that column only serves Moodle's check for grades changed after the download;
* Moodle's importer aborts the whole import on a row whose user it cannot find, and a row with an
  empty user field takes the previous row's user, so a roster student without an e-mail address
  (in the roster or the gradebook) stops the export with an error instead;
* ``ID number`` holds the roster's ``sis_id`` (the institution's id, when it is Moodle's ID
  number too); ``''`` and ``-`` are "no grade" to Moodle.

**Bulk feedback, Canvas** (``canvas_feedback.zip``).  Canvas's "Re-Upload Submissions" turns each
file of a zip into a comment on a submission, reading the file name as the "Download
Submissions" zip writes it, ``<name>_<user id>_<attachment id>_<file name>``: the first two
all-digit ``_`` parts are the Canvas user id and the id of a file *that student submitted*, and a
file is ignored unless that attachment belongs to the student's submission
(``infer_comment_context_from_filename`` in ``app/models/assignment.rb`` of canvas-lms).  The
attachment ids exist only in Canvas's download, so ``--canvas-download ZIP`` (that zip) is
needed: each student's feedback HTML is named after one of that student's downloaded files (the
one whose name starts with the notebook's, else the first).  Canvas shows the attachment under
the *submitted* file's display name; the comment text is Canvas's "See attached file".

**Bulk feedback, Moodle** (``moodle_feedback.zip``).  "Upload multiple feedback files in a zip"
(assignment feedback type *Feedback files*) assigns files "based on the participant id which
should be the second part of each filename immediately after the users full name"
(``mod/assign/feedback/file/lang/en/assignfeedback_file.php``); the importer
(``mod/assign/feedback/file/importziplib.php``) splits each path part at ``_`` into
``fullname_participantid_plugintype_pluginname`` (Moodle >= 4.1 folders; the older
``..._pluginname_file`` names also work).  We write
``<Full Name>_<participant id>_assignfeedback_file/<notebook>.html`` with the roster's
``moodle_id`` (the number in Moodle's "Download all submissions" folder names; it is not the
user id) and underscores in names replaced by spaces, as Moodle does.

Grades: decisions
=================

=============================  ==========================  ==============================================
student                        exported grade              why
=============================  ==========================  ==============================================
graded, nothing left by hand   ``final``                   nbgrader's number
cells still to grade by hand   blank (warning)             the number would still grow; Canvas and Moodle
                                                           would show it as the grade
submitted, not graded          blank (warning)             nothing to show yet; not a zero
no submission                  ``0``                       as ``nbgrader export`` (score 0.0)
in the gradebook, not roster   not exported (warning)      the platforms cannot match them
=============================  ==========================  ==============================================
"""

from __future__ import annotations

import csv
import datetime
import glob
import io
import os
import re
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field

from .common import CourseError, load_nbgrader_config, read_failures, submitted_students
from .roster import Roster, RosterEntry, read_roster

FORMATS = ("canvas", "moodle", "csv")

# Canvas: the student columns of the gradebook export/import (lib/gradebook_exporter.rb, with SIS ids)
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_POSSIBLE = "    Points Possible"
# columns Canvas's importer never reads as assignments (lib/gradebook_importer.rb)
CANVAS_RESERVED = ("Student", "LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID", "Section",
                   "Integration ID", "Root Account")
CANVAS_NON_ASSIGNMENT = ("Current Score", "Current Points", "Current Grade", "Final Score", "Final Points",
                         "Final Grade", "Override Score", "Override Grade", "Override Status")
# Moodle: the plain-text grade export's user columns (default grade_export_userprofilefields)
MOODLE_USER_COLUMNS = ("First name", "Last name", "ID number", "Institution", "Department", "Email address")
MOODLE_FEEDBACK_FOLDER = "{name}_{pid}_assignfeedback_file"

# our own CSV (--format csv, and canvas_status.csv next to the Canvas import file)
STATUS_COLUMNS = ("student", "name", "email", "canvas_id", "sis_id", "login_id", "section", "moodle_id",
                  "status", "grade", "final", "raw", "late_penalty", "max_score", "late", "seconds_late",
                  "extension", "timestamp", "manual_left", "note")

NEEDS_MANUAL = "needs manual grading"
NOT_GRADED = "not graded"
MISSING = "missing"
GRADED = "graded"


@dataclass(frozen=True)
class Row:
    """One roster student's line in every export."""

    entry: RosterEntry
    grade: object | None          # FinalGrade, or None: not in the gradebook at all
    status: str                   # GRADED, NEEDS_MANUAL, NOT_GRADED or MISSING
    value: float | None           # the exported grade (None: blank)
    note: str                     # the status in words (Moodle's feedback column, the status CSV)

    @property
    def student(self) -> str:
        return self.entry.student


@dataclass
class ExportResult:
    files: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    no_feedback: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------- helpers

def _num(x) -> str:
    return "" if x is None else repr(float(x))


def duration(seconds: float) -> str:
    """``'1 d 2 h 5 min'`` (whole minutes, at least ``'1 min'`` for anything late)."""
    minutes = max(1, int(round(seconds / 60.0))) if seconds > 0 else 0
    d, rest = divmod(minutes, 24 * 60)
    h, m = divmod(rest, 60)
    parts = [f"{d} d"] * bool(d) + [f"{h} h"] * bool(h) + [f"{m} min"] * bool(m)
    return " ".join(parts) or "0 min"


def _extension_text(ext: datetime.timedelta | None) -> str:
    return duration(ext.total_seconds()) if ext else ""


def _note(g, status: str, reason: str = "") -> str:
    if g is None or status == MISSING:
        return "no submission: 0 points"
    parts = []
    if status == NOT_GRADED:
        parts.append("submitted, not graded yet" + (f" ({reason})" if reason else ""))
    if status == NEEDS_MANUAL:
        parts.append(f"grade not final: {g.manual_left} answer(s) still to be graded by hand")
    if g.seconds_late > 0:
        ext = f" (after an extension of {_extension_text(g.extension)})" if g.extension else ""
        parts.append(f"late by {duration(g.seconds_late)}{ext}: {g.late_penalty:g} point(s) taken off")
    elif g.extension:
        parts.append(f"on time with an extension of {_extension_text(g.extension)}")
    return "; ".join(parts)


def _row(entry: RosterEntry, g, reason: str) -> Row:
    if g is None or g.status == "missing":
        return Row(entry, g, MISSING, 0.0, _note(g, MISSING))
    if g.status != "graded" or g.final is None:
        return Row(entry, g, NOT_GRADED, None, _note(g, NOT_GRADED, reason))
    if g.manual_left > 0:
        return Row(entry, g, NEEDS_MANUAL, None, _note(g, NEEDS_MANUAL))
    return Row(entry, g, GRADED, float(g.final), _note(g, GRADED))


def _display_name(row: Row) -> str:
    if row.entry.name:
        return row.entry.name
    g = row.grade
    full = " ".join(p for p in (getattr(g, "first_name", ""), getattr(g, "last_name", "")) if p)
    return full or row.student


def _split_name(row: Row) -> tuple[str, str]:
    g = row.grade
    if g is not None and (g.first_name or g.last_name) and not row.entry.name:
        return g.first_name, g.last_name
    name = _display_name(row).strip()
    if " " not in name:
        return name, ""
    first, last = name.rsplit(" ", 1)
    return first, last


def _email(row: Row) -> str:
    return row.entry.email or (row.grade.email if row.grade is not None else "")


def _listing(items, limit: int = 10) -> str:
    items = list(items)
    return ", ".join(items[:limit]) + (f", ... ({len(items)} in all)" if len(items) > limit else "")


# ----------------------------------------------------------------------------------------- writers

def status_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(STATUS_COLUMNS)
    for r in rows:
        g, e = r.grade, r.entry
        w.writerow([e.student, _display_name(r), _email(r), e.canvas_id, e.sis_id, e.login_id, e.section,
                    e.moodle_id, r.status, _num(r.value),
                    _num(g.final if g is not None else None), _num(g.raw if g is not None else None),
                    _num(g.late_penalty if g is not None else 0.0), _num(g.max_score if g is not None else None),
                    int(bool(g is not None and g.late)), _num(g.seconds_late if g is not None else 0.0),
                    _extension_text(g.extension) if g is not None else "",
                    g.timestamp.isoformat() if g is not None and g.timestamp else "",
                    g.manual_left if g is not None else 0, r.note])
    return out.getvalue()


def canvas_csv(rows: list[Row], column: str, max_score: float) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(list(CANVAS_STUDENT_COLUMNS) + [column])
    w.writerow([CANVAS_POINTS_POSSIBLE, "", "", "", "", _num(max_score)])
    for r in rows:
        e = r.entry
        w.writerow([_display_name(r), e.canvas_id, e.sis_id, e.login_id, e.section, _num(r.value)])
    return out.getvalue()


def moodle_csv(rows: list[Row], item: str) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(list(MOODLE_USER_COLUMNS) + [f"{item} (Real)", f"{item} (Feedback)"])
    for r in rows:
        first, last = _split_name(r)
        w.writerow([first, last, r.entry.sis_id, "", "", _email(r), _num(r.value), r.note])
    return out.getvalue()


# ------------------------------------------------------------------------------- Canvas downloads

@dataclass(frozen=True)
class CanvasFile:
    prefix: str          # the name part(s) before the user id, e.g. "lovelaceada" or "lovelaceada_LATE"
    user_id: str
    attachment_id: str
    filename: str        # the submitted file's name


def parse_canvas_name(name: str) -> CanvasFile | None:
    """The user and attachment id in a file name of Canvas's "Download Submissions" zip, read as
    Canvas's re-upload reads them (the first two all-digit ``_`` parts), or None."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if not base or base.startswith("._"):
        return None
    parts = base.split("_")
    digits = [i for i, p in enumerate(parts) if re.fullmatch(r"\d+", p)]
    if len(digits) < 2 or parts[-1].startswith("link"):
        return None
    i, j = digits[0], digits[1]
    return CanvasFile("_".join(parts[:i]), parts[i], parts[j], "_".join(parts[j + 1:]))


def read_canvas_download(path: str, option: str = "--canvas-download") -> dict[str, list[CanvasFile]]:
    """``{Canvas user id: [files]}`` from Canvas's "Download Submissions" zip."""
    if not os.path.isfile(path):
        raise CourseError(f"{option} {path!r}: no such file; download the submissions zip from the "
                          "assignment's page in Canvas (Download Submissions) and pass its path")
    if not zipfile.is_zipfile(path):
        raise CourseError(f"{option} {path!r} is not a zip file; pass the zip Canvas's Download Submissions "
                          "gives, unchanged")
    with zipfile.ZipFile(path) as zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
    out: dict[str, list[CanvasFile]] = {}
    for n in names:
        f = parse_canvas_name(n)
        if f is not None:
            out.setdefault(f.user_id, []).append(f)
    if not out:
        raise CourseError(f"{option} {path!r} has no file named as Canvas names downloaded submissions "
                          "(<name>_<user id>_<attachment id>_<file>); pass the zip of Download Submissions, "
                          "with its file names unchanged")
    return out


def _pick_attachment(files: list[CanvasFile], notebook: str) -> CanvasFile:
    def key(f):
        return (not f.filename.startswith(notebook), int(f.attachment_id))
    return sorted(files, key=key)[0]


# ------------------------------------------------------------------------------------ validation

@dataclass
class Plan:
    fmt: str
    out_dir: str
    rows: list[Row]
    max_score: float
    coursedir: object
    canvas_column: str = ""
    moodle_item: str = ""
    feedback: bool = False
    canvas_download: dict | None = None
    warnings: list[str] = field(default_factory=list)


def _check_output(out_dir: str, shown: str) -> None:
    path = os.path.abspath(out_dir)
    if os.path.exists(path) and not os.path.isdir(path):
        raise CourseError(f"--output {shown!r} is a file, not a folder; give a folder with --output")
    probe = path
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise CourseError(f"--output {shown!r}: {probe} is a file, so the folder cannot be made there; "
                          "give another folder with --output")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise CourseError(f"--output {shown!r}: the folder {probe} is not writable; give a folder you can "
                          "write to with --output")


def _check_canvas_column(column: str, warnings: list[str]) -> None:
    if not column.strip():
        raise CourseError("--canvas-assignment is empty; give the Canvas column as 'Title (assignment id)', "
                          "e.g. 'Toy (12345)', as in Canvas's gradebook export")
    if column.strip() in CANVAS_RESERVED:
        raise CourseError(f"--canvas-assignment {column!r} is one of Canvas's student columns; give the "
                          "assignment's column as 'Title (assignment id)'")
    hit = next((w for w in CANVAS_NON_ASSIGNMENT if w in column), None)
    if hit:
        raise CourseError(f"--canvas-assignment {column!r} contains {hit!r}, and Canvas's import drops such "
                          "columns; rename the assignment in Canvas or give its column as 'Title (assignment id)'")
    if not re.search(r"\(\d+\)\s*$", column):
        warnings.append(f"the Canvas column {column!r} has no assignment id: Canvas matches it by exact title "
                        "and creates a new assignment if none has that title; give --canvas-assignment "
                        "'Title (assignment id)' as in Canvas's gradebook export to be sure")


def plan_export(root: str, assignment: str, fmt: str, roster: str | None, output: str | None = None,
                db_url: str | None = None, canvas_assignment: str | None = None,
                moodle_item: str | None = None, feedback: bool = False,
                canvas_download: str | None = None) -> Plan:
    """Check every option, then read the grades.  No file is written; once the options are good the
    gradebook's stored late penalties are brought up to date (``refresh_late_penalties``)."""
    from nbgrader.api import Gradebook, MissingEntry

    from .gradebook import check_gradebook
    from .grades import final_grades, refresh_late_penalties

    if fmt not in FORMATS:
        raise CourseError(f"--format {fmt!r} is not a known format; use one of {', '.join(FORMATS)}")
    if fmt != "canvas" and canvas_assignment is not None:
        raise CourseError(f"--canvas-assignment is only used with --format canvas (not {fmt!r})")
    if fmt != "moodle" and moodle_item is not None:
        raise CourseError(f"--moodle-item is only used with --format moodle (not {fmt!r})")
    if canvas_download is not None and not (fmt == "canvas" and feedback):
        raise CourseError("--canvas-download is only used with --format canvas --feedback (it names the "
                          "feedback files after Canvas's download)")
    if feedback and fmt == "csv":
        raise CourseError("--feedback needs --format canvas or --format moodle (the zip's layout is the "
                          "platform's); the feedback itself is in feedback/<student>/<assignment>/")
    if roster is None and fmt != "csv":
        raise CourseError(f"--format {fmt} needs --roster CSV: the roster matches nbgrader's student ids to "
                          f"the platform's students (columns: student, name, email, canvas_id, sis_id, "
                          f"login_id, section, moodle_id)")
    if not os.path.isdir(root):
        raise CourseError(f"--course {root!r}: no such folder")
    warnings: list[str] = []
    rost = read_roster(roster, "--roster") if roster is not None else None
    download = read_canvas_download(canvas_download) if canvas_download is not None else None
    if fmt == "canvas" and feedback and download is None:
        raise CourseError("--feedback for Canvas needs --canvas-download ZIP: Canvas attaches a re-uploaded file "
                          "only when its name holds the student's Canvas user id and the id of a file that "
                          "student submitted, and those ids are only in the zip of Canvas's Download Submissions")
    canvas_column = ""
    if fmt == "canvas":
        canvas_column = canvas_assignment if canvas_assignment is not None else assignment
        _check_canvas_column(canvas_column, warnings)
    item = ""
    if fmt == "moodle":
        item = moodle_item if moodle_item is not None else f"Assignment: {assignment}"
        if not item.strip():
            raise CourseError("--moodle-item is empty; give the grade item as Moodle's grader report names it, "
                              "e.g. 'Assignment: Toy'")

    config, coursedir = load_nbgrader_config(root, db_url=db_url)
    out_dir = output or os.path.join(coursedir.root, "reports", assignment)
    _check_output(out_dir, output or out_dir)
    url = coursedir.db_url
    if url.startswith("sqlite:///"):
        db_file = os.path.join(coursedir.root, url[len("sqlite:///"):].split("?", 1)[0])
        if not os.path.exists(db_file):
            raise CourseError(f"there is no gradebook {db_file} yet, so {assignment!r} has no grades; collect and "
                              "autograde the assignment first, or point --db at the course's gradebook")
    check_gradebook(coursedir, assignment)
    on_disk = submitted_students(coursedir, assignment)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            max_score = float(gb.find_assignment(assignment).max_score)
        except MissingEntry:
            raise CourseError(f"assignment {assignment!r} is not in the gradebook; check the assignment's name "
                              "(nbgrader db assignment list)") from None
        grades = final_grades(gb, assignment, submitted_on_disk=on_disk)   # read only, for the checks below
    failures = read_failures(coursedir, assignment)

    if rost is None:
        rost = Roster(tuple(RosterEntry(student=s) for s in grades))

    def rows_of(grades):
        return [_row(e, grades.get(e.student), failures.get(e.student, {}).get("reason", "")) for e in rost.entries]

    rows = rows_of(grades)
    if fmt == "moodle":
        no_email = [r.student for r in rows if not _email(r)]
        if no_email:
            raise CourseError(f"--roster {roster!r}: no e-mail address for {len(no_email)} student(s) "
                              f"({_listing(no_email)}), and Moodle's import matches students by it (a row without "
                              "one is given the previous row's student); fill in the roster's 'email' column")
        counts = Counter(_email(r) for r in rows)
        dup = sorted(e for e, n in counts.items() if n > 1)
        if dup:
            raise CourseError(f"--roster {roster!r}: the e-mail address(es) {_listing(dup)} belong to more than one "
                              "student; Moodle's import matches students by e-mail address")
    if fmt == "canvas":
        for col in ("canvas_id", "sis_id", "login_id"):
            counts = Counter(getattr(r.entry, col) for r in rows if getattr(r.entry, col))
            dup = sorted(v for v, n in counts.items() if n > 1)
            if dup:
                raise CourseError(f"--roster {roster!r}: the {col} value(s) {_listing(dup)} belong to more than one "
                                  "student; Canvas would give both rows to one user. Correct the roster")
        by_name = [r.student for r in rows if not (r.entry.canvas_id or r.entry.sis_id or r.entry.login_id)]
        if by_name:
            warnings.append(f"{len(by_name)} student(s) have no canvas_id, sis_id or login_id in the roster, so "
                            f"Canvas can match them only by name: {_listing(by_name)}")
    # every option is good: bring the stored late penalties up to date (due dates, extensions and manual
    # grades since autograding, as every command that shows grades does), then read the final numbers
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        refresh_late_penalties(config, gb, assignment)
        grades = final_grades(gb, assignment, submitted_on_disk=on_disk)
    rows = rows_of(grades)
    in_roster = {e.student for e in rost.entries}
    extra = sorted(s for s, g in grades.items() if s not in in_roster and g.status != "missing")
    if extra:
        warnings.append(f"{len(extra)} student(s) with a submission are not in the roster and are not exported: "
                        f"{_listing(extra)}")
    manual = [r.student for r in rows if r.status == NEEDS_MANUAL]
    if manual and fmt != "csv":
        warnings.append(f"{len(manual)} student(s) still need grading by hand; their grade is left blank: "
                        f"{_listing(manual)}")
    ungraded = [r.student for r in rows if r.status == NOT_GRADED]
    if ungraded and fmt != "csv":
        warnings.append(f"{len(ungraded)} student(s) submitted but are not graded; their grade is left blank: "
                        f"{_listing(ungraded)}")
    return Plan(fmt=fmt, out_dir=out_dir, rows=rows, max_score=max_score,
                coursedir=coursedir, canvas_column=canvas_column, moodle_item=item, feedback=feedback,
                canvas_download=download, warnings=warnings)


# --------------------------------------------------------------------------------------- writing

def _feedback_files(coursedir, student: str, assignment: str) -> dict[str, str]:
    """``{notebook: path}`` of the student's feedback HTML."""
    folder = coursedir.format_path(coursedir.feedback_directory, student, assignment)
    return {os.path.splitext(os.path.basename(p))[0]: p for p in sorted(glob.glob(os.path.join(folder, "*.html")))}


def _zip_members(plan: Plan, assignment: str) -> tuple[dict[str, str], dict[str, str]]:
    """``({name in zip: file}, {student: why no feedback})``."""
    members: dict[str, str] = {}
    missing: dict[str, str] = {}
    for r in plan.rows:
        files = _feedback_files(plan.coursedir, r.student, assignment)
        if not files:
            missing[r.student] = ("no submission" if r.status == MISSING else
                                  "no feedback file (run `mixlearn-course feedback` first)")
            continue
        if plan.fmt == "canvas":
            if not r.entry.canvas_id:
                missing[r.student] = "no canvas_id in the roster"
                continue
            downloaded = plan.canvas_download.get(r.entry.canvas_id)
            if not downloaded:
                missing[r.student] = (f"Canvas user {r.entry.canvas_id} has no file in --canvas-download "
                                      "(Canvas attaches feedback only to a submission with a file)")
                continue
            for nb, path in files.items():
                f = _pick_attachment(downloaded, nb)
                prefix = f"{f.prefix}_" if f.prefix else ""
                members[f"{prefix}{f.user_id}_{f.attachment_id}_{nb}.html"] = path
        else:
            if not r.entry.moodle_id:
                missing[r.student] = "no moodle_id (participant id) in the roster"
                continue
            name = re.sub(r"[_/\\]", " ", _display_name(r)).strip() or r.student.replace("_", " ")
            folder = MOODLE_FEEDBACK_FOLDER.format(name=name, pid=r.entry.moodle_id)
            for nb, path in files.items():
                members[f"{folder}/{nb}.html"] = path
    return members, missing


def _write_text(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _write_zip(path: str, members: dict[str, str]) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, src in sorted(members.items()):
                zf.write(src, name)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def export(root: str, assignment: str, fmt: str, roster: str | None, output: str | None = None,
           db_url: str | None = None, canvas_assignment: str | None = None, moodle_item: str | None = None,
           feedback: bool = False, canvas_download: str | None = None) -> ExportResult:
    """Write the grades (and with *feedback* the feedback zip) of *assignment* for *fmt*; every
    option is checked (:func:`plan_export`) before the first file is written."""
    plan = plan_export(root, assignment, fmt, roster, output, db_url, canvas_assignment, moodle_item,
                       feedback, canvas_download)
    res = ExportResult(rows=plan.rows, warnings=list(plan.warnings))
    members: dict[str, str] = {}
    if plan.feedback:
        members, res.no_feedback = _zip_members(plan, assignment)
        if not members:
            raise CourseError(f"no feedback to bundle for {assignment!r}: "
                              f"{_listing(f'{s} ({why})' for s, why in sorted(res.no_feedback.items()))}")
    os.makedirs(plan.out_dir, exist_ok=True)
    out = plan.out_dir
    if fmt == "csv":
        files = {os.path.join(out, "grades.csv"): status_csv(plan.rows)}
    elif fmt == "canvas":
        files = {os.path.join(out, "canvas_grades.csv"): canvas_csv(plan.rows, plan.canvas_column, plan.max_score),
                 os.path.join(out, "canvas_status.csv"): status_csv(plan.rows)}
    else:
        files = {os.path.join(out, "moodle_grades.csv"): moodle_csv(plan.rows, plan.moodle_item)}
    for path, text in files.items():
        _write_text(path, text)
        res.files.append(path)
    if plan.feedback:
        path = os.path.join(out, f"{fmt}_feedback.zip")
        _write_zip(path, members)
        res.files.append(path)
        if res.no_feedback:
            res.warnings.append(f"{len(res.no_feedback)} student(s) get no feedback file: " + _listing(
                f"{s} ({why})" for s, why in sorted(res.no_feedback.items())))
    return res
