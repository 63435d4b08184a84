"""The gradebook: nbgrader's own database, written by the coordinator only.

* :func:`ensure_assignment_in_gradebook` records an assignment's definition (cells, checksums);
* :func:`check_gradebook` opens the gradebook's database before anything else happens and
  names what to fix when it cannot (a wrong URL, a missing driver, a database without the
  course or the assignment);
* :func:`make_seed` copies the assignment definitions (no student data) of any gradebook
  (SQLite, PostgreSQL, ...) into a fresh SQLite file, for the workers' private course folders;
* :func:`read_results` reads one submission's grades from a worker's private gradebook into a
  typed record, and :func:`commit_results` stores that record in the real gradebook in one
  transaction (grades entered by a human are never touched);
* :func:`is_graded` is nbgrader's notion of "already autograded";
* :func:`skip_fsync_below` makes a worker's private gradebooks (throwaway copies of the seed)
  stop waiting for the disk.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

from .common import CourseError, safe_db_url, state_path
from .records import NotebookGrades, SubmissionGrades

# nbgrader's tables that hold the assignments' definitions (everything else is student data)
DEFINITION_TABLES = ("course", "assignment", "notebook", "base_cell", "source_cell",
                     "grade_cells", "solution_cells", "task_cells")
CONNECT_TIMEOUT = 10  # seconds to wait for a database server


def _engine(url: str):
    from sqlalchemy import create_engine

    kwargs = {}
    if url.startswith("postgresql"):
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
    return create_engine(url, future=True, **kwargs)


def check_gradebook(coursedir, assignment: str | None = None, *, require_course: bool | None = None) -> None:
    """Fail with a :class:`CourseError` naming the fix unless the gradebook can be used.

    * the URL must name a reachable database whose driver is installed;
    * a database other than SQLite must already hold this course's gradebook (nbgrader creates
      the tables and the course on first use, so pointing ``--db`` at the wrong database would
      otherwise silently start an empty gradebook there); *require_course* forces the check on
      or off (default: on for every database except SQLite);
    * with *assignment*, the assignment must be recorded in it.

    Nothing is written.
    """
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    url = coursedir.db_url
    shown = safe_db_url(url)
    hint = ("check --db (or CourseDirectory.db_url in nbgrader_config.py); a PostgreSQL URL looks like "
            "postgresql://USER@/DATABASE?host=/run/postgresql (unix socket) or postgresql://USER:PASSWORD@HOST/DATABASE")
    if require_course is None:
        require_course = not url.startswith("sqlite")
    if url.startswith("sqlite:///") and not require_course:
        path = url[len("sqlite:///"):]
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise CourseError(f"cannot open the gradebook {shown}: the folder {os.path.dirname(path)} "
                              f"does not exist; {hint}")
        if not os.path.exists(path):
            return  # nbgrader creates a new SQLite gradebook, as it always did
    try:
        engine = _engine(url)
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise CourseError(f"cannot use the gradebook URL {shown}: {exc}; {hint}") from None
    except ImportError as exc:
        raise CourseError(f"the database driver for {shown} is not installed ({exc}); for PostgreSQL "
                          "install `pip install mixlearn[distributed]` (psycopg 3)") from None
    try:
        with engine.connect() as con:
            tables = set(inspect(con).get_table_names())
            if require_course:
                if "course" not in tables:
                    raise CourseError(
                        f"the database {shown} holds no nbgrader gradebook (it has no nbgrader tables); if it is the "
                        f"right database, create the course's gradebook in it first, e.g. in the course folder: "
                        f"`nbgrader generate_assignment {assignment or 'ASSIGNMENT'} --CourseDirectory.db_url=URL`; "
                        f"otherwise {hint}")
                courses = [r[0] for r in con.execute(text("SELECT id FROM course"))]
                if coursedir.course_id not in courses:
                    raise CourseError(
                        f"the gradebook {shown} has no course {coursedir.course_id!r} (it holds "
                        f"{', '.join(map(repr, courses)) or 'no course'}); check --db or CourseDirectory.course_id")
            if assignment is not None:
                found = "assignment" in tables and con.execute(
                    text("SELECT COUNT(*) FROM assignment WHERE name = :a AND course_id = :c"),
                    {"a": assignment, "c": coursedir.course_id}).scalar()
                if not found:
                    raise CourseError(
                        f"assignment {assignment!r} is not in the gradebook {shown}; record it with "
                        f"`nbgrader generate_assignment {assignment} --CourseDirectory.db_url=URL` in the course "
                        f"folder, or check --db")
    except CourseError:
        raise
    except ImportError as exc:
        raise CourseError(f"the database driver for {shown} is not installed ({exc}); for PostgreSQL "
                          "install `pip install mixlearn[distributed]` (psycopg 3)") from None
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise CourseError(f"cannot open the gradebook {shown}: {detail[0] if detail else exc}; {hint}") from None
    finally:
        engine.dispose()


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


def make_seed(master_url: str, seed_db: str) -> None:
    """Write a new SQLite gradebook at *seed_db* holding the master gradebook's definitions.

    The master may be any database nbgrader supports (its URL is *master_url*); the seed gets
    nbgrader's schema and the rows of :data:`DEFINITION_TABLES` (courses, assignments,
    notebooks, cells with their checksums), never any student data.
    """
    from nbgrader.api import Base
    from sqlalchemy import select, text

    src = _engine(master_url)
    dst = _engine("sqlite:///" + os.path.abspath(seed_db))
    try:
        Base.metadata.create_all(bind=dst)
        with src.connect() as s_con, dst.begin() as d_con:
            for table in Base.metadata.sorted_tables:  # parents before children
                if table.name not in DEFINITION_TABLES:
                    continue
                rows = [dict(r._mapping) for r in s_con.execute(select(table))]
                if rows:
                    d_con.execute(table.insert(), rows)
            try:
                version = s_con.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except Exception:
                version = None
            if version is None:
                from nbgrader.api import get_alembic_version

                version = get_alembic_version()
            d_con.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            d_con.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
    finally:
        src.dispose()
        dst.dispose()


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


def grant_extension(coursedir, assignment: str, student: str, hours: float) -> None:
    """Give *student* an extension of *hours* on *assignment* (0 removes it), with nbgrader's own
    ``Gradebook.grant_extension``; the submission's gradebook entry is made if it has none yet.
    No regrade is needed: the late penalty follows (:func:`~mixlearn.course.grades.refresh_late_penalties`)."""
    from nbgrader.api import Gradebook, MissingEntry

    if hours < 0:
        raise CourseError(f"--hours {hours:g}: an extension cannot be negative (0 removes it)")
    check_gradebook(coursedir, assignment)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        try:
            due = gb.find_assignment(assignment).duedate
        except MissingEntry:
            raise CourseError(f"assignment {assignment!r} is not in the gradebook") from None
        if due is None:
            raise CourseError(f"assignment {assignment!r} has no due date, so an extension means nothing; set one "
                              f"first: nbgrader db assignment add {assignment} --duedate='2026-12-01 23:59:00 UTC'")
        gb.update_or_create_student(student)
        try:
            gb.find_submission(assignment, student)
        except MissingEntry:
            gb.add_submission(assignment, student)
        gb.grant_extension(assignment, student, minutes=float(hours) * 60)


def skip_fsync_below(work_root: str) -> None:
    """In this process, SQLite databases under *work_root* are opened without waiting for the disk
    (``PRAGMA synchronous=OFF``, journal in memory).

    Those are a worker's private gradebooks: copies of the seed that live for one submission and
    are read back by the coordinator, which stores the grades in the real gradebook in one
    transaction (with the database's own durability). If the machine fails mid-submission, the
    private copy is lost with the submission's outcome, and the next run grades it again. nbgrader
    commits once per cell; each commit waited for an fsync (about 0.3 s a submission here, time
    in which the worker's core sat idle).
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    root = os.path.realpath(work_root) + os.sep

    def on_connect(dbapi_conn, _record):
        if not isinstance(dbapi_conn, sqlite3.Connection):
            return
        files = [row[2] for row in dbapi_conn.execute("PRAGMA database_list") if row[1] == "main"]
        if files and files[0] and os.path.realpath(files[0]).startswith(root):
            dbapi_conn.execute("PRAGMA synchronous=OFF")
            dbapi_conn.execute("PRAGMA journal_mode=MEMORY")

    if not event.contains(Engine, "connect", on_connect):
        event.listen(Engine, "connect", on_connect)
