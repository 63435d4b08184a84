"""``feedback``: per-student HTML feedback without the hidden tests, and truthful about what it did.

nbgrader's ``GenerateFeedback`` converter is used with the course's configuration, with these
preprocessors added when the configuration does not already have them:

* :class:`FeedbackFilter` keeps only the messages of the test cells and drops the outputs
  of code cells that ran after the first test cell;
* nbgrader's ``ClearHiddenTests`` removes the hidden regions from the cell source;
* :class:`FeedbackGrades` (after nbgrader's ``GetGrades``) marks the cells that still need a grade
  by hand and have none (a written answer before anyone graded it) and puts the final number of
  :mod:`mixlearn.course.grades` (``max(0, raw - late penalty)``) in the page's total.

The page is rendered by :class:`FeedbackExporter`: nbgrader's own feedback template with three of
its blocks replaced, so that such a cell says "not graded yet" (not "Score: 0.0 / 2.0"), the total
says "so far; 2.0 points not graded yet", and a late penalty is shown next to the final number.

Each generated file is then checked: if any line of a hidden test can still be read
in it, the file is deleted and the student is reported as failed.

nbgrader itself skips a student whose feedback folder exists (unless ``--force``, or the
submission's ``timestamp.txt`` is newer), so a manual grade entered after autograding never reached
the feedback.  Here a student's feedback is regenerated whenever it is *stale*: its fingerprint (the
student's grades in the gradebook -- automatic and manual scores, extra credit, comments, late
penalty, final number --, the contents of the autograded notebooks and the feedback format) differs
from the one recorded when the files were written, or the files are missing or were changed since.
The fingerprints are kept in ``.mixlearn-course/<assignment>/feedback.json``.
"""

from __future__ import annotations

import datetime
import fnmatch
import hashlib
import html
import json
import os
import re
from dataclasses import dataclass, field

from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode, default

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


# the key of a cell's nbgrader metadata that FeedbackGrades sets on every grade or task cell
UNGRADED_KEY = "mixlearn_not_graded"


def not_graded(grade) -> bool:
    """A gradebook ``Grade`` that has no score at all: nothing automatic (a written answer, a task)
    and nothing entered by hand yet.  nbgrader counts it as 0; the feedback says "not graded yet"."""
    return grade.auto_score is None and grade.manual_score is None


class FeedbackGrades(Preprocessor):
    """The numbers the feedback page shows, as :mod:`mixlearn.course.grades` defines them.

    Runs after nbgrader's ``GetGrades`` (which reads the scores and comments from the gradebook):

    * every grade or task cell gets ``metadata.nbgrader.mixlearn_not_graded`` -- true when its grade
      has neither an automatic nor a manual score (the template then says "not graded yet");
    * ``resources["nbgrader"]``: ``score`` becomes the notebook's final number
      ``max(0, raw - late_penalty)`` (nbgrader's ``GetGrades`` leaves ``raw - late_penalty``, which
      can be negative), plus ``raw``, ``ungraded_points`` and ``ungraded_cells``, and the
      assignment's ``assignment_final`` / ``assignment_max`` / ``notebooks`` (the total over all
      notebooks, shown when the assignment has more than one).
    """

    enabled = Bool(True).tag(config=True)
    course_id = Unicode("", help="the gradebook's course (default: CourseDirectory.course_id)").tag(config=True)

    def preprocess(self, nb, resources):
        from nbgrader import utils
        from nbgrader.api import Gradebook

        from .grades import final_score

        info = resources["nbgrader"]
        course_id = self.course_id or self.config.get("CourseDirectory", {}).get("course_id") or "default_course"
        with Gradebook(info["db_url"], course_id) as gb:
            sub = gb.find_submission(info["assignment"], info["student"])
            snb = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            grades = {g.name: g for g in snb.grades}
            points, cells = 0.0, 0
            for cell in nb.cells:
                if not (utils.is_grade(cell) or utils.is_task(cell)):
                    continue
                g = grades.get(cell.metadata["nbgrader"].get("grade_id"))
                missing = g is not None and not_graded(g)
                cell.metadata["nbgrader"][UNGRADED_KEY] = missing
                if missing:
                    points += float(g.max_score or 0.0)
                    cells += 1
            raw = float(snb.score or 0.0)
            penalty = float(snb.late_submission_penalty or 0.0)
            info["raw"] = raw
            info["late_penalty"] = penalty
            info["score"] = final_score(raw, penalty)
            info["max_score"] = float(snb.max_score or 0.0)
            info["ungraded_points"] = points
            info["ungraded_cells"] = cells
            info["assignment_final"] = final_score(sub.score, sub.late_submission_penalty)
            info["assignment_max"] = float(sub.max_score or 0.0)
            info["notebooks"] = len(sub.notebooks)
        return nb, resources


# nbgrader's feedback template ('feedback/index.html.j2', nbgrader 0.9) with the blocks that show
# scores replaced: a cell without any grade says "not graded yet", the total says what is
# provisional and shows the late penalty next to the final number.  Kept here (not as a package
# data file) so that every installation of mixlearn has it.
FEEDBACK_TEMPLATE = r"""{%- extends 'index.html.j2' -%}

{%- macro mx_n(x) -%}{{ x | float | round(2) }}{%- endmacro -%}

{%- macro mx_points(x) -%}{{ mx_n(x) }} {{ 'point' if (x | float) == 1.0 else 'points' }}{%- endmacro -%}

{%- macro mx_cell_score(cell) -%}
{%- if cell.metadata.nbgrader.mixlearn_not_graded -%}
<span class="not-graded">not graded yet</span> ({{ mx_points(cell.metadata.nbgrader.points) }})
{%- else -%}
Score: {{ mx_n(cell.metadata.nbgrader.score) }} / {{ mx_n(cell.metadata.nbgrader.points) }}
{%- endif -%}
{%- endmacro -%}

{%- macro mx_toc_score(cell) -%}
{%- if cell.metadata.nbgrader.mixlearn_not_graded -%}
(<span class="not-graded">not graded yet</span>, {{ mx_points(cell.metadata.nbgrader.points) }})
{%- else -%}
(Score: {{ mx_n(cell.metadata.nbgrader.score) }} / {{ mx_n(cell.metadata.nbgrader.points) }})
{%- endif -%}
{%- endmacro -%}

{%- macro mx_score(cell) -%}
  <span class="pull-right">{{ mx_cell_score(cell) }} <a href="#top">(Top)</a></span>
{%- endmacro -%}

{%- macro mx_heading(cell) -%}
{%- if cell.metadata.nbgrader.solution or cell.metadata.nbgrader.task -%}
<a name="comment-{{ cell.metadata.nbgrader.grade_id }}"></a>
{%- endif -%}
{%- if cell.metadata.nbgrader.grade -%}
<a name="{{ cell.metadata.nbgrader.grade_id }}"></a>
{%- endif -%}
<div class="panel-heading">
{%- if cell.metadata.nbgrader.solution -%}
  <span class="nbgrader-label">Student's answer</span>
  {%- if cell.metadata.nbgrader.grade  -%}
  {{ mx_score(cell) }}
  {%- else -%}
  <span class="pull-right"><a href="#top">(Top)</a></span>
  {%- endif -%}
{%- elif cell.metadata.nbgrader.task -%}
  <span class="nbgrader-label">Student's task</span>
  {{ mx_score(cell) }}
{%- elif cell.metadata.nbgrader.grade -%}
  <span class="nbgrader-label">Grade cell: <code>{{ cell.metadata.nbgrader.grade_id }}</code></span>
  {{ mx_score(cell) }}
{%- endif -%}
</div>
{%- endmacro -%}

{%- macro mx_footer(cell) -%}
{%- if (cell.metadata.nbgrader.solution or cell.metadata.nbgrader.task) and cell.metadata.nbgrader.comment -%}
<div class="panel-footer">
  <div>
    <b>Comments:</b> {{ cell.metadata.nbgrader.comment | markdown2html | strip_files_prefix }}
  </div>
</div>
{%- endif -%}
{%- endmacro -%}

{% block body %}
{%- set nbg = resources.nbgrader -%}
<body>
  <a name="top"></a>
  <div class="container">
    <div class="panel panel-default">
      <div class="panel-heading">
        <h4 id="total">{{ nbg.notebook }} (Score: {{ mx_n(nbg.score) }} / {{ mx_n(nbg.max_score) }}
        {%- if nbg.ungraded_points %} so far; {{ mx_points(nbg.ungraded_points) }} not graded yet{% endif %})</h4>
        {%- if nbg.late_penalty > 0 %}
        <p class="late-penalty" id="late-penalty">Submitted late: {{ mx_n(nbg.raw) }} points minus a late
          submission penalty of {{ mx_n(nbg.late_penalty) }} = {{ mx_n(nbg.score) }}</p>
        {%- endif %}
        {%- if nbg.ungraded_cells %}
        <p class="not-graded" id="not-graded">{{ nbg.ungraded_cells }} answer(s) still to be graded by hand
          ({{ mx_points(nbg.ungraded_points) }}); this feedback will be updated once they are graded.</p>
        {%- endif %}
        {%- if nbg.notebooks and nbg.notebooks > 1 %}
        <p id="assignment-total">Assignment total ({{ nbg.notebooks }} notebooks):
          {{ mx_n(nbg.assignment_final) }} / {{ mx_n(nbg.assignment_max) }}</p>
        {%- endif %}
        <div id="toc">
          <ol>
          {% for cell in nb.cells %}
            {% if cell.metadata.nbgrader and cell.metadata.nbgrader.grade and not cell.metadata.nbgrader.solution %}
            <li><a href="#{{ cell.metadata.nbgrader.grade_id }}">Test cell</a> {{ mx_toc_score(cell) }}</li>
            {% elif cell.cell_type == "code" and cell.metadata.nbgrader and cell.metadata.nbgrader.grade %}
            <li><a href="#{{ cell.metadata.nbgrader.grade_id }}">Coding free-response</a> {{ mx_toc_score(cell) }}</li>
            {% elif cell.cell_type == "markdown" and cell.metadata.nbgrader and cell.metadata.nbgrader.grade %}
            <li><a href="#{{ cell.metadata.nbgrader.grade_id }}">Written response</a> {{ mx_toc_score(cell) }}</li>
            {% elif cell.cell_type == "markdown" and cell.metadata.nbgrader and cell.metadata.nbgrader.task %}
            <li><a href="#{{ cell.metadata.nbgrader.grade_id }}">Task</a> {{ mx_toc_score(cell) }}</li>
            {% endif %}
            {% if cell.metadata.nbgrader and cell.metadata.nbgrader.comment %}
            <li><a href="#comment-{{ cell.metadata.nbgrader.grade_id }}">Comment</a></li>
            {% endif %}
          {% endfor %}
          {% if nbg.late_penalty > 0 %}
            <li class="late-penalty">Late submission penalty (Score: -{{ mx_n(nbg.late_penalty) }})</li>
          {% endif %}
          </ol>
        </div>
      </div>
      <div class="panel-body">
        <div id="notebook" class="border-box-sizing">
          <div class="container" id="notebook-container">
            {{ super.super() }}{# classic's body: nbgrader's own (the block above) is skipped #}
          </div>
        </div>
      </div>
    </div>
  </div>
</body>
{%- endblock body %}

{% block markdowncell scoped %}
<div class="cell border-box-sizing text_cell rendered">
  {{ self.empty_in_prompt() }}

  {%- set nbg_cell = cell.metadata.nbgrader if 'nbgrader' in cell.metadata else None -%}
  {%- if nbg_cell and (nbg_cell.solution or nbg_cell.grade or nbg_cell.task) -%}
  <div class="panel panel-primary nbgrader_cell">
    {{ mx_heading(cell) }}
    <div class="panel-body">
      <div class="text_cell_render border-box-sizing rendered_html">
        {{ cell.source  | markdown2html | strip_files_prefix }}
      </div>
    </div>
    {{ mx_footer(cell) }}
  </div>

  {%- else -%}

  <div class="inner_cell">
    <div class="text_cell_render border-box-sizing rendered_html">
      {{ cell.source  | markdown2html | strip_files_prefix }}
    </div>
  </div>

  {%- endif -%}

</div>
{% endblock markdowncell %}

{% block input %}
  {%- if 'nbgrader' in cell.metadata and (cell.metadata.nbgrader.solution or cell.metadata.nbgrader.grade) -%}
  <div class="panel panel-primary nbgrader_cell">
    {{ mx_heading(cell) }}
    <div class="panel-body">
      <div class="input_area">
        {{ cell.source | highlight_code(metadata=cell.metadata) }}
      </div>
    </div>
    {{ mx_footer(cell) }}
  </div>

  {%- else -%}

  <div class="inner_cell">
    <div class="input_area">
      {{ cell.source | highlight_code(metadata=cell.metadata) }}
    </div>
  </div>
  {%- endif -%}

{% endblock input %}
"""


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback exporter (``HTMLExporter`` with nbgrader's 'feedback' template) rendering
    :data:`FEEDBACK_TEMPLATE`, which extends that template.  Use it as
    ``c.GenerateFeedback.exporter_class`` together with :class:`FeedbackGrades`."""

    @default("raw_template")
    def _raw_template_default(self):
        return FEEDBACK_TEMPLATE


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




# bump when the feedback page changes, so that every student's feedback is written again
FEEDBACK_FORMAT = "mixlearn-feedback-2"


@dataclass
class FeedbackResult:
    """What ``feedback`` did, student by student (every selected student is in exactly one of
    *written*, *unchanged* and *failed*)."""

    written: list[str] = field(default_factory=list)          # feedback (re)generated in this run
    unchanged: list[str] = field(default_factory=list)        # already up to date: nothing written
    failed: dict[str, str] = field(default_factory=dict)      # student -> why there is no feedback
    ungraded: dict[str, int] = field(default_factory=dict)    # student -> cells not graded yet
    files: dict[str, list[str]] = field(default_factory=dict)  # student -> files written (paths)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _tree_digest(folder: str) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under *folder* ({} when it does not exist)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for fn in sorted(filenames):
            path = os.path.join(dirpath, fn)
            out[os.path.relpath(path, folder).replace(os.sep, "/")] = _sha256_file(path)
    return out


def _grades_state(sub, final) -> dict:
    """Everything of one submission in the gradebook that its feedback page shows."""
    notebooks = {}
    for nb in sub.notebooks:
        notebooks[nb.name] = {
            "late_penalty": nb.late_submission_penalty,
            "grades": sorted((g.name, g.auto_score, g.manual_score, g.extra_credit, g.max_score) for g in nb.grades),
            "comments": sorted((c.name, c.auto_comment or "", c.manual_comment or "") for c in nb.comments),
        }
    return {"raw": final.raw, "late_penalty": final.late_penalty, "final": final.final,
            "max_score": final.max_score, "notebooks": notebooks}


def _fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _up_to_date(record: dict | None, fingerprint: str, out_dir: str) -> bool:
    """Whether the feedback recorded in *record* is still what would be written now."""
    if not record or record.get("fingerprint") != fingerprint or not record.get("files"):
        return False
    for rel, digest in record["files"].items():
        path = os.path.join(out_dir, rel)
        if not os.path.isfile(path) or _sha256_file(path) != digest:
            return False
    return True


def feedback(root: str, assignment: str, student: str | None = None, force: bool = False,
             db_url: str | None = None) -> FeedbackResult:
    """Write the feedback of every autograded student of *assignment* (or those matching the glob
    *student*) whose feedback is missing or stale; *force*: write every one again."""
    import glob

    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.converters import GenerateFeedback
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades
    from traitlets.config import Config

    from .common import atomic_write_json, state_path
    from .gradebook import check_gradebook
    from .grades import final_grades, refresh_late_penalties

    config, coursedir = load_nbgrader_config(root, db_url=db_url)
    check_gradebook(coursedir, assignment)
    base = coursedir.format_path(coursedir.autograded_directory, "*", assignment)
    graded = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(base))
    if student:
        graded = [s for s in graded if fnmatch.fnmatchcase(s, student)]

    configured = list(config.get("GenerateFeedback", {}).get("preprocessors", [])) or [
        GetGrades, CSSHTMLHeaderPreprocessor]
    names = " ".join(p if isinstance(p, str) else p.__name__ for p in configured)
    pre = []
    if "FeedbackFilter" not in names:
        pre.append(FeedbackFilter)
    if "ClearHiddenTests" not in names:
        pre.append(ClearHiddenTests)
    post = [] if "FeedbackGrades" in names else [FeedbackGrades]
    chain = pre + configured + post
    cfg = Config()
    cfg.merge(config)
    cfg.GenerateFeedback.preprocessors = chain
    cfg.FeedbackGrades.course_id = coursedir.course_id or "default_course"
    if "exporter_class" not in cfg.GenerateFeedback:
        cfg.GenerateFeedback.exporter_class = FeedbackExporter
    exporter = cfg.GenerateFeedback.exporter_class
    page_format = [FEEDBACK_FORMAT, FEEDBACK_TEMPLATE if exporter is FeedbackExporter else repr(exporter),
                   [p if isinstance(p, str) else f"{p.__module__}.{p.__name__}" for p in chain]]

    # the gradebook's view of each student, read once before anything is written (a grade entered
    # while the pages are made changes the fingerprint, so the next run writes that page again)
    states, ungraded = {}, {}
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        refresh_late_penalties(config, gb, assignment)   # due dates, extensions, manual grades since autograding
        finals = final_grades(gb, assignment)
        for s in graded:
            try:
                sub = gb.find_submission(assignment, s)
            except MissingEntry:
                continue
            states[s] = _grades_state(sub, finals[s])
            n = sum(1 for nb in sub.notebooks for g in nb.grades if not_graded(g))
            if n:
                ungraded[s] = n
    graded = [s for s in graded if s in states]
    if not graded:
        raise CourseError(f"no autograded submissions of {assignment!r}; run autograde first")

    record_path = state_path(coursedir, assignment, "feedback.json")
    try:
        with open(record_path) as fh:
            records = json.load(fh)
    except (OSError, ValueError):
        records = {}
    records = records if isinstance(records, dict) else {}
    secrets = hidden_lines(coursedir, assignment)

    result = FeedbackResult(ungraded=ungraded)
    for s in graded:
        src_dir = coursedir.format_path(coursedir.autograded_directory, s, assignment)
        out_dir = coursedir.format_path(coursedir.feedback_directory, s, assignment)
        fingerprint = _fingerprint(page_format, states[s], _tree_digest(src_dir))
        if not force and _up_to_date(records.get(s), fingerprint, out_dir):
            result.unchanged.append(s)
            continue
        records.pop(s, None)
        cd_config = Config()
        cd_config.merge(cfg)
        cd = CourseDirectory(config=cd_config)
        cd.root = coursedir.root
        cd.db_url = coursedir.db_url
        cd.assignment_id = assignment
        cd.student_id = s
        conv = GenerateFeedback(coursedir=cd, config=cd_config)
        conv.log.setLevel("ERROR")
        conv.force = True   # stale (or --force): nbgrader would otherwise keep the existing folder
        try:
            conv.start()
        except NbGraderException as exc:
            result.failed[s] = f"nbgrader could not generate feedback: {exc}"
            atomic_write_json(record_path, records)
            continue
        pages = sorted(fn for fn in os.listdir(out_dir) if fn.endswith(".html")) if os.path.isdir(out_dir) else []
        leak = None
        for fn in pages:
            with open(os.path.join(out_dir, fn)) as fh:
                text = _visible_text(fh.read())
            if any(ln in text for ln in secrets):
                leak = leak or fn
                os.remove(os.path.join(out_dir, fn))
        if leak:
            result.failed[s] = f"hidden test code found in {leak}; the file was deleted"
        elif not pages:
            result.failed[s] = "nbgrader wrote no feedback file (see `nbgrader generate_feedback` for why)"
        else:
            result.written.append(s)
            result.files[s] = [os.path.join(out_dir, fn) for fn in pages]
            records[s] = {"fingerprint": fingerprint,
                          "files": {fn: _sha256_file(os.path.join(out_dir, fn)) for fn in pages},
                          "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        atomic_write_json(record_path, records)
    return result
