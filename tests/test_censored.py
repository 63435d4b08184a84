"""EM for right-censored normal data, against independent oracles: a direct numerical
maximisation of the censored (Tobit) likelihood written with scipy, the complete-data closed
form when nothing is censored, the monotone log-likelihood, and a long-run simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from mixlearn.censored import censored_normal_em, censored_normal_loglik


def _data(n=400, limit=55.0, seed=0):
    t = np.random.default_rng(seed).normal(50, 10, n)
    return np.minimum(t, limit), t > limit


def test_em_reaches_the_maximum_found_by_a_general_optimiser():
    x, c = _data()

    def nll(theta):
        mu, log_sd = theta
        return -(np.sum(stats.norm.logpdf(x[~c], mu, np.exp(log_sd))) + np.sum(stats.norm.logsf(x[c], mu, np.exp(log_sd))))

    best = optimize.minimize(nll, [45.0, np.log(8.0)], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12})
    res = censored_normal_em(x, c, tol=1e-14)
    assert res.mean == pytest.approx(best.x[0], abs=1e-5)
    assert np.sqrt(res.var) == pytest.approx(np.exp(best.x[1]), abs=1e-5)
    assert res.log_likelihood[-1] == pytest.approx(-best.fun, abs=1e-8)
    assert np.all(np.diff(res.log_likelihood) >= -1e-9) and res.converged


def test_without_censoring_the_answer_is_the_sample_mean_and_variance():
    x = np.random.default_rng(1).normal(3, 2, 50)
    res = censored_normal_em(x, np.zeros(50, dtype=bool))
    assert res.mean == pytest.approx(x.mean()) and res.var == pytest.approx(x.var())
    assert res.n_iter == 1


def test_the_estimates_are_unbiased_in_the_long_run_while_ignoring_censoring_is_not():
    fits, naive = [], []
    for seed in range(200):
        x, c = _data(n=300, limit=52.0, seed=seed)
        r = censored_normal_em(x, c, tol=1e-10)
        fits.append((r.mean, np.sqrt(r.var)))
        naive.append(x.mean())
    fits = np.array(fits)
    assert abs(fits[:, 0].mean() - 50) < 0.25 and abs(fits[:, 1].mean() - 10) < 0.25
    assert np.mean(naive) < 47   # treating the limit as the value biases the mean down


def test_log_likelihood_matches_scipy_and_bad_input_is_rejected():
    x, c = np.array([1.0, 2.0, 5.0]), np.array([False, False, True])
    expected = stats.norm.logpdf([1.0, 2.0], 2.0, 1.5).sum() + stats.norm.logsf(5.0, 2.0, 1.5)
    assert censored_normal_loglik(x, c, 2.0, 1.5**2) == pytest.approx(expected)
    before = x.copy()
    with pytest.raises(ValueError, match="shape of x"):
        censored_normal_em(x, [True, False])
    with pytest.raises(ValueError, match="at least two values"):
        censored_normal_em(x, [True, True, False])
    with pytest.raises(ValueError, match="booleans"):
        censored_normal_em(x, [0, 2, 1])
    with pytest.raises(ValueError, match="var_init"):
        censored_normal_em(x, c, var_init=-1.0)
    with pytest.raises(ValueError, match="var must be a positive"):
        censored_normal_loglik(x, c, 0.0, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        censored_normal_em([1.0, np.nan, 2.0], c)
    np.testing.assert_array_equal(x, before)
