"""Component distributions against scipy.stats as the oracle."""

import numpy as np
import pytest
from scipy import stats

from mixlearn import Bernoulli, Binomial, Categorical, Gaussian, Poisson
from mixlearn.distributions import as_components

X_INT = np.arange(-2, 25)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (Bernoulli(0.3), stats.bernoulli(0.3)),
        (Bernoulli(0.0), stats.bernoulli(0.0)),
        (Bernoulli(1.0), stats.bernoulli(1.0)),
        (Binomial(10, 0.25), stats.binom(10, 0.25)),
        (Binomial(5, 0.0), stats.binom(5, 0.0)),
        (Binomial(5, 1.0), stats.binom(5, 1.0)),
        (Poisson(3.5), stats.poisson(3.5)),
        (Categorical([0.2, 0.5, 0.3]), stats.rv_discrete(values=([0, 1, 2], [0.2, 0.5, 0.3]))),
    ],
    # name each case by our distribution only: scipy's frozen objects print their memory address,
    # which differs between processes (pytest-xdist workers must collect the same test ids)
    ids=lambda v: repr(v) if type(v).__module__.startswith("mixlearn") else "scipy",
)
def test_discrete_logpmf_matches_scipy(ours, theirs):
    np.testing.assert_allclose(ours.logpdf(X_INT), theirs.logpmf(X_INT), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.pdf(X_INT), theirs.pmf(X_INT), rtol=1e-12, atol=1e-15)


def test_non_integer_values_have_zero_mass():
    for dist in (Binomial(4, 0.5), Poisson(2.0), Categorical([0.5, 0.5])):
        assert dist.logpdf(np.array([0.5]))[0] == -np.inf


def test_gaussian_logpdf_matches_scipy_even_far_in_the_tails():
    x = np.array([-1e4, -3.0, 0.0, 2.5, 1e4])
    np.testing.assert_allclose(Gaussian(1.0, 2.0).logpdf(x), stats.norm(1.0, 2.0).logpdf(x), rtol=1e-13)
    assert np.all(np.isfinite(Gaussian(0.0, 1.0).logpdf(x)))


@pytest.mark.parametrize("dist", [Bernoulli(0.3), Binomial(8, 0.4), Poisson(2.5), Gaussian(-1.0, 0.5), Categorical([0.1, 0.9])])
def test_sample_mean_agrees_with_mean(dist):
    draws = dist.sample(200_000, random_state=1)
    sd = np.std(draws)
    assert abs(draws.mean() - dist.mean()) < 5 * sd / np.sqrt(draws.size) + 1e-12


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: Bernoulli(1.2), "p must be a probability"),
        (lambda: Bernoulli(-0.1), "p must be a probability"),
        (lambda: Binomial(2.5, 0.5), "n must be a non-negative integer"),
        (lambda: Poisson(-1), "rate must be"),
        (lambda: Gaussian(0, 0), "std must be"),
        (lambda: Gaussian(np.nan, 1), "mean must be"),
        (lambda: Categorical([0.5, 0.6]), "sum to 1"),
        (lambda: Categorical([1.5, -0.5]), "lie in"),
    ],
)
def test_bad_parameters_raise_clear_value_errors(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_bernoulli_rejects_non_numbers():
    with pytest.raises(TypeError, match="p must be a real number"):
        Bernoulli("0.5")


def test_components_accept_frozen_scipy_and_reject_other_things():
    comps = as_components([Bernoulli(0.5), stats.norm(0, 1), stats.poisson(2)])
    np.testing.assert_allclose(comps[1].logpdf([0.0]), stats.norm.logpdf([0.0]))
    np.testing.assert_allclose(comps[2].logpdf([3]), stats.poisson.logpmf([3], 2))
    with pytest.raises(TypeError, match="freeze it"):
        as_components([stats.norm])
    with pytest.raises(TypeError, match="components must hold"):
        as_components([0.5, 0.3])
    with pytest.raises(ValueError, match="empty"):
        as_components([])
    with pytest.raises(TypeError, match="wrap a single one"):
        as_components(Bernoulli(0.5))


def test_categorical_does_not_keep_a_reference_to_the_callers_array():
    probs = np.array([0.25, 0.75])
    cat = Categorical(probs)
    probs[0] = 0.9
    assert cat.probs[0] == 0.25
