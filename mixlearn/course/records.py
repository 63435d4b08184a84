"""Typed records that travel between the coordinator and the grading workers.

Only plain data: every record pickles to a few standard types, so it can cross a pipe to a
local worker process (or, later, a network hop) without carrying code.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from .limits import Limits


@dataclass(frozen=True)
class Task:
    """Grade one student's submission of one assignment."""

    student: str
    assignment: str
    seed: int                                   # the hidden-check seed (the grader's secret)
    extension: datetime.timedelta | None = None  # nbgrader's per-student deadline extension


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker grades: the course, the limits, the sandbox."""

    root: str
    overrides: tuple
    seed_db: str            # the gradebook without any student data (assignment definitions only)
    work_root: str          # where the worker makes one private course folder per submission
    limits: Limits
    sandbox: bool = True


@dataclass
class NotebookGrades:
    late_penalty: float | None
    missing: bool
    grades: dict            # grade cell name -> (auto score, needs manual grade)
    comments: dict          # comment cell name -> automatic comment


@dataclass
class SubmissionGrades:
    timestamp: datetime.datetime | None
    notebooks: dict = field(default_factory=dict)   # notebook name -> NotebookGrades


@dataclass
class Outcome:
    """What a worker reports for one task."""

    student: str
    ok: bool
    seconds: float = 0.0
    reason: str | None = None           # why it failed (shown to the instructor)
    log: str = ""
    work: str | None = None             # the private course folder (removed by the coordinator)
    grades: SubmissionGrades | None = None
    autograded: str | None = None       # folder with the autograded notebooks, moved into place
    sandbox_seconds: float = 0.0        # time spent building/tearing down sandboxes
    check_seconds: float = 0.0          # time spent preparing and judging trusted checks
