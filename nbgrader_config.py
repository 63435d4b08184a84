"""nbgrader configuration for the mixlearn course (the repository root is the course directory).

Layout: ``solutions/<assignment>/<assignment>.ipynb`` is the instructor's source (solutions and
hidden tests), ``exercises/<assignment>/<assignment>.ipynb`` the student release made from it by
``python scripts/release_exercises.py`` (a wrapper around ``nbgrader generate_assignment``).
``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db`` are created by grading and are
git-ignored.

nbgrader runs ``alembic`` as a subprocess, so the environment's ``bin`` directory must be on PATH.
``nbgrader validate`` exits with status 0 even when tests fail: read its output, or use
``nbgrader.apps.NbGraderAPI``.
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from mixlearn.course.cellroles import RestoreCellRoles
from mixlearn.course.feedback import FeedbackExporter, FeedbackFilter, FeedbackGrades
from mixlearn.course.limits import CELL_TIMEOUT
from mixlearn.course.trusted import TrustedComments, TrustedExecute

c = get_config()  # noqa: F821  (provided by traitlets when it executes this file)

c.CourseDirectory.course_id = "mixlearn"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# the trusted checks live beside each source notebook and are never released or collected
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "trusted_checks.py"]

# --- generate_assignment -------------------------------------------------------------------------
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# --- autograde -----------------------------------------------------------------------------------
# Grading model: the student's process computes, the grader's process judges.  TrustedExecute
# (mixlearn/course/trusted.py) replaces nbgrader's Execute: each autograder test cell runs as a
# probe of its trusted check (solutions/<a>/trusted_checks.py, hidden inputs drawn from a seed only
# the grader holds), the kernel runs in a bubblewrap sandbox that sees only its own submission and
# the student edition of mixlearn (EM switched off), and the verdicts are computed here, outside
# the sandbox, and are the only output of the test cells that SaveAutoGrades scores.
# RestoreCellRoles: OverwriteCells that also puts back which cells are tests and answers (a student
# who edits those flags would otherwise crash the grading of the whole submission)
c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreCellRoles, CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    TrustedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
    SaveAutoGrades, TrustedComments, AssignLatePenalties, CheckCellMetadata,
]
# Resource limits of each kernel: their defaults live in mixlearn.course.limits.Limits (2 GiB of
# address space, 256 MiB for each writable place of the sandbox, 600 CPU seconds per kernel, ...),
# which SandboxedKernelManager and `mixlearn-course autograde` both read.  To change one for this
# course under plain `nbgrader autograde`, set it here, e.g.
#     c.SandboxedKernelManager.memory = 4 * 1024**3
# (mixlearn-course takes them from its command line: --memory, --disk, --cpu, ...).
# The sandbox needs `apt-get install bubblewrap`.
# Per-cell limit, in CPU seconds of the kernel's processes (TrustedExecute.cpu_limited): a cell that
# uses more is interrupted (KeyboardInterrupt in the kernel), gets an error output and therefore no
# points, and the following cells still run.  The wall clock stops a cell only at 5x this (a cell
# that sleeps), so a busy machine does not cost an honest cell its points.
c.Execute.timeout = CELL_TIMEOUT
c.Execute.interrupt_on_timeout = True
c.Execute.execute_retries = 0
c.Execute.error_on_timeout = {
    "ename": "CellTimeoutError",
    "evalue": "this cell ran longer than the time limit and was interrupted (an endless loop?)",
    "traceback": ["CellTimeoutError: this cell ran longer than the time limit and was interrupted"],
}
# A test cell that a student deleted is put back (from the gradebook) before grading; an edited
# test cell is restored anyway because test cells are locked (their checksum is compared).
c.OverwriteCells.add_missing_cells = True
c.LimitOutput.max_lines = 300
c.LimitOutput.max_traceback = 60


# --- generate_feedback ---------------------------------------------------------------------------
# FeedbackFilter: test cells keep only their messages; outputs after the first test cell are dropped
# FeedbackGrades + FeedbackExporter: the page's total is the final number (max(0, score - late penalty),
# as nbgrader export writes it) and a written answer nobody has graded yet reads "not graded yet", not 0
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, FeedbackFilter, ClearHiddenTests,
                                    FeedbackGrades]
c.GenerateFeedback.exporter_class = FeedbackExporter
