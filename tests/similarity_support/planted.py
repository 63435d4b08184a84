"""A planted class for the similarity report: independent students plus copies of known origin.

``build(root, assignment)`` writes a course folder (the repository's ``nbgrader_config.py``, the
assignment's source and release) with ``submitted/`` holding

* ``ind00`` ... : independent correct answers composed from :mod:`similarity_support.corpus`;
* ``copy-<disguise>``: an independent student's answers under each disguise of
  :mod:`similarity_support.plant` (each from a different student);
* ``model-copy``: the model solution under every disguise at once;
* ``library-paste``: an independent student who pasted mixlearn's own function and uses it;
* bad input: ``broken`` (not JSON), ``blank`` (the release, untouched) and, when asked, a roster
  naming ``ghost``, who has no folder.

It returns the planted pairs as ``(student key, other key, what)`` with the keys of
:mod:`mixlearn.course.similarity` (``student:<id>``, ``solution:model``, ``library:<name>``).
"""

from __future__ import annotations

import ast
import copy
import json
import shutil
from pathlib import Path

from . import corpus, plant

REPO = Path(__file__).resolve().parents[2]

# the library function a student of each assignment would paste (it does that assignment's job)
LIBRARY = {"01_sampling": "mixlearn.mixture.sample_mixture", "02_posteriors": "mixlearn.mixture.posterior",
           "03_em_two": "mixlearn.em.em_two_components", "04_em_n": "mixlearn.em.em_n_components",
           "05_gmm_1d": "mixlearn._gaussian_kernels.m_step_complete",
           "06_gmm_missing": "mixlearn._gaussian_missing.pattern_marginals"}


def assignments() -> list[str]:
    """Every assignment of the course with code answers (discovered from solutions/)."""
    return sorted(p.parent.name for p in REPO.glob("solutions/*/*.ipynb") if p.stem == p.parent.name)


def _answer_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and c.get("metadata", {}).get("nbgrader", {})
            .get("solution")]


def required_names(assignment: str) -> set[str]:
    """Functions the notebook's tests call: every function its answer cells define."""
    nb = json.loads((REPO / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    out = set()
    for c in _answer_cells(nb):
        tree = ast.parse(plant.strip_solution_markers("".join(c["source"])))
        out |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    return out


def model_answers(assignment: str) -> dict[str, str]:
    nb = json.loads((REPO / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    return {c["metadata"]["nbgrader"]["grade_id"]: plant.strip_solution_markers("".join(c["source"]))
            for c in _answer_cells(nb)}


def library_source(qualified: str) -> str:
    from mixlearn.course.similarity import _library_functions

    return dict(_library_functions())[qualified]


def write_student(root, assignment: str, student: str, cells: dict[str, str]) -> None:
    release = json.loads((REPO / "exercises" / assignment / f"{assignment}.ipynb").read_text())
    nb = copy.deepcopy(release)
    for c in nb["cells"]:
        gid = c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in cells:
            c["source"] = cells[gid]
    folder = Path(root) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{assignment}.ipynb").write_text(json.dumps(nb))


def course(root, assignment: str) -> Path:
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    for d in ("solutions", "exercises"):
        shutil.copytree(REPO / d / assignment, root / d / assignment)
    return root


def build(root, assignment: str, n_independent: int = 30, seed: int = 0, bad_input: bool = True):
    root = course(root, assignment)
    keep = required_names(assignment)
    independent = corpus.students(assignment, n_independent, seed)
    for i, cells in enumerate(independent):
        write_student(root, assignment, f"ind{i:02d}", cells)
    planted = []
    for j, (what, disguise) in enumerate(plant.DISGUISES.items()):
        name = "copy-" + what.replace(" ", "-")
        write_student(root, assignment, name, {g: disguise(src, keep) for g, src in independent[j].items()})
        planted.append((f"student:{name}", f"student:ind{j:02d}", what))
    write_student(root, assignment, "model-copy",
                  {g: plant.everything(src, keep) for g, src in model_answers(assignment).items()})
    planted.append(("student:model-copy", "solution:model", "model solution"))
    # pasted library code, used: the required function of the first cell becomes the library's
    cells = dict(independent[len(plant.DISGUISES)])
    first = next(iter(cells))
    req = next(n.name for n in ast.parse(cells[first]).body if isinstance(n, ast.FunctionDef) and n.name in keep)
    qualified = LIBRARY[assignment]
    cells[first] = (library_source(qualified) + "\n\n" + cells[first] + "\n\n"
                    + f"{req} = {qualified.rsplit('.', 1)[1]}\n")
    write_student(root, assignment, "library-paste", cells)
    planted.append(("student:library-paste", f"library:{qualified}", "library"))
    if bad_input:
        broken = root / "submitted" / "broken" / assignment
        broken.mkdir(parents=True)
        (broken / f"{assignment}.ipynb").write_text('{"cells": [ not json')
        write_student(root, assignment, "blank", {})
        (root / "roster.csv").write_text("student\n" + "".join(
            f"{p.name}\n" for p in sorted((root / "submitted").iterdir())) + "ghost\n")
    return planted
