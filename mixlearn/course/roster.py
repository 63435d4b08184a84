"""The class roster: who the students are in nbgrader and on the learning platform.

A roster is a CSV file with a header row.  Only ``student`` (the nbgrader student id, the folder
name under ``submitted/``) is required; the other columns, when present, let downloads and exports
be matched to students:

=============  ===================================================================================
column         meaning
=============  ===================================================================================
``student``    nbgrader student id
``name``       full name as the platform shows it ("Ada Lovelace")
``email``      e-mail address (Moodle's usual identifier for grade imports)
``canvas_id``  Canvas user id (the number in Canvas's bulk-download file names and grade export)
``sis_id``     Canvas "SIS User ID" (optional)
``login_id``   Canvas "SIS Login ID" (optional)
``section``    Canvas section (optional)
``moodle_id``  Moodle participant id (the number in Moodle's bulk-download folder names)
=============  ===================================================================================
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from .common import CourseError

COLUMNS = ("student", "name", "email", "canvas_id", "sis_id", "login_id", "section", "moodle_id")


@dataclass(frozen=True)
class RosterEntry:
    student: str
    name: str = ""
    email: str = ""
    canvas_id: str = ""
    sis_id: str = ""
    login_id: str = ""
    section: str = ""
    moodle_id: str = ""


@dataclass(frozen=True)
class Roster:
    entries: tuple[RosterEntry, ...]

    def by(self, column: str) -> dict[str, RosterEntry]:
        """``{value of column: entry}`` for entries where the column is filled in."""
        return {getattr(e, column): e for e in self.entries if getattr(e, column)}

    def get(self, student: str) -> RosterEntry | None:
        return self.by("student").get(student)


def read_roster(path: str, option: str = "--roster") -> Roster:
    """Read a roster CSV; a missing file, a missing ``student`` column, an empty or repeated
    student id raise :class:`CourseError` naming *option*, the row and the fix."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
            header = [h.strip().lower() for h in (rows[0].keys() if rows else [])]
    except FileNotFoundError:
        raise CourseError(f"{option} {path!r}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CourseError(f"{option} {path!r} is not a CSV file ({exc})") from None
    if not rows:
        raise CourseError(f"{option} {path!r} has no rows: write a header row with a 'student' column, "
                          "then one row per student")
    if "student" not in header:
        raise CourseError(f"{option} {path!r} has no 'student' column (the nbgrader student id); its columns "
                          f"are {', '.join(header)}. Known columns: {', '.join(COLUMNS)}")
    entries, seen = [], set()
    for i, row in enumerate(rows, start=2):
        clean = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        sid = clean.get("student", "")
        if not sid:
            raise CourseError(f"{option} {path!r}, line {i}: the 'student' column is empty")
        if sid in seen:
            raise CourseError(f"{option} {path!r}, line {i}: student {sid!r} appears twice")
        seen.add(sid)
        entries.append(RosterEntry(**{c: clean.get(c, "") for c in COLUMNS}))
    return Roster(tuple(entries))
