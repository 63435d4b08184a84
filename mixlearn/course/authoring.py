"""An instructor's own assignment: the checks template, the guide, and the checks' preflight.

Every assignment graded with trusted checks needs ``<source>/<assignment>/trusted_checks.py``
(see :mod:`mixlearn.course.checks`).  ``mixlearn-course new-checks <assignment>`` copies the
template (``templates/trusted_checks.py``) there; ``mixlearn-course guide`` prints the guide
(``templates/GUIDE.md``).  Before ``mixlearn-course autograde`` starts any kernel,
:func:`preflight` refuses an assignment whose checks are missing or unusable.
"""

from __future__ import annotations

import ast
import fnmatch
import glob
import os

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
TEMPLATE = os.path.join(TEMPLATES, "trusted_checks.py")
GUIDE = os.path.join(TEMPLATES, "GUIDE.md")
CHECKS_NAME = "trusted_checks.py"
SECTION = "# ---------------------------------------------------------- one @check per autograder test cell\n"
PREFLIGHT_SEED = 20260101   # the hidden inputs the preflight draws (any seed would do)


def guide_hint(assignment: str, template: bool = True) -> str:
    """Where an instructor starts: the template command (with *template*) and the guide."""
    guide = f"the guide to writing checks is {GUIDE} (`mixlearn-course guide` prints it)."
    if template:
        return f"Start from the template with `mixlearn-course new-checks {assignment}`; {guide}"
    return guide[0].upper() + guide[1:]


def shown_path(path: str, root: str | None) -> str:
    """*path* as the instructor knows it: relative to the course folder when it lies inside."""
    path = os.path.normpath(os.path.abspath(path))
    if root:
        rel = os.path.relpath(path, os.path.abspath(root))
        if not rel.startswith(os.pardir):
            return rel
    return path


def source_folder(coursedir, assignment: str) -> str:
    return os.path.normpath(coursedir.format_path(coursedir.source_directory, ".", assignment))


def checks_path(config, coursedir, assignment: str) -> str:
    """The assignment's checks module: ``TrustedExecute.checks_file`` if configured, else
    ``<source>/<assignment>/trusted_checks.py``."""
    configured = config.TrustedExecute.get("checks_file") if "TrustedExecute" in config else None
    if configured:
        return os.path.normpath(os.path.join(coursedir.root, configured))
    return os.path.join(source_folder(coursedir, assignment), CHECKS_NAME)


def source_test_cells(coursedir, assignment: str) -> dict:
    """``{grade_id: (notebook file, points)}`` of the autograder test cells in the source notebooks."""
    import nbformat

    from .common import CourseError
    from .trusted import is_test_cell

    cells = {}
    for path in sorted(glob.glob(os.path.join(source_folder(coursedir, assignment), "*.ipynb"))):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as exc:
            raise CourseError(f"{shown_path(path, coursedir.root)} is not a readable notebook: {exc}") from None
        for cell in nb.cells:
            if is_test_cell(cell):
                meta = cell.metadata.nbgrader
                cells[meta.get("grade_id")] = (os.path.basename(path), meta.get("points", 0))
    return cells


def ignored_by_release(coursedir) -> bool:
    """Does ``CourseDirectory.ignore`` keep the checks out of the release and the collected files?"""
    return any(fnmatch.fnmatch(CHECKS_NAME, pattern) for pattern in coursedir.ignore)


def _check_switched_off(path: str, shown: str, assignment: str) -> None:
    from .checks import switched_off_in
    from .sandbox import mixlearn_package_dir, stub_rules
    from .trusted import MissingChecks

    try:
        items = switched_off_in(path)
        stub_rules(items)
    except (ValueError, SyntaxError) as exc:
        raise MissingChecks(f"{shown}: {exc}") from None
    package = mixlearn_package_dir()
    for item in items:
        module, _, name = item.partition(":")
        file = os.path.join(package, module)
        if not os.path.isfile(file):
            raise MissingChecks(f"{shown}: SWITCHED_OFF names {item!r}, but mixlearn has no file {module}")
        with open(file, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), file)
        if not any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name for n in tree.body):
            raise MissingChecks(f"{shown}: SWITCHED_OFF names {item!r}, but mixlearn/{module} defines no "
                                f"top-level function {name!r}")


def preflight(config, coursedir, assignment: str, say=None) -> dict:
    """Refuse (:class:`~mixlearn.course.common.CourseError`) an assignment whose trusted checks
    would fail every submission: the checks module is missing or cannot be loaded, a test cell of
    the source notebooks has no check, a check raises or registers no case, or ``SWITCHED_OFF``
    names something that is not there.  Runs in this process; no kernel, no sandbox.  Returns the
    checks (``{grade_id: function}``); *say* gets the warnings."""
    from .checks import prepare
    from .common import CourseError
    from .trusted import MissingChecks, load_trusted_checks

    say = say or (lambda msg: None)
    path = checks_path(config, coursedir, assignment)
    shown = shown_path(path, coursedir.root)
    cells = source_test_cells(coursedir, assignment)
    try:
        checks = load_trusted_checks(path, assignment, shown, list(cells))
        _check_switched_off(path, shown, assignment)
        for grade_id in cells:
            try:
                ctx = prepare(checks, grade_id, PREFLIGHT_SEED)
            except Exception as exc:
                raise MissingChecks(f"{shown}: the check for {grade_id!r} raised {type(exc).__name__}: {exc}") from None
            if not ctx.cases:
                raise MissingChecks(f"{shown}: the check for {grade_id!r} registers no case (t.case): "
                                    "it would pass every answer")
    except MissingChecks as exc:
        raise CourseError(str(exc)) from None
    extra = sorted(set(checks) - set(cells)) if cells else []
    if extra:
        say(f"warning: {shown} has checks for {', '.join(extra)}, which are not test cells of "
            f"{shown_path(source_folder(coursedir, assignment), coursedir.root)}/*.ipynb (a misspelt grade_id?)")
    if not ignored_by_release(coursedir):
        say(f"warning: add {CHECKS_NAME!r} to c.CourseDirectory.ignore in nbgrader_config.py, or "
            "generate_assignment copies the checks into the students' release")
    return checks


def new_checks(config, coursedir, assignment: str, force: bool = False) -> tuple[str, dict]:
    """Copy the template to the assignment's checks module; return its path and the source
    notebooks' test cells (each needs a ``@check``)."""
    from .common import CourseError

    folder = source_folder(coursedir, assignment)
    path = checks_path(config, coursedir, assignment)
    shown = shown_path(path, coursedir.root)
    if not os.path.isdir(folder):
        raise CourseError(f"{shown_path(folder, coursedir.root)} does not exist: put the assignment's source "
                          f"notebook there first ({shown_path(folder, coursedir.root)}/{assignment}.ipynb)")
    if os.path.exists(path) and not force:
        raise CourseError(f"{shown} already exists (use --force to replace it with the template)")
    cells = source_test_cells(coursedir, assignment)
    with open(TEMPLATE, encoding="utf-8") as fh:
        text = fh.read().replace("assignment ASSIGNMENT.", f"assignment {assignment}.", 1)
    if cells:
        listed = "\n".join(f"#   {gid}  ({nb}, {points:g} points)" for gid, (nb, points) in cells.items())
        text = text.replace(SECTION, f"{SECTION}# The test cells that need a check:\n{listed}\n\n", 1)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path, cells
