"""Trusted checks of assignment 4 (EM for K known components).

Labels of hidden cases are fixed text: they reach the student's feedback, so they never quote a
value drawn from the grader's seed.

Each check calls the student's functions (in the sandboxed kernel) and judges the returned data
here, with the real mixlearn as the oracle. Visible cases repeat the notebook's visible tests;
hidden cases draw their inputs from ``t.rng`` (the grader's seed).
"""

import warnings

import numpy as np

import mixlearn as ml
from mixlearn.course.checks import Dist, as_array, as_tuple, build, check, expect, expect_close, tol_between


def _matrix_oracle(x, comps):
    return np.column_stack([ml.mixture_logpdf(x, [1.0], [c]) for c in build(comps)])


def _matrix_case(t, x, comps, what, hidden=False):
    expected = _matrix_oracle(x, comps)
    t.case(what, lambda got: expect_close(got, expected, what),
           t.call("log_likelihood_matrix", x, comps), hidden=hidden)


@check("test_log_likelihood_matrix")
def _(t):
    _matrix_case(t, np.array([0, 1, 3, 7, 2]), [Dist("Poisson", 1.0), Dist("Poisson", 4.0)],
                 "log_likelihood_matrix for 5 counts and Poisson(1), Poisson(4)")
    _matrix_case(t, np.array([-1.0, 0.5, 60.0]),
                 [Dist("Gaussian", 0.0, 1.0), Dist("Gaussian", 2.0, 0.5), Dist("Gaussian", -3.0, 2.0),
                  Dist("Gaussian", 1.0, 1.0)],
                 "log_likelihood_matrix for three points (one at 60, far in the tails) and four Gaussians")
    r = t.rng
    n = int(r.integers(8, 30))
    _matrix_case(t, r.integers(0, 11, n), [Dist("Binomial", 10, float(p)) for p in np.sort(r.uniform(0.05, 0.95, 3))],
                 "log_likelihood_matrix for Binomial components", hidden=True)
    probs = [r.dirichlet(np.ones(3)) for _ in range(2)]
    _matrix_case(t, r.integers(0, 3, int(r.integers(5, 15))), [Dist("Categorical", p.tolist()) for p in probs],
                 "log_likelihood_matrix for Categorical components", hidden=True)
    _matrix_case(t, r.normal(0.0, 20.0, 12), [Dist("Gaussian", float(m), float(s)) for m, s in
                                              zip(r.normal(0, 3, 3), r.uniform(0.3, 2.0, 3), strict=True)],
                 "log_likelihood_matrix for Gaussians and points far in the tails", hidden=True)


def _e_step_case(t, x, weights, comps, what, hidden=False):
    exp_resp, exp_ll = ml.e_step(x, weights, build(comps))

    def judge(got):
        resp, ll = as_tuple(got, 2, "e_step_n should return a pair (resp, mean_log_likelihood).")
        expect_close(resp, exp_resp, f"The responsibilities for {what}")
        expect_close(ll, exp_ll, f"The mean log-likelihood for {what}")

    t.case(what, judge, t.call("e_step_n", x, list(weights), comps), hidden=hidden)


@check("test_e_step_n")
def _(t):
    _e_step_case(t, np.array([0, 2, 5, 9, 1, 3]), [0.5, 0.3, 0.2],
                 [Dist("Poisson", 1.0), Dist("Poisson", 4.0), Dist("Poisson", 8.0)], "6 counts and three Poisson components")
    _e_step_case(t, np.array([0.3, -1.2, 4.0]), [1.0], [Dist("Gaussian", 0.0, 1.0)], "one component (K = 1)")
    _e_step_case(t, np.array([-30.0, 0.0, 45.0]), [0.5, 0.5], [Dist("Gaussian", -1.0, 1.0), Dist("Gaussian", 1.0, 1.0)],
                 "points far in the tails (log space needed)")
    r = t.rng
    k = int(r.integers(6, 11))
    comps = [Dist("Gaussian", float(m), 0.7) for m in np.arange(float(k))]
    _e_step_case(t, r.normal(k / 2, 3.0, 200), r.dirichlet(np.ones(k)), comps,
                 "200 points and six to ten Gaussian components", hidden=True)
    w = r.dirichlet(np.ones(2))
    _e_step_case(t, r.integers(0, 13, 50), [0.0, float(w[0]), float(w[1])],
                 [Dist("Binomial", 12, float(p)) for p in (0.2, 0.5, 0.8)], "Binomial components, one with weight 0",
                 hidden=True)
    _e_step_case(t, np.concatenate([r.normal(0, 1, 5), [-40.0 - 10 * r.random(), 50.0 + 10 * r.random()]]),
                 [0.5, 0.5], [Dist("Gaussian", -1.0, 1.0), Dist("Gaussian", 1.0, 1.0)],
                 "points far in the tails", hidden=True)


@check("test_m_step_n")
def _(t):
    resp = np.array([[0.9, 0.1, 0.0], [0.5, 0.25, 0.25], [0.1, 0.1, 0.8], [0.5, 0.15, 0.35]])
    t.case("m_step_n for 4 samples and 3 components",
           lambda got: expect_close(got, [0.5, 0.15, 0.35], "m_step_n for 4 samples and 3 components"),
           t.call("m_step_n", resp))
    n, k = int(t.rng.integers(20, 60)), int(t.rng.integers(3, 8))
    resp = t.rng.dirichlet(np.ones(k), size=n)
    expected = resp.sum(axis=0) / n
    t.case("m_step_n for random responsibilities",
           lambda got: expect_close(got, expected, "m_step_n"), t.call("m_step_n", resp), hidden=True)


def _em_case(t, x, comps, what, weights_init=None, hidden=False):
    # EM's own iterate under the same budget the student's em_n gets (tol 1e-12, 500 iterations):
    # where a component's weight creeps towards 0, 500 iterations do not reach the fixed point,
    # and the model solution must not lose points for that
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ml.exceptions.ConvergenceWarning)
        expected = ml.em_n_components(x, build(comps), weights_init=weights_init, tol=1e-12, max_iter=500).weights

    def judge(got):
        weights, _ = as_tuple(got, 2, "em_n should return a pair (weights, log_likelihoods).")
        expect_close(weights, expected, f"em_n's weights for {what}", rtol=1e-4, atol=1e-6)

    t.case(what, judge, t.call("em_n", x, comps, weights_init=weights_init, tol=1e-12, max_iter=500), hidden=hidden)


@check("test_em_n_agrees")
def _(t):
    comps = [Dist("Poisson", 1.0), Dist("Poisson", 6.0), Dist("Poisson", 15.0)]
    x, _ = ml.sample_mixture([0.5, 0.3, 0.2], build(comps), 2000, random_state=0)
    _em_case(t, x, comps, "2000 counts from three Poisson components")
    _em_case(t, x[:50], [Dist("Poisson", 3.0)], "one component (K = 1)")
    r = t.rng
    k = int(r.integers(6, 11))
    comps = [Dist("Gaussian", float(m), 1.0) for m in np.arange(0.0, 3.0 * k, 3.0)]
    x, _ = ml.sample_mixture(r.dirichlet(np.ones(k)), build(comps), 2000, random_state=r)
    _em_case(t, x, comps, "2000 points and six to ten Gaussian components", hidden=True)
    p = (r.uniform(0.1, 0.4), r.uniform(0.6, 0.9))  # apart enough for EM to converge within max_iter
    comps = [Dist("Binomial", 20, float(p[0])), Dist("Binomial", 20, float(p[1]))]
    w1 = float(r.uniform(0.6, 0.9))
    x, _ = ml.sample_mixture([w1, 1 - w1], build(comps), 1500, random_state=r)
    _em_case(t, x, comps, "Binomial components started at weights [0.1, 0.9]", weights_init=[0.1, 0.9], hidden=True)


def _em_oracle(x, comps, weights_init=None, **kw):
    """mixlearn's EM (ConvergenceWarning is expected with a small max_iter)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ml.em_n_components(x, build(comps), weights_init=weights_init, **kw)


def _history_judge(x, comps, w0, what, n_iter=None, expected=None):
    comps_built = build(comps)

    def judge(got):
        weights, lls = as_tuple(got, 2, "em_n should return a pair (weights, log_likelihoods).")
        lls = as_array(lls, "the list of mean log-likelihoods")
        weights = as_array(weights, "em_n's weights", (len(comps_built),))
        expect(lls.ndim == 1 and lls.size >= 3,
               f"em_n should return the mean log-likelihood at the start and after every iteration, got {lls.size} values.")
        if n_iter is not None:
            expect(lls.size == n_iter + 1,
                   f"With max_iter={n_iter} and tol=0 em_n should run {n_iter} iterations "
                   f"({n_iter + 1} log-likelihoods), got {lls.size}.")
        start = w0 if w0 is not None else np.full(len(comps_built), 1.0 / len(comps_built))
        expect_close(lls[0], ml.mixture_logpdf(x, start, comps_built).mean(), f"The first mean log-likelihood ({what})")
        with np.errstate(invalid="ignore"):
            expect(np.all(np.diff(lls) >= -1e-10),
                   "The log-likelihood should never decrease from one EM iteration to the next.")
        expect(lls[1] > lls[0] + 1e-12,
               "The first EM iteration should raise the log-likelihood (the start is not a fixed point).")
        expect(np.all(weights >= -1e-12) and abs(weights.sum() - 1) < 1e-8, "em_n's weights should be a probability vector.")
        expect_close(lls[-1], ml.mixture_logpdf(x, weights, comps_built).mean(),
                     "The last mean log-likelihood (at the returned weights)")
        if expected is not None:
            expect_close(weights, expected, f"em_n's weights ({what})", rtol=1e-6, atol=1e-8)

    return judge


def _stopping_case(t, r):
    """The stopping rule: with a tol that falls between two successive changes of the mean
    log-likelihood (well apart, so rounding cannot decide), em_n stops right after the first
    iteration whose change is below tol, with that iteration's weights.  A loop that never stops
    early runs on."""
    while True:
        lam = np.sort(r.uniform(1.0, 12.0, 3))
        comps = [Dist("Poisson", float(v)) for v in lam]
        x, _ = ml.sample_mixture(r.dirichlet(np.ones(3) * 3), build(comps), int(r.integers(500, 2000)), random_state=r)
        w0 = r.dirichlet(np.ones(3))
        path = _em_oracle(x, comps, weights_init=w0, max_iter=40, tol=0.0).history["weights"]
        lls = np.array([ml.mixture_logpdf(x, w, build(comps)).mean() for w in path])
        found = tol_between(np.abs(np.diff(lls)), r)   # em_n should stop after iteration `stop`
        if found:
            break
    stop, tol = found

    def judge(got):
        weights, history = as_tuple(got, 2, "em_n should return a pair (weights, log_likelihoods).")
        history = as_array(history, "the list of mean log-likelihoods")
        expect(history.ndim == 1 and history.size == stop + 1,
               f"With tol={tol:.3g} em_n should stop after iteration {stop}, the first whose mean log-likelihood changes "
               f"by less than tol ({stop + 1} values), got {history.size}.")
        expect_close(weights, path[stop], f"em_n's weights after the {stop} iterations that tol={tol:.3g} allows",
                     rtol=1e-6, atol=1e-8)

    t.case("em_n's stopping rule (a change of the mean log-likelihood below tol)", judge,
           t.call("em_n", x, comps, weights_init=[float(v) for v in w0], tol=tol), hidden=True)


@check("test_em_n_history")
def _(t):
    comps = [Dist("Gaussian", -2.0, 1.0), Dist("Gaussian", 0.0, 0.5), Dist("Gaussian", 3.0, 1.5)]
    x, _ = ml.sample_mixture([0.2, 0.5, 0.3], build(comps), 1000, random_state=1)
    t.case("em_n's history from weights_init = [0.8, 0.1, 0.1]",
           _history_judge(x, comps, [0.8, 0.1, 0.1], "at weights_init = [0.8, 0.1, 0.1]"),
           t.call("em_n", x, comps, weights_init=[0.8, 0.1, 0.1]))
    r = t.rng
    lam = np.sort(r.uniform(1.0, 5.0, 2))
    comps = [Dist("Poisson", float(lam[0])), Dist("Poisson", float(lam[1]))]
    w1 = float(r.uniform(0.2, 0.8))
    x, _ = ml.sample_mixture([w1, 1 - w1], build(comps), 5000, random_state=r)
    n_iter = int(r.integers(3, 8))
    # exactly n_iter EM iterations from the uniform start: the weights must be EM's, not the start's
    expected = _em_oracle(x, comps, max_iter=n_iter, tol=0.0).weights
    t.case("em_n with a small max_iter and tol=0",
           _history_judge(x, comps, None, "uniform start", n_iter=n_iter, expected=expected),
           t.call("em_n", x, comps, max_iter=n_iter, tol=0.0), hidden=True)
    _stopping_case(t, r)


def _large_case(t, x, comps, hidden):
    expected = ml.em_n_components(x, build(comps), tol=1e-9).weights

    def judge(got):
        weights, _ = as_tuple(got, 2, "em_n should return a pair (weights, log_likelihoods).")
        expect_close(weights, expected, "em_n's weights for 50,000 counts (this needs vectorised code)", rtol=1e-3, atol=1e-4)

    t.case("em_n on 50,000 counts", judge, t.call("em_n", x, comps, tol=1e-9, max_iter=50), hidden=hidden)


@check("test_em_n_large")
def _(t):
    comps = [Dist("Poisson", 1.0), Dist("Poisson", 7.0), Dist("Poisson", 20.0)]
    x, _ = ml.sample_mixture([0.2, 0.5, 0.3], build(comps), 50_000, random_state=3)
    _large_case(t, x, comps, hidden=False)
    r = t.rng
    # well-separated rates, as in the visible case: EM converges within the 50 iterations allowed
    lam = np.array([r.uniform(0.5, 2.0), r.uniform(6.0, 9.0), r.uniform(16.0, 25.0)])
    comps = [Dist("Poisson", float(v)) for v in lam]
    x, _ = ml.sample_mixture(r.dirichlet(np.ones(3) * 3), build(comps), 50_000, random_state=r)
    _large_case(t, x, comps, hidden=True)
