"""Trusted checks of assignment 6 (missing coordinates in the E-step of one Gaussian component).

One check per autograder test cell of ``06_gmm_missing.ipynb``. Visible cases repeat the notebook's
visible tests; hidden cases draw their inputs from ``t.rng`` (the grader's seed). Labels of hidden
cases are fixed text: they reach the student's feedback.

The student's functions run in the sandboxed kernel, where mixlearn's Gaussian mixture modules
(``GaussianMixture`` and ``_gaussian_missing``) are switched off. The expected values are computed
here with the real library: ``mixlearn._gaussian_missing.pattern_marginals`` (what
``GaussianMixture`` uses for its E-step, ``impute`` and ``score_samples`` on rows with NaN) for one
component, checked against ``scipy.stats.multivariate_normal`` on the observed block and against
the precision-matrix form of the conditional when the check is built.
"""

import numpy as np
from scipy import stats

from mixlearn._gaussian_missing import pattern_marginals
from mixlearn.course.checks import as_tuple, check, expect_close

COV3 = np.array([[2.0, 1.0, 0.5], [1.0, 2.0, 1.0], [0.5, 1.0, 2.0]])


def _oracle(mean, cov, x_row):
    """(conditional mean, conditional covariance, observed log-density) of one component."""
    mean, cov, x_row = (np.asarray(a, dtype=float) for a in (mean, cov, x_row))
    missing = np.isnan(x_row)
    obs, mis = np.flatnonzero(~missing), np.flatnonzero(missing)
    log_prob, cond_mean, cond_cov = pattern_marginals(x_row[None, obs], mean[None], cov[None], obs, mis)
    log_density = float(log_prob[0, 0])
    cond_mean, cond_cov = cond_mean[0, 0], cond_cov[0]
    # two independent oracles must agree with the library before anything is judged with it
    expected = stats.multivariate_normal(mean[obs], cov[np.ix_(obs, obs)]).logpdf(x_row[obs])
    np.testing.assert_allclose(log_density, expected, rtol=1e-10, atol=1e-10)
    if mis.size:
        precision = np.linalg.inv(cov)
        other_cov = np.linalg.inv(precision[np.ix_(mis, mis)])
        other_mean = mean[mis] - other_cov @ precision[np.ix_(mis, obs)] @ (x_row[obs] - mean[obs])
        np.testing.assert_allclose(cond_cov, other_cov, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(cond_mean, other_mean, rtol=1e-8, atol=1e-8)
    return cond_mean, cond_cov, log_density


def _random_gaussian(r, d):
    a = r.normal(size=(d, d))
    return r.normal(0.0, 3.0, d), a @ a.T + 0.5 * np.eye(d)


def _random_row(r, mean, cov, n_missing):
    x_row = r.multivariate_normal(mean, cov)
    x_row[r.choice(mean.size, size=n_missing, replace=False)] = np.nan
    return x_row


# ------------------------------------------------------------------------------ split_observed
def _split_case(t, x_row, what, hidden=False):
    values = np.asarray(x_row, dtype=float)
    exp_obs, exp_mis = np.flatnonzero(~np.isnan(values)), np.flatnonzero(np.isnan(values))

    def judge(got):
        observed, missing = as_tuple(got, 2, "split_observed should return a pair (observed, missing).")
        expect_close(observed, exp_obs, f"The observed indices of {what}")
        expect_close(missing, exp_mis, f"The missing indices of {what}")

    t.case(what, judge, t.call("split_observed", x_row), hidden=hidden)


@check("test_split_observed")
def _(t):
    _split_case(t, np.array([1.5, np.nan, 0.0, np.nan]), "[1.5, nan, 0, nan]")
    _split_case(t, np.array([2.0, -1.0, 3.0]), "[2, -1, 3] (nothing missing)")
    r = t.rng
    d = int(r.integers(5, 16))
    x_row = r.normal(0.0, 2.0, d)
    x_row[r.choice(d, size=int(r.integers(1, d)), replace=False)] = np.nan
    _split_case(t, x_row, "a row with some values missing", hidden=True)
    d = int(r.integers(5, 16))
    x_row = np.zeros(d)
    x_row[r.choice(d, size=int(r.integers(1, d)), replace=False)] = np.nan
    _split_case(t, x_row, "a row of zeros and missing values", hidden=True)
    d = int(r.integers(5, 16))
    x_row = [float(v) for v in r.normal(0.0, 1.0, d)]
    for i in r.choice(d, size=int(r.integers(1, d)), replace=False):
        x_row[int(i)] = float("nan")
    _split_case(t, x_row, "a Python list with some values missing", hidden=True)


# ------------------------------------------------------------------------ conditional_gaussian
def _conditional_case(t, mean, cov, x_row, what, hidden=False):
    mean, cov, x_row = (np.asarray(a, dtype=float) for a in (mean, cov, x_row))
    exp_mean, exp_cov, _ = _oracle(mean, cov, x_row)

    def judge(got):
        cond_mean, cond_cov = as_tuple(got, 2, "conditional_gaussian should return a pair (cond_mean, cond_cov).")
        expect_close(cond_mean, exp_mean, f"The conditional mean for {what}")
        expect_close(cond_cov, exp_cov, f"The conditional covariance for {what}")

    t.case(what, judge, t.call("conditional_gaussian", mean, cov, x_row), hidden=hidden)


@check("test_conditional_gaussian")
def _(t):
    _conditional_case(t, [1.0, 2.0], [[4.0, 2.0], [2.0, 3.0]], [np.nan, 5.0],
                      "mean [1, 2], cov [[4, 2], [2, 3]] and x = [nan, 5]")
    _conditional_case(t, np.zeros(3), COV3, [1.0, np.nan, np.nan], "three coordinates, only the first observed")
    _conditional_case(t, np.zeros(3), COV3, [1.0, -2.0, 0.5], "a row with nothing missing")
    r = t.rng
    # at least two observed coordinates, so that their correlation matters
    d = int(r.integers(4, 8))
    mean, cov = _random_gaussian(r, d)
    _conditional_case(t, mean, cov, _random_row(r, mean, cov, int(r.integers(1, d - 1))),
                      "correlated coordinates with some missing", hidden=True)
    d = int(r.integers(3, 8))
    mean, cov = _random_gaussian(r, d)
    _conditional_case(t, mean, cov, _random_row(r, mean, cov, int(r.integers(1, d))),
                      "more correlated coordinates with some missing", hidden=True)
    d = int(r.integers(3, 7))
    mean, cov = _random_gaussian(r, d)
    _conditional_case(t, mean, cov, _random_row(r, mean, cov, d - 1), "one coordinate observed", hidden=True)
    d = int(r.integers(2, 6))
    mean, cov = _random_gaussian(r, d)
    _conditional_case(t, mean, cov, _random_row(r, mean, cov, 0), "nothing missing", hidden=True)


# ------------------------------------------------------------------------ observed_log_density
def _density_case(t, mean, cov, x_row, what, hidden=False):
    mean, cov, x_row = (np.asarray(a, dtype=float) for a in (mean, cov, x_row))
    expected = _oracle(mean, cov, x_row)[2]
    t.case(what, lambda got: expect_close(got, expected, f"The observed-data log-density for {what}"),
           t.call("observed_log_density", mean, cov, x_row), hidden=hidden)


@check("test_observed_log_density")
def _(t):
    _density_case(t, [1.0, 2.0], [[4.0, 2.0], [2.0, 3.0]], [np.nan, 5.0], "mean [1, 2], cov [[4, 2], [2, 3]] and x = [nan, 5]")
    _density_case(t, [0.0, 1.0, 0.0], COV3, [1.0, -2.0, 0.5], "a row with nothing missing")
    _density_case(t, np.zeros(2), [[1.0, 0.5], [0.5, 1.0]], [np.nan, 45.0], "x = [nan, 45], far in the tail (log space needed)")
    r = t.rng
    d = int(r.integers(4, 8))
    mean, cov = _random_gaussian(r, d)
    _density_case(t, mean, cov, _random_row(r, mean, cov, int(r.integers(1, d - 1))),
                  "correlated coordinates with some missing", hidden=True)
    d = int(r.integers(3, 8))
    mean, cov = _random_gaussian(r, d)
    _density_case(t, mean, cov, _random_row(r, mean, cov, int(r.integers(1, d))),
                  "more correlated coordinates with some missing", hidden=True)
    d = int(r.integers(3, 7))
    mean, cov = _random_gaussian(r, d)
    x_row = _random_row(r, mean, cov, int(r.integers(1, d)))
    obs = ~np.isnan(x_row)
    x_row[obs] = mean[obs] + r.choice([-1.0, 1.0], obs.sum()) * r.uniform(40.0, 80.0, obs.sum()) * np.sqrt(np.diag(cov)[obs])
    _density_case(t, mean, cov, x_row, "observed values far in the tails", hidden=True)
    d = int(r.integers(2, 6))
    mean, cov = _random_gaussian(r, d)
    _density_case(t, mean, cov, _random_row(r, mean, cov, 0), "nothing missing", hidden=True)
