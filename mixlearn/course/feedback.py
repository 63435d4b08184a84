"""``feedback``: per-student HTML feedback without the hidden tests.

nbgrader's ``GenerateFeedback`` converter is used with the course's configuration,
with two preprocessors added in front of it when the configuration does not already
have them:

* :class:`FeedbackFilter` keeps only the messages of the test cells and drops the outputs
  of code cells that ran after the first test cell;
* nbgrader's ``ClearHiddenTests`` removes the hidden regions from the cell source.

Each generated file is then checked: if any line of a hidden test can still be read
in it, the file is deleted and the student is reported as failed.
"""

from __future__ import annotations

import fnmatch
import html
import os
import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from .common import CourseError, load_nbgrader_config

BEGIN = "### BEGIN HIDDEN TESTS"
END = "### END HIDDEN TESTS"


class FeedbackFilter(Preprocessor):
    """What a student's feedback may show of the autograded notebook.

    Every autograder test cell keeps only its messages: each error's traceback (which would quote
    the hidden lines around a failing assertion) becomes ``ename: evalue``.  The outputs of the
    student's own cells stay: with trusted checks the hidden inputs reach the kernel only after the
    notebook's last cell has run, and from then on the kernel can no longer rewrite earlier outputs
    (see :class:`mixlearn.course.trusted.TrustedExecute`).  A notebook autograded without trusted
    checks (no verdict in its test cells) loses the outputs of every code cell after its
    first test cell, as before.

    nbgrader's ``ClearHiddenTests`` (after this one) removes the hidden test source itself.
    """

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        from .trusted import is_test_cell, is_verdict

        # graded with trusted checks: the test cells' outputs are verdicts (students cannot write there)
        trusted = any(is_verdict(o) for c in nb.cells if is_test_cell(c) for o in c.get("outputs", []))
        seen_test = False
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            nbg = cell.metadata.get("nbgrader", {})
            if nbg.get("grade") and not nbg.get("solution"):
                seen_test = True
                for out in cell.get("outputs", []):
                    if out.get("output_type") == "error":
                        out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
            elif seen_test and cell.get("outputs") and not trusted:
                cell.outputs = []
        return nb, resources


def hidden_lines(coursedir, assignment: str) -> list[str]:
    """Meaningful lines of the hidden tests of the assignment's source notebooks."""
    import glob

    import nbformat

    hidden, visible = [], set()
    src = coursedir.format_path(coursedir.source_directory, ".", assignment)
    for path in glob.glob(os.path.join(src, "*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            inside = False
            for line in cell.source.splitlines():
                s = line.strip()
                if "BEGIN HIDDEN TESTS" in line:
                    inside = True
                elif "END HIDDEN TESTS" in line:
                    inside = False
                elif inside:
                    if len(s) >= 8 and not s.startswith("#"):
                        hidden.append(s)
                else:
                    visible.add(s)
    # a line that students can also see outside the hidden regions is no secret
    return [s for s in hidden if s not in visible]


def _visible_text(page: str) -> str:
    text = re.sub(r"<style.*?</style>|<script.*?</script>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def feedback(root: str, assignment: str, student: str | None = None, force: bool = False) -> dict:
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.converters import GenerateFeedback
    from nbgrader.converters.base import NbGraderException
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades
    from traitlets.config import Config

    config, coursedir = load_nbgrader_config(root)
    base = coursedir.format_path(coursedir.autograded_directory, "*", assignment)
    graded = sorted(os.path.basename(os.path.dirname(p)) for p in __import__("glob").glob(base))
    if student:
        graded = [s for s in graded if fnmatch.fnmatchcase(s, student)]
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        def in_gb(s):
            try:
                gb.find_submission(assignment, s)
                return True
            except MissingEntry:
                return False
        graded = [s for s in graded if in_gb(s)]
    if not graded:
        raise CourseError(f"no autograded submissions of {assignment!r}; run autograde first")

    configured = list(config.get("GenerateFeedback", {}).get("preprocessors", [])) or [
        GetGrades, CSSHTMLHeaderPreprocessor]
    names = [p if isinstance(p, str) else p.__name__ for p in configured]
    pre = []
    if "FeedbackFilter" not in " ".join(names):
        pre.append(FeedbackFilter)
    if "ClearHiddenTests" not in " ".join(names):
        pre.append(ClearHiddenTests)
    cfg = Config()
    cfg.merge(config)
    cfg.GenerateFeedback.preprocessors = pre + configured
    secrets = hidden_lines(coursedir, assignment)

    done, failed = [], {}
    for s in graded:
        cd_config = Config()
        cd_config.merge(cfg)
        from nbgrader.coursedir import CourseDirectory

        cd = CourseDirectory(config=cd_config)
        cd.root = coursedir.root
        cd.assignment_id = assignment
        cd.student_id = s
        conv = GenerateFeedback(coursedir=cd, config=cd_config)
        conv.log.setLevel("ERROR")
        conv.force = force
        try:
            conv.start()
        except NbGraderException as exc:
            failed[s] = f"nbgrader could not generate feedback: {exc}"
            continue
        out_dir = coursedir.format_path(coursedir.feedback_directory, s, assignment)
        leak = None
        for fn in sorted(os.listdir(out_dir)) if os.path.isdir(out_dir) else []:
            if fn.endswith(".html"):
                with open(os.path.join(out_dir, fn)) as fh:
                    text = _visible_text(fh.read())
                hit = next((ln for ln in secrets if ln in text), None)
                if hit:
                    leak = fn
                    os.remove(os.path.join(out_dir, fn))
        if leak:
            failed[s] = f"hidden test code found in {leak}; the file was deleted"
        else:
            done.append(s)
    return {"done": done, "failed": failed}
