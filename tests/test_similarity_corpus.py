"""The similarity corpus (issue 18) is a class of correct, independent answers.

Every variant in tests/similarity_support/variants replaces its answer cell in a namespace holding the
notebook's setup cell and the model solution's other answer cells; its function must then agree with the
model solution's on seeded random inputs drawn like the notebook's tests (samplers: the same seed-dependent
behaviour and the same frequencies). Composed students must pass the notebook's own visible and hidden
tests, and any two students must differ in at least half of the answer cells.
"""

import io
import json
import math
import re
import tokenize
from functools import cache
from pathlib import Path

import mixlearn as ml
import numpy as np
import pytest
from similarity_support import corpus

ROOT = Path(__file__).resolve().parents[1]
MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)


# ------------------------------------------------------------------------------------ notebooks
@cache
def _cells(assignment):
    """The notebook's code cells as (kind, grade_id, source); kind is setup, answer, test or free."""
    nb = json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell["source"])
        if meta.get("solution"):
            cells.append(("answer", meta["grade_id"], MARKERS.sub("", source)))
        elif meta.get("grade"):
            cells.append(("test", meta["grade_id"], source))
        elif meta.get("grade_id"):
            cells.append(("setup", meta["grade_id"], source))
        else:
            cells.append(("free", None, source))
    return tuple(cells)


@cache
def _setup_namespace(assignment):
    namespace = {"__name__": f"similarity_{assignment}"}
    for kind, _, source in _cells(assignment):
        if kind == "setup":
            exec(compile(source, f"<{assignment} setup>", "exec"), namespace)
    return namespace


def _namespace(assignment, replacements, upto=None):
    """Setup plus answer cells (model solution unless replaced), stopping after the answer `upto`."""
    namespace = dict(_setup_namespace(assignment))
    for kind, grade_id, source in _cells(assignment):
        if kind != "answer":
            continue
        exec(compile(replacements.get(grade_id, source), f"<{assignment} {grade_id}>", "exec"), namespace)
        if grade_id == upto:
            break
    return namespace


def _functions(assignment, grade_id, variant):
    """(the variant's function, the model solution's function), each in its own namespace."""
    return (_namespace(assignment, {grade_id: variant}, upto=grade_id)[grade_id],
            _namespace(assignment, {}, upto=grade_id)[grade_id])


# ------------------------------------------------------------------------------------ comparison
def _same(got, expected, what, rtol=1e-9, atol=1e-12):
    if expected is None:
        assert got is None, f"{what}: expected None, got {got!r}"
    elif isinstance(expected, dict):
        assert isinstance(got, dict) and set(expected) <= set(got), f"{what}: keys {sorted(expected)} needed, got {got!r}"
        for key in expected:
            _same(got[key], expected[key], f"{what}[{key!r}]", rtol, atol)
    elif isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected), f"{what}: a tuple of {len(expected)} expected"
        for i, (g, e) in enumerate(zip(got, expected)):
            _same(g, e, f"{what}[{i}]", rtol, atol)
    else:
        g, e = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
        assert g.shape == e.shape, f"{what}: shape {g.shape}, expected {e.shape}"
        assert np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True), f"{what}: {g} differs from {e}"
        if isinstance(expected, float | int) and not isinstance(expected, bool):
            assert np.ndim(got) == 0, f"{what}: a number expected, got {got!r}"


def _agree(variant, model, calls, **tolerance):
    for args, kwargs in calls:
        _same(variant(*args, **kwargs), model(*args, **kwargs), f"call with {args} {kwargs}", **tolerance)


def _call(*args, **kwargs):
    return args, kwargs


# --- 01_sampling
def _p_red(f, model, r):
    calls = [_call(0.6, 0.8, 0.3), _call(1.0, 0.8, 0.3), _call(0.0, 0.8, 0.3), _call(np.array([0.0, 0.5, 1.0]), 0.9, 0.1)]
    calls += [_call(*(float(v) for v in r.uniform(0.01, 0.99, 3))) for _ in range(5)]
    calls += [_call(r.uniform(0, 1, int(r.integers(1, 9))), *(float(v) for v in r.uniform(0.01, 0.99, 2)))]
    _agree(f, model, calls)


def _sample_marbles(f, model, r):
    for _ in range(2):
        n = int(r.integers(40, 400))
        pi, p1, p2 = (float(v) for v in r.uniform(0.2, 0.8, 3))
        seed, other = (int(s) for s in r.choice(2**31, 2, replace=False))
        x, c = f(n, pi, p1, p2, np.random.default_rng(seed))
        assert isinstance(x, np.ndarray) and isinstance(c, np.ndarray) and x.shape == c.shape == (n,)
        assert x.dtype.kind in "iu" and c.dtype.kind in "iu" and set(np.unique(x)) | set(np.unique(c)) <= {0, 1}
        x2, c2 = f(n, pi, p1, p2, np.random.default_rng(seed))
        assert np.array_equal(x, x2) and np.array_equal(c, c2), "same seed, same marbles"
        x3, c3 = f(n, pi, p1, p2, np.random.default_rng(other))
        assert not (np.array_equal(x, x3) and np.array_equal(c, c3)), "another seed, other marbles"
    # frequencies: within five standard errors of the model's probabilities, like the tests
    n = 100_000
    pi, p1, p2 = float(r.uniform(0.1, 0.9)), float(r.uniform(0.05, 0.95)), float(r.uniform(0.05, 0.95))
    x, c = f(n, pi, p1, p2, np.random.default_rng(int(r.integers(2**31))))
    assert abs(np.mean(c == 0) - pi) <= 5 * math.sqrt(pi * (1 - pi) / n)
    for k, p in [(0, p1), (1, p2)]:
        assert abs(x[c == k].mean() - p) <= 5 * math.sqrt(p * (1 - p) / (c == k).sum())
    # the exact edge cases
    seed = int(r.integers(2**31))
    assert np.all(f(500, 0.0, 0.7, 0.2, np.random.default_rng(seed))[1] == 1)
    assert np.all(f(500, 1.0, 0.7, 0.2, np.random.default_rng(seed))[1] == 0)
    x, c = f(500, 0.4, 1.0, 0.0, np.random.default_rng(seed))
    assert np.array_equal(x, (c == 0).astype(int))


def _red_fraction_by_factory(f, model, r):
    calls = [_call([1, 0, 1, 1, 0], [0, 0, 1, 1, 1]), _call([1, 1, 0], [0, 0, 0]), _call([0, 1], [1, 1])]
    for n in (5, 40, 3000):
        calls.append(_call(r.integers(0, 2, n), r.integers(0, 2, n)))
    calls.append(_call(r.integers(0, 2, 9), np.ones(9, dtype=int)))
    _agree(f, model, calls)


def _z_score(f, model, r):
    calls = [_call(np.array([1] * 7 + [0] * 3), 0.6, 0.8, 0.3)]
    for n in (20, 500, 10_000):
        pi, p1, p2 = (float(v) for v in r.uniform(0.05, 0.95, 3))
        calls.append(_call(r.integers(0, 2, n), pi, p1, p2))
    _agree(f, model, calls)


CHECKS = {
    "p_red": _p_red, "sample_marbles": _sample_marbles, "red_fraction_by_factory": _red_fraction_by_factory,
    "z_score": _z_score,
}


# --- 02_posteriors
def _marble_posterior(f, model, r):
    calls = [_call(np.array([1, 0]), 0.5, 0.8, 0.3), _call(np.array([1, 0]), 0.0, 0.8, 0.3),
             _call(np.array([0, 1]), 0.5, 1.0, 0.3)]
    for _ in range(4):
        calls.append(_call(r.integers(0, 2, 25), *(float(v) for v in r.uniform(0.01, 0.99, 3))))
    _agree(f, model, calls)


def _gaussian_calls(r):
    calls = [_call(np.array([-40.0, 60.0, 1000.0]), [0.5, 0.5], [0.0, 3.0], [1.0, 1.0]),
             _call(np.array([-300.0, -25.0, 25.0, 300.0]), [0.9, 0.1], [0.0, 0.5], [1.0, 3.0])]
    for k in (1, 2, 5):
        calls.append(_call(r.normal(0, 4, 40), r.dirichlet(np.ones(k)), r.normal(0, 3, k), r.uniform(0.3, 2.5, k)))
    return calls


def _gaussian_posterior(f, model, r):
    _agree(f, model, _gaussian_calls(r))


def _even_odds_prior(f, model, r):
    calls = [_call(c, *(float(v) for v in r.uniform(0.02, 0.98, 2))) for c in (0, 1, 0, 1, 1, 0)]
    _agree(f, model, calls + [_call(1, 0.8, 0.3), _call(0, 0.95, 0.05)])


CHECKS |= {"marble_posterior": _marble_posterior, "gaussian_posterior": _gaussian_posterior,
           "even_odds_prior": _even_odds_prior}


# --- 03_em_two
def _e_step_two(f, model, r):
    calls = [_call(r.integers(0, 2, 30), *(float(v) for v in r.uniform(0.01, 0.99, 3))) for _ in range(4)]
    _agree(f, model, calls + [_call(r.integers(0, 2, 30), 0.5, 0.999, 0.001), _call(np.array([1, 0, 0, 1]), 0.25, 0.8, 0.3)])


def _m_step_two(f, model, r):
    _agree(f, model, [_call(np.array([0.2, 0.4, 0.9]))] + [_call(r.uniform(0.05, 0.95, n)) for n in (1, 7, 1001)])


def _marbles(r, n):
    pi, p1, p2 = (float(v) for v in r.uniform(0.05, 0.95, 3))
    return ml.datasets.make_marbles(n, pi, p1, p2, random_state=int(r.integers(2**31)))[0], p1, p2


def _log_likelihood_two(f, model, r):
    calls = [_call(np.array([1, 1, 0]), 0.6, 0.8, 0.3)]
    for n in (5, 1000, 50_000):
        x, p1, p2 = _marbles(r, n)
        calls.append(_call(x, float(r.uniform(0.05, 0.95)), p1, p2))
    _agree(f, model, calls)


def _em_history_is_sound(pi, lls, loglik, start):
    lls = np.asarray(lls, dtype=float)
    assert lls.ndim == 1 and lls.size >= 2
    assert np.isclose(lls[0], start, rtol=1e-9) and np.all(np.diff(lls) >= -1e-9 * np.abs(lls[:-1]))
    assert np.isclose(lls[-1], loglik(pi), rtol=1e-9)


def _em_two(f, model, r):
    for n, pi_init in [(1000, 0.5), (700, 0.1), (2000, 0.9)]:
        x, p1, p2 = _marbles(r, n)
        # a fixed number of iterations: the same path as the model solution
        _agree(f, model, [_call(x, p1, p2, pi_init=pi_init, tol=0.0, max_iter=12)], rtol=1e-8)
        # run to convergence: the same estimate, a sound history
        pi, lls = f(x, p1, p2, pi_init=pi_init, tol=1e-13)
        expected, _ = model(x, p1, p2, pi_init=pi_init, tol=1e-13)
        assert np.isclose(pi, expected, rtol=1e-5, atol=1e-8)
        loglik = model.__globals__["log_likelihood_two"]
        _em_history_is_sound(pi, lls, lambda p, x=x, p1=p1, p2=p2: loglik(x, p, p1, p2), loglik(x, pi_init, p1, p2))


def _closed_form_pi(f, model, r):
    calls = [_call(np.array([1] * 6 + [0] * 4), 0.8, 0.3), _call(np.ones(10), 0.8, 0.3), _call(np.array([0, 0, 0, 1]), 0.8, 0.3)]
    for n in (10, 3000, 3000):
        x, p1, p2 = _marbles(r, n)
        calls.append(_call(x, p1, p2))
    _agree(f, model, calls)


CHECKS |= {
    "e_step_two": _e_step_two, "m_step_two": _m_step_two, "log_likelihood_two": _log_likelihood_two,
    "em_two": _em_two, "closed_form_pi": _closed_form_pi,
}


# ------------------------------------------------------------------------------------ the tests
VARIANT_CASES = [(a, g, i) for a in corpus.ASSIGNMENTS for g, sources in corpus.load(a).items() for i in range(len(sources))]


def _answer_ids(assignment):
    return [g for kind, g, _ in _cells(assignment) if kind == "answer"]


@pytest.mark.parametrize("assignment", corpus.ASSIGNMENTS)
def test_every_answer_cell_has_enough_distinct_variants(assignment):
    variants = corpus.load(assignment)
    assert list(variants) == _answer_ids(assignment), "one list of variants per answer cell, in the notebook's order"
    model = {g: s for kind, g, s in _cells(assignment) if kind == "answer"}
    for grade_id, sources in variants.items():
        assert len(sources) >= 5, f"{grade_id}: {len(sources)} variants, at least 5 needed"
        shapes = {_shape(model[grade_id])}
        for source in sources:
            assert "NotImplementedError" not in source and "SOLUTION" not in source
            assert re.search(rf"^def {grade_id}\(", source, re.MULTILINE), f"{grade_id}: the def line is missing"
            # graded on the student's own code: no library function of mixlearn (components' methods are fine)
            assert not re.search(r"\bml\.", source), f"{grade_id}: a variant calls mixlearn"
            shape = _shape(source)
            assert shape not in shapes, f"{grade_id}: a variant is another one (or the model) with names changed:\n{source}"
            shapes.add(shape)


def _shape(source):
    """The token stream with names, comments, docstrings and layout left out: equal shapes are mere renames."""
    kept = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            continue
        if tok.type == tokenize.STRING and tok.string.startswith(('"""', "'''")):
            continue
        kept.append("NAME" if tok.type == tokenize.NAME and tok.string not in KEYWORDS else tok.string)
    return tuple(kept)


KEYWORDS = {"def", "return", "for", "while", "if", "else", "elif", "in", "not", "and", "or", "import", "from", "with",
            "lambda", "None", "True", "False", "break", "is"}


@pytest.mark.parametrize(("assignment", "grade_id", "index"), VARIANT_CASES,
                         ids=[f"{a}-{g}-{i}" for a, g, i in VARIANT_CASES])
def test_variant_agrees_with_the_model_solution(assignment, grade_id, index):
    source = corpus.load(assignment)[grade_id][index]
    variant, model = _functions(assignment, grade_id, source)
    seed = sum(map(ord, f"{assignment}/{grade_id}"))  # the same inputs for every variant of a cell
    CHECKS[grade_id](variant, model, np.random.default_rng(seed))


def _run_tests(assignment, student):
    """Execute setup, the student's answers and every test cell (visible and hidden) in notebook order."""
    namespace = {"__name__": f"student_{assignment}"}
    passed = []
    for kind, grade_id, source in _cells(assignment):
        if kind == "free":
            continue
        code = student[grade_id] if kind == "answer" else source
        exec(compile(code, f"<{assignment} {grade_id}>", "exec"), namespace)
        if kind == "test":
            passed.append(grade_id)
    return passed


@pytest.mark.parametrize("assignment", corpus.ASSIGNMENTS)
def test_composed_students_pass_the_notebook_tests(assignment):
    tests = [g for kind, g, _ in _cells(assignment) if kind == "test"]
    for student in corpus.students(assignment, 2, seed=18):
        assert _run_tests(assignment, student) == tests


@pytest.mark.parametrize("assignment", corpus.ASSIGNMENTS)
def test_a_class_of_thirty_differs_in_half_the_cells(assignment):
    cells = _answer_ids(assignment)
    for seed in (0, 1):
        class_ = corpus.students(assignment, 30, seed)
        assert len(class_) == 30 and all(list(s) == cells for s in class_)
        for i, a in enumerate(class_):
            for b in class_[:i]:
                differ = sum(a[g] != b[g] for g in cells)
                assert differ >= math.ceil(len(cells) / 2), f"two students share {len(cells) - differ} of {len(cells)} cells"
    variants = corpus.load(assignment)
    assert all(set(s[g] for s in class_) <= set(variants[g]) for g in cells)
    # every variant of a cell is used by somebody in a class of thirty, for most cells
    assert corpus.students(assignment, 30, 0) == corpus.students(assignment, 30, 0), "seeded: the same class again"
    assert corpus.students(assignment, 30, 0) != corpus.students(assignment, 30, 1)


def test_students_refuses_a_class_larger_than_the_pool():
    for assignment in corpus.ASSIGNMENTS:
        too_many = corpus.capacity(assignment) + 1
        with pytest.raises(ValueError, match="more than"):
            corpus.students(assignment, too_many, 0)
    with pytest.raises(ValueError, match="assignment"):
        corpus.load("07_nothing")
