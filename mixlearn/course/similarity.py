"""``similarity``: which submissions of an assignment share code, with each other, with the model
solution, with mixlearn's own source, or with an archive of earlier terms.

Only what a student wrote is compared: the code answer cells (nbgrader ``solution`` cells) of each
submitted notebook, with the release's starter code (signature, docstring, ``# YOUR CODE HERE``) and
every other piece of given code subtracted at fingerprint level. The fingerprints are winnowed
k-grams of syntax-tree tokens (:mod:`mixlearn.course.fingerprint`), so renaming, reordering,
comments, docstrings, blank lines and re-wrapping change nothing, and dead code only dilutes one
side.

For two documents with fingerprint sets A and B the score is the share of the *smaller* one found
in the other, ``|A ∩ B| / max(min(|A|, |B|), floor)``: a copy padded with dead code still scores
as high as the copy, and the *floor* keeps an answer of a line or two from scoring 1 against
everything that happens to contain it. Pairs at or above the threshold are flagged; students
linked by flagged pairs form clusters. The result is evidence for a person to look at: nothing here
reads or writes a grade.
"""

from __future__ import annotations

import ast
import glob
import json
import os
import re
import textwrap
import time
from dataclasses import dataclass, field

from .common import CourseError, load_nbgrader_config, submitted_students
from .fingerprint import WINDOW, K, fingerprint_cells, loaded_names, parse

THRESHOLD = 0.75      # default: flag pairs whose mean cell score is at least this (see benchmarks/README.md)
FLOOR = 10            # fingerprints: a library function smaller than this cannot reach a score of 1
MAX_CELL_CHARS = 200_000   # longer answer cells are compared by their beginning (and listed)
CELL_FLOOR = 1        # fingerprints: an answer cell smaller than this cannot reach a score of 1
KINDS = ("student", "solution", "library", "archive")
LIBRARY_SKIP = ("course", "teaching")   # mixlearn subpackages students are never asked to write


@dataclass(frozen=True)
class Span:
    """Where a fingerprint occurs: answer cell *cell* (index into the document's cells), lines."""

    cell: int
    first: int
    last: int
    lines: tuple[int, ...] = ()     # the lines holding its tokens


@dataclass
class Document:
    """One body of code compared: a student's answers, the model solution, a library function,
    or an archived submission."""

    key: str                              # unique: "<kind>:<name>", e.g. "student:ada", "library:mixlearn.em.e_step"
    kind: str                             # one of KINDS
    label: str                            # what the report shows
    cells: list[tuple[str, str]]          # (cell name, source) of each answer cell
    where: dict[int, list[Span]] = field(default_factory=dict)   # fingerprint -> occurrences

    @property
    def size(self) -> int:
        return len(self.where)


@dataclass(frozen=True)
class Problem:
    """A submission that could not be compared, and why (listed in the report, never fatal)."""

    student: str
    reason: str


@dataclass(frozen=True)
class Match:
    """Two documents sharing fingerprints. *a* is always a student; *b* a student or a reference."""

    a: str
    b: str
    kind: str            # kind of b
    shared: int
    size_a: int
    size_b: int
    score: float

    @property
    def cover_a(self) -> float:
        return self.shared / self.size_a if self.size_a else 0.0

    @property
    def cover_b(self) -> float:
        return self.shared / self.size_b if self.size_b else 0.0


@dataclass
class SimilarityResult:
    assignment: str
    threshold: float
    floor: int
    documents: dict[str, Document]
    matches: list[Match]                 # every pair with a shared fingerprint, highest score first
    clusters: list[list[str]]            # students linked by flagged student pairs, largest first
    problems: list[Problem]
    ignored_starter: int                 # fingerprints of given code left out
    seconds: float
    k: int = K
    window: int = WINDOW

    @property
    def students(self) -> list[str]:
        return sorted(d.label for d in self.documents.values() if d.kind == "student")

    def label(self, key: str) -> str:
        return self.documents[key].label

    def flagged(self, kind: str | None = None) -> list[Match]:
        return [m for m in self.matches if m.score >= self.threshold and (kind is None or m.kind == kind)]


# ---------------------------------------------------------------------------------------------
# reading notebooks

_SOLUTION_REGION = re.compile(r"^[ \t]*### BEGIN SOLUTION.*?^[ \t]*### END SOLUTION[^\n]*\n?", re.M | re.S)


def _cells(nb: dict) -> list[dict]:
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise ValueError("it has no list of cells")
    return [c for c in cells if isinstance(c, dict)]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _is_answer(cell: dict) -> bool:
    meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    nbg = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
    return cell.get("cell_type") == "code" and bool(nbg.get("solution"))


def _grade_id(cell: dict, index: int) -> str:
    meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    nbg = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
    return str(nbg.get("grade_id") or f"cell {index + 1}")


def _read_json(path: str) -> dict:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return json.load(fh)


def starter_of(source: str) -> str:
    """What nbgrader's release leaves of a source answer cell (the solution region replaced)."""
    return _SOLUTION_REGION.sub("# YOUR CODE HERE\nraise NotImplementedError()\n", source)


@dataclass
class Assignment:
    """What the course gives for one assignment: its notebooks, starter code and model solution."""

    name: str
    notebooks: list[str]                   # notebook file names
    starter: list[str]                     # every piece of given code (release code cells)
    solution: list[tuple[str, str]]        # (cell name, source) of the model's answer cells
    imports: set[str]                      # names the notebooks import (kept as written)
    keep: set[str]                         # names the notebooks' own code calls (never dead code)


def read_assignment(coursedir, assignment: str) -> Assignment:
    source = coursedir.format_path(coursedir.source_directory, ".", assignment)
    release = coursedir.format_path(coursedir.release_directory, ".", assignment)
    notebooks = sorted(os.path.basename(p) for p in glob.glob(os.path.join(source, "*.ipynb")))
    if not notebooks:
        raise CourseError(f"no source notebook of {assignment!r} in {source}: the similarity report compares "
                          "answers with the model solution there (check the assignment's name)")
    starter, solution, imports, keep = [], [], set(), set()
    for name in notebooks:
        src_nb = _read_json(os.path.join(source, name))
        rel_path = os.path.join(release, name)
        rel_nb = _read_json(rel_path) if os.path.exists(rel_path) else None
        for i, cell in enumerate(_cells(src_nb)):
            if cell.get("cell_type") != "code":
                continue
            text = _source(cell)
            imports |= _imports(text)
            tree = parse(text)
            if _is_answer(cell):
                keep.update(n.name for n in getattr(tree, "body", []) if isinstance(n, ast.FunctionDef))
            else:
                keep |= loaded_names([tree])
            if _is_answer(cell):
                solution.append((_grade_id(cell, i) if len(notebooks) == 1 else f"{name}: {_grade_id(cell, i)}",
                                 text))
                if rel_nb is None:
                    starter.append(starter_of(text))
            elif rel_nb is None:
                starter.append(text)
        if rel_nb is not None:
            starter.extend(_source(c) for c in _cells(rel_nb) if c.get("cell_type") == "code")
    return Assignment(assignment, notebooks, starter, solution, imports, keep)


def _imports(text: str) -> set[str]:
    try:
        tree = ast.parse("\n".join("" if re.match(r"\s*[%!]", ln) else ln for ln in text.splitlines()))
    except (SyntaxError, ValueError):
        return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
    return out


def answers_of(nb: dict) -> list[tuple[str, str]]:
    """(cell name, source) of a submitted notebook's code answer cells."""
    out = []
    for i, cell in enumerate(_cells(nb)):
        if _is_answer(cell):
            out.append((_grade_id(cell, i), _source(cell)))
    return out


def _library_functions() -> list[tuple[str, str]]:
    """(qualified name, source) of every function and method in mixlearn's numerical modules."""
    import mixlearn

    root = os.path.dirname(mixlearn.__file__)
    out = []
    for path in sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True)):
        rel = os.path.relpath(path, root)
        if rel.split(os.sep)[0] in LIBRARY_SKIP:
            continue
        module = "mixlearn." + rel[:-3].replace(os.sep, ".").removesuffix(".__init__")
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            tree = ast.parse(text)
        except (OSError, SyntaxError):
            continue
        lines = text.splitlines(keepends=True)

        def visit(body, prefix, lines=lines):
            for node in body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    src = "".join(lines[node.lineno - 1 - len(node.decorator_list):node.end_lineno])
                    out.append((f"{prefix}.{node.name}", textwrap.dedent(src)))
                elif isinstance(node, ast.ClassDef):
                    visit(node.body, f"{prefix}.{node.name}", lines)

        visit(tree.body, module)
    return out


# ---------------------------------------------------------------------------------------------
# fingerprints and scores

def _document(key, kind, label, cells, asg: Assignment, starter_hashes) -> Document:
    doc = Document(key, kind, label, list(cells))
    keep = asg.keep if kind != "library" else asg.keep | {name.rsplit(".", 1)[-1] for name, _ in cells}
    for ci, fps in enumerate(fingerprint_cells([text for _, text in doc.cells], asg.imports, keep)):
        for f in fps:
            if f.hash not in starter_hashes:
                doc.where.setdefault(f.hash, []).append(Span(ci, f.first_line, f.last_line, f.lines))
    return doc


def compare(documents: list[Document], floor: int = FLOOR, cell_floor: int = CELL_FLOOR) -> list[Match]:
    """Every (student, other) pair sharing a fingerprint, scored; references are compared with
    students only.

    Students, the model solution and archived submissions answer the same cells, so their score is
    the mean over the answer cells either of them filled in of the cell's score: the larger of the
    share of each side's cell found anywhere in the other's answers (so code moved to another cell
    still counts), each over at least *cell_floor* fingerprints. Sharing one cell of four verbatim
    scores about 1/4; a full copy scores 1 whatever was reordered, renamed or padded. A library
    function scores the share of it found in the answers, over at least *floor* fingerprints.
    Sparse matrix products (fingerprint x document) make this fast for hundreds of students."""
    import numpy as np
    from scipy import sparse

    docs = [d for d in documents if d.size]
    if not any(d.kind == "student" for d in docs):
        return []
    index: dict[int, int] = {}
    for d in docs:
        for h in d.where:
            index.setdefault(h, len(index))
    names = sorted({name for d in docs if d.kind != "library" for name, _ in d.cells})

    def matrix(select):
        rows, cols = [], []
        for r, d in enumerate(docs):
            for h, spans in d.where.items():
                if select(d, spans):
                    rows.append(r)
                    cols.append(index[h])
        return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(docs), len(index)))

    m_all = matrix(lambda d, spans: True)
    stud = np.flatnonzero([d.kind == "student" for d in docs])
    lib = np.array([d.kind == "library" for d in docs])
    a_all = m_all[stud]
    shared = (a_all @ m_all.T).toarray()                        # |A ∩ B|
    total = np.zeros_like(shared)
    count = np.zeros_like(shared)
    for name in names:
        m_c = matrix(lambda d, spans, name=name: any(d.cells[s.cell][0] == name for s in spans))
        size_c = np.asarray(m_c.sum(axis=1)).ravel()
        a_c = (m_c[stud] @ m_all.T).toarray()                   # |A_c ∩ B|
        b_c = (a_all @ m_c.T).toarray()                          # |A ∩ B_c|
        sa = a_c / np.maximum(size_c[stud], cell_floor)[:, None]
        sb = b_c / np.maximum(size_c, cell_floor)[None, :]
        present = (size_c[stud][:, None] > 0) | (size_c[None, :] > 0)
        total += np.where(present, np.maximum(sa, sb), 0.0)
        count += present
    score = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    sizes = np.asarray(m_all.sum(axis=1)).ravel()
    score[:, lib] = shared[:, lib] / np.maximum(sizes[lib], floor)[None, :]
    out = []
    for i, j in zip(*np.nonzero(shared), strict=False):
        a, b = docs[stud[i]], docs[j]
        if a is b or (b.kind == "student" and stud[i] > j):    # each student pair once
            continue
        out.append(Match(a.key, b.key, b.kind, int(shared[i, j]), a.size, b.size, float(min(score[i, j], 1.0))))
    out.sort(key=lambda x: (-x.score, -x.shared, x.a, x.b))
    return out


def clusters(matches: list[Match], threshold: float) -> list[list[str]]:
    """Connected groups of students linked by student pairs at or above *threshold*."""
    parent: dict[str, str] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for mt in matches:
        if mt.kind == "student" and mt.score >= threshold:
            parent[find(mt.a)] = find(mt.b)
    groups: dict[str, list[str]] = {}
    for x in parent:
        groups.setdefault(find(x), []).append(x)
    return sorted((sorted(g) for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g))


# ---------------------------------------------------------------------------------------------
# the whole run

def _archive_documents(archive: str, asg: Assignment, starter_hashes) -> tuple[list[Document], list[Problem]]:
    """Notebooks of earlier terms under *archive*: any ``.../<assignment>/<notebook>.ipynb`` (an
    nbgrader ``submitted/`` or ``autograded/`` folder of an old course, or several side by side)."""
    if not os.path.isdir(archive):
        raise CourseError(f"--archive {archive!r} is not a folder: give the folder holding earlier terms' "
                          f"submissions (<student>/{asg.name}/<notebook>.ipynb, as under nbgrader's submitted/)")
    cells_of: dict[str, list[tuple[str, str]]] = {}   # archived student folder -> answer cells
    problems = []
    paths = sorted(p for p in glob.glob(os.path.join(glob.escape(archive), "**", asg.name, "*.ipynb"), recursive=True)
                   if os.path.basename(p) in asg.notebooks)
    for path in paths:
        rel = os.path.relpath(os.path.dirname(os.path.dirname(path)), archive)
        nb_name = os.path.basename(path)
        try:
            cells = [(c if len(asg.notebooks) == 1 else f"{nb_name}: {c}", src)
                     for c, src in answers_of(_read_json(path))]
        except (OSError, ValueError) as exc:
            problems.append(Problem(f"archive:{rel}",
                                    f"archived notebook {os.path.relpath(path, archive)} unreadable: {exc}"))
            continue
        cells_of.setdefault(rel, []).extend(cells)
    docs = [_document(f"archive:{rel}", "archive", f"{rel} (archive)", cells, asg, starter_hashes)
            for rel, cells in cells_of.items()]
    return docs, problems


def expected_students(coursedir, roster: str | None) -> set[str]:
    """Students who should have submitted: the roster's, else the gradebook's (when there is one)."""
    if roster:
        from .roster import read_roster

        return {e.student for e in read_roster(roster).entries}
    url = coursedir.db_url
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):
        return set()
    try:
        from nbgrader.api import Gradebook

        with Gradebook(url, coursedir.course_id) as gb:
            return {s.id for s in gb.students}
    except Exception:   # no gradebook yet, or one this nbgrader cannot read: nobody is expected
        return set()


def similarity(root: str, assignment: str, *, threshold: float = THRESHOLD, floor: int = FLOOR,
               archive: str | None = None, library: bool = True, roster: str | None = None,
               db_url: str | None = None, progress=None) -> SimilarityResult:
    """Compare every submission of *assignment* in the course at *root*; see the module docstring."""
    if not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
        raise CourseError(f"--threshold {threshold!r} is not in (0, 1]: give the share of the smaller answer "
                          "that must be found in the other, e.g. 0.5")
    if not isinstance(floor, int) or floor < 1:
        raise CourseError(f"--floor {floor!r} must be a positive whole number of fingerprints, e.g. {FLOOR}")
    start = time.perf_counter()
    _, coursedir = load_nbgrader_config(root, db_url=db_url)
    asg = read_assignment(coursedir, assignment)
    starter_hashes = set()
    for text in asg.starter:
        starter_hashes.update(f.hash for f in fingerprint_cells([text], asg.imports, prune=False)[0])
    documents: list[Document] = []
    problems: list[Problem] = []
    students = submitted_students(coursedir, assignment)
    for n, student in enumerate(students):
        if progress:
            progress(n, len(students))
        folder = coursedir.format_path(coursedir.submitted_directory, student, assignment)
        cells = []
        for name in asg.notebooks:
            path = os.path.join(folder, name)
            if not os.path.exists(path):
                problems.append(Problem(student, f"no {name} in the submission"))
                continue
            try:
                nb = _read_json(path)
                for c, src in answers_of(nb):
                    if len(src) > MAX_CELL_CHARS:
                        problems.append(Problem(student, f"answer cell {c} holds {len(src):,} characters: only the "
                                                         f"first {MAX_CELL_CHARS:,} were compared"))
                        src = src[:MAX_CELL_CHARS]
                    cells.append((c if len(asg.notebooks) == 1 else f"{name}: {c}", src))
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                problems.append(Problem(student, f"{name} is not a readable notebook ({type(exc).__name__}: {exc})"))
        doc = _document(f"student:{student}", "student", student, cells, asg, starter_hashes)
        if cells and not doc.size:
            problems.append(Problem(student, "empty answer: nothing beyond the starter code in any answer cell"))
        elif not cells and not any(p.student == student for p in problems):
            problems.append(Problem(student, "no answer cells (their nbgrader metadata is missing)"))
        documents.append(doc)
    for student in sorted(expected_students(coursedir, roster) - set(students)):
        problems.append(Problem(student, "no submission folder"))
    documents.append(_document("solution:model", "solution", "model solution", asg.solution, asg, starter_hashes))
    if library:
        for name, src in _library_functions():
            documents.append(_document(f"library:{name}", "library", name, [(name, src)], asg, starter_hashes))
    if archive:
        docs, probs = _archive_documents(archive, asg, starter_hashes)
        documents.extend(docs)
        problems.extend(probs)
    matches = compare(documents, floor)
    result = SimilarityResult(assignment, float(threshold), floor, {d.key: d for d in documents}, matches,
                              clusters(matches, threshold), sorted(problems, key=lambda p: (p.student, p.reason)),
                              len(starter_hashes), 0.0)
    result.seconds = time.perf_counter() - start
    return result


def fragments(a: Document, b: Document) -> list[tuple[Span, Span]]:
    """Matching pieces of two documents: (span in a, span in b), the shared fingerprints of one
    pair of cells whose lines overlap or touch merged into one piece (lines: those holding tokens)."""
    pairs: dict[tuple[int, int], list[tuple[Span, Span]]] = {}
    for h in a.where.keys() & b.where.keys():
        for sa in a.where[h]:
            for sb in b.where[h]:
                pairs.setdefault((sa.cell, sb.cell), []).append((sa, sb))
    out = []
    for (ca, cb), spans in sorted(pairs.items()):
        spans.sort(key=lambda p: (p[0].first, p[1].first))
        cur = None
        for sa, sb in spans:
            if cur and sa.first <= cur[0].last + 1 and sb.first <= cur[1].last + 1 and sb.last >= cur[1].first - 1:
                cur = (Span(ca, cur[0].first, max(cur[0].last, sa.last), tuple(sorted(set(cur[0].lines) | set(sa.lines)))),
                       Span(cb, min(cur[1].first, sb.first), max(cur[1].last, sb.last),
                            tuple(sorted(set(cur[1].lines) | set(sb.lines)))))
            else:
                if cur:
                    out.append(cur)
                cur = (sa, sb)
        if cur:
            out.append(cur)
    return out
