"""``mixlearn-course similarity``: copies rank above independent work, on every assignment.

The class of each assignment (``similarity_support.planted``) holds 30 independent correct
solutions written in different ways (``similarity_support.corpus``, each checked correct in
``test_similarity_corpus.py``) and planted copies of known origin: a classmate's answers renamed,
re-commented, spaced out, re-wrapped, reordered, padded with dead code and all of these at once;
the model solution disguised; and mixlearn's own source pasted in. The oracle is the planting:
we know which pairs are copies.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from mixlearn.course import fingerprint as fp
from mixlearn.course.similarity import THRESHOLD, similarity
from mixlearn.course.similarity_report import write_report

try:
    from similarity_support import plant, planted
except ImportError:  # tests/ imported as a package
    from tests.similarity_support import plant, planted

ASSIGNMENTS = planted.assignments()


def test_every_assignment_with_code_answers_is_covered():
    assert len(ASSIGNMENTS) >= 6
    for a in ASSIGNMENTS:
        assert planted.model_answers(a), a
        assert a in planted.LIBRARY, f"name the library function a student of {a} would paste"


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    out = {}
    for a in ASSIGNMENTS:
        root = tmp_path_factory.mktemp(f"sim-{a}")
        pairs = planted.build(root, a)
        res = similarity(str(root), a, roster=str(root / "roster.csv"))
        out[a] = (root, pairs, res)
    return out


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_planted_copies_rank_above_every_independent_pair(classes, assignment):
    root, pairs, res = classes[assignment]
    score = {}
    for m in res.matches:
        score[(m.a, m.b)] = score[(m.b, m.a)] = m.score
    planted_scores = {what: score.get((a, b), 0.0) for a, b, what in pairs}
    planted_students = {a for a, _, _ in pairs}
    independent = [m.score for m in res.matches if m.a not in planted_students and m.b not in planted_students]
    # independent pairs never seen sharing a fingerprint score 0; count them
    n_ind = sum(1 for k in res.documents if k.startswith("student:ind"))
    assert n_ind >= 30
    worst_planted = min(planted_scores.values())
    best_independent = max(independent, default=0.0)
    print(f"\n{assignment}: planted {min(planted_scores, key=planted_scores.get)} lowest at {worst_planted:.3f}; "
          f"independent pairs highest {best_independent:.3f} (threshold {res.threshold})")
    assert set(planted_scores) == set(plant.DISGUISES) | {"model solution", "library"}
    assert worst_planted > best_independent, planted_scores
    assert worst_planted >= res.threshold > best_independent, (planted_scores, best_independent)
    # each student copy is in one cluster with its source; the model and library matches are marked apart
    kinds = {(m.a, m.b): m.kind for m in res.flagged()}
    for a, b, what in pairs:
        if b.startswith("student:"):
            assert any(a in c and b in c for c in res.clusters), (what, res.clusters)
        else:
            assert kinds[(a, b)] == b.split(":")[0]
    assert not any("student:model-copy" in c for c in res.clusters), "the model solution is not a classmate"


@pytest.mark.parametrize("assignment", ASSIGNMENTS[:1])
def test_bad_input_is_listed_not_fatal(classes, assignment):
    root, _, res = classes[assignment]
    why = {p.student: p.reason for p in res.problems}
    assert "not a readable notebook" in why["broken"]
    assert why["blank"].startswith("empty answer")
    assert why["ghost"] == "no submission folder"
    assert "student:broken" not in {m.a for m in res.matches} | {m.b for m in res.matches}
    assert len(why) == 3, why


def test_report_shows_pairs_side_by_side_and_never_touches_grades(classes, tmp_path):
    assignment = "04_em_n" if "04_em_n" in classes else ASSIGNMENTS[0]
    root, pairs, res = classes[assignment]
    out = write_report(res, str(tmp_path / "report"))
    page = Path(out["html"]).read_text()
    assert f"id='threshold-cli'>{THRESHOLD:.2f}<" in page
    assert "type='range' id='threshold'" in page and "<script" in page and "src=" not in page.split("<script")[1][:20]
    for a, b, _ in pairs:
        assert f"{res.label(a)} &harr; {res.label(b)}" in page or f"{res.label(b)} &harr; {res.label(a)}" in page
    assert page.count("class='m'") > 50                   # matched lines are highlighted
    assert "broken" in page and "no submission folder" in page
    with open(out["csv"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    flagged = {(r["student"], r["other"]) for r in rows if r["flagged"] == "1"}
    for a, b, _ in pairs:
        assert (res.label(a), res.label(b)) in flagged or (res.label(b), res.label(a)) in flagged
    assert not (root / "gradebook.db").exists()          # evidence only: no gradebook is made or read


def test_cli_with_an_archive_and_clear_errors(tmp_path):
    a = "04_em_n" if "04_em_n" in ASSIGNMENTS else ASSIGNMENTS[0]
    root = planted.course(tmp_path / "course", a)
    students = planted.corpus.students(a, 3, seed=5)
    for i, cells in enumerate(students):
        planted.write_student(root, a, f"s{i}", cells)
    # last year's folder holds s1's answers under another name, renamed
    keep = planted.required_names(a)
    planted.write_student(tmp_path / "2025", a, "old-student",
                          {g: plant.rename(src, keep) for g, src in students[1].items()})
    archive = tmp_path / "2025" / "submitted"
    cmd = [sys.executable, "-m", "mixlearn.course", "similarity", a, "--course", str(root)]
    proc = subprocess.run(cmd + ["--archive", str(archive)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "1 match(es) with the model solution, the library or the archive" in proc.stdout, proc.stdout
    rows = list(csv.DictReader(open(root / "reports" / a / "similarity.csv", newline="")))
    hits = [r for r in rows if r["flagged"] == "1"]
    assert [(r["student"], r["other_kind"]) for r in hits] == [("s1", "archive")], hits
    for bad, words in ((["--threshold", "1.5"], "--threshold 1.5 is not in (0, 1]"),
                       (["--archive", str(tmp_path / "nowhere")], "is not a folder"),
                       (["--floor", "0"], "--floor 0 must be a positive")):
        proc = subprocess.run(cmd + bad, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 2 and words in proc.stderr, (bad, proc.stderr)
    proc = subprocess.run([sys.executable, "-m", "mixlearn.course", "similarity", "no_such", "--course", str(root)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "no source notebook of 'no_such'" in proc.stderr


def test_student_code_and_names_are_escaped(tmp_path):
    a = ASSIGNMENTS[0]
    root = planted.course(tmp_path / "course", a)
    cells = planted.corpus.students(a, 1, seed=1)[0]
    evil = {g: src + "\nx_ = '</pre><script>alert(1)</script>'\n" for g, src in cells.items()}
    planted.write_student(root, a, "<em>mallory", evil)
    planted.write_student(root, a, "copy", evil)
    res = similarity(str(root), a)
    page = Path(write_report(res, str(tmp_path / "r"))["html"]).read_text()
    assert "<script>alert" not in page and "&lt;em&gt;mallory" in page and "<em>mallory" not in page
    assert res.flagged("student")


# -- the fingerprints themselves ----------------------------------------------------------------

BASE = '''\
def em_loop(x, weights, components, tol=1e-8, max_iter=100):
    """EM for the weights."""
    history = []
    for step in range(max_iter):
        # E-step
        resp = np.exp(log_joint(x, weights, components))
        resp /= resp.sum(axis=1, keepdims=True)
        weights = resp.mean(axis=0)
        history.append(float(np.log(resp.sum())))
        if step and abs(history[-1] - history[-2]) < tol:
            break
    return weights, history


def log_joint(x, weights, components):
    return np.column_stack([np.log(w) + c.logpdf(x) for w, c in zip(weights, components)])
'''


def _hashes(src, keep=frozenset({"em_loop"})):
    return {f.hash for f in fp.fingerprint_cells([src], {"np"}, keep)[0]}


@pytest.mark.parametrize("what", list(plant.DISGUISES))
def test_disguises_leave_the_fingerprints_of_the_original(what):
    disguised = plant.DISGUISES[what](BASE, {"em_loop"})
    assert disguised != BASE
    assert _hashes(BASE) <= _hashes(disguised)           # nothing of the original is lost
    if what != "dead code" and what != "all at once":
        assert _hashes(disguised) == _hashes(BASE)


def test_different_code_shares_little():
    other = '''\
def em_loop(x, weights, components, tol=1e-8, max_iter=100):
    w = np.array(weights, dtype=float)
    lls = []
    while len(lls) < max_iter:
        dens = np.array([[c.pdf(v) for c in components] for v in x]) * w
        total = dens.sum(1)
        w = (dens / total[:, None]).sum(0) / len(x)
        lls.append(np.log(total).mean())
        if len(lls) > 1 and lls[-1] - lls[-2] < tol:
            break
    return w, lls
'''
    a, b = _hashes(BASE), _hashes(other)
    assert len(a & b) <= 0.1 * min(len(a), len(b))


def test_dead_code_removal_keeps_what_is_used_across_cells():
    helper = "def helper(v):\n    return v * 2\n\ndef unused(v):\n    return v - 1\n"
    user = "def em_loop(x):\n    y = helper(x)\n    z = 3\n    if False:\n        print(z)\n    return y\n    print(x)\n"
    trees = [fp.parse(helper), fp.parse(user)]
    fp.remove_dead_code(trees, {"em_loop"})
    names = [n.name for n in trees[0].body]
    assert names == ["helper"]
    body = trees[1].body[0].body
    assert [type(s).__name__ for s in body] == ["Assign", "Return"]     # z, the if and the print are gone


def test_winnowing_guarantee():
    """Any shared run of at least k + w - 1 tokens yields a shared fingerprint (Schleimer et al.)."""
    rng = random.Random(3)
    vocab = [f"t{i}" for i in range(40)]
    for _ in range(200):
        common = [rng.choice(vocab) for _ in range(fp.K + fp.WINDOW - 1)]
        a = [rng.choice(vocab) for _ in range(rng.randrange(0, 30))] + common + \
            [rng.choice(vocab) for _ in range(rng.randrange(0, 30))]
        b = [rng.choice(vocab) for _ in range(rng.randrange(0, 30))] + common
        ha = {f.hash for f in fp.winnow([fp.Token(t, 1) for t in a])}
        hb = {f.hash for f in fp.winnow([fp.Token(t, 1) for t in b])}
        assert ha & hb


def test_fingerprints_are_stable_across_processes():
    code = "from mixlearn.course.fingerprint import fingerprint; print(sorted(f.hash for f in fingerprint(%r)[0]))"
    outs = {subprocess.run([sys.executable, "-c", code % BASE], capture_output=True, text=True,
                           env={"PYTHONHASHSEED": str(seed), "PATH": "/usr/bin"}).stdout for seed in (1, 2)}
    assert len(outs) == 1 and json.loads(outs.pop())


def test_code_that_is_not_python_is_still_compared():
    magic = "%timeit 1\n" + BASE
    assert _hashes(magic) == _hashes(BASE)
    broken = BASE.replace("def log_joint(x, weights, components):", "def log_joint(x, weights, components)")
    fps, parsed = fp.fingerprint(broken)
    assert not parsed and len(fps) > 5
    assert not list(itertools.islice(fp.fingerprint("")[0], 1))


def test_hostile_answers_do_not_stop_the_report(tmp_path):
    """A tree too deep to walk, a cell of megabytes, cells that are not even strings: compared or listed."""
    deep = "def p_red(x):\n    return " + "+".join(["x"] * 50000) + "\n"
    fps = fp.fingerprint_cells([deep], set(), {"p_red"})
    assert fps[0]                                            # fell back to the lexical tokens
    a = ASSIGNMENTS[0]
    root = planted.course(tmp_path / "course", a)
    cells = planted.corpus.students(a, 2, seed=2)
    first = next(iter(cells[0]))
    planted.write_student(root, a, "huge", {first: cells[0][first] + "\n#" + "x" * 300_000 + "\n"})
    planted.write_student(root, a, "deep", {first: deep})
    planted.write_student(root, a, "fine", cells[1])
    nb_path = root / "submitted" / "odd" / a / f"{a}.ipynb"
    planted.write_student(root, a, "odd", {})
    nb = json.loads(nb_path.read_text())
    for c in nb["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("solution"):
            c["source"] = 12345                                 # not text at all
    nb_path.write_text(json.dumps(nb))
    res = similarity(str(root), a)
    why = {p.student: p.reason for p in res.problems}
    assert "only the first 200,000 were compared" in why["huge"]
    assert set(res.students) == {"huge", "deep", "fine", "odd"}
