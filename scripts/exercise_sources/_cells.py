"""Cell builders shared by the exercise sources (one module per assignment in this folder).

Every assignment module defines ``TITLE``, ``PRACTISES`` (one line for the book's list) and
``cells()``, a list made with the builders below. ``scripts/make_solutions.py`` turns it into
``solutions/<assignment>/<assignment>.ipynb``.

Rules the builders keep (nbgrader needs them):
* cells with nbgrader metadata have a unique ``grade_id``, which is also the cell id;
* every autograder test cell and every written-answer cell directly follows (among the cells
  with nbgrader metadata) a solution or test cell, so that ``OverwriteCells.add_missing_cells``
  can put a deleted cell back in place (``check_order`` enforces it).
"""

import textwrap

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


def _src(text):
    return textwrap.dedent(text).strip("\n")


def _nbgrader(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text):
    """Instructions (plain markdown, no nbgrader metadata)."""
    return new_markdown_cell(_src(text))


def setup(grade_id, source):
    """A read-only code cell (imports and test helpers); restored by autograde if edited."""
    cell = new_code_cell(_src(source), metadata=_nbgrader(grade_id, locked=True))
    cell.metadata["editable"] = False
    cell.metadata["deletable"] = False
    return cell


def solution(grade_id, source):
    """A cell the student completes; the part between BEGIN/END SOLUTION is replaced by a stub."""
    return new_code_cell(_src(source), metadata=_nbgrader(grade_id, solution=True))


def tests(grade_id, points, visible, hidden=None):
    """An autograder test cell: visible asserts, then optional hidden ones (other data)."""
    source = _src(visible)
    if hidden:
        source += f"\n\n{HIDDEN_BEGIN}\n{_src(hidden)}\n{HIDDEN_END}"
    cell = new_code_cell(source, metadata=_nbgrader(grade_id, grade=True, locked=True, points=points))
    cell.metadata["editable"] = False
    cell.metadata["deletable"] = False
    return cell


def answer(grade_id, points, model_answer):
    """A written answer, graded by hand; the model answer is replaced by a stub in the release."""
    return new_markdown_cell(_src(model_answer),
                             metadata=_nbgrader(grade_id, grade=True, solution=True, points=points))


def demo(source, check_output=True):
    """An ordinary code cell that uses the student's functions.

    With ``check_output=False`` (plots, timings) the cell is tagged ``nbval-ignore-output`` and its
    outputs are not stored in the solution notebook.
    """
    cell = new_code_cell(_src(source))
    if not check_output:
        cell.metadata["tags"] = ["nbval-ignore-output"]
    return cell


def check_order(cells):
    """Raise if a test or answer cell does not follow a solution/test cell (see module doc)."""
    previous = None
    seen = set()
    for cell in cells:
        nbg = cell.metadata.get("nbgrader")
        if nbg is None:
            continue
        if nbg["grade_id"] in seen:
            raise ValueError(f"duplicate grade_id {nbg['grade_id']!r}")
        seen.add(nbg["grade_id"])
        if nbg["grade"]:
            ok = previous is not None and (previous["grade"] or previous["solution"])
            if not ok:
                raise ValueError(f"grade cell {nbg['grade_id']!r} must follow a solution or grade cell")
        previous = nbg


def notebook(cells):
    check_order(cells)
    for i, cell in enumerate(cells):
        nbg = cell.metadata.get("nbgrader")
        cell.id = nbg["grade_id"] if nbg else f"{cell.cell_type}-{i:02d}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return nb


HELPERS = '''
def _short(a):
    return np.array2string(np.asarray(a), precision=6, threshold=12, edgeitems=3)


def expect_close(actual, expected, what, rtol=1e-6, atol=1e-9):
    """Fail with a sentence saying what was expected unless `actual` equals `expected` (up to rounding)."""
    expected = np.asarray(expected, dtype=float)
    try:
        actual = np.asarray(actual, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be numbers like {_short(expected)}, but it is {actual!r}.") from None
    assert actual.shape == expected.shape, (
        f"{what} should have shape {expected.shape}, but it has shape {actual.shape}.")
    if not np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True):
        with np.errstate(invalid="ignore"):
            gap = np.nanmax(np.abs(actual - expected)) if np.isfinite(actual).all() else np.nan
        raise AssertionError(f"{what} should be {_short(expected)}, but it is {_short(actual)}"
                             + (f" (off by up to {gap:.3g})." if np.isfinite(gap) else "."))


_SWITCHED_OFF = ("{name} is switched off while this test runs: this exercise is about writing that step "
                 "yourself, so your function must not call the library's version (numpy and scipy are fine).")


def _blocker(name):
    namespace = {}
    exec(f"def blocked(*args, **kwargs):\\n    raise RuntimeError({_SWITCHED_OFF.format(name=name)!r})", namespace)
    return namespace["blocked"]


@contextlib.contextmanager
def own_work_only(*names):
    """Inside this block the named mixlearn functions (or the `fit` of a named mixlearn class) raise.

    The tests use it so that a function is graded on your code, not on the library's answer.
    For GaussianMixture, scikit-learn's GaussianMixture is switched off too.
    """
    saved = []
    try:
        for name in names:
            obj = getattr(ml, name)
            if isinstance(obj, type):
                classes = [(obj, f"mixlearn.{name}")]
                try:
                    import sklearn.mixture
                    classes.append((sklearn.mixture.GaussianMixture, "sklearn.mixture.GaussianMixture"))
                except ImportError:
                    pass
                for cls, label in classes:
                    for method in ("fit", "fit_predict"):
                        saved.append((cls, method, cls.__dict__.get(method)))
                        setattr(cls, method, _blocker(label))
            else:
                # swap the code itself, so aliases such as `from mixlearn import ...` are covered too
                saved.append((obj, "__code__", obj.__code__))
                obj.__code__ = _blocker(f"mixlearn.{name}").__code__
        yield
    finally:
        for owner, attr, old in reversed(saved):
            if old is None:
                delattr(owner, attr)
            else:
                setattr(owner, attr, old)
'''


def setup_source(imports):
    """Source of the read-only setup cell: the assignment's imports plus the test helpers."""
    head = "# Setup and test helpers (read-only; run this cell first).\nimport contextlib\n\n"
    return head + _src(imports) + "\n\n\n" + _src(HELPERS)
