"""The gradebook: nbgrader's own database, written by the coordinator only.

* :func:`ensure_assignment_in_gradebook` records an assignment's definition (cells, checksums);
* :func:`make_seed` copies the gradebook without any student data, for the workers' private
  course folders;
* :func:`read_results` reads one submission's grades from a worker's private gradebook into a
  typed record, and :func:`commit_results` stores that record in the real gradebook in one
  transaction (grades entered by a human are never touched);
* :func:`is_graded` is nbgrader's notion of "already autograded".
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile

from .common import CourseError, state_path
from .records import NotebookGrades, SubmissionGrades


def db_path_from_url(url: str) -> str:
    if not url.startswith("sqlite:///"):
        raise CourseError(f"only SQLite gradebooks are supported, not {url!r}")
    return url[len("sqlite:///"):]


def ensure_assignment_in_gradebook(config, coursedir, assignment: str, log) -> None:
    """Make sure the assignment (its cells and checksums) is recorded in the gradebook.

    If it is not, run nbgrader's ``GenerateAssignment`` on the source folder with the
    output sent to a scratch folder, which records the assignment in the gradebook just
    like ``nbgrader generate_assignment`` without touching the release folder.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            a = gb.find_assignment(assignment)
            if a.notebooks:
                return
        except MissingEntry:
            pass
    source = coursedir.format_path(coursedir.source_directory, ".", assignment)
    if not os.path.isdir(source):
        raise CourseError(
            f"assignment {assignment!r} is neither in the gradebook nor in {source}")
    log(f"recording assignment {assignment!r} in the gradebook from {source}")
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    scratch = tempfile.mkdtemp(dir=os.path.dirname(state_path(coursedir, "x")), prefix="release-")
    try:
        cd = CourseDirectory(config=config)
        cd.root = coursedir.root
        cd.db_url = coursedir.db_url
        cd.release_directory = os.path.relpath(scratch, coursedir.root)
        cd.assignment_id = assignment
        conv = GenerateAssignment(coursedir=cd, config=config)
        conv.log.setLevel(logging.ERROR)
        conv.force = True
        conv.start()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def make_seed(master_db: str, seed_db: str) -> None:
    """Copy the gradebook without any student data (only the assignment definitions)."""
    src = sqlite3.connect(master_db)
    dst = sqlite3.connect(seed_db)
    with dst:
        src.backup(dst)
    src.close()
    with dst:
        for table in ("grade", "comment", "submitted_notebook", "submitted_assignment", "student"):
            dst.execute(f"DELETE FROM {table}")
    dst.execute("VACUUM")
    dst.close()


def commit_results(gb, assignment: str, student: str, res: SubmissionGrades) -> None:
    """Store one submission's autograde results in the gradebook in one transaction."""
    from nbgrader.api import Comment, Grade, MissingEntry, Student, SubmittedAssignment, SubmittedNotebook

    db = gb.db
    try:
        st = db.get(Student, student)
        if st is None:
            st = Student(id=student)
            db.add(st)
        try:
            sub = gb.find_submission(assignment, student)
        except MissingEntry:
            a = gb.find_assignment(assignment)
            with db.no_autoflush:  # mirror Gradebook.add_submission, without its commit
                sub = SubmittedAssignment(assignment=a, student=st)
                for notebook in a.notebooks:
                    snb = SubmittedNotebook(notebook=notebook, assignment=sub)
                    for cell in notebook.grade_cells:
                        Grade(cell_id=cell.id, notebook=snb)
                    for cell in notebook.solution_cells:
                        Comment(cell_id=cell.id, notebook=snb)
                    for cell in notebook.task_cells:
                        Comment(cell_id=cell.id, notebook=snb)
                        Grade(cell_id=cell.id, notebook=snb)
                db.add(sub)
            db.flush()
            db.expire(sub)
        if res.timestamp is not None:
            sub.timestamp = res.timestamp
        for snb in sub.notebooks:
            r = res.notebooks.get(snb.name)
            if r is None:
                continue
            snb.late_submission_penalty = r.late_penalty
            for g in snb.grades:
                if g.name in r.grades:
                    auto, needs = r.grades[g.name]
                    g.auto_score = auto
                    # nbgrader's SaveAutoGrades: a grade that already has a manual
                    # score must be reviewed again (not for missing notebooks)
                    g.needs_manual_grade = bool(
                        needs or (g.manual_score is not None and not r.missing))
            for c in snb.comments:
                if c.name in r.comments:
                    c.auto_comment = r.comments[c.name]
        db.commit()
    except BaseException:
        db.rollback()
        raise


def read_results(gb_url, course_id, coursedir, assignment, student) -> SubmissionGrades:
    from nbgrader.api import Gradebook

    with Gradebook(gb_url, course_id) as gb:
        sub = gb.find_submission(assignment, student)
        res = SubmissionGrades(timestamp=sub.timestamp)
        sub_dir = coursedir.format_path(coursedir.submitted_directory, student, assignment)
        for snb in sub.notebooks:
            res.notebooks[snb.name] = NotebookGrades(
                late_penalty=snb.late_submission_penalty,
                missing=not os.path.exists(os.path.join(sub_dir, snb.name + ".ipynb")),
                grades={g.name: (g.auto_score, bool(g.needs_manual_grade)) for g in snb.grades},
                comments={c.name: c.auto_comment for c in snb.comments},
            )
    return res


def is_graded(coursedir, gb, assignment: str, student: str) -> bool:
    """nbgrader's notion of 'already autograded', plus: the gradebook has the grades."""
    from nbgrader.api import MissingEntry

    dest = coursedir.format_path(coursedir.autograded_directory, student, assignment)
    if not os.path.isdir(dest):
        return False
    try:
        gb.find_submission(assignment, student)
    except MissingEntry:
        return False
    src = coursedir.format_path(coursedir.submitted_directory, student, assignment)
    new = coursedir.get_existing_timestamp(src)
    old = coursedir.get_existing_timestamp(dest)
    return not (new is not None and old is not None and new > old)
