"""The similarity report against the established tools, on a planted class, and at 500 students.

    python benchmarks/bench_similarity.py                  # quality on every assignment + speed at 500
    python benchmarks/bench_similarity.py --students 500 --skip-quality
    python benchmarks/bench_similarity.py --dolos /tmp/dolos   # also Dolos (npm i @dodona/dolos-lib there)

**Quality.** Each assignment's planted class (``tests/similarity_support/planted.py``: 30
independent correct solutions, a classmate's answers under seven disguises, the model solution
disguised, mixlearn's source pasted in) is given to each tool. A tool separates the class when
every planted pair scores above every independent pair; the margin is the lowest planted score
minus the highest independent one. The external tools see what ours sees: each student's answer
cells as one ``.py`` file (the model solution and the pasted library function as two more files),
and copydetect also the starter code as its boilerplate.

* mixlearn: ``mixlearn.course.similarity`` (notebook-aware, syntax-tree winnowing, dead code removed);
* copydetect 0.5 (PyPI): winnowing on pygments tokens; pair score = the larger of its two shares;
* Dolos (``@dodona/dolos-lib`` on npm, tree-sitter tokens, winnowing): pair ``similarity``.

**Speed.** A class of N students of 04_em_n (the corpus's students, cycled and renamed to reach N),
wall time of the whole report (reading notebooks, fingerprints, every pair, HTML + CSV) against
copydetect on the same answers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from similarity_support import corpus, plant, planted  # noqa: E402

from mixlearn.course.similarity import answers_of, read_assignment, similarity  # noqa: E402
from mixlearn.course.similarity_report import write_report  # noqa: E402

DOLOS_SCRIPT = """
import { Dolos } from "@dodona/dolos-lib";
const dolos = new Dolos({ language: "python" });
const report = await dolos.analyzePaths(process.argv.slice(2));
const out = [];
for (const p of report.allPairs()) out.push([p.leftFile.path, p.rightFile.path, p.similarity]);
console.log(JSON.stringify(out));
"""


def export_py(root: Path, assignment: str, out: Path) -> dict[str, Path]:
    """Each student's answer cells as one .py file, plus the model solution and the pasted function."""
    out.mkdir(parents=True)
    files = {}
    for folder in sorted((root / "submitted").iterdir()):
        nb_path = folder / assignment / f"{assignment}.ipynb"
        try:
            cells = answers_of(json.loads(nb_path.read_text()))
        except (OSError, ValueError):
            continue
        path = out / f"{folder.name}.py"
        path.write_text("\n\n".join(src for _, src in cells) + "\n")
        files[f"student:{folder.name}"] = path
    sol = out / "model-solution.py"
    sol.write_text("\n\n".join(planted.model_answers(assignment).values()))
    files["solution:model"] = sol
    lib = out / "library.py"
    lib.write_text(planted.library_source(planted.LIBRARY[assignment]))
    files[f"library:{planted.LIBRARY[assignment]}"] = lib
    return files


def copydetect_scores(files: dict[str, Path], boilerplate: Path) -> dict[tuple[str, str], float]:
    from copydetect import CopyDetector

    folder = next(iter(files.values())).parent
    det = CopyDetector(test_dirs=[str(folder)], ref_dirs=[str(folder)], boilerplate_dirs=[str(boilerplate)],
                       extensions=["py"], display_t=0.0, autoopen=False, silent=True)
    det.run()
    key_of = {str(p): k for k, p in files.items()}
    keys = [key_of.get(str(Path(f)), None) for f in det.test_files]
    refs = [key_of.get(str(Path(f)), None) for f in det.ref_files]
    out = {}
    for i, a in enumerate(keys):
        for j, b in enumerate(refs):
            if a and b and a != b:
                s = float(max(det.similarity_matrix[i, j]))
                out[(a, b)] = max(out.get((a, b), 0.0), s)
                out[(b, a)] = out[(a, b)]
    return out


def dolos_scores(files: dict[str, Path], dolos_dir: Path) -> dict[tuple[str, str], float]:
    script = dolos_dir / "bench-dolos.mjs"
    script.write_text(DOLOS_SCRIPT)
    proc = subprocess.run(["node", str(script), *map(str, files.values())], capture_output=True, text=True,
                          cwd=dolos_dir, timeout=1800)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    key_of = {str(p): k for k, p in files.items()}
    out = {}
    for a, b, s in json.loads(proc.stdout.strip().splitlines()[-1]):
        ka, kb = key_of[a], key_of[b]
        out[(ka, kb)] = out[(kb, ka)] = float(s)
    return out


def separation(scores: dict[tuple[str, str], float], pairs, students) -> tuple[float, float]:
    planted_students = {a for a, _, _ in pairs}
    lowest = min(scores.get((a, b), 0.0) for a, b, _ in pairs)
    ind = [k for k in students if k not in planted_students and k.startswith("student:ind")]
    refs = {b for _, b, _ in pairs if not b.startswith("student:")}
    others = ind + sorted(refs)
    highest = max((scores.get((a, b), 0.0) for i, a in enumerate(ind) for b in others[i + 1:]), default=0.0)
    return lowest, highest


def quality(tmp: Path, dolos: Path | None) -> list[dict]:
    rows = []
    for a in planted.assignments():
        root = tmp / f"q-{a}"
        pairs = planted.build(root, a, bad_input=False)
        res = similarity(str(root), a)
        ours = {}
        for m in res.matches:
            ours[(m.a, m.b)] = ours[(m.b, m.a)] = m.score
        students = [k for k in res.documents if k.startswith("student:")]
        row = {"assignment": a, "mixlearn": separation(ours, pairs, students)}
        files = export_py(root, a, tmp / f"py-{a}")
        bp = tmp / f"bp-{a}"
        bp.mkdir()
        (bp / "starter.py").write_text("\n\n".join(read_assignment(_coursedir(root), a).starter))
        row["copydetect"] = separation(copydetect_scores(files, bp), pairs, students)
        if dolos:
            row["dolos"] = separation(dolos_scores(files, dolos), pairs, students)
        rows.append(row)
        print(a, {k: v if isinstance(v, str) else f"planted >= {v[0]:.3f}, independent <= {v[1]:.3f}"
                  for k, v in row.items()}, flush=True)
    return rows


def _coursedir(root):
    from mixlearn.course.common import load_nbgrader_config

    return load_nbgrader_config(str(root))[1]


def big_class(root: Path, n: int, assignment: str = "04_em_n") -> None:
    planted.course(root, assignment)
    pool = corpus.students(assignment, corpus.capacity(assignment), seed=0)
    keep = planted.required_names(assignment)
    for i in range(n):
        cells = pool[i % len(pool)]
        if i >= len(pool):   # another student writing the same variants, with their own names
            cells = {g: plant.rename(src, keep, prefix=f"s{i}_") for g, src in cells.items()}
        planted.write_student(root, assignment, f"student{i:03d}", cells)


def speed(tmp: Path, n: int, dolos: Path | None) -> dict:
    a = "04_em_n"
    root = tmp / f"speed-{n}"
    big_class(root, n, a)
    t0 = time.perf_counter()
    res = similarity(str(root), a)
    write_report(res, str(tmp / "speed-report"))
    ours = time.perf_counter() - t0
    out = {"students": n, "pairs": n * (n - 1) // 2, "mixlearn_s": ours}
    files = export_py(root, a, tmp / f"speed-py-{n}")
    bp = tmp / "speed-bp"
    bp.mkdir()
    (bp / "starter.py").write_text("\n\n".join(read_assignment(_coursedir(root), a).starter))
    t0 = time.perf_counter()
    copydetect_scores(files, bp)
    out["copydetect_s"] = time.perf_counter() - t0
    if dolos:
        t0 = time.perf_counter()
        dolos_scores(files, dolos)
        out["dolos_s"] = time.perf_counter() - t0
    print(out, flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=500)
    p.add_argument("--skip-quality", action="store_true")
    p.add_argument("--dolos", type=Path, default=None,
                   help="folder where `npm install @dodona/dolos-lib` was run (needs node on PATH)")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-similarity-"))
    try:
        print(f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}")
        if not args.skip_quality:
            quality(tmp, args.dolos)
        speed(tmp, args.students, args.dolos)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
