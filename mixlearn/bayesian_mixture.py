"""Variational Bayes for a Gaussian mixture: a posterior instead of a point estimate.

The model puts conjugate priors on every parameter (Bishop 2006, section 10.2):

* weights ``pi ~ Dirichlet(alpha_0, ..., alpha_0)``;
* precision matrices ``Lambda_k ~ Wishart(W_0, nu_0)`` (mean ``nu_0 W_0``);
* means ``mu_k | Lambda_k ~ N(m_0, (beta_0 Lambda_k)^-1)``.

Variational Bayes approximates the posterior of ``(z, pi, mu, Lambda)`` by a product
``q(z) q(pi, mu, Lambda)`` and maximises the evidence lower bound (ELBO) over both factors
in turn, exactly as EM maximises its bound over ``q(z)`` and ``theta``. The factor for the
parameters stays in the prior's family: ``q(pi) = Dirichlet(alpha_k)``,
``q(mu_k, Lambda_k) = N(m_k, (beta_k Lambda_k)^-1) Wishart(W_k, nu_k)``, with
``alpha_k = alpha_0 + N_k``, ``beta_k = beta_0 + N_k``, ``nu_k = nu_0 + N_k`` where ``N_k`` is
the expected number of points of component ``k``. A small ``alpha_0`` favours few
components: a component that explains little data keeps ``alpha_k`` near ``alpha_0`` and its
expected weight falls towards 0, which "switches it off".
"""

from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import special

from ._base import initial_responsibilities
from ._validation import check_data, check_nonneg_real, check_positive_int, check_random_state, check_weights
from .distributions import as_components
from .exceptions import ConvergenceWarning, NotFittedError
from .mixture import component_log_likelihood

__all__ = ["MAPResult", "VariationalGaussianMixture", "map_weights", "wishart_kl"]


@dataclass(frozen=True)
class MAPResult:
    """Outcome of :func:`map_weights`.

    Attributes
    ----------
    weights : ndarray (n_components,)
        The posterior mode of the weights.
    log_posterior : ndarray (n_iter + 1,)
        Log-likelihood plus log prior density (up to its normalising constant) at every
        iterate, from the start on; it never decreases.
    n_iter : int
    converged : bool
    """

    weights: np.ndarray
    log_posterior: np.ndarray
    n_iter: int
    converged: bool


def map_weights(x, components, concentration, weights_init=None, tol=1e-10, max_iter=1000):
    """Posterior mode of the mixing weights of known components under a Dirichlet prior (MAP-EM).

    EM with a prior maximises ``log p(x | pi) + log p(pi)``. The E-step is unchanged; the
    M-step adds ``concentration - 1`` pseudo-observations to every component:
    ``pi_k = (N_k + alpha_k - 1) / (N + sum(alpha) - K)``.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
    components : sequence of distributions
        The known components (mixlearn or frozen scipy distributions).
    concentration : float or array-like of shape (n_components,)
        The Dirichlet parameters ``alpha_k``, all at least 1 (so that the mode is interior
        and the M-step stays a probability vector); ``1`` gives the maximum-likelihood weights.
    weights_init : array-like, optional
        Uniform by default.
    tol : float, default 1e-10
        Stop when the log posterior per sample changes by less than ``tol``.
    max_iter : int, default 1000

    Returns
    -------
    MAPResult

    Examples
    --------
    Ten marbles, seven red, from factories with red rates 0.8 and 0.3; a Beta(2, 2) prior on
    the share pulls the estimate towards one half:

    >>> import numpy as np
    >>> import mixlearn as ml
    >>> from mixlearn.bayesian_mixture import map_weights
    >>> x = np.array([1] * 7 + [0] * 3)
    >>> comps = [ml.Bernoulli(0.8), ml.Bernoulli(0.3)]
    >>> round(float(map_weights(x, comps, 1.0).weights[0]), 3), round(float(map_weights(x, comps, 2.0).weights[0]), 3)
    (0.8, 0.664)
    """
    x = check_data(x, "x")
    components = as_components(components)
    k = len(components)
    alpha = np.broadcast_to(np.asarray(concentration, dtype=float), (k,)).copy() if np.ndim(concentration) == 0 \
        else check_data(concentration, "concentration", ndim=1)
    if alpha.shape != (k,):
        raise ValueError(f"concentration must be one number or {k} numbers, one per component, got shape {alpha.shape}.")
    if np.any(alpha < 1):
        raise ValueError(
            f"concentration must be at least 1 for every component (got {alpha.tolist()}): below 1 the prior density "
            "is infinite at the boundary and the posterior mode can sit on it; use VariationalGaussianMixture's "
            "posterior instead."
        )
    w = np.full(k, 1.0 / k) if weights_init is None else check_weights(weights_init, k, "weights_init")
    tol = check_nonneg_real(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    log_f = component_log_likelihood(x, components).T
    if np.any(np.all(np.isneginf(log_f), axis=1)):
        raise ValueError("x has values that none of the components can produce; check x and components.")
    n = x.shape[0]

    def log_post(weights):
        with np.errstate(divide="ignore"):
            lw = np.log(weights)
        return float(np.sum(special.logsumexp(log_f + lw, axis=1)) + np.sum((alpha - 1) * np.where(alpha > 1, lw, 0)))

    history, converged = [log_post(w)], False
    for _ in range(max_iter):
        with np.errstate(divide="ignore"):
            joint = log_f + np.log(w)
        resp = np.exp(joint - special.logsumexp(joint, axis=1, keepdims=True))
        w = (resp.sum(axis=0) + alpha - 1) / (n + alpha.sum() - k)
        history.append(log_post(w))
        if abs(history[-1] - history[-2]) < tol * n:
            converged = True
            break
    if not converged:
        warnings.warn(f"MAP-EM did not converge in max_iter={max_iter} iterations; increase max_iter.",
                      ConvergenceWarning, stacklevel=2)
    return MAPResult(w, np.array(history), len(history) - 1, converged)


def _log_det(a):
    sign, value = np.linalg.slogdet(a)
    if sign <= 0:
        raise ValueError("a scale matrix is not positive definite; increase reg_covar.")
    return value


def _multigammaln(a, d):
    return special.multigammaln(a, d)


def _expected_log_det(W, nu):
    """E[log |Lambda|] under Wishart(W, nu)."""
    d = W.shape[0]
    return np.sum(special.digamma((nu + 1 - np.arange(1, d + 1)) / 2)) + d * np.log(2) + _log_det(W)


def wishart_kl(W, nu, W0, nu0):
    """Kullback-Leibler divergence KL(Wishart(W, nu) || Wishart(W0, nu0)).

    Parameters
    ----------
    W, W0 : array-like of shape (d, d)
        Scale matrices (positive definite); the mean of ``Wishart(W, nu)`` is ``nu W``.
    nu, nu0 : float
        Degrees of freedom, larger than ``d - 1``.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> float(wishart_kl(np.eye(2), 5.0, np.eye(2), 5.0))
    0.0
    """
    W = check_data(W, "W", ndim=2)
    W0 = check_data(W0, "W0", ndim=2)
    d = W.shape[0]
    if W.shape != (d, d) or W0.shape != (d, d):
        raise ValueError(f"W and W0 must be square and of the same shape, got {W.shape} and {W0.shape}.")
    if nu <= d - 1 or nu0 <= d - 1:
        raise ValueError(f"nu and nu0 must exceed d - 1 = {d - 1}, got {nu} and {nu0}.")
    W0_inv_W = np.linalg.solve(W0, W)
    psi = np.sum(special.digamma((nu + 1 - np.arange(1, d + 1)) / 2))
    return float(
        -nu0 / 2 * _log_det(W0_inv_W)
        + nu / 2 * (np.trace(W0_inv_W) - d)
        + _multigammaln(nu0 / 2, d)
        - _multigammaln(nu / 2, d)
        + (nu - nu0) / 2 * psi
    )


def _dirichlet_kl(alpha, alpha0):
    """KL(Dirichlet(alpha) || Dirichlet(alpha0))."""
    a, a0 = alpha.sum(), alpha0.sum()
    return float(
        special.gammaln(a)
        - np.sum(special.gammaln(alpha))
        - special.gammaln(a0)
        + np.sum(special.gammaln(alpha0))
        + np.sum((alpha - alpha0) * (special.digamma(alpha) - special.digamma(a)))
    )


class VariationalGaussianMixture:
    """Gaussian mixture with conjugate priors, fitted by variational Bayes.

    Parameters
    ----------
    n_components : int, default 1
        The largest number of components; the prior can switch some of them off.
    weight_concentration_prior : float, optional
        ``alpha_0`` of the symmetric Dirichlet prior on the weights; ``1 / n_components`` by
        default. Below 1 it favours few components.
    mean_precision_prior : float, default 1.0
        ``beta_0``: how many observations' worth of confidence the prior mean carries.
    mean_prior : array-like of shape (n_features,), optional
        ``m_0``; the mean of ``X`` by default.
    degrees_of_freedom_prior : float, optional
        ``nu_0`` (> n_features - 1); ``n_features`` by default.
    covariance_prior : array-like of shape (n_features, n_features), optional
        ``W_0^-1``, the inverse scale of the Wishart prior; the covariance of ``X`` by default.
    tol : float, default 1e-6
        Stop when the ELBO per sample changes by less than ``tol``.
    reg_covar : float, default 1e-6
        Added to the diagonal of each ``W_k^-1``.
    max_iter : int, default 500
    init_params : {"k-means++", "kmeans", "random", "random_from_data"}, default "kmeans"
    random_state : None, int or numpy Generator

    Attributes
    ----------
    weights_ : ndarray (n_components,)
        Posterior mean of the weights, ``alpha_k / sum(alpha)``.
    means_ : ndarray (n_components, n_features)
        ``m_k``, the posterior mean of each component mean.
    covariances_ : ndarray (n_components, n_features, n_features)
        ``W_k^-1 / nu_k``, the inverse of the posterior mean precision.
    weight_concentration_, mean_precision_, degrees_of_freedom_ : ndarray (n_components,)
        ``alpha_k``, ``beta_k``, ``nu_k``.
    precisions_scale_ : ndarray (n_components, n_features, n_features)
        ``W_k``.
    lower_bound_ : float
        Final ELBO per sample.
    history_ : dict
        ``history_["elbo"]``, the total ELBO after every iteration (never decreasing).
    n_iter_ : int
    converged_ : bool

    Examples
    --------
    Six components offered, Old Faithful needs fewer; the prior switches the rest off:

    >>> from mixlearn.bayesian_mixture import VariationalGaussianMixture
    >>> from mixlearn.datasets import load_faithful
    >>> X = load_faithful()
    >>> vb = VariationalGaussianMixture(6, weight_concentration_prior=0.01, random_state=0).fit(X)
    >>> int((vb.weights_ > 0.01).sum())
    2
    """

    def __init__(
        self,
        n_components=1,
        *,
        weight_concentration_prior=None,
        mean_precision_prior=1.0,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        tol=1e-6,
        reg_covar=1e-6,
        max_iter=500,
        init_params="kmeans",
        random_state=None,
    ):
        self.n_components = n_components
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.init_params = init_params
        self.random_state = random_state

    # -- scikit-learn conventions ---------------------------------------------------------------
    def get_params(self, deep=True):
        """Constructor parameters as a dict."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names}

    def set_params(self, **params):
        """Set constructor parameters; returns ``self``."""
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r}; valid parameters are {sorted(valid)}.")
            setattr(self, key, value)
        return self

    def __repr__(self):
        return f"VariationalGaussianMixture(n_components={self.n_components})"

    # -- validation -------------------------------------------------------------------------------
    def _positive(self, value, name):
        if isinstance(value, bool) or not np.isscalar(value) or not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}.")
        return float(value)

    def _priors(self, X):
        n, d = X.shape
        k = check_positive_int(self.n_components, "n_components")
        if k > n:
            raise ValueError(f"n_components={k} is larger than the number of samples {n}; use at most {n}.")
        alpha0 = 1.0 / k if self.weight_concentration_prior is None else self._positive(
            self.weight_concentration_prior, "weight_concentration_prior")
        beta0 = self._positive(self.mean_precision_prior, "mean_precision_prior")
        m0 = X.mean(axis=0) if self.mean_prior is None else check_data(self.mean_prior, "mean_prior", ndim=1)
        if m0.shape != (d,):
            raise ValueError(f"mean_prior must have shape ({d},), one entry per feature, got {m0.shape}.")
        nu0 = float(d) if self.degrees_of_freedom_prior is None else self._positive(
            self.degrees_of_freedom_prior, "degrees_of_freedom_prior")
        if nu0 <= d - 1:
            raise ValueError(f"degrees_of_freedom_prior must be larger than n_features - 1 = {d - 1}, got {nu0}.")
        if self.covariance_prior is None:
            W0_inv = np.atleast_2d(np.cov(X.T, bias=True)) if n > 1 else np.eye(d)
        else:
            W0_inv = check_data(self.covariance_prior, "covariance_prior", ndim=2)
            if W0_inv.shape != (d, d) or not np.allclose(W0_inv, W0_inv.T):
                raise ValueError(f"covariance_prior must be a symmetric ({d}, {d}) matrix, got shape {W0_inv.shape}.")
        if np.any(np.linalg.eigvalsh(W0_inv) <= 0):
            raise ValueError("covariance_prior must be positive definite (a constant feature? drop it).")
        return k, alpha0, beta0, m0, nu0, W0_inv

    # -- the two coordinate-ascent steps ------------------------------------------------------------
    def _update_parameters(self, X, resp):
        """q(pi, mu, Lambda) given q(z) (Bishop 10.58-10.63)."""
        alpha0, beta0, m0, nu0, W0_inv = self._prior
        d = X.shape[1]
        nk = resp.sum(axis=0) + 10 * np.finfo(float).eps
        xbar = resp.T @ X / nk[:, None]
        self.weight_concentration_ = alpha0 + nk
        self.mean_precision_ = beta0 + nk
        self.degrees_of_freedom_ = nu0 + nk
        self.means_ = (beta0 * m0 + nk[:, None] * xbar) / self.mean_precision_[:, None]
        W_inv = np.empty((len(nk), d, d))
        for j in range(len(nk)):
            diff = X - xbar[j]
            S = (resp[:, j, None] * diff).T @ diff
            dm = (xbar[j] - m0)[:, None]
            W_inv[j] = W0_inv + S + beta0 * nk[j] / (beta0 + nk[j]) * (dm @ dm.T) + self.reg_covar * np.eye(d)
        self.covariances_ = W_inv / self.degrees_of_freedom_[:, None, None]
        self.precisions_scale_ = np.linalg.inv(W_inv)
        self.weights_ = self.weight_concentration_ / self.weight_concentration_.sum()

    def _log_rho(self, X):
        """log rho_nk of Bishop (10.46): the unnormalised log responsibilities."""
        n, d = X.shape
        alpha, beta, nu, W, m = (self.weight_concentration_, self.mean_precision_, self.degrees_of_freedom_,
                                 self.precisions_scale_, self.means_)
        e_log_pi = special.digamma(alpha) - special.digamma(alpha.sum())
        out = np.empty((n, len(alpha)))
        for j in range(len(alpha)):
            diff = X - m[j]
            maha = np.einsum("ni,ij,nj->n", diff, W[j], diff)
            e_quad = d / beta[j] + nu[j] * maha
            out[:, j] = e_log_pi[j] + 0.5 * _expected_log_det(W[j], nu[j]) - 0.5 * d * np.log(2 * np.pi) - 0.5 * e_quad
        return out

    def _elbo(self, log_rho):
        """ELBO with q(z) optimal for the current q(pi, mu, Lambda)."""
        alpha0, beta0, m0, nu0, W0_inv = self._prior
        k, d = self.means_.shape
        W0 = np.linalg.inv(W0_inv)
        value = float(np.sum(special.logsumexp(log_rho, axis=1)))
        value -= _dirichlet_kl(self.weight_concentration_, np.full(k, alpha0))
        for j in range(k):
            beta, nu, W, dm = self.mean_precision_[j], self.degrees_of_freedom_[j], self.precisions_scale_[j], \
                self.means_[j] - m0
            kl_mean = 0.5 * (d * beta0 / beta + beta0 * nu * dm @ W @ dm - d + d * np.log(beta / beta0))
            value -= kl_mean + wishart_kl(W, nu, W0, nu0)
        return value

    # -- public API --------------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Fit the variational posterior to ``X`` of shape (n_samples, n_features); returns ``self``."""
        X = check_data(X, "X", ndim=2)
        k, *prior = self._priors(X)
        self._prior = tuple(prior)
        max_iter = check_positive_int(self.max_iter, "max_iter")
        tol = self._positive(self.tol, "tol")
        if self.init_params not in ("k-means++", "kmeans", "random", "random_from_data"):
            raise ValueError(
                f"init_params must be 'k-means++', 'kmeans', 'random' or 'random_from_data', got {self.init_params!r}."
            )
        rng = check_random_state(self.random_state)
        resp = initial_responsibilities(X, k, self.init_params, rng).T
        elbos = []
        self.converged_ = False
        for it in range(1, max_iter + 1):
            self._update_parameters(X, resp)
            log_rho = self._log_rho(X)
            resp = np.exp(log_rho - special.logsumexp(log_rho, axis=1, keepdims=True))
            elbos.append(self._elbo(log_rho))
            if it > 1 and abs(elbos[-1] - elbos[-2]) < tol * X.shape[0]:
                self.converged_ = True
                break
        self.n_iter_ = it
        self.history_ = {"elbo": np.array(elbos)}
        self.lower_bound_ = elbos[-1] / X.shape[0]
        self.n_features_in_ = X.shape[1]
        if not self.converged_:
            warnings.warn(
                f"Variational Bayes did not converge in max_iter={max_iter} iterations (tol={tol}); "
                "increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _check_X(self, X):
        if not hasattr(self, "weights_"):
            raise NotFittedError("This VariationalGaussianMixture is not fitted yet; call fit(X) first.")
        X = check_data(X, "X", ndim=2)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but the model was fitted with {self.n_features_in_}.")
        return X

    def predict_proba(self, X):
        """Variational responsibilities q(z_n = k), shape (n_samples, n_components)."""
        log_rho = self._log_rho(self._check_X(X))
        return np.exp(log_rho - special.logsumexp(log_rho, axis=1, keepdims=True))

    def predict(self, X):
        """The most probable component of each sample."""
        return self.predict_proba(X).argmax(axis=1)
