"""The marginal, the posterior and sampling, against direct scipy computations."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

from mixlearn import Bernoulli, Binomial, Gaussian, Poisson, mixture_logpdf, posterior, sample_mixture


def test_mixture_logpdf_equals_direct_scipy_sum():
    x = np.linspace(-6, 9, 101)
    w = np.array([0.2, 0.5, 0.3])
    comps = [Gaussian(-2, 1), Gaussian(1, 0.5), Gaussian(4, 2)]
    direct = np.log(sum(wk * stats.norm(c.loc, c.std).pdf(x) for wk, c in zip(w, comps, strict=True)))
    np.testing.assert_allclose(mixture_logpdf(x, w, comps), direct, rtol=1e-12)


def test_mixture_pmf_sums_to_one_over_the_support():
    comps = [Binomial(12, 0.2), Binomial(12, 0.7), Poisson(3.0)]
    w = [0.3, 0.3, 0.4]
    total = np.exp(mixture_logpdf(np.arange(0, 200), w, comps)).sum()
    assert total == pytest.approx(1.0, abs=1e-12)


def test_marble_probability_of_red_is_the_weighted_average():
    pi = 0.6
    p_red = np.exp(mixture_logpdf([1], [pi, 1 - pi], [Bernoulli(0.8), Bernoulli(0.3)]))[0]
    assert p_red == pytest.approx(pi * 0.8 + (1 - pi) * 0.3, rel=1e-14)


def test_far_tail_points_stay_finite():
    x = np.array([1e4, -1e4])
    lp = mixture_logpdf(x, [0.5, 0.5], [Gaussian(0, 1), Gaussian(3, 1)])
    assert np.all(np.isfinite(lp))
    post = posterior(x, [0.5, 0.5], [Gaussian(0, 1), Gaussian(3, 1)])
    assert np.all(np.isfinite(post))
    # at x = +1e4 the component at 3 is overwhelmingly responsible, at -1e4 the one at 0
    np.testing.assert_allclose(post, [[0, 1], [1, 0]], atol=1e-12)


def test_posterior_is_bayes_rule_and_rows_sum_to_one():
    w = np.array([0.6, 0.4])
    post = posterior([1, 0], w, [Bernoulli(0.8), Bernoulli(0.3)])
    red = 0.6 * 0.8 / (0.6 * 0.8 + 0.4 * 0.3)
    blue = 0.6 * 0.2 / (0.6 * 0.2 + 0.4 * 0.7)
    np.testing.assert_allclose(post[:, 0], [red, blue], rtol=1e-14)
    np.testing.assert_allclose(post.sum(axis=1), 1.0, rtol=1e-14)


def test_posterior_with_log_space_against_scipy_logsumexp():
    x = np.array([0, 3, 7, 15])
    comps = [Poisson(1.0), Poisson(5.0), Poisson(12.0)]
    w = np.array([0.5, 0.3, 0.2])
    log_joint = np.stack([np.log(wk) + stats.poisson(c.rate).logpmf(x) for wk, c in zip(w, comps, strict=True)], axis=1)
    expected = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    np.testing.assert_allclose(posterior(x, w, comps), expected, rtol=1e-12)


def test_posterior_of_an_impossible_sample_is_an_error_not_nan():
    with pytest.raises(ValueError, match="no component"):
        posterior([1], [0.5, 0.5], [Bernoulli(0.0), Bernoulli(0.0)])


def test_sample_mixture_reproduces_weights_and_component_laws():
    comps = [Bernoulli(0.8), Bernoulli(0.3)]
    x, c = sample_mixture([0.6, 0.4], comps, 200_000, random_state=3)
    assert x.shape == c.shape == (200_000,)
    assert abs(np.mean(c == 0) - 0.6) < 0.005
    assert abs(x[c == 0].mean() - 0.8) < 0.005
    assert abs(x[c == 1].mean() - 0.3) < 0.006
    assert abs(x.mean() - (0.6 * 0.8 + 0.4 * 0.3)) < 0.005


def test_sample_mixture_is_reproducible_with_a_seed_and_mixes_families():
    comps = [Gaussian(0, 1), Poisson(4.0)]
    a = sample_mixture([0.5, 0.5], comps, 50, random_state=7)
    b = sample_mixture([0.5, 0.5], comps, 50, random_state=7)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].dtype == float


@pytest.mark.parametrize(
    "weights, message",
    [([0.5, 0.6], "sum to 1"), ([-0.5, 1.5], "non-negative"), ([1.0], r"shape \(2,\)"), ([np.nan, 1], "NaN")],
)
def test_bad_weights_are_named(weights, message):
    with pytest.raises(ValueError, match="weights.*" + message if message != "NaN" else "weights contains NaN"):
        mixture_logpdf([0, 1], weights, [Bernoulli(0.5), Bernoulli(0.2)])


def test_bad_data_is_named():
    with pytest.raises(ValueError, match="x contains NaN"):
        mixture_logpdf([0.0, np.nan], [0.5, 0.5], [Gaussian(0, 1), Gaussian(1, 1)])
    with pytest.raises(ValueError, match="x is empty"):
        mixture_logpdf([], [0.5, 0.5], [Gaussian(0, 1), Gaussian(1, 1)])


def test_inputs_are_not_modified():
    x = np.array([0.0, 1.0, 2.0])
    w = np.array([0.25, 0.75])
    x0, w0 = x.copy(), w.copy()
    posterior(x, w, [Gaussian(0, 1), Gaussian(2, 1)])
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)
