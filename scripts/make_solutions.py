"""Write the nbgrader source notebooks ``solutions/<a>/<a>.ipynb`` from ``scripts/exercise_sources``.

The assignment modules in ``scripts/exercise_sources`` hold the cells (instructions, solutions,
tests with hidden parts, written-answer prompts). This script turns them into notebooks, runs them
in a fresh kernel and keeps the outputs of the cells that ``pytest --nbval`` checks (cells tagged
``nbval-ignore-output``, e.g. plots, are stored without outputs).

    python scripts/make_solutions.py            # rewrite every solution notebook
    python scripts/make_solutions.py 04_em_n    # only one
    python scripts/make_solutions.py --check    # exit 1 if a committed notebook's cells differ

After changing a solution, regenerate the student release with
``python scripts/release_exercises.py``.
"""

import argparse
import importlib
import os
import sys

import nbformat
from nbclient import NotebookClient

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SOURCES = os.path.join(HERE, "exercise_sources")
sys.path.insert(0, SOURCES)


def discover(folder=SOURCES):
    """``{assignment: module}`` of the sources: ``a<assignment>.py`` holds ``solutions/<assignment>``'s cells
    (``a04_em_n.py`` -> ``04_em_n``). An assignment written directly as a notebook has no source here."""
    return {name[1:-3]: name[:-3] for name in sorted(os.listdir(folder))
            if name.startswith("a") and name.endswith(".py")}


ASSIGNMENTS = discover()


def source_module(assignment):
    return importlib.import_module(ASSIGNMENTS[assignment])


def build(assignment):
    """The solution notebook of ``assignment`` without outputs."""
    from _cells import notebook

    return notebook(source_module(assignment).cells())


def execute(nb, cwd, timeout=600):
    """Run ``nb`` in a fresh kernel; keep outputs only where nbval compares them."""
    env_path = os.path.dirname(sys.executable)
    os.environ["PATH"] = env_path + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("MPLBACKEND", "Agg")
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": cwd}}).execute()
    for cell in nb.cells:
        if cell.cell_type == "code" and "nbval-ignore-output" in cell.metadata.get("tags", []):
            cell.outputs = []
    return nb


def cell_signature(nb):
    """What --check compares: cell types, ids, sources and metadata (not outputs)."""
    return [(c.cell_type, c.get("id"), c.source, dict(c.metadata)) for c in nb.cells]


def path_of(assignment, root=ROOT):
    return os.path.join(root, "solutions", assignment, assignment + ".ipynb")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", choices=[[], *ASSIGNMENTS], default=[])
    parser.add_argument("--check", action="store_true", help="only compare with the committed notebooks")
    args = parser.parse_args(argv)
    selected = args.assignments or list(ASSIGNMENTS)
    stale = []
    for assignment in selected:
        nb = build(assignment)
        path = path_of(assignment)
        if args.check:
            if not os.path.exists(path) or cell_signature(nbformat.read(path, as_version=4)) != cell_signature(nb):
                stale.append(assignment)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        execute(nb, os.path.dirname(path))
        nbformat.validate(nb)
        nbformat.write(nb, path)
        print(f"wrote {os.path.relpath(path, ROOT)}")
    if stale:
        print("out of date with scripts/exercise_sources:", ", ".join(stale))
        print("run: python scripts/make_solutions.py && python scripts/release_exercises.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
