"""Standard errors from Louis's identity and the bootstrap likelihood-ratio test.

Oracles: closed forms (the marble information of chapter 3, the normal mean and variance),
a numerical Hessian of the observed log-likelihood written here from scipy densities, and
long-run simulation (the spread of refitted estimates; uniform p-values under the null).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

import mixlearn as ml
from mixlearn.inference import (
    bootstrap_lrt,
    gaussian_information_1d,
    louis_information,
    weights_information,
)


def _numerical_hessian(f, theta, h=1e-4):
    theta = np.asarray(theta, dtype=float)
    p = theta.size
    H = np.empty((p, p))
    for i in range(p):
        for j in range(p):
            e_i, e_j = np.eye(p)[i] * h, np.eye(p)[j] * h
            H[i, j] = (f(theta + e_i + e_j) - f(theta + e_i - e_j) - f(theta - e_i + e_j) + f(theta - e_i - e_j)) / (4 * h * h)
    return H


def test_marble_information_matches_the_closed_forms_of_chapter_3():
    x, _ = ml.datasets.make_marbles(2000, pi=0.4, p1=0.8, p2=0.3, random_state=1)
    pi = float(np.clip((x.mean() - 0.3) / 0.5, 0, 1))  # exact maximum
    info = weights_information(x, [pi, 1 - pi], [ml.Bernoulli(0.8), ml.Bernoulli(0.3)])
    f1, f2 = np.where(x == 1, 0.8, 0.2), np.where(x == 1, 0.3, 0.7)
    p = pi * f1 + (1 - pi) * f2
    assert info.observed[0, 0] == pytest.approx(np.sum((f1 - f2) ** 2 / p**2), rel=1e-10)
    assert info.complete[0, 0] == pytest.approx(len(x) / (pi * (1 - pi)), rel=1e-8)  # at the maximum
    # the fraction of missing information is the slope of the EM map (convergence.md)
    assert info.fraction_missing[0] == pytest.approx(np.mean(f1 * f2 / p**2), rel=1e-8)
    # the binomial closed form: Var(pi_hat) = Var(mean of x) / (p1 - p2)^2
    q = x.mean()
    assert info.standard_errors[0] == pytest.approx(np.sqrt(q * (1 - q) / len(x)) / 0.5, rel=1e-8)


def test_weights_information_is_minus_the_hessian_for_three_poisson_components():
    comps = [ml.Poisson(1.0), ml.Poisson(4.0), ml.Poisson(9.0)]
    x, _ = ml.sample_mixture([0.5, 0.3, 0.2], comps, 300, random_state=2)
    w = np.array([0.4, 0.35, 0.25])  # not the maximum: the identity holds everywhere

    def loglik(free):
        full = np.append(free, 1 - free.sum())
        return np.sum(np.log(sum(wk * stats.poisson.pmf(x, m) for wk, m in zip(full, [1.0, 4.0, 9.0], strict=True))))

    info = weights_information(x, w, comps)
    np.testing.assert_allclose(info.observed, -_numerical_hessian(loglik, w[:2]), rtol=1e-5)
    assert info.names == ("pi_1", "pi_2")
    assert np.all(np.linalg.eigvalsh(info.missing) >= -1e-9)


def _gmm_loglik(x, k):
    def f(theta):
        w = np.append(theta[: k - 1], 1 - theta[: k - 1].sum())
        mu, var = theta[k - 1 : 2 * k - 1], theta[2 * k - 1 :]
        return np.sum(np.log(np.sum(w * stats.norm.pdf(x[:, None], mu, np.sqrt(var)), axis=1)))

    return f


def test_gaussian_information_is_minus_the_hessian_of_the_observed_log_likelihood():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 1, 150), rng.normal(3, 0.7, 100), rng.normal(6, 1.5, 50)])
    w, mu, var = np.array([0.45, 0.35, 0.2]), np.array([0.2, 2.8, 5.5]), np.array([1.1, 0.6, 2.0])
    info = gaussian_information_1d(x, w, mu, var)
    theta = np.concatenate([w[:2], mu, var])
    H = _numerical_hessian(_gmm_loglik(x, 3), theta)
    np.testing.assert_allclose(info.observed, -H, rtol=1e-4, atol=1e-3 * np.abs(H).max())
    assert info.names == ("pi_1", "pi_2", "mu_1", "mu_2", "mu_3", "var_1", "var_2", "var_3")
    np.testing.assert_allclose(info.complete - info.missing, info.observed)


def test_one_gaussian_gives_the_textbook_standard_errors():
    x = np.random.default_rng(4).normal(10, 2, size=250)
    info = gaussian_information_1d(x.reshape(-1, 1), [1.0], [x.mean()], [x.var()])
    se_mean, se_var = info.standard_errors
    assert se_mean == pytest.approx(x.std() / np.sqrt(250), rel=1e-10)
    assert se_var == pytest.approx(x.var() * np.sqrt(2 / 250), rel=1e-10)
    np.testing.assert_allclose(info.missing, 0, atol=1e-12)  # nothing is hidden with one component


def test_standard_errors_match_the_spread_of_refitted_estimates():
    """Long-run check: the Louis standard errors at the truth predict the spread of the MLE."""
    w, mu, var = np.array([0.35, 0.65]), np.array([-1.5, 1.5]), np.array([0.6, 1.0])
    rng = np.random.default_rng(5)
    n, estimates, predicted = 600, [], []
    for _ in range(300):
        labels = rng.random(n) < w[0]
        x = np.where(labels, rng.normal(mu[0], np.sqrt(var[0]), n), rng.normal(mu[1], np.sqrt(var[1]), n))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ml.ConvergenceWarning)
            g = ml.GaussianMixture(
                2,
                weights_init=w,
                means_init=mu[:, None],
                covariances_init=var[:, None, None],
                tol=1e-9,
                max_iter=2000,
                reg_covar=0,
            ).fit(x[:, None])
        estimates.append(np.concatenate([g.weights_[:1], g.means_[:, 0], g.covariances_.reshape(-1)]))
        predicted.append(gaussian_information_1d(x, g).standard_errors)
    spread = np.std(estimates, axis=0)
    np.testing.assert_allclose(np.mean(predicted, axis=0), spread, rtol=0.15)


def test_inputs_are_validated_and_left_untouched():
    x = np.array([0, 1, 1, 0, 1])
    before = x.copy()
    comps = [ml.Bernoulli(0.8), ml.Bernoulli(0.3)]
    with pytest.raises(ValueError, match="weights must all be positive"):
        weights_information(x, [1.0, 0.0], comps)
    with pytest.raises(ValueError, match="at least 2"):
        weights_information(x, [1.0], comps[:1])
    with pytest.raises(ValueError, match="variances must be positive"):
        gaussian_information_1d([0.0, 1.0], [1.0], [0.0], [-1.0])
    with pytest.raises(ValueError, match="one feature"):
        gaussian_information_1d(np.zeros((4, 2)), [1.0], [0.0], [1.0])
    with pytest.raises(ValueError, match="pass both means and variances"):
        gaussian_information_1d([0.0, 1.0], [1.0], [0.0])
    with pytest.raises(TypeError, match="fitted mixlearn.GaussianMixture"):
        gaussian_information_1d([0.0, 1.0], object())
    g2 = ml.GaussianMixture(1).fit(np.random.default_rng(0).normal(size=(20, 2)))
    with pytest.raises(ValueError, match="handles one"):
        gaussian_information_1d(np.zeros((3, 1)), g2)
    with pytest.raises(ValueError, match="rows sum to 1"):
        louis_information(np.zeros((2, 2, 1)), np.zeros((2, 2, 1, 1)), [[0.5, 0.6], [0.5, 0.5]])
    with pytest.raises(ValueError, match="curvatures must have shape"):
        louis_information(np.zeros((2, 2, 1)), np.zeros((2, 2, 2, 2)), [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="NaN"):
        louis_information(np.full((1, 1, 1), np.nan), np.ones((1, 1, 1, 1)), [[1.0]])
    np.testing.assert_array_equal(x, before)


def test_singular_information_is_reported_not_returned_as_nan():
    # two identical components: the weight is not identified
    info = weights_information([0, 1, 1], [0.5, 0.5], [ml.Bernoulli(0.6), ml.Bernoulli(0.6)])
    with pytest.raises(ValueError, match="singular"):
        _ = info.standard_errors


def test_bootstrap_lrt_rejects_one_component_for_two_separated_groups():
    rng = np.random.default_rng(6)
    X = np.concatenate([rng.normal(0, 1, 100), rng.normal(6, 1, 100)])[:, None]
    res = bootstrap_lrt(X, 1, n_bootstrap=19, n_init=2, random_state=0)
    assert res.p_value == pytest.approx(1 / 20)
    assert res.df == 3 and res.statistic > res.null_statistics.max()
    # the statistic is twice the log-likelihood gain of independent fits
    g1 = ml.GaussianMixture(1).fit(X)
    g2 = ml.GaussianMixture(2, n_init=5, tol=1e-8, random_state=1).fit(X)
    assert res.statistic == pytest.approx(2 * 200 * (g2.score(X) - g1.score(X)), rel=1e-3)
    again = bootstrap_lrt(X, 1, n_bootstrap=19, n_init=2, random_state=0)
    np.testing.assert_array_equal(again.null_statistics, res.null_statistics)


def test_bootstrap_p_values_are_uniform_under_the_null():
    """Long-run check: data from one Gaussian, the bootstrap p-value is uniform (its level holds),
    while the chi-square p-value is not what it claims."""
    rng = np.random.default_rng(7)
    p_boot, null_stats = [], []
    for _ in range(30):
        X = rng.normal(size=(80, 1))
        res = bootstrap_lrt(X, 1, n_bootstrap=9, n_init=1, tol=1e-5, random_state=rng)
        p_boot.append(res.p_value)
        null_stats.extend(res.null_statistics)
    p_boot = np.array(p_boot)
    # discrete uniform on {0.1, 0.2, ..., 1}: mean 0.55, standard error of a mean of 30 about 0.052
    assert abs(p_boot.mean() - 0.55) < 0.16
    assert np.mean(p_boot <= 0.2) < 0.45
    # the simulated null law is not chi-square with df = 3 (Kolmogorov-Smirnov)
    assert stats.kstest(null_stats, stats.chi2(3).cdf).pvalue < 1e-3


def test_bootstrap_lrt_validates_its_arguments():
    X = np.random.default_rng(0).normal(size=(30, 1))
    with pytest.raises(ValueError, match="2-D"):
        bootstrap_lrt(X[:, 0], 1)
    with pytest.raises(TypeError, match="n_bootstrap"):
        bootstrap_lrt(X, 1, n_bootstrap=2.5)
    with pytest.raises(ValueError, match="n_components"):
        bootstrap_lrt(X, 0)
    with pytest.raises(ValueError, match="needs many more"):
        bootstrap_lrt(X[:3], 1)
