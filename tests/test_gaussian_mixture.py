"""GaussianMixture against scikit-learn's iterates, scipy densities and the published Old Faithful fit."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from mixlearn import ConvergenceWarning, GaussianMixture, NotFittedError
from mixlearn.datasets import load_faithful

COV_TYPES = ["full", "tied", "diag", "spherical"]


def blobs(n=600, seed=0, offset=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0], [6.0, 1.0], [2.0, 7.0]]) * scale + offset
    covs = np.array([[[1.0, 0.6], [0.6, 1.0]], [[0.5, 0.0], [0.0, 2.0]], [[1.5, -0.7], [-0.7, 0.8]]]) * scale**2
    weights = np.array([0.5, 0.3, 0.2])
    labels = rng.choice(3, size=n, p=weights)
    X = np.stack([rng.multivariate_normal(means[k], covs[k]) for k in labels])
    return X, labels, weights, means, covs


def start_params(X, k, cov_type, seed=1):
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    w = rng.dirichlet(np.ones(k) * 5)
    m = X[rng.choice(X.shape[0], k, replace=False)]
    base = np.cov(X.T) + 0.1 * np.eye(d)
    cov = {
        "full": np.stack([base * s for s in rng.uniform(0.5, 1.5, k)]),
        "tied": base,
        "diag": np.stack([np.diag(base) * s for s in rng.uniform(0.5, 1.5, k)]),
        "spherical": np.trace(base) / d * rng.uniform(0.5, 1.5, k),
    }[cov_type]
    prec = {
        "full": np.linalg.inv(cov) if cov_type == "full" else None,
        "tied": np.linalg.inv(cov) if cov_type == "tied" else None,
        "diag": 1 / cov,
        "spherical": 1 / cov,
    }[cov_type]
    return w, m, cov, prec


def fit_both(X, k, cov_type, n_iter, seed=1):
    w, m, cov, prec = start_params(X, k, cov_type, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = GaussianMixture(k, covariance_type=cov_type, tol=0, max_iter=n_iter, weights_init=w, means_init=m,
                               covariances_init=cov).fit(X)
        theirs = SkGaussianMixture(k, covariance_type=cov_type, tol=0, max_iter=n_iter, weights_init=w, means_init=m,
                                   precisions_init=prec, random_state=0).fit(X)
    return ours, theirs


@pytest.mark.parametrize("cov_type", COV_TYPES)
@pytest.mark.parametrize("n_iter", [1, 7, 30])
def test_iterates_match_scikit_learn_from_the_same_start(cov_type, n_iter):
    X = blobs()[0]
    ours, theirs = fit_both(X, 3, cov_type, n_iter)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-9)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-8, atol=1e-10)
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-11)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-9)


def test_iterates_match_in_ten_dimensions():
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.normal(size=(300, 10)) + 3 * i for i in range(4)])
    ours, theirs = fit_both(X, 4, "full", 25)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-8, atol=1e-10)
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-11)


def test_far_from_origin_and_tiny_spread_still_matches_the_direct_formulas():
    # data far away relative to its spread: the fast quadratic-feature path must hand over
    # to the direct formulas instead of losing digits. The data carry only ~1e-10 absolute
    # precision here (1e6 * machine epsilon), so both libraries agree to about 1e-6 relative;
    # a naive expansion x^2 - m^2 would be off by 100% or more.
    for offset, scale in [(1e6, 1e-2), (1e6, 1e-3), (-3e7, 1.0)]:
        X = blobs(n=300, offset=offset, scale=scale)[0]
        ours, theirs = fit_both(X, 3, "full", 10)
        np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-4)
        np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-12)
        assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-7)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_old_faithful_reaches_the_published_mle(seed):
    X = load_faithful()
    gm = GaussianMixture(2, tol=1e-10, max_iter=1000, random_state=seed).fit(X)
    assert gm.converged_
    assert gm.score(X) * len(X) == pytest.approx(-1130.26, abs=0.005)
    np.testing.assert_allclose(np.sort(gm.weights_), [0.356, 0.644], atol=0.001)
    short = gm.means_[np.argmin(gm.means_[:, 0])]
    np.testing.assert_allclose(short, [2.036, 54.48], atol=0.01)


def test_recovers_known_parameters_on_synthetic_data():
    X, labels, weights, means, covs = blobs(n=6000, seed=3)
    gm = GaussianMixture(3, n_init=3, tol=1e-8, random_state=0).fit(X)
    order = [np.argmin(np.linalg.norm(gm.means_ - m, axis=1)) for m in means]
    np.testing.assert_allclose(gm.weights_[order], weights, atol=0.02)
    np.testing.assert_allclose(gm.means_[order], means, atol=0.1)
    np.testing.assert_allclose(gm.covariances_[order], covs, atol=0.15)
    agreement = np.mean(np.array(order)[labels] == gm.predict(X))
    assert agreement > 0.97


@settings(max_examples=25, deadline=None)
@given(
    cov_type=st.sampled_from(COV_TYPES),
    k=st.integers(1, 5),
    d=st.integers(1, 4),
    seed=st.integers(0, 10_000),
    init=st.sampled_from(["k-means++", "kmeans", "random", "random_from_data"]),
)
def test_log_likelihood_never_decreases(cov_type, k, d, seed, init):
    rng = np.random.default_rng(seed)
    X = rng.standard_t(df=3, size=(120, d)) + rng.integers(0, 3, size=(120, 1)) * 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = GaussianMixture(k, covariance_type=cov_type, tol=0, max_iter=40, init_params=init, random_state=seed).fit(X)
    ll = gm.history_["log_likelihood"]
    assert ll.shape == (gm.n_iter_ + 1,) and np.all(np.isfinite(ll))
    assert gm.history_["weights"].shape == (gm.n_iter_ + 1, k)
    if not collapsed(gm):
        assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[:-1]))


def collapsed(gm):
    """Whether some component's covariance has shrunk to the reg_covar floor.

    Adding reg_covar makes the M-step a regularised one, not the exact maximiser, so once a
    component collapses onto a few points the log-likelihood may dip slightly (scikit-learn's
    EM does the same); the monotone property is asserted for the other fits.
    """
    cov = gm.covariances_
    if gm.covariance_type in ("full", "tied"):
        smallest = np.linalg.eigvalsh(cov).min()
    else:
        smallest = np.min(cov)
    return smallest < 100 * gm.reg_covar


def test_a_collapsing_component_is_detected_and_the_dip_is_tiny():
    rng = np.random.default_rng(0)
    d, k = rng.integers(1, 5), rng.integers(1, 6)
    X = rng.standard_t(3, size=(150, d)) + rng.integers(0, 3, size=(150, 1)) * 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = GaussianMixture(int(k), tol=0, max_iter=60, random_state=0).fit(X)
    assert collapsed(gm)
    dips = np.diff(gm.history_["log_likelihood"])
    assert dips.min() > -1e-7 * abs(gm.history_["log_likelihood"][-1])
    # the same data and start without the collapsing component's floor: exact EM is monotone
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm3 = GaussianMixture(3, tol=0, max_iter=60, random_state=0).fit(X)
    assert not collapsed(gm3)
    assert np.all(np.diff(gm3.history_["log_likelihood"]) >= -1e-9 * np.abs(gm3.history_["log_likelihood"][:-1]))


def test_score_samples_equals_scipy_mixture_density():
    X = blobs()[0]
    gm = GaussianMixture(3, random_state=0).fit(X)
    direct = np.log(sum(w * stats.multivariate_normal(m, c).pdf(X)
                        for w, m, c in zip(gm.weights_, gm.means_, gm.covariances_, strict=True)))
    np.testing.assert_allclose(gm.score_samples(X), direct, rtol=1e-10)
    np.testing.assert_allclose(gm.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)
    assert gm.score(X) == pytest.approx(direct.mean(), rel=1e-12)
    assert gm.lower_bound_ == pytest.approx(gm.score(X), rel=1e-12)
    assert gm.history_["log_likelihood"][-1] == pytest.approx(direct.sum(), rel=1e-12)


def test_far_tail_points_have_finite_scores_and_posteriors():
    X = blobs()[0]
    gm = GaussianMixture(3, random_state=0).fit(X)
    far = np.array([[1e4, 1e4], [-1e4, 0.0]])
    assert np.all(np.isfinite(gm.score_samples(far)))
    proba = gm.predict_proba(far)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1)


@pytest.mark.parametrize("cov_type", COV_TYPES)
def test_bic_and_aic_match_scikit_learn(cov_type):
    X = blobs()[0]
    ours, theirs = fit_both(X, 3, cov_type, 20)
    assert ours.bic(X) == pytest.approx(theirs.bic(X), rel=1e-10)
    assert ours.aic(X) == pytest.approx(theirs.aic(X), rel=1e-10)


def test_bic_picks_the_true_number_of_components():
    X = blobs(n=1500)[0]
    bics = [GaussianMixture(k, n_init=2, random_state=0, tol=1e-5, max_iter=1000).fit(X).bic(X) for k in range(1, 6)]
    assert int(np.argmin(bics)) + 1 == 3


def test_sample_weight_equals_repeating_rows():
    X = blobs(n=200)[0]
    reps = np.random.default_rng(0).integers(1, 4, size=len(X))
    w, m, cov, _ = start_params(X, 3, "full")
    kw = dict(tol=0, max_iter=15, weights_init=w, means_init=m, covariances_init=cov)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = GaussianMixture(3, **kw).fit(X, sample_weight=reps.astype(float))
        b = GaussianMixture(3, **kw).fit(np.repeat(X, reps, axis=0))
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-9)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-8)
    np.testing.assert_allclose(a.history_["log_likelihood"], b.history_["log_likelihood"], rtol=1e-10)


def test_callback_sees_every_iteration_and_current_parameters():
    X = load_faithful()
    seen = []
    gm = GaussianMixture(2, random_state=0, callback=lambda model, it: seen.append((it, model.means_.copy())))
    gm.fit(X)
    assert [it for it, _ in seen] == list(range(1, gm.n_iter_ + 1))
    np.testing.assert_allclose(seen[-1][1], gm.means_)


def test_warm_start_continues_from_the_previous_solution():
    X = load_faithful()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm = GaussianMixture(2, max_iter=3, warm_start=True, random_state=0, tol=0).fit(X)
        first = gm.history_["log_likelihood"][-1]
        gm.fit(X)
    assert gm.history_["log_likelihood"][0] == pytest.approx(first, rel=1e-12)


def test_sampling_has_the_fitted_moments():
    X = load_faithful()
    gm = GaussianMixture(2, random_state=0).fit(X)
    Xs, labels = gm.sample(40_000, random_state=1)
    assert Xs.shape == (40_000, 2) and labels.shape == (40_000,)
    np.testing.assert_allclose(Xs[labels == 0].mean(axis=0), gm.means_[0], rtol=0.01)
    np.testing.assert_allclose(np.mean(labels == 0), gm.weights_[0], atol=0.01)


def test_estimator_conventions():
    gm = GaussianMixture(3, covariance_type="diag", random_state=4)
    params = gm.get_params()
    assert params["n_components"] == 3 and params["covariance_type"] == "diag"
    assert gm.set_params(n_components=2) is gm and gm.n_components == 2
    assert "n_components=2" in repr(gm)
    with pytest.raises(ValueError, match="Invalid parameter 'colour'"):
        gm.set_params(colour="red")
    X = load_faithful()
    assert gm.fit(X) is gm
    clone = pickle.loads(pickle.dumps(gm))
    np.testing.assert_allclose(clone.predict_proba(X), gm.predict_proba(X))
    assert np.array_equal(gm.fit_predict(X), gm.predict(X))


def test_works_with_scikit_learn_model_selection():
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    X = load_faithful()
    assert clone(GaussianMixture(3, covariance_type="tied")).get_params()["covariance_type"] == "tied"
    search = GridSearchCV(GaussianMixture(random_state=0, n_init=2), {"n_components": [1, 2, 3]}, cv=4).fit(X)
    # held-out log-likelihood: two components beat one clearly on Old Faithful
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > scores[0] + 0.5


def test_using_an_unfitted_model_is_a_clear_error():
    gm = GaussianMixture(2)
    for method in (gm.predict, gm.predict_proba, gm.score, gm.score_samples, gm.bic, gm.aic):
        with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
            method(np.zeros((3, 2)))
    with pytest.raises(NotFittedError):
        gm.sample(3)


@pytest.mark.parametrize(
    "make, X, exc, message",
    [
        (lambda: GaussianMixture(2), np.arange(10.0), ValueError, r"reshape\(-1, 1\)"),
        (lambda: GaussianMixture(2), np.zeros((0, 2)), ValueError, "X is empty"),
        (lambda: GaussianMixture(2), [[0.0, np.inf], [1.0, 2.0]], ValueError, "X contains infinity; NaN marks a missing value"),
        (lambda: GaussianMixture(0), np.zeros((5, 2)), ValueError, "n_components must be >= 1"),
        (lambda: GaussianMixture(6), np.zeros((5, 2)), ValueError, "n_components=6 must be <= n_samples=5"),
        (lambda: GaussianMixture(2.5), np.zeros((5, 2)), TypeError, "n_components must be an integer"),
        (lambda: GaussianMixture(2, covariance_type="round"), np.zeros((5, 2)), ValueError, "covariance_type must be one of"),
        (lambda: GaussianMixture(2, init_params="magic"), np.zeros((5, 2)), ValueError, "init_params must be one of"),
        (lambda: GaussianMixture(2, reg_covar=-1), np.zeros((5, 2)), ValueError, "reg_covar must be"),
        (lambda: GaussianMixture(2, weights_init=[0.9, 0.9]), np.zeros((5, 2)), ValueError, "weights_init must sum to 1"),
        (lambda: GaussianMixture(2, means_init=np.zeros((3, 2))), np.zeros((5, 2)), ValueError,
         r"means_init must have shape \(2, 2\)"),
        (lambda: GaussianMixture(2, covariances_init=np.zeros((2, 2))), np.zeros((5, 2)), ValueError,
         "covariances_init must have shape"),
        (lambda: GaussianMixture(2, covariances_init=-np.ones((2, 2, 2))), np.zeros((5, 2)), ValueError, "positive definite"),
        (lambda: GaussianMixture(2, callback=3), np.zeros((5, 2)), TypeError, "callback must be callable"),
    ],
)
def test_bad_input_is_named(make, X, exc, message):
    with pytest.raises(exc, match=message):
        make().fit(X)


def test_negative_sample_weight_and_feature_mismatch():
    X = load_faithful()
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        GaussianMixture(2).fit(X, sample_weight=-np.ones(len(X)))
    gm = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is expecting 2 features"):
        gm.predict(np.zeros((2, 3)))


def test_fit_does_not_modify_its_inputs():
    X = load_faithful()
    X0 = X.copy()
    w, m, cov, _ = start_params(X, 2, "full")
    m0, cov0 = m.copy(), cov.copy()
    GaussianMixture(2, means_init=m, covariances_init=cov, weights_init=w).fit(X, sample_weight=np.ones(len(X)))
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(m, m0)
    np.testing.assert_array_equal(cov, cov0)


def test_convergence_warning_when_max_iter_is_reached():
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        gm = GaussianMixture(2, max_iter=2, tol=0, random_state=0).fit(load_faithful())
    assert not gm.converged_ and gm.n_iter_ == 2
