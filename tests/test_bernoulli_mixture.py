"""BernoulliMixture: recovery of binary prototypes, scipy densities, weights and bad input."""

import warnings

import numpy as np
import pytest
from scipy import stats

from mixlearn import BernoulliMixture, ConvergenceWarning, NotFittedError

PROTOS = np.array(
    [
        [0.95, 0.9, 0.9, 0.05, 0.1, 0.05, 0.1, 0.9],
        [0.05, 0.1, 0.9, 0.95, 0.9, 0.1, 0.05, 0.1],
        [0.1, 0.05, 0.1, 0.1, 0.9, 0.95, 0.9, 0.85],
    ]
)
WEIGHTS = np.array([0.5, 0.3, 0.2])


def binary_data(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=WEIGHTS)
    return (rng.random((n, PROTOS.shape[1])) < PROTOS[labels]).astype(np.int8), labels


def test_recovers_synthetic_binary_prototypes():
    X, labels = binary_data(8000, 0)
    bm = BernoulliMixture(3, n_init=3, tol=1e-8, max_iter=500, random_state=0).fit(X)
    order = [int(np.argmin(np.abs(bm.means_ - p).sum(axis=1))) for p in PROTOS]
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(bm.means_[order], PROTOS, atol=0.03)
    np.testing.assert_allclose(bm.weights_[order], WEIGHTS, atol=0.02)
    assert np.mean(np.array(order)[labels] == bm.predict(X)) > 0.97


def test_score_samples_equals_scipy_bernoulli_product():
    X, _ = binary_data(300, 1)
    bm = BernoulliMixture(3, random_state=0).fit(X)
    per_comp = np.stack([stats.bernoulli(m).logpmf(X).sum(axis=1) for m in bm.means_], axis=1)
    expected = np.log(np.exp(per_comp) @ bm.weights_)
    np.testing.assert_allclose(bm.score_samples(X), expected, rtol=1e-10)
    np.testing.assert_allclose(bm.predict_proba(X).sum(axis=1), 1.0)


def test_log_likelihood_never_decreases_from_random_starts():
    X, _ = binary_data(500, 2)
    for seed in range(10):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            bm = BernoulliMixture(4, init_params="random", tol=0, max_iter=60, random_state=seed).fit(X)
        ll = bm.history_["log_likelihood"]
        assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[:-1]))


def test_sample_weight_equals_repeating_rows():
    X, _ = binary_data(200, 3)
    reps = np.random.default_rng(1).integers(1, 4, size=len(X))
    kw = dict(tol=0, max_iter=20, weights_init=[0.4, 0.3, 0.3], means_init=PROTOS * 0.8 + 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = BernoulliMixture(3, **kw).fit(X, sample_weight=reps)
        b = BernoulliMixture(3, **kw).fit(np.repeat(X, reps, axis=0))
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-10)
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=1e-10)


def test_features_never_seen_do_not_make_new_samples_impossible():
    X = np.zeros((50, 3), dtype=int)
    X[:25, 0] = 1
    bm = BernoulliMixture(2, random_state=0).fit(X)
    assert np.all(np.isfinite(bm.score_samples(np.ones((2, 3)))))


def test_sample_bic_and_conventions():
    X, _ = binary_data(2000, 4)
    bm = BernoulliMixture(3, random_state=0, n_init=2).fit(X)
    Xs, labels = bm.sample(20_000, random_state=0)
    assert set(np.unique(Xs)) <= {0, 1}
    np.testing.assert_allclose(Xs[labels == 0].mean(axis=0), bm.means_[0], atol=0.03)
    n_params = 3 * 8 + 2
    assert bm.bic(X) == pytest.approx(-2 * bm.score(X) * len(X) + n_params * np.log(len(X)))
    bics = [BernoulliMixture(k, n_init=2, random_state=0).fit(X).bic(X) for k in (1, 2, 3, 4)]
    assert int(np.argmin(bics)) == 2
    assert bm.get_params()["n_components"] == 3


@pytest.mark.parametrize(
    "make, X, exc, message",
    [
        (lambda: BernoulliMixture(2), [[0, 2], [1, 0]], ValueError, "X must hold only 0 and 1"),
        (lambda: BernoulliMixture(2), [0, 1, 1], ValueError, r"reshape\(-1, 1\)"),
        (lambda: BernoulliMixture(2, means_init=[[1.5, 0], [0, 0]]), [[0, 1], [1, 0]], ValueError, "probabilities in"),
        (lambda: BernoulliMixture(2, min_prob=0.7), [[0, 1], [1, 0]], ValueError, "min_prob must be < 0.5"),
        (lambda: BernoulliMixture(3), [[0, 1], [1, 0]], ValueError, "n_components=3 must be <= n_samples=2"),
    ],
)
def test_bad_input_is_named(make, X, exc, message):
    with pytest.raises(exc, match=message):
        make().fit(X)


def test_unfitted_and_negative_weights():
    with pytest.raises(NotFittedError):
        BernoulliMixture(2).predict([[0, 1]])
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        BernoulliMixture(1).fit([[0, 1], [1, 1]], sample_weight=[1, -1])
