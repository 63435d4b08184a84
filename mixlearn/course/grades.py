"""The one final number of every student for one assignment, read from nbgrader's gradebook.

Every output of ``mixlearn-course`` that shows a grade (``report``'s HTML and CSV, the LMS exports,
the feedback check) takes it from :func:`final_grades`, and it is the number ``nbgrader export``
writes: the sum of the cells' scores (manual grades replace automatic ones, as in nbgrader), minus
the late penalty stored at autograding, never below zero::

    final = max(0, raw - late_penalty)

The late penalty is nbgrader's own: its ``AssignLatePenalties`` plugin (``c.LateSubmissionPlugin.
penalty_method``, or any ``c.AssignLatePenalties.plugin_class``), from the submission's timestamp and
its due date *with the student's extension* (``mixlearn-course extension``, nbgrader's
``Gradebook.grant_extension``).  nbgrader stores it once, at autograding, from the score at that
moment; a due date, an extension or a manual grade that changes later would leave it stale (a late
student zeroed at autograding would keep the points of a manual grade given afterwards).
:func:`refresh_late_penalties` recomputes it with the same plugin on the current scores, and every
``mixlearn-course`` command that shows grades calls it first, so ``nbgrader export`` run after any
of them shows the same numbers.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

EPS = 1e-9


@dataclass(frozen=True)
class FinalGrade:
    """One student's grade for one assignment (plain data)."""

    student: str
    status: str                    # "graded", "not autograded" (submitted only) or "missing"
    raw: float | None              # sum of the cells' scores (None: nothing graded)
    late_penalty: float            # points taken for lateness (nbgrader's, at autograding)
    final: float | None            # max(0, raw - late_penalty): the number every output shows
    max_score: float
    seconds_late: float            # after the due date including the extension (0: on time)
    extension: datetime.timedelta | None
    timestamp: datetime.datetime | None
    manual_left: int               # cells that still need a grade by hand (written answers, ...)
    first_name: str = ""
    last_name: str = ""
    email: str = ""

    @property
    def needs_manual_grade(self) -> bool:
        return self.manual_left > 0

    @property
    def late(self) -> bool:
        return self.seconds_late > 0


def final_score(raw: float | None, penalty: float | None) -> float | None:
    """``max(0, raw - penalty)``: nbgrader export's formula."""
    if raw is None:
        return None
    return max(0.0, float(raw) - float(penalty or 0.0))


def _graded(sub) -> bool:
    return any(g.auto_score is not None or g.manual_score is not None for nb in sub.notebooks for g in nb.grades)


def final_grades(gb, assignment: str, submitted_on_disk=()) -> dict[str, FinalGrade]:
    """``{student: FinalGrade}`` for every student in the gradebook and every folder in
    *submitted_on_disk* (students who submitted but are not graded yet)."""
    submitted_on_disk = set(submitted_on_disk)
    a = gb.find_assignment(assignment)
    max_score = float(a.max_score)
    out: dict[str, FinalGrade] = {}
    for sub in gb.assignment_submissions(assignment):
        graded = _graded(sub)
        raw = float(sub.score) if graded else None
        penalty = float(sub.late_submission_penalty or 0.0) if graded else 0.0
        manual_left = sum(1 for nb in sub.notebooks for g in nb.grades
                          if g.needs_manual_grade) if graded else 0
        st = sub.student
        out[sub.student_id] = FinalGrade(
            student=sub.student_id, status="graded" if graded else (
                "not autograded" if sub.student_id in submitted_on_disk else "missing"), raw=raw,
            late_penalty=penalty, final=final_score(raw, penalty), max_score=max_score,
            seconds_late=float(sub.total_seconds_late or 0.0), extension=sub.extension, timestamp=sub.timestamp,
            manual_left=manual_left, first_name=st.first_name or "", last_name=st.last_name or "",
            email=st.email or "")
    for student in sorted(submitted_on_disk) + [s.id for s in gb.students]:
        if student not in out:
            out[student] = FinalGrade(student=student, status="not autograded" if student in submitted_on_disk
                                      else "missing", raw=None, late_penalty=0.0, final=None, max_score=max_score,
                                      seconds_late=0.0, extension=None, timestamp=None, manual_left=0)
    return dict(sorted(out.items()))


def refresh_late_penalties(config, gb, assignment: str) -> int:
    """Recompute every submitted notebook's late penalty as nbgrader's ``AssignLatePenalties``
    does (same plugin, same clamping to [0, score]) from the current scores, due date and
    extensions; store the changed ones.  Returns how many notebooks changed."""
    from nbgrader.plugins import LateSubmissionPlugin
    from nbgrader.preprocessors import AssignLatePenalties
    from traitlets.config import Config

    cfg = Config()
    cfg.merge(config)
    pre = AssignLatePenalties(config=cfg)
    plugin = pre.plugin_class(parent=pre) if pre.plugin_class else LateSubmissionPlugin(parent=pre)
    changed = 0
    for sub in gb.assignment_submissions(assignment):
        late = float(sub.total_seconds_late or 0.0)
        for nb in sub.notebooks:
            if not any(g.auto_score is not None or g.manual_score is not None for g in nb.grades):
                continue   # not graded: nothing to penalise yet
            penalty = None
            if late > 0:
                penalty = plugin.late_submission_penalty(sub.student_id, nb.score, late)
                if penalty is not None:
                    penalty = min(max(float(penalty), 0.0), float(nb.score))
            old = nb.late_submission_penalty
            if (old is None) != (penalty is None) or (old is not None and abs(old - penalty) > EPS):
                nb.late_submission_penalty = penalty
                changed += 1
    if changed:
        gb.db.commit()
    return changed
