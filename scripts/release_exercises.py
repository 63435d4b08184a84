"""Regenerate the student release ``exercises/`` from ``solutions/`` with ``nbgrader generate_assignment``.

The release is made in a temporary course directory (a copy of ``nbgrader_config.py`` and
``solutions/``), so no gradebook or other grading state is left in the repository; then each
``exercises/<assignment>/`` folder is replaced by the freshly generated one.

    python scripts/release_exercises.py              # all assignments (every solutions/<a>/<a>.ipynb)
    python scripts/release_exercises.py 03_em_two    # one assignment
    python scripts/release_exercises.py --check      # exit 1 if exercises/ is out of date

Never edit ``exercises/`` by hand.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def discover(root=ROOT):
    """The course's assignments: the folders ``solutions/<a>/`` that hold ``<a>.ipynb``, sorted."""
    return sorted(p.name for p in (Path(root) / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())


ASSIGNMENTS = discover()


def generate_release(course_root, assignments=ASSIGNMENTS):
    """Run ``generate_assignment`` in a copy of the course; return the release directory."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    bin_dir = os.path.dirname(sys.executable)  # nbgrader runs `alembic` from PATH
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    course_root = Path(course_root)
    shutil.copy(ROOT / "nbgrader_config.py", course_root / "nbgrader_config.py")
    for assignment in assignments:
        shutil.copytree(ROOT / "solutions" / assignment, course_root / "solutions" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    config.CourseDirectory.root = str(course_root)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    for assignment in assignments:
        result = api.generate_assignment(assignment, force=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{result.get('log', '')}\n"
                               f"{result.get('error', '')}")
    return course_root / "exercises"


def comparable(path):
    """The parts of a release notebook that matter: cell types, sources, nbgrader metadata."""
    with open(path) as fh:
        nb = json.load(fh)
    cells = []
    for cell in nb["cells"]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        cells.append({"cell_type": cell["cell_type"], "source": source,
                      "nbgrader": cell.get("metadata", {}).get("nbgrader"),
                      "tags": cell.get("metadata", {}).get("tags", []),
                      "outputs": cell.get("outputs", [])})
    return {"kernelspec": nb.get("metadata", {}).get("kernelspec"), "cells": cells}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", default=[])
    parser.add_argument("--check", action="store_true", help="compare with exercises/ instead of writing it")
    args = parser.parse_args(argv)
    selected = args.assignments or ASSIGNMENTS
    unknown = sorted(set(selected) - set(ASSIGNMENTS))
    if unknown:
        parser.error(f"unknown assignments: {unknown}")
    stale = []
    with tempfile.TemporaryDirectory(prefix="mixlearn-release-") as tmp:
        release = generate_release(tmp, selected)
        for assignment in selected:
            fresh = release / assignment / f"{assignment}.ipynb"
            committed = ROOT / "exercises" / assignment / f"{assignment}.ipynb"
            if args.check:
                if not committed.exists() or comparable(fresh) != comparable(committed):
                    stale.append(assignment)
                continue
            target = ROOT / "exercises" / assignment
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(release / assignment, target)
            print(f"wrote {target.relative_to(ROOT)}/")
    if stale:
        print("exercises/ is out of date for:", ", ".join(stale), "- run: python scripts/release_exercises.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
