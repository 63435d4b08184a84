"""``collect``: import a class's download (a folder or a zip) into nbgrader's ``submitted/`` layout.

Collect takes what it can: every student whose download is valid is copied into
``submitted/<student>/<assignment>/``; every other one is listed with its reason
(:attr:`CollectResult.skipped`) and ``mixlearn-course collect`` exits with 1.  Problems with the
options themselves (a missing download, an unreadable or unsafe zip, a bad ``--roster`` or
``--timestamps`` file, submissions already collected without ``--force``) stop it before anything
is copied (exit 2).  Messages name paths as they are inside the download (the zip's own member
names, or paths relative to the folder given), never the tool's working folders.

Layouts (``--format``; ``auto`` picks one from the names at the top of the download, below at
most a chain of single wrapper folders such as ``submissions/``):

``folders``
    ``<student>/<files>`` or, for a single-notebook assignment, ``<student>.ipynb``; the folder
    or file name is the nbgrader student id.  With ``--roster`` a student not in it is skipped.
``canvas``
    Canvas's "Download Submissions" zip: flat files named
    ``<sortable name>_<user id>_<file id>_<file name as uploaded>``, with ``LATE`` (``late``)
    between the name and the user id when Canvas counts the submission late
    (``lovelaceada_late_1234_5678_toy.ipynb``; older Canvas wrote ``lovelace--ada-late_1234_...``).
    Canvas builds the prefix as ``[sortable_name, ('LATE' if late), user_id].join('_')``, strips
    non-word characters and lower-cases it, then appends ``_<attachment id>_<display name>``
    (``ContentZipper#get_filename`` / ``#add_upload_submission`` in instructure/canvas-lms
    ``lib/content_zipper.rb``).  Canvas itself names a file uploaded again under a name it already
    has ``<name>-1.<ext>``, ``-2`` ... (``Attachment.make_unique_filename``).  The user id is
    looked up in the roster's ``canvas_id`` column (Canvas user ids are stable); no fallback to
    the name, which Canvas has squashed.
``moodle``
    Moodle's "Download all submissions": one folder per participant and submission plugin,
    ``<Full Name>_<participant id>_assignsubmission_file_/<files, subfolders kept>`` (the default
    since Moodle 3.1, "Download submissions in folders"), or flat files
    ``<Full Name>_<participant id>_assignsubmission_file_<file name>`` (mod/assign/locallib.php
    ``download_submissions``: the prefix is the full name with ``_`` turned into spaces,
    ``_`` and ``get_uniqueid_for_user()``, then ``_<plugin type>_<plugin>_``, through
    ``clean_filename``; blind marking writes ``Participant`` for the name).  Only the ``file``
    plugin's entries are taken (online text and the like are left out, with a note).  The
    participant id is Moodle's per-assignment id (table ``assign_user_mapping``), *not* the user
    id, so it is looked up in the roster's ``moodle_id`` column first and, when it is not there,
    the full name is looked up in the roster's ``name`` column (case and spacing ignored) and
    taken only if exactly one roster row has that name; the match by name is noted.

Browser renames.  A student (or the instructor) who downloads ``04_em_n.ipynb`` twice gets
``04_em_n (1).ipynb`` (Chrome, Edge), ``04_em_n(1).ipynb`` (Firefox); Canvas renames a repeated
upload ``04_em_n-1.ipynb``.  Such a notebook at the top of a student's submission counts as
``04_em_n.ipynb`` with the number in the name (none = 0), and the rule is: **the highest number is
the latest download and is taken**; the others of that notebook are left out and a note lists
the choice.  Two candidates with the same highest number (``toy (1).ipynb`` and ``toy-1.ipynb``)
cannot be told apart: that student is skipped.  Copies (``04_em_n - Copy.ipynb``,
``04_em_n-Copy1.ipynb``) are not downloads of the notebook and count as unexpected notebooks,
like any other notebook name: which one holds the answer is the student's to say.  (A browser
takes the lowest free number, so a student who deleted ``(1)`` and downloaded again has a newer
``(1)`` than ``(2)``: the note shows what was taken.)  For a bare ``<student>.ipynb`` only the
``(n)`` forms are read as renames: ``-1`` may be part of a student id.

Submission times.  nbgrader takes a submission's time (and so its late penalty) from
``timestamp.txt`` in the submitted folder.  A student's own ``timestamp.txt`` is therefore never
copied: the time comes from the grader's side, the ``--timestamps`` CSV exported from the learning
platform (``student,time`` per line, keyed by nbgrader student id); without it no submission has
a time and none counts as late.  With ``--timestamps`` but no due date of the assignment in the
gradebook no submission can be late either, and a warning says how to set one.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import posixpath
import re
import shutil
import stat
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from .common import STUDENT_ID_RE, CourseError, load_nbgrader_config, printable, safe_db_url

MAX_ZIP_BYTES = 2 * 1024 ** 3
FORMATS = ("auto", "folders", "canvas", "moodle")
_JUNK = {"__MACOSX", ".ipynb_checkpoints", ".DS_Store", "Thumbs.db", "desktop.ini"}
_BAD_ID = ("is not a student id nbgrader can take (invalid student id: letters, digits, '_', '-', "
           "'.', '@', '+'; must start with a letter or digit)")

# Canvas: [sortable name, LATE, user id] joined with '_' (older Canvas: '-late_'), then file id, file name
CANVAS_RE = re.compile(r"^(?:(?P<name>.*?)[_-])??(?:(?P<late>late)_)?(?P<uid>\d+)_(?P<fid>\d+)_(?P<file>.+)$",
                       re.IGNORECASE | re.DOTALL)
# Moodle: <full name>_<participant id>_assign<subtype>_<plugin>_<rest>
MOODLE_RE = re.compile(r"^(?P<name>.*?)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[A-Za-z0-9]+)_(?P<rest>.*)$",
                       re.DOTALL)
# a browser's or Canvas's rename of a repeated download: "name (1)", "name(1)", "name-1"
_NUMBERED_RE = re.compile(r"^(?P<base>.+?)(?: ?\((?P<paren>\d+)\)|-(?P<dash>\d+))$", re.DOTALL)


# --------------------------------------------------------------------------- the result
@dataclass(frozen=True, eq=False)
class CollectResult:
    """What :func:`collect` did.

    ``collected``: the students copied into ``submitted/``, sorted; ``skipped``: ``{student id
    (or, when no student could be named, the path inside the download): reason}``; ``notes``:
    choices made on the way (which renamed download was taken, a roster match by name, ...);
    ``warnings``: things that make grades differ from what the instructor may expect (no due
    date, late Canvas submissions without times); ``layout``: the layout read (``folders``,
    ``canvas`` or ``moodle``).  It compares equal to the list of collected students, which is
    what :func:`collect` returned before.
    """

    collected: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    layout: str = "folders"

    @property
    def exit_code(self) -> int:
        """``mixlearn-course collect``'s exit status: 1 when any submission was skipped."""
        return 1 if self.skipped else 0

    def __eq__(self, other):
        if isinstance(other, CollectResult):
            return (self.collected, self.skipped, self.notes, self.warnings, self.layout) == \
                (other.collected, other.skipped, other.notes, other.warnings, other.layout)
        if isinstance(other, (list, tuple)):
            return list(self.collected) == list(other)
        return NotImplemented

    __hash__ = None


def print_result(result: CollectResult, assignment: str, download: str, out=None, err=None) -> None:
    """The command line's account of *result*: counts and notes on *out*, warnings and the skipped
    submissions with their reasons on *err*."""
    out = out or sys.stdout
    err = err or sys.stderr
    kind = {"canvas": " (Canvas download)", "moodle": " (Moodle download)"}.get(result.layout, "")
    print(f"collected {len(result.collected)} submission(s) for {assignment}{kind}", file=out)
    for note in result.notes:
        print(f"  note: {printable(note)}", file=out)
    for warning in result.warnings:
        print(f"warning: {printable(warning, 1000)}", file=err)
    if result.skipped:
        print(f"skipped {len(result.skipped)} submission(s) of {download}:", file=err)
        for key, reason in sorted(result.skipped.items()):
            print(f"  {printable(key)}: {printable(reason, 1000)}", file=err)
        print("fix them in the download (or ask the students) and run collect again; add --force to "
              "copy again those already collected", file=err)


# --------------------------------------------------------------------------- the assignment
def assignment_notebooks(coursedir, assignment: str) -> list[str]:
    """Notebook names of the assignment (source folder first, else the gradebook)."""
    source = coursedir.format_path(coursedir.source_directory, ".", assignment)
    names = sorted(os.path.splitext(os.path.basename(p))[0]
                   for p in glob.glob(os.path.join(source, "*.ipynb")))
    if names:
        return names
    from nbgrader.api import Gradebook, MissingEntry

    from .gradebook import check_gradebook

    check_gradebook(coursedir)
    try:
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
            return sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)
    except MissingEntry:
        raise CourseError(
            f"unknown assignment {assignment!r}: no {source} and not in the gradebook") from None


def assignment_due_date(coursedir, assignment: str):
    """The assignment's due date in the gradebook (``None`` when it has none, or the gradebook or
    the assignment is not there yet).  Reads only: a missing SQLite file is not created."""
    from sqlalchemy import inspect, text

    from .gradebook import _engine

    url = coursedir.db_url
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):
        return None
    engine = _engine(url)
    try:
        with engine.connect() as con:
            if "assignment" not in inspect(con).get_table_names():
                return None
            row = con.execute(text("SELECT duedate FROM assignment WHERE name = :a AND course_id = :c"),
                              {"a": assignment, "c": coursedir.course_id}).first()
            return row[0] if row else None
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- option files
def read_timestamps(path: str) -> dict[str, str]:
    """``{student: time}`` from a CSV of ``student,time`` lines (a header line is allowed); each
    time as nbgrader reads it (e.g. ``2026-11-28 15:00:00 UTC``; no zone means UTC)."""
    import csv

    from nbgrader.utils import parse_utc

    out, errors = {}, []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise CourseError(f"--timestamps {path!r}: no such file (give the CSV of 'student,time' lines "
                          "exported from the learning platform)") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CourseError(f"--timestamps {path!r} is not a readable CSV file ({exc.__class__.__name__}): "
                          "write one 'student,time' line per student") from None
    for i, row in enumerate(rows, 1):
        if not row or not "".join(row).strip() or i == 1 and row[0].strip().lower() in ("student", "student_id"):
            continue
        if len(row) != 2:
            errors.append(f"line {i}: expected 'student,time', got {len(row)} field(s)")
            continue
        student, stamp = row[0].strip(), row[1].strip()
        try:
            parse_utc(stamp)
        except Exception:
            errors.append(f"line {i}: {stamp!r} is not a time (write e.g. 2026-11-28 15:00:00 UTC)")
            continue
        if student in out:
            errors.append(f"line {i}: {student} appears twice")
        out[student] = stamp
    if errors:
        raise CourseError(f"--timestamps {path}:\n  " + "\n  ".join(errors))
    return out


def _load_roster(path: str):
    """The roster of ``--roster``, with every student id one nbgrader can take and no platform id
    given to two students."""
    from .roster import read_roster

    if os.path.isdir(path):
        raise CourseError(f"--roster {path!r} is a folder: give the roster's CSV file")
    roster = read_roster(path, "--roster")
    for line, entry in enumerate(roster.entries, start=2):
        if not STUDENT_ID_RE.match(entry.student):
            raise CourseError(f"--roster {path!r}, line {line}: {entry.student!r} {_BAD_ID}; write the "
                              f"nbgrader student id in the 'student' column")
    for column in ("canvas_id", "moodle_id"):
        seen: dict[str, int] = {}
        for line, entry in enumerate(roster.entries, start=2):
            value = getattr(entry, column)
            if value and value in seen:
                raise CourseError(f"--roster {path!r}, line {line}: {column} {value!r} is also on line "
                                  f"{seen[value]}; each {column} belongs to one student")
            seen.setdefault(value, line)
    return roster


def _roster_hint(layout: str) -> str:
    if layout == "canvas":
        return ("a CSV with a header row and the columns 'student' (nbgrader student id) and 'canvas_id' "
                "(the Canvas user id: the number after the name in the download's file names)")
    return ("a CSV with a header row and the columns 'student' (nbgrader student id) and 'moodle_id' (the "
            "participant id in the download's folder names) and/or 'name' (the full name as Moodle shows it)")


# --------------------------------------------------------------------------- reading a download
@dataclass
class _Entry:
    rel: str                                   # POSIX path inside the download, as the instructor sees it
    kind: str                                  # "file", "dir", "link" or "special"
    opener: Callable[[], IO[bytes]] | None = None


class _Node:
    def __init__(self, rel: str):
        self.rel = rel
        self.name = rel.rsplit("/", 1)[-1]
        self.entry: _Entry | None = None       # files, links
        self.children: dict[str, _Node] = {}
        self.is_dir = False

    def child(self, name: str) -> _Node:
        if name not in self.children:
            self.children[name] = _Node(f"{self.rel}/{name}" if self.rel else name)
        return self.children[name]


def _is_junk(relpath: str) -> bool:
    return any(p in _JUNK or p.startswith("._") for p in relpath.split("/"))


def _folder_entries(path: str) -> list[_Entry]:
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        reldir = os.path.relpath(dirpath, path).replace(os.sep, "/")
        reldir = "" if reldir == "." else reldir + "/"
        keep = []
        for d in sorted(dirnames):
            if os.path.islink(os.path.join(dirpath, d)):
                out.append(_Entry(reldir + d, "link"))
            else:
                keep.append(d)
                out.append(_Entry(reldir + d, "dir"))
        dirnames[:] = keep
        for f in sorted(filenames):
            full = os.path.join(dirpath, f)
            mode = os.lstat(full).st_mode
            if stat.S_ISLNK(mode):
                out.append(_Entry(reldir + f, "link"))
            elif not stat.S_ISREG(mode):
                out.append(_Entry(reldir + f, "special"))
            else:
                out.append(_Entry(reldir + f, "file", lambda p=full: open(p, "rb")))
    return out


def _zip_entries(zf: zipfile.ZipFile, path: str) -> list[_Entry]:
    out, total = [], 0
    for info in zf.infolist():
        name = info.filename.replace("\\", "/")
        norm = posixpath.normpath(name) if name else "."
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or norm == ".." or norm.startswith("../"):
            raise CourseError(f"{path}: unsafe path in zip: {info.filename!r} (it points outside the zip); "
                              "nothing was collected from this zip")
        total += info.file_size
        if total > MAX_ZIP_BYTES:
            raise CourseError(f"{path}: zip expands to more than 2 GiB; refusing to extract it")
        if norm == ".":
            continue
        mode = info.external_attr >> 16
        if info.is_dir():
            out.append(_Entry(norm, "dir"))
        elif stat.S_ISLNK(mode):
            out.append(_Entry(norm, "link"))
        else:
            out.append(_Entry(norm, "file", lambda i=info: zf.open(i)))
    return out


def _tree(entries: list[_Entry]) -> _Node:
    root = _Node("")
    for e in entries:
        if _is_junk(e.rel):
            continue
        node = root
        for part in e.rel.split("/"):
            node.is_dir = True
            node = node.child(part)
        if e.kind == "dir":
            node.is_dir = True
        else:
            node.entry = e
    return root


def _files_below(node: _Node, prefix: str = "") -> tuple[dict[str, _Entry], list[str]]:
    """``{path relative to node: entry}`` of the files below *node*, and the problems found."""
    files, problems = {}, []
    for name, child in sorted(node.children.items()):
        rel = prefix + name
        if child.entry is not None and child.is_dir:
            problems.append(f"{child.rel} is both a file and a folder in the download")
        elif child.entry is not None:
            if child.entry.kind == "link":
                problems.append(f"{child.rel} is a symbolic link (submit the file itself)")
            elif child.entry.kind == "special":
                problems.append(f"{child.rel} is not a regular file")
            else:
                files[rel] = child.entry
        else:
            sub, more = _files_below(child, rel + "/")
            files.update(sub)
            problems.extend(more)
    return files, problems


# --------------------------------------------------------------------------- notebook names
def _notebook_of(filename: str, notebooks: list[str]) -> tuple[str, int] | None:
    """``(notebook, download number)`` when *filename* is one of the assignment's notebooks or a
    renamed download of one (``name (n).ipynb``, ``name(n).ipynb``, ``name-n.ipynb``)."""
    if not filename.endswith(".ipynb"):
        return None
    stem = filename[:-len(".ipynb")]
    if stem in notebooks:
        return stem, 0
    m = _NUMBERED_RE.match(stem)
    if m and m.group("base") in notebooks:
        return m.group("base"), int(m.group("paren") or m.group("dash"))
    return None


def _looks_like_submission(node: _Node, notebooks: list[str]) -> bool:
    if MOODLE_RE.match(node.name):
        return True
    return any(c.entry is not None and _notebook_of(n, notebooks) for n, c in node.children.items())


# --------------------------------------------------------------------------- submissions
@dataclass
class _Raw:
    """One student's part of the download, before it is checked."""

    key: str                                   # how to name it while no student is known
    files: dict[str, tuple[_Entry, int]] = field(default_factory=dict)   # rel -> (entry, order)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    student: str | None = None                 # folders layout: the id written in the download
    canvas_id: str = ""
    moodle_id: str = ""
    name: str = ""
    late: bool = False

    def add(self, rel: str, entry: _Entry, order: int = 0) -> None:
        old = self.files.get(rel)
        if old is not None:
            if old[1] == order:
                self.problems.append(f"{old[0].rel} and {entry.rel} would both be {rel}")
                return
            keep, drop = (old, (entry, order)) if old[1] > order else ((entry, order), old)
            self.notes.append(f"took {keep[0].rel} (uploaded later) as {rel}, left out {drop[0].rel}")
            self.files[rel] = keep
        else:
            self.files[rel] = (entry, order)


def _detect(base: _Node) -> str:
    names = list(base.children)
    if any(MOODLE_RE.match(n) for n in names):
        return "moodle"
    files = [n for n, c in base.children.items() if not c.is_dir]
    if names and len(files) == len(names) and 2 * sum(bool(CANVAS_RE.match(n)) for n in files) > len(files):
        return "canvas"
    return "folders"


def _split_folders(base: _Node, notebooks: list[str], skipped: dict[str, str]) -> list[_Raw]:
    raws: dict[str, _Raw] = {}
    bare: dict[str, list[tuple[_Node, int]]] = {}
    for name, node in sorted(base.children.items()):
        if node.entry is not None and node.entry.kind in ("link", "special"):
            skipped[node.rel] = ("a symbolic link (submit the files themselves)" if node.entry.kind == "link"
                                 else "not a regular file")
        elif node.is_dir:
            raw = raws.setdefault(name, _Raw(key=node.rel, student=name))
            files, problems = _files_below(node)
            for rel, entry in files.items():
                raw.add(rel, entry)
            raw.problems.extend(problems)
            if node.entry is not None:
                raw.problems.append(f"{node.rel} is both a file and a folder in the download")
        elif name.endswith(".ipynb"):
            if len(notebooks) != 1:
                skipped[node.rel] = ("a bare <student>.ipynb is only accepted for single-notebook assignments; "
                                     "use <student>/<notebook>.ipynb")
                continue
            stem = name[:-len(".ipynb")]
            m = _NUMBERED_RE.match(stem)
            number = 0
            if m and m.group("paren"):
                stem, number = m.group("base"), int(m.group("paren"))
            bare.setdefault(stem, []).append((node, number))
        else:
            skipped[node.rel] = "not a student folder or a .ipynb file"
    for student, nodes in sorted(bare.items()):
        if student in raws:
            raws[student].problems.append(f"submitted both as the folder {raws[student].key}/ and as "
                                          f"{', '.join(n.rel for n, _ in nodes)}")
            continue
        raw = raws.setdefault(student, _Raw(key=nodes[0][0].rel, student=student))
        for node, number in nodes:
            # a bare file is the notebook itself: name it as a renamed download of it
            rel = notebooks[0] + (f" ({number}).ipynb" if number else ".ipynb")
            raw.add(rel, node.entry)
    return list(raws.values())


def _split_canvas(base: _Node, skipped: dict[str, str]) -> list[_Raw]:
    raws: dict[str, _Raw] = {}
    for name, node in sorted(base.children.items()):
        m = CANVAS_RE.match(name)
        if node.is_dir:
            skipped[node.rel] = "a folder in a Canvas download (Canvas's zip holds files only)"
        elif node.entry.kind != "file":
            skipped[node.rel] = "a symbolic link" if node.entry.kind == "link" else "not a regular file"
        elif not m:
            skipped[node.rel] = ("not a Canvas download name (<name>_<user id>_<file id>_<file name>, "
                                 "e.g. lovelaceada_1234_5678_toy.ipynb)")
        else:
            uid = m.group("uid")
            raw = raws.setdefault(uid, _Raw(key=node.rel, canvas_id=uid, name=m.group("name") or ""))
            raw.late = raw.late or bool(m.group("late"))
            raw.add(m.group("file"), node.entry, int(m.group("fid")))
    return list(raws.values())


def _split_moodle(base: _Node, skipped: dict[str, str]) -> list[_Raw]:
    raws: dict[str, _Raw] = {}
    for name, node in sorted(base.children.items()):
        m = MOODLE_RE.match(name)
        if not m:
            skipped[node.rel] = ("not a Moodle download name (<Full Name>_<participant id>_assignsubmission_file_"
                                 "/ or ..._assignsubmission_file_<file>)")
            continue
        pid = m.group("pid")
        raw = raws.setdefault(pid, _Raw(key=node.rel, moodle_id=pid, name=m.group("name")))
        if m.group("plugin") != "file":
            raw.notes.append(f"left out {node.rel}{'/' if node.is_dir else ''} (Moodle's "
                             f"{m.group('plugin')} plugin; only file submissions are collected)")
            continue
        if node.entry is not None and node.entry.kind != "file":
            raw.problems.append(f"{node.rel} is a symbolic link" if node.entry.kind == "link"
                                else f"{node.rel} is not a regular file")
        elif node.is_dir:
            files, problems = _files_below(node)
            for rel, entry in files.items():
                raw.add(rel, entry)
            raw.problems.extend(problems)
        elif m.group("rest"):
            raw.add(m.group("rest"), node.entry)
        else:
            raw.problems.append(f"{node.rel}: a file without a file name after the Moodle prefix")
    return list(raws.values())


def _norm_name(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).casefold()


def _map_students(raws: list[_Raw], layout: str, roster, roster_path: str | None,
                  skipped: dict[str, str]) -> dict[str, _Raw]:
    """``{student: raw}``; the rest go to *skipped* with their reasons."""
    out: dict[str, _Raw] = {}
    where: dict[str, list[str]] = {}
    by_canvas = roster.by("canvas_id") if roster else {}
    by_moodle = roster.by("moodle_id") if roster else {}
    by_name: dict[str, list] = {}
    for e in (roster.entries if roster else ()):
        if e.name:
            by_name.setdefault(_norm_name(e.name), []).append(e)
    for raw in raws:
        if layout == "folders":
            student = raw.student
            if not STUDENT_ID_RE.match(student):
                skipped[raw.key] = f"{student!r} {_BAD_ID}"
                continue
            if roster is not None and roster.get(student) is None:
                skipped[student] = (f"{raw.key}: {student!r} is not in the roster --roster {roster_path} "
                                    f"(add a row for them, or leave them out of the download)")
                continue
        elif layout == "canvas":
            entry = by_canvas.get(raw.canvas_id)
            if entry is None:
                skipped[raw.key] = (f"Canvas user {raw.canvas_id} ({raw.name or 'no name'}) is not in the roster "
                                    f"--roster {roster_path} (no row with canvas_id {raw.canvas_id})")
                continue
            student = entry.student
        else:
            entry = by_moodle.get(raw.moodle_id)
            if entry is None:
                named = by_name.get(_norm_name(raw.name), [])
                if len(named) == 1:
                    entry = named[0]
                    raw.notes.append(f"matched {raw.key} to {entry.student} by the name {raw.name!r} "
                                     f"(participant id {raw.moodle_id} is not in the roster's moodle_id column)")
                elif len(named) > 1:
                    skipped[raw.key] = (f"Moodle participant {raw.moodle_id} ({raw.name}): {len(named)} roster rows "
                                        f"have that name ({', '.join(e.student for e in named)}); give each "
                                        f"their moodle_id in --roster {roster_path}")
                    continue
                else:
                    skipped[raw.key] = (f"Moodle participant {raw.moodle_id} ({raw.name}) is not in the roster "
                                        f"--roster {roster_path} (no row with that moodle_id or name)")
                    continue
            student = entry.student
        where.setdefault(student, []).append(raw.key)
        out[student] = raw
    for student, keys in where.items():
        if len(keys) > 1:
            out.pop(student, None)
            skipped[student] = f"{len(keys)} parts of the download belong to this student: {', '.join(keys)}"
    return out


@dataclass
class _Plan:
    files: dict[str, _Entry]                   # destination rel -> entry
    notes: list[str]


def _check_notebook(entry: _Entry) -> str | None:
    """Why the notebook *entry* is not one nbgrader can read (``None`` when it is)."""
    import nbformat

    try:
        with entry.opener() as fh:
            data = fh.read()
    except (OSError, zipfile.BadZipFile, RuntimeError, EOFError, NotImplementedError) as exc:
        return f"{entry.rel}: could not be read from the download ({_why(exc)})"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return f"{entry.rel}: not a notebook (not UTF-8 text)"
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"{entry.rel}: not a notebook (invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", nb.get("worksheets")), list):
        return f"{entry.rel}: not a notebook (JSON without a list of cells)"
    try:
        nbformat.reads(text, as_version=4)
    except Exception as exc:
        return f"{entry.rel}: not a notebook nbgrader can read ({printable(exc, 200)})"
    return None


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror                    # never the file name: it may be a working path
    return printable(exc, 200) or exc.__class__.__name__


def _plan(student: str, raw: _Raw, notebooks: list[str]) -> _Plan | str:
    """What to copy for one student, or the reason the submission is skipped."""
    if raw.problems:
        return "; ".join(raw.problems)
    notes = list(raw.notes)
    files = {rel: entry for rel, (entry, _) in raw.files.items()}
    candidates: dict[str, list[tuple[int, str]]] = {}
    unknown = []
    for rel in sorted(files):
        if not rel.endswith(".ipynb"):
            continue
        hit = _notebook_of(rel, notebooks) if "/" not in rel else None
        if hit:
            candidates.setdefault(hit[0], []).append((hit[1], rel))
        else:
            unknown.append(files[rel].rel)
    expected = ", ".join(n + ".ipynb" for n in notebooks)
    if unknown:
        return f"unexpected notebook(s) {', '.join(unknown)} (expected {expected})"
    if not candidates:
        hint = " (a zip inside a submission is not unpacked)" if any(r.endswith(".zip") for r in files) else ""
        return f"no notebook found (expected {expected}){hint}"
    out: dict[str, _Entry] = {}
    for rel, entry in files.items():
        top = rel.split("/")[0]
        if top == "timestamp.txt":
            # nbgrader's submission time (a file, or a folder of that name that would stand in its
            # way): written by the grader only
            notes.append(f"left out {entry.rel} (submission times come from --timestamps, never from the student)")
            continue
        if rel.endswith(".ipynb") and "/" not in rel:
            continue
        out[rel] = entry
    for nb, cands in sorted(candidates.items()):
        cands.sort()
        best = cands[-1][0]
        top = [rel for number, rel in cands if number == best]
        if len(top) > 1:
            return (f"cannot tell which of {', '.join(files[r].rel for r in top)} is {nb}.ipynb "
                    f"(the same download number); keep one")
        chosen = files[top[0]]
        out[nb + ".ipynb"] = chosen
        if len(cands) > 1 or best:
            others = [files[r].rel for _, r in cands[:-1]]
            notes.append(f"took {chosen.rel} as {nb}.ipynb (the highest-numbered download is the latest)"
                         + (f"; left out {', '.join(others)}" if others else ""))
    missing = [n + ".ipynb" for n in notebooks if n not in candidates]
    if missing:
        notes.append(f"no {', '.join(missing)} (graded as not submitted)")
    for nb in candidates:
        why = _check_notebook(out[nb + ".ipynb"])
        if why:
            return why
    return _Plan(out, notes)


def _copy(plan: _Plan, dest: str, stamp: str | None, assignment: str) -> str | None:
    """Copy one submission into *dest* (replacing it); the reason when it could not be done."""
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=f".{assignment}-")
    current = None
    try:
        for rel, entry in sorted(plan.files.items()):
            current = entry.rel
            out = os.path.join(staging, *rel.split("/"))
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with entry.opener() as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        current = None
        if stamp is not None:
            with open(os.path.join(staging, "timestamp.txt"), "w", encoding="utf-8") as fh:
                fh.write(stamp)
        if os.path.exists(dest):
            shutil.rmtree(dest)
        os.rename(staging, dest)
        return None
    except (OSError, zipfile.BadZipFile, RuntimeError, EOFError, NotImplementedError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if current is not None:
            return f"{current}: could not be copied ({_why(exc)})"
        return f"could not be written to submitted/ ({_why(exc)})"
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- collect
def collect(root: str, assignment: str, path: str, force: bool = False, db_url: str | None = None,
            timestamps: str | None = None, roster: str | None = None, layout: str = "auto",
            partial: bool = False) -> CollectResult:
    """Copy the submissions of the download *path* (folder or zip) into
    ``submitted/<student>/<assignment>/``, with the submission times of the *timestamps* CSV (a
    student's own ``timestamp.txt`` is dropped).

    *layout*: ``auto``, ``folders``, ``canvas`` or ``moodle`` (see the module's documentation);
    Canvas and Moodle downloads need the *roster* CSV to name the students.

    With *partial* (what ``mixlearn-course collect`` does) the valid submissions are collected and
    the invalid ones are listed in :attr:`CollectResult.skipped`; without it (the default, as
    before) any invalid submission raises :class:`CourseError` listing them all and nothing is
    copied.  Problems with the options (the download, *roster*, *timestamps*, submissions already
    collected without *force*) always raise :class:`CourseError` before anything is copied.
    """
    if layout not in FORMATS:
        raise CourseError(f"--format {layout!r}: choose one of {', '.join(FORMATS)}")
    if not os.path.exists(path):
        raise CourseError(f"{path} does not exist: give the folder or .zip downloaded from the learning platform")
    if roster is not None and not os.path.exists(roster):
        raise CourseError(f"--roster {roster!r}: no such file")
    if timestamps is not None and os.path.isdir(timestamps):
        raise CourseError(f"--timestamps {timestamps!r} is a folder: give the CSV of 'student,time' lines")
    _, coursedir = load_nbgrader_config(root, db_url=db_url)
    times = read_timestamps(timestamps) if timestamps else {}
    the_roster = _load_roster(roster) if roster else None
    notebooks = assignment_notebooks(coursedir, assignment)

    with contextlib.ExitStack() as stack:
        if os.path.isfile(path):
            if not zipfile.is_zipfile(path):
                raise CourseError(f"{path} is neither a folder nor a zip file")
            try:
                zf = stack.enter_context(zipfile.ZipFile(path))
            except (zipfile.BadZipFile, OSError) as exc:
                raise CourseError(f"{path} is not a readable zip file ({_why(exc)})") from None
            entries = _zip_entries(zf, path)
        else:
            entries = _folder_entries(path)
        base = _tree(entries)
        while (len(base.children) == 1 and next(iter(base.children.values())).is_dir
               and next(iter(base.children.values())).entry is None
               and not _looks_like_submission(next(iter(base.children.values())), notebooks)):
            base = next(iter(base.children.values()))
        if not base.children:
            raise CourseError(f"no submissions found in {path}")

        found = _detect(base) if layout == "auto" else layout
        if found in ("canvas", "moodle") and the_roster is None:
            what = "Canvas" if found == "canvas" else "Moodle"
            how = " (detected; give --format folders if the names are student ids)" if layout == "auto" else ""
            raise CourseError(f"{path} is a {what} download{how}: its names are the platform's, not nbgrader "
                              f"student ids, so --roster is needed: {_roster_hint(found)}")
        if found == "canvas" and not the_roster.by("canvas_id"):
            raise CourseError(f"--roster {roster!r} has no canvas_id values, needed for a Canvas download: "
                              f"{_roster_hint('canvas')}")
        if found == "moodle" and not the_roster.by("moodle_id") and not the_roster.by("name"):
            raise CourseError(f"--roster {roster!r} has neither moodle_id nor name values, needed for a Moodle "
                              f"download: {_roster_hint('moodle')}")

        skipped: dict[str, str] = {}
        notes: list[str] = []
        warnings: list[str] = []
        if found == "canvas":
            raws = _split_canvas(base, skipped)
        elif found == "moodle":
            raws = _split_moodle(base, skipped)
        else:
            raws = _split_folders(base, notebooks, skipped)
        students = _map_students(raws, found, the_roster, roster, skipped)

        plans: dict[str, _Plan] = {}
        for student, raw in sorted(students.items()):
            plan = _plan(student, raw, notebooks)
            if isinstance(plan, str):
                skipped[student] = plan
            else:
                plans[student] = plan
                notes.extend(f"{student}: {n}" for n in plan.notes)
        late = sorted(s for s, raw in students.items() if raw.late and s in plans)
        if skipped and not partial:
            raise CourseError("invalid submissions:\n  " + "\n  ".join(
                f"{k}: {v}" for k, v in sorted(skipped.items())))
        if not plans and not skipped:
            raise CourseError(f"no submissions found in {path}")

        if timestamps:
            missing = sorted(set(plans) - set(times))
            if missing:
                raise CourseError(f"--timestamps {timestamps} has no time for {len(missing)} student(s): "
                                  f"{', '.join(missing[:10])}{', ...' if len(missing) > 10 else ''}; add a "
                                  f"'student,time' line for each (the time the platform recorded)")
            due, problem = _due_date(coursedir, assignment)
            if problem or due is None:
                warnings.append(problem or _no_due_date(coursedir, assignment, db_url))
            notes.extend(f"{s}: Canvas marks this submission late; its time in --timestamps decides the penalty"
                         for s in late)
        elif late:
            warnings.append(f"Canvas marks {len(late)} submission(s) late ({', '.join(late[:10])}"
                            f"{', ...' if len(late) > 10 else ''}), but without --timestamps no submission has a "
                            f"time and none gets a late penalty; give --timestamps CSV ('student,time' per line)")

        targets = {s: coursedir.format_path(coursedir.submitted_directory, s, assignment) for s in plans}
        existing = sorted(s for s, d in targets.items() if os.path.exists(d))
        if existing and not force:
            raise CourseError(
                f"{len(existing)} submission(s) already exist ({', '.join(existing[:10])}"
                f"{', ...' if len(existing) > 10 else ''}); use --force to overwrite them")

        collected = []
        for student, plan in sorted(plans.items()):
            why = _copy(plan, targets[student], times.get(student), assignment)
            if why:
                skipped[student] = why
            else:
                collected.append(student)
    return CollectResult(collected=collected, skipped=skipped, notes=notes, warnings=warnings, layout=found)


def _due_date(coursedir, assignment: str):
    """``(due date or None, problem or None)``: a gradebook that cannot be read does not stop collect."""
    try:
        return assignment_due_date(coursedir, assignment), None
    except Exception as exc:
        return None, (f"--timestamps: could not read the due date of {assignment} from the gradebook "
                      f"{safe_db_url(coursedir.db_url)} ({printable(exc, 200)}); without one no submission "
                      f"counts as late")


def _no_due_date(coursedir, assignment: str, db_url: str | None) -> str:
    db = f" --CourseDirectory.db_url={safe_db_url(coursedir.db_url)}" if db_url else ""
    return (f"--timestamps: assignment {assignment} has no due date in the gradebook, so no submission can be "
            f"late and none gets a late penalty; set one in the course folder before autograde, e.g. "
            f"`nbgrader db assignment add {assignment} --duedate='2026-11-28 15:00:00 UTC'{db}`")
