"""Trusted checks of assignment 5 (EM for a 1-D Gaussian mixture).

One check per autograder test cell of ``05_gmm_1d.ipynb``. Visible cases repeat the notebook's
visible tests; hidden cases draw their inputs from ``t.rng`` (the grader's seed). Labels of hidden
cases are fixed text: they reach the student's feedback.

The student's functions run in the sandboxed kernel, where ``mixlearn.GaussianMixture``,
scikit-learn and mixlearn's EM helpers are switched off; the expected values are computed here
with the real mixlearn (``GaussianMixture`` started at the same parameters, without
regularisation, is the oracle of the fits).
"""

import warnings

import numpy as np

import mixlearn as ml
from mixlearn.course.checks import as_array, as_tuple, check, expect, expect_close, tol_between


def _components(means, variances):
    return [ml.Gaussian(float(m), float(np.sqrt(v))) for m, v in zip(means, variances, strict=True)]


def _gmm_oracle(x, weights, means, variances, max_iter=10_000, tol=1e-12):
    """mixlearn's GaussianMixture started at the given parameters (no regularisation)."""
    gm = ml.GaussianMixture(len(weights), covariance_type="diag", reg_covar=0.0, tol=tol, max_iter=max_iter,
                            weights_init=np.asarray(weights, dtype=float),
                            means_init=np.reshape(np.asarray(means, dtype=float), (-1, 1)),
                            covariances_init=np.reshape(np.asarray(variances, dtype=float), (-1, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(np.reshape(x, (-1, 1)))
    return gm.weights_, gm.means_[:, 0], gm.covariances_[:, 0]


def _params(*arrays):
    return [np.asarray(a, dtype=float) for a in arrays]


def _never_decreases(lls, atol):
    """No step down by more than atol (a step from or to -inf or nan counts as a decrease)."""
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.diff(lls) >= -atol))


# ---------------------------------------------------------------------------------- gmm_e_step
def _e_step_case(t, x, weights, means, variances, what, hidden=False):
    comps = _components(means, variances)
    exp_resp = ml.posterior(x, weights, comps)
    exp_ll = float(ml.mixture_logpdf(x, weights, comps).mean())

    def judge(got):
        resp, ll = as_tuple(got, 2, "gmm_e_step should return a pair (resp, mean_log_likelihood).")
        expect_close(resp, exp_resp, f"The responsibilities for {what}")
        expect_close(ll, exp_ll, f"The mean log-likelihood for {what}")

    t.case(what, judge, t.call("gmm_e_step", x, *_params(weights, means, variances)), hidden=hidden)


@check("test_gmm_e_step")
def _(t):
    _e_step_case(t, np.array([-2.0, 0.0, 1.0, 4.0]), [0.4, 0.6], [0.0, 3.0], [1.0, 4.0],
                 "4 points, weights [0.4, 0.6], means [0, 3], variances [1, 4]")
    r = t.rng
    k = int(r.integers(3, 7))
    _e_step_case(t, r.normal(0, 5, int(r.integers(40, 90))), r.dirichlet(np.ones(k)), r.normal(0, 4, k),
                 r.uniform(0.2, 9.0, k), "random points and three to six random components", hidden=True)
    x = np.array([-float(r.uniform(60, 500)), float(r.uniform(60, 500))])
    _e_step_case(t, x, [0.5, 0.5], [0.0, float(r.uniform(0.5, 2.0))], list(r.uniform(0.1, 0.5, 2)),
                 "points far in the tails", hidden=True)


# ---------------------------------------------------------------------------------- gmm_m_step
def _m_step_oracle(x, resp):
    """Weighted statistics computed by numpy, one component at a time."""
    means = np.array([np.average(x, weights=r) for r in resp.T])
    variances = np.array([np.cov(x, aweights=r, bias=True) for r in resp.T])
    return resp.mean(axis=0), means, variances


def _m_step_case(t, x, resp, what, hidden=False):
    expected = _m_step_oracle(x, resp)

    def judge(got):
        result = as_tuple(got, 3, "gmm_m_step should return (weights, means, variances).")
        for name, value, exp in zip(["weights", "means", "variances"], result, expected, strict=True):
            expect_close(value, exp, f"The new {name} for {what}")

    t.case(what, judge, t.call("gmm_m_step", x, resp), hidden=hidden)


@check("test_gmm_m_step")
def _(t):
    _m_step_case(t, np.array([0.0, 1.0, 2.0, 10.0]), np.array([[1.0, 0.0], [0.8, 0.2], [0.5, 0.5], [0.0, 1.0]]),
                 "x = [0, 1, 2, 10] and the responsibilities in this cell")
    r = t.rng
    n = int(r.integers(300, 700))
    _m_step_case(t, r.normal(r.uniform(-5, 5), r.uniform(1, 3), n), r.dirichlet([2.0, 1.0, 0.5], size=n),
                 "random points and three components", hidden=True)
    n, k = int(r.integers(10, 40)), int(r.integers(2, 6))
    _m_step_case(t, r.uniform(-20, 20, n), r.dirichlet(np.ones(k), size=n), "a few points and two to five components",
                 hidden=True)


# ---------------------------------------------------------------------------------- fit_gmm_1d
def _fit_case(t, x, start, what, hidden=False):
    expected = _gmm_oracle(x, *start)

    def judge(fit):
        expect(isinstance(fit, dict), "fit_gmm_1d should return a dictionary.")
        for name, exp in zip(["weights", "means", "variances"], expected, strict=True):
            expect(name in fit, f"fit_gmm_1d's result should have the key {name!r}.")
            expect_close(fit[name], exp, f"The fitted {name} for {what}", rtol=1e-4, atol=1e-6)

    t.case(what, judge, t.call("fit_gmm_1d", x, *_params(*start), tol=1e-12, max_iter=2000), hidden=hidden)


def _separated_sample(r, k, n):
    """n points from k well-separated Gaussians and a start near (not at) their parameters."""
    means = np.sort(r.uniform(-3, 3, k)) + 6.0 * np.arange(k)
    stds = r.uniform(0.6, 1.4, k)
    weights = r.dirichlet(np.full(k, 8.0))
    x, _ = ml.sample_mixture(weights, _components(means, stds ** 2), n, random_state=r)
    start = (np.full(k, 1.0 / k), means + r.uniform(-1.0, 1.0, k), stds ** 2 * r.uniform(0.6, 1.6, k))
    return x, start


@check("test_fit_gmm_1d")
def _(t):
    eruptions = ml.datasets.load_faithful()[:, 0]
    _fit_case(t, eruptions, ([0.5, 0.5], [2.0, 4.0], [0.5, 0.5]), "Old Faithful's eruption durations (K = 2)")
    r = t.rng
    waiting = ml.datasets.load_faithful()[:, 1]
    w = float(r.uniform(0.25, 0.5))
    start = ([w, 1 - w], [float(r.uniform(48, 58)), float(r.uniform(76, 86))], list(r.uniform(20.0, 45.0, 2)))
    _fit_case(t, waiting, start, "Old Faithful's waiting times from another start", hidden=True)
    x, start = _separated_sample(r, 3, int(r.integers(600, 1200)))
    _fit_case(t, x, start, "random points from three components", hidden=True)


# ------------------------------------------------------------------------- fit_gmm_1d_monotone
def _em_path(x, start, n_iter):
    """Mean log-likelihoods after 0, 1, ..., n_iter EM iterations from *start*, and the parameters
    after the last one (oracle: mixlearn's posterior and mixture density, numpy's weighted moments)."""
    weights, means, variances = (np.asarray(a, dtype=float) for a in start)
    lls = [float(ml.mixture_logpdf(x, weights, _components(means, variances)).mean())]
    for _ in range(n_iter):
        resp = ml.posterior(x, weights, _components(means, variances))
        weights, means, variances = _m_step_oracle(x, resp)
        lls.append(float(ml.mixture_logpdf(x, weights, _components(means, variances)).mean()))
    return np.array(lls), (weights, means, variances)


def _monotone_judge(x, start, n_expected=None):
    """The history starts at the starting parameters' mean log-likelihood, its second value is that
    of one EM iteration from there, and it never decreases; with a small max_iter and tol=0 it is
    the EM path itself and the returned parameters are EM's after max_iter iterations (a history
    that only looks right, without EM behind it, does not pass)."""
    path, params = _em_path(x, start, 1 if n_expected is None else n_expected - 1)

    def judge(fit):
        expect(isinstance(fit, dict) and "log_likelihoods" in fit,
               "fit_gmm_1d should return a dictionary with the key 'log_likelihoods'.")
        lls = as_array(fit["log_likelihoods"], "fit_gmm_1d's log-likelihoods")
        if n_expected is None:
            expect(lls.ndim == 1 and lls.size >= 3, f"fit_gmm_1d should record several log-likelihoods, got {lls.size}.")
            expect_close(lls[0], path[0], "The first mean log-likelihood (at the starting parameters)")
            expect_close(lls[1], path[1], "The second mean log-likelihood (after one EM iteration from the start)")
            expect(_never_decreases(lls, 1e-10), "The log-likelihood should never decrease from one EM iteration to "
                                                   "the next; a decrease means a bug in a step.")
        else:
            expect(lls.ndim == 1 and lls.size == n_expected,
                   f"With max_iter={n_expected - 1} and tol=0 fit_gmm_1d should run {n_expected - 1} iterations "
                   f"({n_expected} log-likelihoods), got {lls.size}.")
            expect(_never_decreases(lls, 1e-10), "The log-likelihood should never decrease from one EM iteration to "
                                                   "the next.")
            expect_close(lls, path, f"The mean log-likelihoods of {n_expected - 1} EM iterations from the start",
                         rtol=1e-7)
            for name, exp in zip(["weights", "means", "variances"], params, strict=True):
                expect(name in fit, f"fit_gmm_1d's result should have the key {name!r}.")
                expect_close(fit[name], exp, f"The {name} after {n_expected - 1} EM iterations", rtol=1e-6, atol=1e-9)

    return judge


def _stopping_case(t, r):
    """The stopping rule: with a tol that falls between two successive changes of the mean
    log-likelihood (well apart, so rounding cannot decide), fit_gmm_1d stops right after the first
    iteration whose change is below tol, with that iteration's parameters.  A loop that never
    stops early runs on."""
    while True:
        x, start = _separated_sample(r, 2, int(r.integers(400, 900)))
        start = (r.dirichlet(np.ones(2)), start[1] + r.uniform(-1.5, 1.5, 2), start[2])
        lls, _ = _em_path(x, start, 12)
        found = tol_between(np.abs(np.diff(lls)), r)   # fit_gmm_1d should stop after iteration `stop`
        if found:
            break
    stop, tol = found
    params = _em_path(x, start, stop)[1]

    def judge(fit):
        expect(isinstance(fit, dict) and "log_likelihoods" in fit,
               "fit_gmm_1d should return a dictionary with the key 'log_likelihoods'.")
        lls = as_array(fit["log_likelihoods"], "fit_gmm_1d's log-likelihoods")
        expect(lls.ndim == 1 and lls.size == stop + 1,
               f"With tol={tol:.3g} fit_gmm_1d should stop after iteration {stop}, the first whose mean log-likelihood "
               f"changes by less than tol ({stop + 1} values), got {lls.size}.")
        for name, exp in zip(["weights", "means", "variances"], params, strict=True):
            expect(name in fit, f"fit_gmm_1d's result should have the key {name!r}.")
            expect_close(fit[name], exp, f"The {name} after the {stop} iterations that tol={tol:.3g} allows",
                         rtol=1e-6, atol=1e-9)

    t.case("fit_gmm_1d's stopping rule (a change of the mean log-likelihood below tol)", judge,
           t.call("fit_gmm_1d", x, *start, tol=tol), hidden=True)


@check("test_fit_gmm_1d_monotone")
def _(t):
    x, _ = ml.sample_mixture([0.6, 0.4], [ml.Gaussian(0, 1), ml.Gaussian(2.5, 0.7)], 400, random_state=4)
    start = (np.array([0.5, 0.5]), np.array([-1.0, 1.0]), np.array([2.0, 2.0]))
    t.case("fit_gmm_1d's log-likelihoods from the start in this cell", _monotone_judge(x, start),
           t.call("fit_gmm_1d", x, *start))
    r = t.rng
    k = int(r.integers(2, 4))
    means = np.arange(k) * float(r.uniform(1.0, 2.0))
    x, _ = ml.sample_mixture(r.dirichlet(np.full(k, 5.0)), _components(means, np.ones(k)), int(r.integers(800, 1500)),
                             random_state=r)
    w = r.dirichlet(np.ones(k))
    start = (w, means + r.uniform(-3.0, 3.0, k), r.uniform(0.5, 3.0, k))
    n_iter = int(r.integers(4, 10))
    t.case("fit_gmm_1d with a small max_iter and tol=0", _monotone_judge(x, start, n_iter + 1),
           t.call("fit_gmm_1d", x, *start, max_iter=n_iter, tol=0.0), hidden=True)
    _stopping_case(t, r)


# ------------------------------------------------------------------------------ first_decrease
def _first_decrease_oracle(values, atol):
    for i in range(1, len(values)):
        if values[i] < values[i - 1] - atol:
            return i
    return None


def _first_decrease_case(t, values, what, hidden=False, atol=None):
    expected = _first_decrease_oracle(values, 1e-9 if atol is None else atol)
    kwargs = {} if atol is None else {"atol": atol}

    def judge(got):
        if expected is None:
            expect(got is None, f"{what} should be None, but it is {got!r}.")
        else:
            expect(got is not None and got == expected, f"{what} should be {expected}, but it is {got!r}.")

    t.case(what, judge, t.call("first_decrease", values, **kwargs), hidden=hidden)


@check("test_first_decrease")
def _(t):
    _first_decrease_case(t, [-3.0, -2.0, -1.5, -1.4], "first_decrease([-3, -2, -1.5, -1.4]) (an increasing list)")
    _first_decrease_case(t, [-3.0, -2.0, -2.5, -1.0, -1.2], "first_decrease([-3, -2, -2.5, -1, -1.2]) (the value -2.5 drops)")
    r = t.rng
    n = int(r.integers(8, 20))
    values = np.cumsum(r.uniform(0.01, 1.0, n)) - 50.0
    noise_at, drop_at = sorted(r.choice(np.arange(2, n), size=2, replace=False))
    values[noise_at] = values[noise_at - 1] - float(r.uniform(1e-13, 5e-10))  # rounding noise within atol
    values[drop_at:] -= values[drop_at] - values[drop_at - 1] + float(r.uniform(0.01, 1.0))  # a real drop
    _first_decrease_case(t, [float(v) for v in values], "first_decrease should ignore drops within atol", hidden=True,
                         atol=1e-9)
    _first_decrease_case(t, np.array([-5.0, -5.0 - float(r.uniform(0.1, 2.0))]), "first_decrease of a NumPy array of two values",
                         hidden=True)
    _first_decrease_case(t, [float(r.uniform(-10, -1))], "first_decrease of a single value", hidden=True)
    n = int(r.integers(5, 12))
    _first_decrease_case(t, [float(v) for v in np.cumsum(r.uniform(0.0, 1.0, n)) - 20.0],
                         "first_decrease of a list that never drops", hidden=True)
