"""EM for mixing weights: closed forms, cross-checks, the monotone likelihood and bad input."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from mixlearn import (
    Bernoulli,
    Binomial,
    Categorical,
    ConvergenceWarning,
    Gaussian,
    IdentifiabilityWarning,
    Poisson,
    e_step,
    em_n_components,
    em_two_components,
    m_step,
    mixture_logpdf,
    sample_mixture,
)
from mixlearn.datasets import make_marbles


def closed_form(x, p1, p2):
    return float(np.clip((np.mean(x) - p2) / (p1 - p2), 0, 1))


@pytest.mark.parametrize("pi, p1, p2, seed", [(0.6, 0.8, 0.3, 0), (0.2, 0.8, 0.3, 1), (0.5, 0.1, 0.95, 2), (0.9, 0.55, 0.45, 3)])
def test_two_components_equals_closed_form_mle(pi, p1, p2, seed):
    x, _ = make_marbles(5000, pi, p1, p2, random_state=seed)
    res = em_two_components(x, p1, p2, tol=1e-15, max_iter=100_000)
    assert res.converged
    assert res.weights[0] == pytest.approx(closed_form(x, p1, p2), abs=2e-5)
    assert res.weights.sum() == pytest.approx(1.0)


def test_two_components_boundary_mle_is_approached():
    # only red marbles: the MLE puts everything on the redder factory (clip at 1)
    res = em_two_components(np.ones(50), 0.8, 0.3, tol=1e-12, max_iter=100_000)
    assert res.weights[0] == pytest.approx(1.0, abs=1e-3)


def test_two_components_log_likelihood_is_the_binomial_one():
    x, _ = make_marbles(300, 0.6, 0.8, 0.3, random_state=5)
    res = em_two_components(x, 0.8, 0.3, tol=1e-12)
    p_red = res.weights[0] * 0.8 + res.weights[1] * 0.3
    expected = stats.bernoulli(p_red).logpmf(x).sum()
    assert res.log_likelihood == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_n_components_with_two_bernoullis_equals_two_components(seed):
    rng = np.random.default_rng(seed)
    p1, p2, pi = rng.uniform(0.05, 0.95, size=3)
    x, _ = make_marbles(1000, pi, p1, p2, random_state=seed)
    a = em_two_components(x, p1, p2, pi_init=0.3, tol=1e-10, max_iter=100_000)
    b = em_n_components(x, [Bernoulli(p1), Bernoulli(p2)], weights_init=[0.3, 0.7], tol=1e-10, max_iter=100_000)
    np.testing.assert_allclose(b.weights, a.weights, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.history["log_likelihood"], a.history["log_likelihood"], rtol=1e-11)
    assert a.n_iter == b.n_iter


def test_result_shapes_history_and_immutability():
    x, _ = make_marbles(400, 0.6, 0.8, 0.3, random_state=0)
    res = em_n_components(x, [Bernoulli(0.8), Bernoulli(0.3)], tol=1e-10)
    assert res.history["log_likelihood"].shape == (res.n_iter + 1,)
    assert res.history["weights"].shape == (res.n_iter + 1, 2)
    np.testing.assert_allclose(res.history["weights"][0], [0.5, 0.5])
    assert res.log_likelihood == res.history["log_likelihood"][-1]
    with pytest.raises(ValueError, match="read-only"):
        res.weights[0] = 1.0
    with pytest.raises(AttributeError):
        res.n_iter = 3
    with pytest.raises(TypeError):
        res.history["weights"] = None
    clone = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(clone.history["weights"], res.history["weights"])


def test_log_likelihood_is_the_total_mixture_log_likelihood():
    comps = [Poisson(2.0), Poisson(9.0)]
    x, _ = sample_mixture([0.3, 0.7], comps, 2000, random_state=4)
    res = em_n_components(x, comps)
    assert res.log_likelihood == pytest.approx(mixture_logpdf(x, res.weights, comps).sum(), rel=1e-12)


def test_recovers_weights_of_mixed_families():
    comps = [Gaussian(-3, 1), Gaussian(0, 1), Gaussian(4, 2), stats.laplace(10, 1)]
    true = np.array([0.1, 0.4, 0.3, 0.2])
    x, _ = sample_mixture(true, comps, 40_000, random_state=2)
    res = em_n_components(x, comps, tol=1e-12)
    np.testing.assert_allclose(res.weights, true, atol=0.015)


def test_several_draws_per_item_make_three_factories_identifiable():
    comps = [Binomial(10, 0.1), Binomial(10, 0.5), Binomial(10, 0.9)]
    true = [0.2, 0.5, 0.3]
    x, _ = sample_mixture(true, comps, 20_000, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdentifiabilityWarning)
        res = em_n_components(x, comps, tol=1e-12)
    np.testing.assert_allclose(res.weights, true, atol=0.01)


def test_single_draws_from_three_factories_warn_and_preserve_the_identifiable_part():
    x, _ = sample_mixture([0.2, 0.5, 0.3], [Bernoulli(0.1), Bernoulli(0.5), Bernoulli(0.9)], 5000, random_state=1)
    with pytest.warns(IdentifiabilityWarning, match="not identifiable"):
        res = em_n_components(x, [Bernoulli(0.1), Bernoulli(0.5), Bernoulli(0.9)], tol=1e-13)
    # only sum_k pi_k theta_k is determined, and it must equal the observed share of reds
    assert res.weights @ [0.1, 0.5, 0.9] == pytest.approx(x.mean(), abs=1e-5)


def test_two_identical_factories_warn():
    with pytest.warns(IdentifiabilityWarning):
        em_two_components([0, 1, 1], 0.5, 0.5)


def test_components_with_p_zero_or_one_give_finite_answers():
    x = np.array([1] * 30 + [0] * 70)
    res = em_n_components(x, [Bernoulli(1.0), Bernoulli(0.0)], tol=1e-12)
    np.testing.assert_allclose(res.weights, [0.3, 0.7], atol=1e-9)
    assert np.isfinite(res.log_likelihood)
    res2 = em_two_components(x, 1.0, 0.0, tol=1e-12)
    assert res2.weights[0] == pytest.approx(0.3, abs=1e-9)


def test_far_tail_data_give_finite_weights():
    x = np.array([1e4, -1e4, 0.0, 0.1])
    res = em_n_components(x, [Gaussian(0, 1), Gaussian(5, 1)], max_iter=50, tol=1e-6)
    assert np.all(np.isfinite(res.weights)) and np.isfinite(res.log_likelihood)


def test_impossible_data_is_a_clear_error():
    with pytest.raises(ValueError, match="none of the components can produce"):
        em_n_components([0, 1, 2], [Bernoulli(0.5), Bernoulli(0.3)])
    with pytest.raises(ValueError, match="neither factory"):
        em_two_components([1, 0], 1.0, 1.0)
    with pytest.raises(ValueError, match="weights_init gives zero weight"):
        em_n_components([1, 1], [Bernoulli(0.9), Bernoulli(0.0)], weights_init=[0.0, 1.0])


def test_convergence_warning_when_max_iter_is_too_small():
    x, _ = make_marbles(500, 0.6, 0.8, 0.3, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        res = em_two_components(x, 0.8, 0.3, max_iter=2)
    assert not res.converged and res.n_iter == 2


def test_tol_is_on_the_mean_per_sample_log_likelihood():
    x, _ = make_marbles(2000, 0.6, 0.8, 0.3, random_state=0)
    res = em_n_components(x, [Bernoulli(0.8), Bernoulli(0.3)], tol=1e-6)
    steps = np.abs(np.diff(res.history["log_likelihood"])) / x.size
    assert steps[-1] < 1e-6 and np.all(steps[:-1] >= 1e-6)


def test_counting_path_equals_per_sample_path():
    x, _ = make_marbles(3000, 0.35, 0.8, 0.3, random_state=9)
    comps = [Bernoulli(0.8), Bernoulli(0.3)]
    as_int = em_n_components(x.astype(np.int64), comps, tol=1e-12)
    as_bool = em_n_components(x.astype(bool), comps, tol=1e-12)
    as_float = em_n_components(x.astype(float), comps, tol=1e-12)
    # the textbook per-sample loop
    w = np.array([0.5, 0.5])
    for _ in range(as_int.n_iter):
        resp, _ = e_step(x, w, comps)
        w = m_step(resp)
    np.testing.assert_allclose(as_int.weights, w, rtol=1e-10)
    np.testing.assert_allclose(as_bool.weights, w, rtol=1e-10)
    np.testing.assert_allclose(as_float.weights, w, rtol=1e-10)


def test_e_step_and_m_step_small_example():
    resp, mean_ll = e_step([1, 0], [0.6, 0.4], [Bernoulli(0.8), Bernoulli(0.3)])
    np.testing.assert_allclose(resp[0], [0.48 / 0.6, 0.12 / 0.6])
    np.testing.assert_allclose(resp[1], [0.12 / 0.4, 0.28 / 0.4])
    assert mean_ll == pytest.approx((np.log(0.6) + np.log(0.4)) / 2)
    np.testing.assert_allclose(m_step(resp), resp.mean(axis=0))
    with pytest.raises(ValueError, match="rows summing to 1"):
        m_step([[0.5, 0.6]])


FAMILIES = {
    "bernoulli": lambda rng: Bernoulli(rng.uniform(0, 1)),
    "binomial": lambda rng: Binomial(int(rng.integers(1, 8)), rng.uniform(0.01, 0.99)),
    "poisson": lambda rng: Poisson(rng.uniform(0.2, 15)),
    "gaussian": lambda rng: Gaussian(rng.normal(0, 5), rng.uniform(0.2, 3)),
    "categorical": lambda rng: Categorical(rng.dirichlet(np.ones(4))),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    family=st.sampled_from(sorted(FAMILIES)),
    k=st.integers(1, 6),
    n=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_log_likelihood_never_decreases(family, k, n, seed):
    rng = np.random.default_rng(seed)
    comps = [FAMILIES[family](rng) for _ in range(k)]
    true = rng.dirichlet(np.ones(k))
    x, _ = sample_mixture(true, comps, n, random_state=rng)
    start = rng.dirichlet(np.ones(k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = em_n_components(x, comps, weights_init=start, max_iter=200, tol=0)
        except ValueError as err:  # a sample only producible by zero-weight components
            assert "zero weight" in str(err) or "none of the components" in str(err)
            return
    ll = res.history["log_likelihood"]
    assert np.all(np.isfinite(ll))
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[:-1]) - 1e-12)
    np.testing.assert_allclose(res.history["weights"].sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (lambda: em_two_components([0, 1, 2], 0.8, 0.3), ValueError, "x must hold only 0 and 1"),
        (lambda: em_two_components([], 0.8, 0.3), ValueError, "x is empty"),
        (lambda: em_two_components([0, np.nan], 0.8, 0.3), ValueError, "x contains NaN"),
        (lambda: em_two_components([[0, 1]], 0.8, 0.3), ValueError, "x must be 1-D"),
        (lambda: em_two_components([0, 1], 1.8, 0.3), ValueError, "p1 must be a probability"),
        (lambda: em_two_components([0, 1], 0.8, -0.3), ValueError, "p2 must be a probability"),
        (lambda: em_two_components([0, 1], 0.8, 0.3, pi_init=2), ValueError, "pi_init must be a probability"),
        (lambda: em_two_components([0, 1], 0.8, 0.3, tol=-1), ValueError, "tol must be"),
        (lambda: em_two_components([0, 1], 0.8, 0.3, max_iter=0), ValueError, "max_iter must be >= 1"),
        (lambda: em_two_components("01", 0.8, 0.3), TypeError, "x must be array-like"),
        (lambda: em_n_components([0, 1], [Bernoulli(0.5)], weights_init=[0.5, 0.5]), ValueError, "weights_init must have shape"),
        (lambda: em_n_components([0, 1], [Bernoulli(0.5), Bernoulli(0.2)], weights_init=[0.7, 0.7]), ValueError, "sum to 1"),
        (lambda: em_n_components([0, 1], [Bernoulli(0.5), Bernoulli(0.2)], weights_init=[1.5, -0.5]), ValueError, "non-negative"),
        (lambda: em_n_components([0, 1], ["a"]), TypeError, "components must hold"),
    ],
)
def test_bad_input_is_named(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_inputs_are_never_modified():
    x = np.array([1, 0, 1, 1], dtype=np.int64)
    w = np.array([0.25, 0.75])
    em_n_components(x, [Bernoulli(0.8), Bernoulli(0.3)], weights_init=w)
    em_two_components(x, 0.8, 0.3)
    np.testing.assert_array_equal(x, [1, 0, 1, 1])
    np.testing.assert_array_equal(w, [0.25, 0.75])
