"""The similarity corpus (issue 18) is a class of correct, independent answers.

Every variant in tests/similarity_support/variants replaces its answer cell in a namespace holding the
notebook's setup cell and the model solution's other answer cells; its function must then agree with the
model solution's on seeded random inputs drawn like the notebook's tests (samplers: the same seed-dependent
behaviour and the same frequencies). Composed students must pass the notebook's own visible and hidden
tests, and any two students must differ in at least half of the answer cells. No variant calls mixlearn's
functions or is another variant (or the model solution) with only names, comments or layout changed. The
comparison can fail: every kept mistake in tests/exercise_support/mistakes is refused by it.
"""

import io
import json
import keyword
import math
import re
import tokenize
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from similarity_support import corpus

import mixlearn as ml

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
    return (
        _namespace(assignment, {grade_id: variant}, upto=grade_id)[grade_id],
        _namespace(assignment, {}, upto=grade_id)[grade_id],
    )


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
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
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
    "p_red": _p_red,
    "sample_marbles": _sample_marbles,
    "red_fraction_by_factory": _red_fraction_by_factory,
    "z_score": _z_score,
}


# --- 02_posteriors
def _marble_posterior(f, model, r):
    calls = [
        _call(np.array([1, 0]), 0.5, 0.8, 0.3),
        _call(np.array([1, 0]), 0.0, 0.8, 0.3),
        _call(np.array([0, 1]), 0.5, 1.0, 0.3),
    ]
    for _ in range(4):
        calls.append(_call(r.integers(0, 2, 25), *(float(v) for v in r.uniform(0.01, 0.99, 3))))
    _agree(f, model, calls)


def _gaussian_calls(r):
    calls = [
        _call(np.array([-40.0, 60.0, 1000.0]), [0.5, 0.5], [0.0, 3.0], [1.0, 1.0]),
        _call(np.array([-300.0, -25.0, 25.0, 300.0]), [0.9, 0.1], [0.0, 0.5], [1.0, 3.0]),
    ]
    for k in (1, 2, 5):
        calls.append(_call(r.normal(0, 4, 40), r.dirichlet(np.ones(k)), r.normal(0, 3, k), r.uniform(0.3, 2.5, k)))
    return calls


def _gaussian_posterior(f, model, r):
    _agree(f, model, _gaussian_calls(r))


def _even_odds_prior(f, model, r):
    calls = [_call(c, *(float(v) for v in r.uniform(0.02, 0.98, 2))) for c in (0, 1, 0, 1, 1, 0)]
    _agree(f, model, calls + [_call(1, 0.8, 0.3), _call(0, 0.95, 0.05)])


CHECKS |= {"marble_posterior": _marble_posterior, "gaussian_posterior": _gaussian_posterior, "even_odds_prior": _even_odds_prior}


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
    loglik = model.__globals__["log_likelihood_two"]
    for n, pi_init in [(1000, 0.5), (700, 0.1), (2000, 0.9)]:
        x, p1, p2 = _marbles(r, n)
        # a fixed number of iterations: the same path as the model solution
        _agree(f, model, [_call(x, p1, p2, pi_init=pi_init, tol=0.0, max_iter=12)], rtol=1e-8)
        # run to convergence: the same estimate, a sound history
        pi, lls = f(x, p1, p2, pi_init=pi_init, tol=1e-13)
        expected, _ = model(x, p1, p2, pi_init=pi_init, tol=1e-13)
        assert np.isclose(pi, expected, rtol=1e-5, atol=1e-8)
        _em_history_is_sound(pi, lls, lambda p, x=x, p1=p1, p2=p2: loglik(x, p, p1, p2), loglik(x, pi_init, p1, p2))


def _closed_form_pi(f, model, r):
    calls = [_call(np.array([1] * 6 + [0] * 4), 0.8, 0.3), _call(np.ones(10), 0.8, 0.3), _call(np.array([0, 0, 0, 1]), 0.8, 0.3)]
    for n in (10, 3000, 3000):
        x, p1, p2 = _marbles(r, n)
        calls.append(_call(x, p1, p2))
    _agree(f, model, calls)


CHECKS |= {
    "e_step_two": _e_step_two,
    "m_step_two": _m_step_two,
    "log_likelihood_two": _log_likelihood_two,
    "em_two": _em_two,
    "closed_form_pi": _closed_form_pi,
}


# --- 04_em_n
def _count_components(r):
    return [ml.Poisson(float(m)) for m in np.sort(r.uniform(0.5, 20.0, 3))]


def _log_likelihood_matrix(f, model, r):
    calls = [
        _call(r.integers(0, 15, 12), _count_components(r)),
        _call(
            np.array([-1.0, 0.5, 60.0]),
            [ml.Gaussian(float(m), float(s)) for m, s in zip(r.normal(0, 3, 4), r.uniform(0.5, 2, 4), strict=True)],
        ),
        _call(r.integers(0, 11, 17), [ml.Binomial(10, float(p)) for p in r.uniform(0.05, 0.95, 3)]),
        _call(r.integers(0, 3, 9), [ml.Categorical(r.dirichlet(np.ones(3))) for _ in range(2)]),
        _call(r.normal(0, 2, 5), [ml.Gaussian(0.0, 1.0)]),
    ]
    _agree(f, model, calls)


def _e_step_n(f, model, r):
    calls = [
        _call(r.integers(0, 15, 20), r.dirichlet(np.ones(3)), _count_components(r)),
        _call(np.array([0.3, -1.2, 4.0]), [1.0], [ml.Gaussian(0.0, 1.0)]),
        _call(np.array([-30.0, 0.0, 45.0]), [0.5, 0.5], [ml.Gaussian(-1.0, 1.0), ml.Gaussian(1.0, 1.0)]),
        _call(r.normal(4.5, 3.0, 200), r.dirichlet(np.ones(10)), [ml.Gaussian(m, 0.7) for m in np.arange(10.0)]),
        _call(r.integers(0, 13, 50), [0.0, 0.25, 0.75], [ml.Binomial(12, p) for p in (0.2, 0.5, 0.8)]),
    ]
    _agree(f, model, calls)


def _m_step_n(f, model, r):
    _agree(f, model, [_call(r.dirichlet(np.ones(k), size=n)) for k, n in [(1, 5), (3, 4), (6, 41), (2, 1000)]])


def _em_n(f, model, r):
    mean_loglik = model.__globals__["e_step_n"]
    for n, k, start in [(2000, 3, None), (300, 1, None), (1500, 2, [0.1, 0.9])]:
        comps = _count_components(r)[:k]
        x, _ = ml.sample_mixture(r.dirichlet(np.ones(k)), comps, n, random_state=int(r.integers(2**31)))
        _agree(f, model, [_call(x, comps, weights_init=start, tol=0.0, max_iter=10)], rtol=1e-8)
        weights, lls = f(x, comps, weights_init=start, tol=1e-12, max_iter=500)
        expected, _ = model(x, comps, weights_init=start, tol=1e-12, max_iter=500)
        assert np.allclose(weights, expected, rtol=1e-5, atol=1e-8)
        first = mean_loglik(x, np.full(k, 1 / k) if start is None else start, comps)[1]
        _em_history_is_sound(weights, lls, lambda w, x=x, comps=comps: mean_loglik(x, w, comps)[1], first)


CHECKS |= {"log_likelihood_matrix": _log_likelihood_matrix, "e_step_n": _e_step_n, "m_step_n": _m_step_n, "em_n": _em_n}


# --- 05_gmm_1d
def _gmm_e_step(f, model, r):
    calls = [
        _call(np.array([-2.0, 0.0, 1.0, 4.0]), np.array([0.4, 0.6]), np.array([0.0, 3.0]), np.array([1.0, 4.0])),
        _call(np.array([-80.0, 95.0]), np.array([0.5, 0.5]), np.array([0.0, 1.0]), np.array([0.25, 0.25])),
    ]
    for k in (1, 3, 4):
        calls.append(_call(r.normal(0, 5, 60), r.dirichlet(np.ones(k)), r.normal(0, 4, k), r.uniform(0.2, 9.0, k)))
    _agree(f, model, calls)


def _gmm_m_step(f, model, r):
    calls = [_call(np.array([0.0, 1.0, 2.0, 10.0]), np.array([[1.0, 0.0], [0.8, 0.2], [0.5, 0.5], [0.0, 1.0]]))]
    for n, k in [(500, 3), (50, 1), (200, 4)]:
        calls.append(_call(r.normal(3.0, 2.0, n), r.dirichlet(np.full(k, 1.5), size=n)))
    _agree(f, model, calls, rtol=1e-7)


def _fit_gmm_1d(f, model, r):
    eruptions = ml.datasets.load_faithful()[:, 0]
    x, _ = ml.sample_mixture(
        [0.3, 0.4, 0.3], [ml.Gaussian(-4, 1), ml.Gaussian(0, 0.5), ml.Gaussian(5, 2)], 600, random_state=int(r.integers(2**31))
    )
    mean_loglik = model.__globals__["gmm_e_step"]
    for data, start in [(eruptions, ([0.5, 0.5], [2.0, 4.0], [0.5, 0.5])), (x, ([1 / 3] * 3, [-3.0, 1.0, 4.0], [1.0] * 3))]:
        start = [np.array(p, dtype=float) for p in start]
        _agree(f, model, [_call(data, *start, tol=0.0, max_iter=8)], rtol=1e-7)
        got, expected = f(data, *start, tol=1e-12, max_iter=2000), model(data, *start, tol=1e-12, max_iter=2000)
        for key in ("weights", "means", "variances"):
            assert np.allclose(got[key], expected[key], rtol=1e-5, atol=1e-8), key
        _em_history_is_sound(
            (got["weights"], got["means"], got["variances"]),
            got["log_likelihoods"],
            lambda p, data=data: mean_loglik(data, *p)[1],
            mean_loglik(data, *start)[1],
        )


def _first_decrease(f, model, r):
    calls = [
        _call([-3.0, -2.0, -1.5, -1.4]),
        _call([-3.0, -2.0, -2.5, -1.0, -1.2]),
        _call(np.array([-5.0, -5.5])),
        _call([-2.0]),
        _call([-1.0, -1.0 - 1e-12, -0.5, -0.6], atol=1e-9),
        _call([-1.0, -1.0 - 1e-6, -0.5], atol=1e-5),
    ]
    for n in (3, 10, 50):
        lls = list(np.cumsum(r.exponential(1.0, n)))
        if n > 3:
            lls[int(r.integers(1, n))] -= 10.0
        calls.append(_call(lls))
        calls.append(_call(np.array(lls), atol=float(r.uniform(0, 1))))
    for args, kwargs in calls:
        got, expected = f(*args, **kwargs), model(*args, **kwargs)
        assert got == expected and (got is None) == (expected is None), f"{args}: {got!r} instead of {expected!r}"


CHECKS |= {"gmm_e_step": _gmm_e_step, "gmm_m_step": _gmm_m_step, "fit_gmm_1d": _fit_gmm_1d, "first_decrease": _first_decrease}


# --- 06_gmm_missing
def _row_with_gaps(r, d, n_missing):
    a = r.normal(size=(d, d))
    cov = a @ a.T + 0.5 * np.eye(d)
    mean = r.normal(0.0, 3.0, d)
    x_row = r.multivariate_normal(mean, cov)
    x_row[r.choice(d, n_missing, replace=False)] = np.nan
    return mean, cov, x_row


def _split_observed(f, model, r):
    rows = [np.array([1.5, np.nan, 0.0, np.nan]), np.array([2.0, -1.0, 3.0]), np.full(3, np.nan), np.array([0.0])]
    rows += [_row_with_gaps(r, d, m)[2] for d, m in [(12, 4), (5, 1), (7, 6)]]
    for row in rows:
        got = f(row.copy())
        _same(got, model(row), f"split_observed({row})")
        assert all(np.asarray(part).dtype.kind in "iu" for part in got), "indices should be integers"


def _gaussian_rows(r):
    calls = [
        _call(np.array([1.0, 2.0]), np.array([[4.0, 2.0], [2.0, 3.0]]), np.array([np.nan, 5.0])),
        _call(np.zeros(2), np.array([[1.0, 0.5], [0.5, 1.0]]), np.array([np.nan, 45.0])),
    ]
    cov3 = np.array([[2.0, 1.0, 0.5], [1.0, 2.0, 1.0], [0.5, 1.0, 2.0]])
    calls += [_call(np.zeros(3), cov3, np.array([1.0, np.nan, np.nan])), _call(np.zeros(3), cov3, np.array([1.0, -2.0, 0.5]))]
    calls += [_call(*_row_with_gaps(r, d, m)) for d, m in [(5, 2), (6, 4), (4, 1), (3, 0), (6, 5)]]
    return calls


def _unchanged_inputs(f, model, calls, rtol):
    for args, kwargs in calls:
        copies = [a.copy() for a in args]
        _same(f(*args, **kwargs), model(*args, **kwargs), f"call with {args}", rtol=rtol, atol=1e-10)
        assert all(np.array_equal(a, c, equal_nan=True) for a, c in zip(args, copies, strict=True)), "the inputs were modified"


def _conditional_gaussian(f, model, r):
    _unchanged_inputs(f, model, _gaussian_rows(r), rtol=1e-8)


def _observed_log_density(f, model, r):
    _unchanged_inputs(f, model, _gaussian_rows(r), rtol=1e-9)


CHECKS |= {
    "split_observed": _split_observed,
    "conditional_gaussian": _conditional_gaussian,
    "observed_log_density": _observed_log_density,
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
            assert _own_work(source), f"{grade_id}: a variant calls mixlearn"
            shape = _shape(source)
            assert shape not in shapes, f"{grade_id}: a variant is another one (or the model) with names changed:\n{source}"
            shapes.add(shape)


def _own_work(source):
    """No use of mixlearn's functions (the components' own methods are fine): the copies of library source
    are the other team's planted class, and the tests switch those functions off."""
    return not re.search(r"\bml\.|mixlearn", source)


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


KEYWORDS = frozenset(keyword.kwlist)


@pytest.mark.parametrize(("assignment", "grade_id", "index"), VARIANT_CASES, ids=[f"{a}-{g}-{i}" for a, g, i in VARIANT_CASES])
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
    for student in corpus.students(assignment, 4, seed=18):
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
    assert corpus.students(assignment, 30, 0) == corpus.students(assignment, 30, 0), "seeded: the same class again"
    assert corpus.students(assignment, 30, 0) != corpus.students(assignment, 30, 1)


def test_students_refuses_a_class_larger_than_the_pool():
    for assignment in corpus.ASSIGNMENTS:
        too_many = corpus.capacity(assignment) + 1
        with pytest.raises(ValueError, match="more than"):
            corpus.students(assignment, too_many, 0)
    with pytest.raises(ValueError, match="assignment"):
        corpus.load("07_nothing")


MISTAKES = sorted((ROOT / "tests" / "exercise_support" / "mistakes").glob("*/*--*.py"))


@pytest.mark.filterwarnings("ignore:Best performing initialization did not converge")
@pytest.mark.parametrize("path", MISTAKES, ids=[f"{p.parent.name}-{p.stem}" for p in MISTAKES])
def test_the_checks_reject_every_kept_mistake(path):
    """The comparison above can fail: each kept mistake of the course's tests is refused by it."""
    assignment, grade_id = path.parent.name, path.name.split("--")[0]
    source = path.read_text()
    if not _own_work(source):
        return  # refused by the own-work rule of the variants' test
    variant, model = _functions(assignment, grade_id, source)
    with pytest.raises(Exception):  # noqa: B017 - a wrong answer may fail in any way (assertion, crash, nan)
        with np.errstate(all="ignore"):
            CHECKS[grade_id](variant, model, np.random.default_rng(sum(map(ord, f"{assignment}/{grade_id}"))))
