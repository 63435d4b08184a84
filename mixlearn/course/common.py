"""Shared helpers: the course's nbgrader configuration, directories and run status."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile

STATE_DIR = ".mixlearn-course"   # git-ignored working folder in the course root
STUDENT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")


def printable(text, limit: int = 400) -> str:
    """*text* safe for the instructor's terminal: control characters (escape sequences, carriage
    returns, line breaks) shown as escapes, at most *limit* characters.  Student code writes the
    messages that end up in failure reasons."""
    text = str(text)
    out = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text[:limit])
    return out + ("..." if len(text) > limit else "")


def skip_iri_grammar() -> None:
    """jsonschema builds a Lark grammar for its optional "iri" format check when rfc3987-syntax is
    installed (Jupyter's event schemas pull it in): about a CPU-second in every process that
    imports nbformat, for a check that neither nbformat's notebook schema nor nbgrader uses.  The
    command's processes go without it (the module is marked absent only if jsonschema is not
    imported yet, so a process that already uses it is left as it is)."""
    import sys

    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


class CourseError(Exception):
    """A problem the instructor has to fix (bad arguments, missing files, ...)."""


def normalize_db_url(url: str) -> str:
    """The gradebook URL as SQLAlchemy should see it.

    A plain ``postgresql://`` (or ``postgres://``) URL names no driver; SQLAlchemy 2.0 then picks
    psycopg2, 2.1 picks psycopg 3.  The ``distributed`` extra installs psycopg 3, so a plain URL
    is rewritten to ``postgresql+psycopg://`` when psycopg2 is not installed.  Every other URL is
    returned as given.
    """
    if not isinstance(url, str) or "://" not in url:
        raise CourseError(f"--db must be a database URL such as sqlite:///gradebook.db or "
                          f"postgresql://user@/course?host=/run/postgresql, not {url!r}")
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        import importlib.util

        if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg") is not None:
            return "postgresql+psycopg://" + rest
        return "postgresql://" + rest
    return url


def safe_db_url(url: str) -> str:
    """*url* with its password (if any) hidden, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def load_nbgrader_config(root: str, overrides: list[str] | None = None, db_url: str | None = None):
    """Load the configuration exactly as ``nbgrader`` would when run in *root*.

    *db_url* (the command line's ``--db``) replaces the configuration's
    ``CourseDirectory.db_url``.  Returns ``(config, coursedir)``.
    """
    from nbgrader.apps.nbgraderapp import NbGraderApp
    from nbgrader.coursedir import CourseDirectory

    root = os.path.abspath(root)
    with _chdir(root):
        app = NbGraderApp()
        app.log.setLevel("ERROR")
        app.initialize(list(overrides or []))
        config = app.config
        coursedir = CourseDirectory(config=config)
        if not config.CourseDirectory.get("root"):
            coursedir.root = root
        if db_url:
            db_url = normalize_db_url(db_url)
            config.CourseDirectory.db_url = db_url
            coursedir.db_url = db_url
        elif coursedir.db_url.startswith(("postgresql://", "postgres://")):
            coursedir.db_url = config.CourseDirectory.db_url = normalize_db_url(coursedir.db_url)
    return config, coursedir


@contextlib.contextmanager
def _chdir(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def submitted_students(coursedir, assignment: str) -> list[str]:
    base = coursedir.format_path(coursedir.submitted_directory, "*", assignment)
    import glob

    pattern_re = re.escape(base).replace(r"\*", "(?P<s>[^/]+)")
    out = []
    for path in glob.glob(base):
        m = re.fullmatch(pattern_re, path)
        if m and os.path.isdir(path):
            out.append(m.group("s"))
    return sorted(out)


def state_path(coursedir, *parts: str) -> str:
    path = os.path.join(coursedir.root, STATE_DIR, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def atomic_write_json(path: str, data) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def read_failures(coursedir, assignment: str) -> dict:
    """``{student: {"reason": ..., "time": ...}}`` of the last autograde runs."""
    path = state_path(coursedir, assignment, "failures.json")
    if not os.path.exists(path):
        return {}
    with open(path) as fh:
        return json.load(fh)


def write_failures(coursedir, assignment: str, failures: dict) -> None:
    atomic_write_json(state_path(coursedir, assignment, "failures.json"), failures)
