"""``collect``: import a folder or zip of submissions into nbgrader's ``submitted/`` layout.

Accepted layouts (inside the folder or zip, optionally below one wrapper folder)::

    <student>/<notebook>.ipynb   (plus any other files of that student)
    <student>.ipynb              (only for single-notebook assignments)

nbgrader takes a submission's time (and so its late penalty) from ``timestamp.txt`` in the
submitted folder.  A student's own ``timestamp.txt`` is therefore never copied: the time comes
from the grader's side, the ``--timestamps`` CSV exported by the learning platform
(``student,time`` per line); without it no submission has a time and none counts as late.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import zipfile

from .common import STUDENT_ID_RE, CourseError, load_nbgrader_config

MAX_ZIP_BYTES = 2 * 1024 ** 3
_JUNK = {"__MACOSX", ".ipynb_checkpoints", ".DS_Store", "Thumbs.db"}


def assignment_notebooks(coursedir, assignment: str) -> list[str]:
    """Notebook names of the assignment (source folder first, else the gradebook)."""
    source = coursedir.format_path(coursedir.source_directory, ".", assignment)
    names = sorted(os.path.splitext(os.path.basename(p))[0]
                   for p in glob.glob(os.path.join(source, "*.ipynb")))
    if names:
        return names
    from nbgrader.api import Gradebook, MissingEntry

    from .gradebook import check_gradebook

    check_gradebook(coursedir)
    try:
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
            return sorted(nb.name for nb in gb.find_assignment(assignment).notebooks)
    except MissingEntry:
        raise CourseError(
            f"unknown assignment {assignment!r}: no {source} and not in the gradebook") from None


def _is_junk(relpath: str) -> bool:
    parts = relpath.replace("\\", "/").split("/")
    return any(p in _JUNK or p.startswith("._") for p in parts)


def _extract_zip(path: str, dest: str) -> None:
    with zipfile.ZipFile(path) as zf:
        total = 0
        for info in zf.infolist():
            name = info.filename
            norm = os.path.normpath(name)
            if name.startswith(("/", "\\")) or norm.startswith("..") or os.path.isabs(norm):
                raise CourseError(f"unsafe path in zip: {name!r}")
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise CourseError("zip expands to more than 2 GiB; refusing to extract it")
        zf.extractall(dest)


def _scan(base: str, notebooks: list[str]) -> dict[str, dict[str, str]]:
    """``{student: {relative path: absolute path}}`` for the folder *base*."""
    entries = [e for e in sorted(os.listdir(base)) if not _is_junk(e)]
    # one wrapper folder (e.g. "submissions/") around everything: descend into it
    if (len(entries) == 1 and os.path.isdir(os.path.join(base, entries[0]))
            and not any(os.path.exists(os.path.join(base, entries[0], nb + ".ipynb"))
                        for nb in notebooks)):
        return _scan(os.path.join(base, entries[0]), notebooks)
    found: dict[str, dict[str, str]] = {}
    errors = []
    for entry in entries:
        full = os.path.join(base, entry)
        if os.path.islink(full):
            errors.append(f"{entry}: a symbolic link (submit the files themselves)")
            continue
        if os.path.isdir(full):
            student = entry
            files = {}
            for dirpath, dirnames, filenames in os.walk(full):
                dirnames[:] = [d for d in dirnames if not _is_junk(d)]
                dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
                for fn in filenames:
                    rel = os.path.relpath(os.path.join(dirpath, fn), full)
                    if os.path.islink(os.path.join(dirpath, fn)):
                        errors.append(f"{student}: {rel} is a symbolic link (submit the file itself)")
                        continue
                    if not _is_junk(rel):
                        files[rel] = os.path.join(dirpath, fn)
            nbs = [r for r in files if r.endswith(".ipynb")]
            unknown = [r for r in nbs if os.path.splitext(r)[0] not in notebooks]
            if unknown:
                errors.append(f"{student}: unexpected notebook(s) {', '.join(sorted(unknown))} "
                              f"(expected {', '.join(n + '.ipynb' for n in notebooks)})")
            if not nbs:
                errors.append(f"{student}: no notebook found")
            found[student] = files
        elif entry.endswith(".ipynb"):
            if len(notebooks) != 1:
                errors.append(f"{entry}: a bare <student>.ipynb is only accepted for "
                              f"single-notebook assignments; use <student>/<notebook>.ipynb")
                continue
            student = entry[:-len(".ipynb")]
            if student in found:
                errors.append(f"{student}: submitted both as a folder and as {entry}")
            found[student] = {notebooks[0] + ".ipynb": full}
        else:
            errors.append(f"{entry}: not a student folder or a .ipynb file")
    for student in found:
        if not STUDENT_ID_RE.match(student):
            errors.append(f"{student!r}: invalid student id (letters, digits, '_', '-', '.', "
                          f"'@', '+'; must start with a letter or digit)")
    if errors:
        raise CourseError("invalid submissions:\n  " + "\n  ".join(errors))
    return found


def read_timestamps(path: str) -> dict[str, str]:
    """``{student: time}`` from a CSV of ``student,time`` lines (a header line is allowed); each
    time as nbgrader reads it (e.g. ``2026-11-28 15:00:00 UTC``; no zone means UTC)."""
    import csv

    from nbgrader.utils import parse_utc

    out, errors = {}, []
    with open(path, newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.reader(fh), 1):
            if not row or not "".join(row).strip() or i == 1 and row[0].strip().lower() in ("student", "student_id"):
                continue
            if len(row) != 2:
                errors.append(f"line {i}: expected 'student,time', got {len(row)} field(s)")
                continue
            student, stamp = row[0].strip(), row[1].strip()
            try:
                parse_utc(stamp)
            except Exception:
                errors.append(f"line {i}: {stamp!r} is not a time (write e.g. 2026-11-28 15:00:00 UTC)")
                continue
            if student in out:
                errors.append(f"line {i}: {student} appears twice")
            out[student] = stamp
    if errors:
        raise CourseError(f"--timestamps {path}:\n  " + "\n  ".join(errors))
    return out


def collect(root: str, assignment: str, path: str, force: bool = False, db_url: str | None = None,
            timestamps: str | None = None) -> list[str]:
    """Copy the submissions under *path* into ``submitted/<student>/<assignment>/``, with the
    submission times of the *timestamps* CSV (a student's own ``timestamp.txt`` is dropped)."""
    _, coursedir = load_nbgrader_config(root, db_url=db_url)
    times = read_timestamps(timestamps) if timestamps else {}
    notebooks = assignment_notebooks(coursedir, assignment)
    if not os.path.exists(path):
        raise CourseError(f"{path} does not exist")
    with tempfile.TemporaryDirectory() as tmp:
        if os.path.isfile(path):
            if not zipfile.is_zipfile(path):
                raise CourseError(f"{path} is neither a folder nor a zip file")
            _extract_zip(path, tmp)
            base = tmp
        else:
            base = path
        found = _scan(base, notebooks)
        if not found:
            raise CourseError(f"no submissions found in {path}")
        if timestamps:
            missing = sorted(set(found) - set(times))
            if missing:
                raise CourseError(f"--timestamps {timestamps} has no time for {len(missing)} student(s): "
                                  f"{', '.join(missing[:10])}{', ...' if len(missing) > 10 else ''}")
        targets = {s: coursedir.format_path(coursedir.submitted_directory, s, assignment)
                   for s in found}
        existing = sorted(s for s, d in targets.items() if os.path.exists(d))
        if existing and not force:
            raise CourseError(
                f"{len(existing)} submission(s) already exist ({', '.join(existing[:10])}"
                f"{', ...' if len(existing) > 10 else ''}); use --force to overwrite them")
        for student, files in sorted(found.items()):
            dest = targets[student]
            parent = os.path.dirname(dest)
            os.makedirs(parent, exist_ok=True)
            staging = tempfile.mkdtemp(dir=parent, prefix=f".{assignment}-")
            try:
                for rel, src in files.items():
                    if rel.replace("\\", "/").split("/")[0] == "timestamp.txt":
                        # nbgrader's submission time (a file, or a folder of that name that would
                        # stand in its way): written by the grader only
                        continue
                    out = os.path.join(staging, rel)
                    os.makedirs(os.path.dirname(out), exist_ok=True)
                    shutil.copyfile(src, out)
                if student in times:
                    with open(os.path.join(staging, "timestamp.txt"), "w", encoding="utf-8") as fh:
                        fh.write(times[student])
                if os.path.exists(dest):
                    shutil.rmtree(dest)
                os.rename(staging, dest)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    return sorted(found)
