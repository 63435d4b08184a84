"""Variational Bayes for a Gaussian mixture, against independent oracles.

* one component: variational Bayes is exact, so the ELBO must equal the log evidence,
  computed here by numerical integration over the mean and precision (scipy);
* the Wishart KL divergence against a Monte Carlo average of scipy's Wishart log-density;
* coordinate ascent: the ELBO never decreases;
* scikit-learn's BayesianGaussianMixture with the same priors switches off the same
  components and finds the same weights and means.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate, stats

import mixlearn as ml
from mixlearn.bayesian_mixture import VariationalGaussianMixture, wishart_kl


def test_one_component_elbo_is_the_log_evidence():
    x = np.array([0.3, -1.2, 0.8, 2.1, 0.5, -0.4])
    m0, beta0, nu0, w0_inv = 0.5, 2.0, 3.0, 1.5   # Wishart(W0, nu0) in 1-D: Gamma(nu0/2, scale 2 W0)
    vb = VariationalGaussianMixture(1, mean_prior=[m0], mean_precision_prior=beta0, degrees_of_freedom_prior=nu0,
                                    covariance_prior=[[w0_inv]], reg_covar=0.0, tol=1e-12, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ml.ConvergenceWarning)
        vb.fit(x[:, None])

    def joint(mu, lam):
        return np.exp(np.sum(stats.norm.logpdf(x, mu, 1 / np.sqrt(lam)))
                      + stats.norm.logpdf(mu, m0, 1 / np.sqrt(beta0 * lam))
                      + stats.gamma.logpdf(lam, nu0 / 2, scale=2 / w0_inv))

    evidence, _ = integrate.dblquad(joint, 0, 20, -6, 6, epsabs=1e-14, epsrel=1e-10)
    assert vb.history_["elbo"][-1] == pytest.approx(np.log(evidence), abs=1e-6)
    # the exact conjugate posterior mean of mu
    assert vb.means_[0, 0] == pytest.approx((beta0 * m0 + x.sum()) / (beta0 + len(x)), rel=1e-12)


def test_wishart_kl_matches_monte_carlo():
    W = np.array([[0.8, 0.2], [0.2, 0.5]])
    W0 = np.array([[1.5, -0.3], [-0.3, 1.0]])
    nu, nu0 = 7.0, 4.0
    q, p = stats.wishart(df=nu, scale=W), stats.wishart(df=nu0, scale=W0)
    draws = q.rvs(size=40_000, random_state=0)
    diff = q.logpdf(draws.T) - p.logpdf(draws.T)
    mc, se = diff.mean(), diff.std() / np.sqrt(len(diff))
    assert abs(wishart_kl(W, nu, W0, nu0) - mc) < 4 * se
    assert wishart_kl(W, nu, W, nu) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("alpha0", [0.01, 1.0, 100.0])
def test_elbo_never_decreases(alpha0):
    X = ml.datasets.load_faithful()
    vb = VariationalGaussianMixture(6, weight_concentration_prior=alpha0, random_state=1).fit(X)
    elbo = vb.history_["elbo"]
    assert np.all(np.diff(elbo) >= -1e-8 * np.abs(elbo[:-1])) and vb.converged_
    assert vb.lower_bound_ == pytest.approx(elbo[-1] / len(X))


@pytest.mark.parametrize("alpha0, n_on", [(0.01, 2), (100.0, 6)])
def test_switched_off_components_agree_with_scikit_learn(alpha0, n_on):
    from sklearn.mixture import BayesianGaussianMixture

    X = ml.datasets.load_faithful()
    vb = VariationalGaussianMixture(6, weight_concentration_prior=alpha0, random_state=0).fit(X)
    sk = BayesianGaussianMixture(n_components=6, weight_concentration_prior_type="dirichlet_distribution",
                                 weight_concentration_prior=alpha0, tol=1e-6, max_iter=2000, random_state=0).fit(X)
    on_vb, on_sk = vb.weights_ > 0.02, sk.weights_ > 0.02
    assert on_vb.sum() == on_sk.sum() == n_on
    order_vb = np.argsort(vb.means_[on_vb, 0])
    order_sk = np.argsort(sk.means_[on_sk, 0])
    np.testing.assert_allclose(vb.weights_[on_vb][order_vb], sk.weights_[on_sk][order_sk], atol=0.01)
    if n_on == 2:   # the same two-cluster posterior: means and covariances agree closely
        np.testing.assert_allclose(vb.means_[on_vb][order_vb], sk.means_[on_sk][order_sk], rtol=1e-3)
        np.testing.assert_allclose(vb.covariances_[on_vb][order_vb], sk.covariances_[on_sk][order_sk], rtol=1e-2)
        np.testing.assert_allclose(vb.predict_proba(X)[:, on_vb][:, order_vb],
                                   sk.predict_proba(X)[:, on_sk][:, order_sk], atol=1e-3)


def test_switched_off_components_keep_only_the_prior():
    X = ml.datasets.load_faithful()
    vb = VariationalGaussianMixture(6, weight_concentration_prior=0.01, random_state=0).fit(X)
    off = vb.weights_ < 0.02
    # a component with no data keeps (almost) the prior: alpha = alpha0, nu = nu0 = d, beta = beta0
    np.testing.assert_allclose(vb.weight_concentration_[off], 0.01, atol=1e-3)
    np.testing.assert_allclose(vb.degrees_of_freedom_[off], 2.0, atol=1e-3)
    np.testing.assert_allclose(vb.means_[off], np.tile(X.mean(axis=0), (off.sum(), 1)), atol=1e-2)
    assert set(vb.predict(X)) <= set(np.flatnonzero(~off))


def test_bad_input_is_rejected_clearly_and_inputs_are_untouched():
    X = ml.datasets.load_faithful()
    before = X.copy()
    for kwargs, match in [({"weight_concentration_prior": -1.0}, "weight_concentration_prior"),
                          ({"mean_precision_prior": 0.0}, "mean_precision_prior"),
                          ({"degrees_of_freedom_prior": 0.5}, "degrees_of_freedom_prior"),
                          ({"mean_prior": [1.0]}, "mean_prior"),
                          ({"covariance_prior": [[1.0, 2.0], [2.0, 1.0]]}, "positive definite"),
                          ({"init_params": "magic"}, "init_params"),
                          ({"n_components": 300}, "n_components")]:
        with pytest.raises(ValueError, match=match):
            VariationalGaussianMixture(2, **{k: v for k, v in kwargs.items() if k != "n_components"}).set_params(
                **({"n_components": kwargs["n_components"]} if "n_components" in kwargs else {})).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        VariationalGaussianMixture(2).fit(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(ml.NotFittedError):
        VariationalGaussianMixture(2).predict(X)
    vb = VariationalGaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        vb.predict(X[:, :1])
    with pytest.raises(ValueError, match="Invalid parameter"):
        vb.set_params(colour="red")
    assert vb.get_params()["n_components"] == 2
    np.testing.assert_array_equal(X, before)


def test_map_weights_is_the_mode_of_the_exact_posterior():
    from scipy.optimize import minimize

    from mixlearn.bayesian_mixture import map_weights

    comps = [ml.Poisson(1.0), ml.Poisson(4.0), ml.Poisson(9.0)]
    x, _ = ml.sample_mixture([0.6, 0.3, 0.1], comps, 60, random_state=4)
    alpha = np.array([3.0, 1.0, 2.5])

    def neg_log_post(free):   # softmax parametrisation, the log prior of Dirichlet(alpha) added
        w = np.exp(np.append(free, 0.0))
        w /= w.sum()
        like = np.sum(np.log(sum(wk * stats.poisson.pmf(x, m) for wk, m in zip(w, [1.0, 4.0, 9.0], strict=True))))
        return -(like + stats.dirichlet.logpdf(w, alpha))

    best = minimize(neg_log_post, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12})
    w_opt = np.exp(np.append(best.x, 0.0))
    res = map_weights(x, comps, alpha, tol=1e-14, max_iter=100_000)
    np.testing.assert_allclose(res.weights, w_opt / w_opt.sum(), atol=1e-5)
    assert np.all(np.diff(res.log_posterior) >= -1e-9) and res.converged
    # concentration 1 is a flat prior: the maximum-likelihood weights of em_n_components
    mle = ml.em_n_components(x, comps, tol=1e-14, max_iter=100_000).weights
    np.testing.assert_allclose(map_weights(x, comps, 1.0, tol=1e-14, max_iter=100_000).weights, mle, atol=1e-6)
    with pytest.raises(ValueError, match="at least 1"):
        map_weights(x, comps, 0.5)
    with pytest.raises(ValueError, match="one per component"):
        map_weights(x, comps, [2.0, 2.0])
