"""Restore each cell's role (graded test, answer, task) from the gradebook before grading.

nbgrader's ``OverwriteCells`` puts back a submitted cell's source, lock and points from the
gradebook, but trusts the *flags* in the submitted metadata that say what a cell is. A student
who edits them (a test cell that is "no longer graded", an answer cell that claims points)
makes ``nbgrader autograde`` crash on the whole submission with ``MissingEntry: No such grade
cell``, so the student's honest work is lost too and the reason names no cause.
:class:`RestoreCellRoles` first sets ``grade``, ``solution`` and ``task`` of every cell with a
known ``grade_id`` to what the instructor's source says, then runs ``OverwriteCells`` as usual.
Metadata edits therefore change nothing, and the rest of the submission is graded.

Used in ``Autograde.sanitize_preprocessors`` in place of ``OverwriteCells`` (the course's
``nbgrader_config.py``; ``mixlearn-course`` does the same for a course that does not).
"""

from __future__ import annotations

from nbgrader.api import MissingEntry
from nbgrader.preprocessors import OverwriteCells

__all__ = ["RestoreCellRoles"]


class RestoreCellRoles(OverwriteCells):
    """``OverwriteCells`` that also restores which cells are graded, answers or tasks."""

    def _role(self, grade_id: str) -> dict | None:
        gb, nb, a = self.gradebook, self.notebook_id, self.assignment_id
        try:
            gb.find_source_cell(grade_id, nb, a)
        except MissingEntry:
            return None      # not the instructor's cell: OverwriteCells drops its grade_id
        role: dict = {"grade": False, "solution": False}
        try:
            role["points"] = float(gb.find_grade_cell(grade_id, nb, a).max_score)
            role["grade"] = True
        except MissingEntry:
            pass
        try:
            gb.find_solution_cell(grade_id, nb, a)
            role["solution"] = True
        except MissingEntry:
            pass
        try:
            gb.find_task_cell(grade_id, nb, a)
            role["task"] = True
        except MissingEntry:
            pass
        return role

    def preprocess_cell(self, cell, resources, cell_index):
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        role = self._role(grade_id) if grade_id is not None else None
        if role is not None:
            for flag in ("grade", "solution", "task"):
                was = bool(meta.get(flag, False))
                if was != bool(role.get(flag, False)):
                    self.report_change(grade_id, flag, bool(role.get(flag, False)), was)
            meta["grade"], meta["solution"] = role["grade"], role["solution"]
            if role.get("task"):
                meta["task"] = True
            else:
                meta.pop("task", None)
            if role["grade"]:
                meta["points"] = role["points"]
            else:
                meta.pop("points", None)
        return super().preprocess_cell(cell, resources, cell_index)
