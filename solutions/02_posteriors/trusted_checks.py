"""Trusted checks of assignment 2 (posteriors P(z | x)).

One check per autograder test cell of ``02_posteriors.ipynb``. Visible cases repeat the notebook's
visible tests; hidden cases draw their inputs from ``t.rng`` (the grader's seed). Labels of hidden
cases are fixed text: they reach the student's feedback.

The student's functions run in the sandboxed kernel, where ``mixlearn.posterior`` and
``mixlearn.e_step`` are switched off; the expected values are computed here with the real
mixlearn (``posterior`` is the oracle).
"""

import numpy as np

import mixlearn as ml
from mixlearn.course.checks import as_array, check, expect, expect_close


def _marble_oracle(x, pi, p1, p2):
    return ml.posterior(x, [pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)])[:, 0]


def _close_case(t, what, expected, call, hidden=False):
    t.case(what, lambda got: expect_close(got, expected, what), call, hidden=hidden)


# --------------------------------------------------------------------------- marble_posterior
@check("test_marble_posterior")
def _(t):
    _close_case(t, "marble_posterior([red, blue], pi=0.5, p1=0.8, p2=0.3)", [0.8 / 1.1, 0.2 / 0.9],
                t.call("marble_posterior", np.array([1, 0]), 0.5, 0.8, 0.3))
    _close_case(t, "marble_posterior([red, blue, red], pi=0.2, p1=0.8, p2=0.3) (the prior favours factory 2)",
                [0.16 / 0.4, 0.04 / 0.6, 0.16 / 0.4], t.call("marble_posterior", np.array([1, 0, 1]), 0.2, 0.8, 0.3))
    r = t.rng
    # a prior favouring factory 1, an extreme prior with very different factories, nearly equal factories
    for pi_range, p1_range, p2_range in [((0.55, 0.9), (0.1, 0.9), (0.1, 0.9)), ((0.005, 0.05), (0.95, 0.995), (0.005, 0.05)),
                                         ((0.3, 0.6), (0.45, 0.65), (0.45, 0.65))]:
        pi, p1, p2 = float(r.uniform(*pi_range)), float(r.uniform(*p1_range)), float(r.uniform(*p2_range))
        x = r.integers(0, 2, int(r.integers(15, 40)))
        x[:2] = [0, 1]  # both colours occur
        _close_case(t, "marble_posterior for other priors and factories", _marble_oracle(x, pi, p1, p2),
                    t.call("marble_posterior", x, pi, p1, p2), hidden=True)
    p1, p2 = (float(v) for v in r.uniform(0.1, 0.9, 2))
    _close_case(t, "marble_posterior with pi = 0 (a factory with prior 0 has posterior 0)", [0.0, 0.0],
                t.call("marble_posterior", np.array([1, 0]), 0.0, p1, p2), hidden=True)
    pi, p2 = float(r.uniform(0.2, 0.8)), float(r.uniform(0.1, 0.9))
    _close_case(t, "marble_posterior with p1 = 1 (factory 1 never makes blue marbles)",
                [0.0, pi / (pi + (1 - pi) * p2)], t.call("marble_posterior", np.array([0, 1]), pi, 1.0, p2), hidden=True)


# ------------------------------------------------------------------------- gaussian_posterior
def _gaussian_oracle(x, weights, means, stds):
    return ml.posterior(x, weights, [ml.Gaussian(float(m), float(s)) for m, s in zip(means, stds, strict=True)])


def _gaussian_case(t, x, weights, means, stds, what, hidden=False, rows_sum_to_one=False):
    expected = _gaussian_oracle(x, weights, means, stds)

    def judge(got):
        expect_close(got, expected, what)
        if rows_sum_to_one:
            expect_close(np.sum(as_array(got, what), axis=1), np.ones(len(x)),
                         "Each row of the responsibilities (one sample) summed over components")

    t.case(what, judge, t.call("gaussian_posterior", x, list(weights), list(means), list(stds)), hidden=hidden)


@check("test_gaussian_posterior")
def _(t):
    _gaussian_case(t, np.array([-1.0, 0.0, 0.5, 2.0, 3.5]), [0.3, 0.7], [0.0, 2.0], [1.0, 1.0],
                   "gaussian_posterior(x, weights=[0.3, 0.7], means=[0, 2], stds=[1, 1])", rows_sum_to_one=True)
    _gaussian_case(t, np.linspace(-3, 6, 7), [0.5, 0.2, 0.3], [0.0, 1.0, 4.0], [0.5, 2.0, 1.0],
                   "gaussian_posterior with three components of different spreads")
    r = t.rng
    sizes = [(1, "one component"), (2, "two random components"), (int(r.integers(4, 8)), "four to seven random components")]
    for k, what in sizes:
        _gaussian_case(t, r.normal(0, 4, int(r.integers(20, 60))), r.dirichlet(np.ones(k)), r.normal(0, 3, k),
                       r.uniform(0.3, 2.5, k), f"gaussian_posterior for {what}", hidden=True)


def _tails_case(t, x, args, what, hidden=False):
    expected = _gaussian_oracle(x, *args)

    def judge(got):
        got = as_array(got, what, expected.shape)
        expect(np.all(np.isfinite(got)), "Responsibilities far from every component should still be finite numbers "
                                         f"(work in log space), got {got}.")
        expect_close(got, expected, what)

    t.case(what, judge, t.call("gaussian_posterior", x, *[list(a) for a in args]), hidden=hidden)


@check("test_gaussian_posterior_tails")
def _(t):
    _tails_case(t, np.array([-40.0, 60.0, 1000.0]), ([0.5, 0.5], [0.0, 3.0], [1.0, 1.0]),
                "gaussian_posterior at x = -40, 60, 1000 (far in the tails; the nearer component takes it all)")
    r = t.rng
    # a heavy narrow component and a light wide one: the wide one takes both tails
    w = float(r.uniform(0.7, 0.95))
    args = ([w, 1 - w], [float(r.normal(0, 0.5)), float(r.normal(0, 0.5))],
            [float(r.uniform(0.5, 1.0)), float(r.uniform(2.0, 4.0))])
    x = np.concatenate([-r.uniform(25, 400, 2), r.uniform(25, 400, 2)])
    _tails_case(t, x, args, "gaussian_posterior far in both tails (the wider component takes both tails)", hidden=True)
    k = int(r.integers(2, 5))
    args = (r.dirichlet(np.ones(k)), r.normal(0, 5, k), r.uniform(0.3, 1.5, k))
    x = np.concatenate([-r.uniform(50, 2000, 2), r.uniform(50, 2000, 2)])
    _tails_case(t, x, args, "gaussian_posterior far from every component", hidden=True)


# ---------------------------------------------------------------------------- even_odds_prior
def _balance_judge(colour, p1, p2, what):
    def judge(got):
        pi = float(as_array(got, what, ()))
        expect(0.0 <= pi <= 1.0, f"{what} should be a probability between 0 and 1, but it is {pi:.6g}.")
        post = ml.posterior([colour], [pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)])[0, 0]
        expect_close(post, 0.5, f"The posterior of factory 1 for {what}")

    return judge


@check("test_even_odds_prior")
def _(t):
    _close_case(t, "even_odds_prior(red, p1=0.8, p2=0.3)", 0.3 / 1.1, t.call("even_odds_prior", 1, 0.8, 0.3))
    t.case("posterior at even_odds_prior(red, 0.8, 0.3)",
           _balance_judge(1, 0.8, 0.3, "a red marble at the prior returned by even_odds_prior"),
           t.call("even_odds_prior", 1, 0.8, 0.3))
    r = t.rng
    p1, p2 = float(r.uniform(0.55, 0.95)), float(r.uniform(0.05, 0.45))
    _close_case(t, "even_odds_prior for a blue marble", (1 - p2) / ((1 - p1) + (1 - p2)),
                t.call("even_odds_prior", 0, p1, p2), hidden=True)
    for colour in (1, 0, 0):
        p1, p2 = (float(v) for v in r.uniform(0.05, 0.95, 2))
        t.case("the posterior at the prior even_odds_prior returns", _balance_judge(colour, p1, p2, "a marble"),
               t.call("even_odds_prior", colour, p1, p2), hidden=True)
