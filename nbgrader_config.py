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

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor

c = get_config()  # noqa: F821  (provided by traitlets when it executes this file)

c.CourseDirectory.course_id = "mixlearn"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# --- generate_assignment -------------------------------------------------------------------------
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# --- autograde -----------------------------------------------------------------------------------
# Per-cell limit: a cell that runs longer is interrupted (KeyboardInterrupt in the kernel), gets an
# error output and therefore no points, and the following cells still run.
c.Execute.timeout = 60
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
class HideTestDetails(NbGraderPreprocessor):  # enabled by default, unlike nbconvert's base class
    """Keep test failures to their message in feedback.

    The autograded notebook holds the full test cells, hidden tests included, and IPython's
    tracebacks quote the lines around the failing assertion. For every autograder test cell this
    replaces each error's traceback by its last line (``AssertionError: <what was expected>``);
    ``ClearHiddenTests`` (after this one) then removes the hidden test source itself.
    """

    def preprocess_cell(self, cell, resources, index):
        nbg = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and nbg.get("grade") and not nbg.get("solution"):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    message = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".rstrip(": ")
                    out["traceback"] = [message]
        return cell, resources


c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, HideTestDetails, ClearHiddenTests]
