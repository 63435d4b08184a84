"""Trusted checks of assignment 1 (sampling the two-factory mixture).

One check per autograder test cell of ``01_sampling.ipynb``. Visible cases repeat the notebook's
visible tests; hidden cases draw their inputs from ``t.rng`` (the grader's seed), so reading this
file tells a student what is checked but not on which values. Labels of hidden cases are fixed
text: they reach the student's feedback.

The student's functions run in the sandboxed kernel; everything here runs in the grader's
process with the real mixlearn as the oracle. The sampling checks are statistical: they look at
the returned draws (same seed -> same draws, other seed -> other draws, frequencies within five
standard errors, exact edge cases), so a correct sampler fails them with probability below 1e-5
per grading run.
"""

import numpy as np

import mixlearn as ml
from mixlearn.course.checks import Rng, as_array, as_tuple, check, expect, expect_close

# This assignment asks for the sampler itself, so the library's samplers are switched off in the
# student edition while it is graded (elsewhere students use them freely).  A check cannot tell
# them apart from a correct answer: the model solution draws exactly the numbers they draw.
SWITCHED_OFF = ("datasets/__init__.py:make_marbles", "mixture.py:sample_mixture")


def _p_red_oracle(pi, p1, p2):
    """P(red) of the two-factory bag, from mixlearn's mixture density (scalar pi)."""
    return float(np.exp(ml.mixture_logpdf([1], [pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)]))[0])


# ------------------------------------------------------------------------------------- p_red
def _p_red_case(t, pi, p1, p2, what, hidden=False):
    if np.ndim(pi):
        expected = np.array([_p_red_oracle(float(v), p1, p2) for v in pi])
    else:
        expected = _p_red_oracle(pi, p1, p2)
    t.case(what, lambda got: expect_close(got, expected, what), t.call("p_red", pi, p1, p2), hidden=hidden)


@check("test_p_red")
def _(t):
    _p_red_case(t, 0.6, 0.8, 0.3, "p_red(0.6, 0.8, 0.3)")
    _p_red_case(t, 0.2, 0.8, 0.3, "p_red(0.2, 0.8, 0.3) (a bag mostly from factory 2)")
    _p_red_case(t, 1.0, 0.8, 0.3, "p_red(1, 0.8, 0.3) (every marble from factory 1)")
    _p_red_case(t, np.array([0.0, 0.5]), 0.9, 0.1, "p_red for an array of pi values")
    r = t.rng
    for _ in range(3):
        pi, p1, p2 = (float(v) for v in r.uniform(0.01, 0.99, 3))
        _p_red_case(t, pi, p1, p2, "p_red for random pi, p1 and p2", hidden=True)
    p1, p2 = (float(v) for v in r.uniform(0.01, 0.99, 2))
    _p_red_case(t, r.uniform(0.0, 1.0, int(r.integers(3, 9))), p1, p2, "p_red for an array of random pi values",
                hidden=True)


# ---------------------------------------------------------------------------- sample_marbles
def _draws(got, n, what):
    """The pair (x, z) a call returned, checked for form: two integer 0/1 arrays of length n."""
    x, z = as_tuple(got, 2, f"sample_marbles should return a pair (x, z) of NumPy arrays ({what}).")
    expect(isinstance(x, np.ndarray) and isinstance(z, np.ndarray),
           "sample_marbles should return two NumPy arrays (x, z).")
    expect(x.shape == (n,) and z.shape == (n,),
           f"x and z should both have shape ({n},), got {x.shape} and {z.shape} ({what}).")
    expect(x.dtype.kind in "iu" and z.dtype.kind in "iu",
           f"x and z should be integer arrays, got dtypes {x.dtype} and {z.dtype}.")
    expect(set(np.unique(x).tolist()) <= {0, 1} and set(np.unique(z).tolist()) <= {0, 1},
           "x and z should contain only 0 and 1.")
    return x.astype(int), z.astype(int)


def _format_cases(t, n, pi, p1, p2, seed, other_seed, what, hidden=False):
    first = t.call("sample_marbles", n, pi, p1, p2, Rng(seed))
    again = t.call("sample_marbles", n, pi, p1, p2, Rng(seed))
    other = t.call("sample_marbles", n, pi, p1, p2, Rng(other_seed))

    def judge(a, b, d):
        x, z = _draws(a, n, what)
        x2, z2 = _draws(b, n, what)
        x3, z3 = _draws(d, n, what)
        expect(np.array_equal(x, x2) and np.array_equal(z, z2),
               "Two calls with generators seeded alike should give the same marbles: draw every random number from rng.")
        expect(not (np.array_equal(x, x3) and np.array_equal(z, z3)), "Different seeds should give different marbles.")

    t.case(what, judge, first, again, other, hidden=hidden)


@check("test_sample_marbles_format")
def _(t):
    _format_cases(t, 50, 0.6, 0.8, 0.3, 1, 2, "sample_marbles(50, 0.6, 0.8, 0.3, rng)")
    r = t.rng
    seed, other = (int(s) for s in r.choice(2**31, size=2, replace=False))
    pi, p1, p2 = (float(v) for v in r.uniform(0.2, 0.8, 3))
    _format_cases(t, int(r.integers(40, 400)), pi, p1, p2, seed, other,
                  "sample_marbles with other sizes, probabilities and seeds", hidden=True)


def _frequencies_judge(n, pi, p1, p2, what):
    def judge(got):
        x, z = _draws(got, n, what)
        share1 = np.mean(z == 0)
        tol = 5 * np.sqrt(pi * (1 - pi) / n) + 1e-12
        expect(abs(share1 - pi) <= tol,
               f"About a fraction pi = {pi:.4g} of the marbles should come from factory 1 (z == 0), "
               f"but {share1:.4f} did ({what}).")
        for k, p in [(0, p1), (1, p2)]:
            made_here = z == k
            if made_here.sum() > 0:
                freq = x[made_here].mean()
                tol = 5 * np.sqrt(p * (1 - p) / made_here.sum()) + 1e-12
                expect(abs(freq - p) <= tol,
                       f"Marbles from factory {k + 1} should be red with probability {p:.4g}, but {freq:.4f} of them "
                       f"are red (each marble's colour must use its own factory's probability; {what}).")

    return judge


def _edge_judge(n, rule, message):
    def judge(got):
        x, z = _draws(got, n, "an edge case")
        expect(rule(x, z), message)

    return judge


@check("test_sample_marbles_frequencies")
def _(t):
    t.case("sample_marbles(200_000, 0.6, 0.8, 0.3, rng)",
           _frequencies_judge(200_000, 0.6, 0.8, 0.3, "200,000 marbles with pi = 0.6, p1 = 0.8, p2 = 0.3"),
           t.call("sample_marbles", 200_000, 0.6, 0.8, 0.3, Rng(0)))
    r = t.rng

    def seed():
        return int(r.integers(2**31))

    # one bag mostly from factory 2 with very different factories, one with nearly equal factories
    for pi_range, p_ranges in [((0.05, 0.3), ((0.02, 0.2), (0.8, 0.98))), ((0.6, 0.9), ((0.4, 0.6), (0.4, 0.6)))]:
        pi = float(r.uniform(*pi_range))
        p1, p2 = float(r.uniform(*p_ranges[0])), float(r.uniform(*p_ranges[1]))
        t.case("sample_marbles' frequencies for other probabilities",
               _frequencies_judge(150_000, pi, p1, p2, "a hidden bag of 150,000 marbles"),
               t.call("sample_marbles", 150_000, pi, p1, p2, Rng(seed())), hidden=True)
    n = int(r.integers(500, 1500))
    p1, p2 = (float(v) for v in r.uniform(0.1, 0.9, 2))
    t.case("sample_marbles with pi = 0",
           _edge_judge(n, lambda x, z: np.all(z == 1), "With pi = 0 every marble should come from factory 2 (z == 1)."),
           t.call("sample_marbles", n, 0.0, p1, p2, Rng(seed())), hidden=True)
    t.case("sample_marbles with pi = 1",
           _edge_judge(n, lambda x, z: np.all(z == 0), "With pi = 1 every marble should come from factory 1 (z == 0)."),
           t.call("sample_marbles", n, 1.0, p1, p2, Rng(seed())), hidden=True)
    t.case("sample_marbles with p1 = 1 and p2 = 0",
           _edge_judge(n, lambda x, z: np.array_equal(x, (z == 0).astype(int)),
                       "With p1 = 1 and p2 = 0 a marble should be red exactly when it comes from factory 1."),
           t.call("sample_marbles", n, float(r.uniform(0.2, 0.8)), 1.0, 0.0, Rng(seed())), hidden=True)


# ------------------------------------------------------------------- red_fraction_by_factory
def _fractions_oracle(x, z):
    x, z = np.asarray(x, dtype=float), np.asarray(z)
    counts = np.bincount(z, minlength=2)[:2].astype(float)
    reds = np.bincount(z, weights=x, minlength=2)[:2]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, reds / np.maximum(counts, 1), np.nan)


def _fractions_case(t, x, z, what, hidden=False):
    expected = _fractions_oracle(x, z)
    t.case(what, lambda got: expect_close(got, expected, what), t.call("red_fraction_by_factory", x, z), hidden=hidden)


@check("test_red_fraction_by_factory")
def _(t):
    _fractions_case(t, [1, 0, 1, 1, 0], [0, 0, 1, 1, 1], "red_fraction_by_factory(x=[1, 0, 1, 1, 0], z=[0, 0, 1, 1, 1])")
    _fractions_case(t, [1, 1, 0], [0, 0, 0], "red_fraction_by_factory when factory 2 made no marble (nan for factory 2)")
    r = t.rng
    for low, high in [(6, 12), (200, 400), (3000, 6000)]:
        n = int(r.integers(low, high))
        z = np.zeros(n, dtype=int)
        z[1:] = r.integers(0, 2, n - 1)
        z[-1] = 1 - z[0]  # both factories made marbles
        r.shuffle(z)
        x = (r.random(n) < np.where(z == 0, r.uniform(0.1, 0.9), r.uniform(0.1, 0.9))).astype(int)
        _fractions_case(t, x, z, "red_fraction_by_factory on random marbles", hidden=True)
    n = int(r.integers(2, 20))
    x = r.integers(0, 2, n)
    _fractions_case(t, x, np.ones(n, dtype=int), "red_fraction_by_factory when factory 1 made no marble (nan for factory 1)",
                    hidden=True)


# ------------------------------------------------------------------------------------ z_score
def _z_oracle(x, pi, p1, p2):
    p = _p_red_oracle(pi, p1, p2)
    x = np.asarray(x, dtype=float)
    return (x.mean() - p) / np.sqrt(p * (1 - p) / x.size)


@check("test_z_score")
def _(t):
    x = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0])  # 7 red out of 10; the formula gives 0.6
    t.case("z_score for 7 red out of 10", lambda got: expect_close(
        got, 0.1 / np.sqrt(0.24 / 10), "z_score for 7 red out of 10 with P(red) = 0.6"), t.call("z_score", x, 0.6, 0.8, 0.3))
    t.case("z_score for 3 red out of 10", lambda got: expect_close(
        got, -0.3 / np.sqrt(0.24 / 10), "z_score for 3 red out of 10 with P(red) = 0.6 (negative: fewer red than expected)"),
        t.call("z_score", 1 - x, 0.6, 0.8, 0.3))
    r = t.rng
    for low, high in [(20, 60), (300, 1000), (5000, 20000)]:
        pi, p1, p2 = (float(v) for v in r.uniform(0.05, 0.95, 3))
        x, _ = ml.datasets.make_marbles(int(r.integers(low, high)), float(r.uniform(0.05, 0.95)), p1, p2, random_state=r)
        expected = _z_oracle(x, pi, p1, p2)
        t.case("z_score of a random bag", lambda got, e=expected: expect_close(got, e, "z_score of a random bag"),
               t.call("z_score", x, pi, p1, p2), hidden=True)
    # a bag drawn from the formula's own probabilities: z-scores of both signs occur
    pi, p1, p2 = (float(v) for v in r.uniform(0.1, 0.9, 3))
    bags = [ml.datasets.make_marbles(int(r.integers(100, 500)), pi, p1, p2, random_state=r)[0] for _ in range(4)]
    for x in bags:
        expected = _z_oracle(x, pi, p1, p2)
        t.case("z_score of a bag simulated with the formula's own probabilities",
               lambda got, e=expected: expect_close(as_array(got, "z_score", ()), e, "z_score"),
               t.call("z_score", x, pi, p1, p2), hidden=True)
