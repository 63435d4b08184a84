"""How sure are we: standard errors of EM estimates and a bootstrap test of K.

EM returns a maximum-likelihood estimate but no measure of its precision. Louis (1982)
showed that the observed information, the curvature of the observed log-likelihood
``l(theta) = sum_n log p(x_n | theta)``, follows from quantities EM already handles, the
complete-data score ``s`` and curvature ``B`` averaged over the posterior of the latent
variable:

    I_o = E[B | x] - Var[s | x]      (complete information minus missing information),

one term per observation, at any ``theta``. Its inverse estimates the covariance of the
maximum-likelihood estimate, and the square roots of its diagonal are standard errors.

* :func:`louis_information` is the identity itself, for any model given the per-component
  complete-data scores and curvatures and the responsibilities;
* :func:`weights_information` applies it to the mixing weights of known components (the
  marble factories of chapter 3);
* :func:`gaussian_information_1d` to every parameter of a one-dimensional Gaussian mixture;
* :func:`bootstrap_lrt` tests ``K`` against ``K + 1`` components with a parametric bootstrap,
  because the likelihood-ratio statistic does not follow its textbook chi-square law there.

The weights are parametrised by their first ``K - 1`` entries (the last one is
``1 - sum`` of the others), so every information matrix is invertible when the data
identify the parameters.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._validation import check_data, check_positive_int, check_random_state, check_weights
from .distributions import as_components
from .exceptions import ConvergenceWarning
from .mixture import component_log_likelihood

__all__ = [
    "BootstrapLRT",
    "Information",
    "bootstrap_lrt",
    "gaussian_information_1d",
    "louis_information",
    "weights_information",
]


@dataclass(frozen=True)
class Information:
    """The three information matrices of Louis's identity at one parameter value.

    Attributes
    ----------
    complete : ndarray (P, P)
        ``E[B | x]``, the information the complete data would carry (expected over z).
    missing : ndarray (P, P)
        ``Var[s | x]``, the information lost because z is hidden.
    observed : ndarray (P, P)
        ``complete - missing``: minus the Hessian of the observed log-likelihood.
    names : tuple of str
        The parameter each row and column belongs to.
    """

    complete: np.ndarray
    missing: np.ndarray
    observed: np.ndarray
    names: tuple

    @property
    def covariance(self):
        """Inverse of the observed information: the estimated covariance of the estimate."""
        try:
            return np.linalg.inv(self.observed)
        except np.linalg.LinAlgError:
            raise ValueError(
                "the observed information is singular: the data do not identify these parameters "
                "(e.g. two equal components); standard errors do not exist here."
            ) from None

    @property
    def standard_errors(self):
        """Square roots of the diagonal of :attr:`covariance`, one per parameter."""
        var = np.diag(self.covariance)
        if np.any(var <= 0):
            raise ValueError(
                "the observed information is not positive definite: this is not a maximum of the "
                "likelihood (a saddle point or a poor EM run); refit with a smaller tol first."
            )
        return np.sqrt(var)

    @property
    def fraction_missing(self):
        """Eigenvalues of ``complete^-1 missing``: the rates of EM's linear convergence."""
        return np.sort(np.linalg.eigvals(np.linalg.solve(self.complete, self.missing)).real)[::-1]


def louis_information(scores, curvatures, resp, names=None):
    """Louis's identity: observed information = complete information - missing information.

    Parameters
    ----------
    scores : array-like of shape (n_samples, n_components, n_params)
        ``scores[n, k]`` is the gradient of ``log p(x_n, z_n = k | theta)``.
    curvatures : array-like of shape (n_samples, n_components, n_params, n_params)
        ``curvatures[n, k]`` is minus its Hessian.
    resp : array-like of shape (n_samples, n_components)
        The responsibilities ``P(z_n = k | x_n, theta)``; each row sums to 1.
    names : sequence of str, optional
        Parameter names, ``n_params`` of them.

    Returns
    -------
    Information

    Notes
    -----
    For each observation, ``-d2 log p(x_n) = E[B_n | x_n] - (E[s_n s_n^T | x_n] - g_n g_n^T)``
    with ``g_n = E[s_n | x_n]`` the observed score; summing over ``n`` gives the three
    matrices. The identity holds at every ``theta``, not only at the maximum.

    Examples
    --------
    Two factories making red marbles at rates 0.9 and 0.2, weight 0.4 on the first, and one
    red marble; the result is the closed form ``(0.9 - 0.2)**2 / 0.48**2``:

    >>> import numpy as np
    >>> a = np.array([[1 / 0.4], [-1 / 0.6]])          # complete score for z = 1, z = 2
    >>> s = a[None]                                   # (1 sample, 2 components, 1 parameter)
    >>> B = (a[:, :, None] * a[:, None, :])[None]     # minus the Hessian of log pi_k
    >>> gamma = np.array([[0.4 * 0.9, 0.6 * 0.2]]) / (0.4 * 0.9 + 0.6 * 0.2)
    >>> round(float(louis_information(s, B, gamma).observed[0, 0]), 4)
    2.1267
    """
    s = check_data(np.asarray(scores, dtype=float).reshape(-1), "scores").reshape(np.shape(scores))
    B = check_data(np.asarray(curvatures, dtype=float).reshape(-1), "curvatures").reshape(np.shape(curvatures))
    g = check_data(resp, "resp", ndim=2)
    if s.ndim != 3:
        raise ValueError(f"scores must have shape (n_samples, n_components, n_params), got shape {s.shape}.")
    n, k, p = s.shape
    if B.shape != (n, k, p, p):
        raise ValueError(f"curvatures must have shape {(n, k, p, p)} to match scores, got shape {B.shape}.")
    if g.shape != (n, k):
        raise ValueError(f"resp must have shape {(n, k)}, one row of responsibilities per sample, got {g.shape}.")
    if np.any(g < 0) or not np.allclose(g.sum(axis=1), 1.0, atol=1e-8):
        raise ValueError("resp must hold probabilities whose rows sum to 1 (the responsibilities of an E-step).")
    if names is None:
        names = tuple(f"theta_{j}" for j in range(p))
    names = tuple(str(x) for x in names)
    if len(names) != p:
        raise ValueError(f"names must have {p} entries, one per parameter, got {len(names)}.")
    complete = np.einsum("nk,nkij->ij", g, B)
    mean_score = np.einsum("nk,nki->ni", g, s)
    second = np.einsum("nk,nki,nkj->ij", g, s, s)
    missing = second - mean_score.T @ mean_score
    missing = (missing + missing.T) / 2
    complete = (complete + complete.T) / 2
    return Information(complete, missing, complete - missing, names)


def _weight_scores(weights):
    """Complete-data score a_k of log pi_k in the free parameters (pi_1..pi_{K-1})."""
    k = weights.shape[0]
    a = np.zeros((k, k - 1))
    a[np.arange(k - 1), np.arange(k - 1)] = 1.0 / weights[:-1]
    a[-1, :] = -1.0 / weights[-1]
    return a


def _check_interior(weights, name="weights"):
    if np.any(weights <= 0):
        raise ValueError(
            f"{name} must all be positive: at a weight of 0 the estimate sits on the boundary of the "
            f"parameter space, where standard errors from the information do not apply; got {weights.tolist()}."
        )


def weights_information(x, weights, components):
    """Information about the mixing weights of known components (Louis's identity).

    Parameters
    ----------
    x : array-like of shape (n_samples,)
        The observations (for the marbles: 1 = red, 0 = blue).
    weights : array-like of shape (n_components,)
        Mixing weights at which to evaluate, all positive (usually the EM estimate).
    components : sequence of distributions
        The known components (mixlearn distributions or frozen scipy distributions).

    Returns
    -------
    Information
        Matrices over the first ``n_components - 1`` weights.

    Examples
    --------
    Chapter 3's bag, factories with red rates 0.8 and 0.3; the standard error of the share
    of factory 1:

    >>> import mixlearn as ml
    >>> from mixlearn.inference import weights_information
    >>> x, _ = ml.datasets.make_marbles(1000, pi=0.6, p1=0.8, p2=0.3, random_state=0)
    >>> pi = ml.em_two_components(x, 0.8, 0.3, tol=1e-12).weights[0]
    >>> info = weights_information(x, [pi, 1 - pi], [ml.Bernoulli(0.8), ml.Bernoulli(0.3)])
    >>> round(float(info.standard_errors[0]), 3)
    0.031
    """
    x = check_data(x, "x")
    components = as_components(components)
    k = len(components)
    if k < 2:
        raise ValueError("components must hold at least 2 distributions; with one there is no weight to estimate.")
    w = check_weights(weights, k, "weights")
    _check_interior(w)
    log_f = component_log_likelihood(x, components).T + np.log(w)
    if np.any(np.all(np.isneginf(log_f), axis=1)):
        raise ValueError("some observations are impossible under every component; check x and components.")
    resp = np.exp(log_f - np.logaddexp.reduce(log_f, axis=1, keepdims=True))
    a = _weight_scores(w)
    n = x.shape[0]
    s = np.broadcast_to(a, (n, k, k - 1))
    B = np.broadcast_to(a[:, :, None] * a[:, None, :], (n, k, k - 1, k - 1))
    return louis_information(s, B, resp, names=[f"pi_{j + 1}" for j in range(k - 1)])


def _gaussian_1d_parameters(model):
    if not hasattr(model, "weights_") or not hasattr(model, "means_"):
        raise TypeError("model must be a fitted mixlearn.GaussianMixture (call fit first).")
    if model.means_.shape[1] != 1:
        raise ValueError(
            f"model was fitted to {model.means_.shape[1]} features; gaussian_information_1d handles one. "
            "Fit one column, e.g. X[:, :1]."
        )
    if getattr(model, "covariance_type", "full") == "tied":
        raise ValueError("covariance_type='tied' shares one variance; fit with covariance_type='full' instead.")
    return (
        np.asarray(model.weights_, dtype=float),
        np.asarray(model.means_, dtype=float)[:, 0],
        np.asarray(model.covariances_, dtype=float).reshape(-1),
    )


def gaussian_information_1d(X, weights, means=None, variances=None):
    """Information about every parameter of a one-dimensional Gaussian mixture.

    Parameters
    ----------
    X : array-like of shape (n_samples,) or (n_samples, 1)
    weights : array-like of shape (n_components,) or a fitted ``GaussianMixture``
        The mixing weights, or a model fitted to one feature (then ``means`` and
        ``variances`` are taken from it and must be omitted).
    means, variances : array-like of shape (n_components,)
        Component means and variances (all positive).

    Returns
    -------
    Information
        Parameters in the order ``pi_1 .. pi_{K-1}, mu_1 .. mu_K, var_1 .. var_K``.

    Examples
    --------
    >>> import numpy as np
    >>> from mixlearn.inference import gaussian_information_1d
    >>> x = np.random.default_rng(0).normal(size=400)
    >>> info = gaussian_information_1d(x, [1.0], [x.mean()], [x.var()])
    >>> bool(np.isclose(info.standard_errors[0], x.std() / 20))   # sigma / sqrt(N)
    True
    """
    if means is None and variances is None:
        weights, means, variances = _gaussian_1d_parameters(weights)
    elif means is None or variances is None:
        raise ValueError("pass both means and variances, or a fitted GaussianMixture as weights alone.")
    x = check_data(X, "X")
    if x.ndim == 2:
        if x.shape[1] != 1:
            raise ValueError(f"X must hold one feature, got shape {x.shape}; pass one column, e.g. X[:, :1].")
        x = x[:, 0]
    mu = check_data(means, "means", ndim=1)
    var = check_data(variances, "variances", ndim=1)
    k = mu.shape[0]
    if var.shape[0] != k:
        raise ValueError(f"variances must have {k} entries, one per mean, got {var.shape[0]}.")
    if np.any(var <= 0):
        raise ValueError(f"variances must be positive, got {var.tolist()}.")
    w = check_weights(weights, k, "weights")
    _check_interior(w)
    n = x.shape[0]
    d = x[:, None] - mu[None, :]  # (n, k)
    log_f = stats.norm.logpdf(x[:, None], mu, np.sqrt(var)) + np.log(w)
    resp = np.exp(log_f - np.logaddexp.reduce(log_f, axis=1, keepdims=True))
    p = 3 * k - 1
    s = np.zeros((n, k, p))
    B = np.zeros((n, k, p, p))
    a = _weight_scores(w)
    s[:, :, : k - 1] = a
    B[:, :, : k - 1, : k - 1] = a[:, :, None] * a[:, None, :]
    for j in range(k):
        im, iv = k - 1 + j, 2 * k - 1 + j
        s[:, j, im] = d[:, j] / var[j]
        s[:, j, iv] = -0.5 / var[j] + d[:, j] ** 2 / (2 * var[j] ** 2)
        B[:, j, im, im] = 1.0 / var[j]
        B[:, j, im, iv] = B[:, j, iv, im] = d[:, j] / var[j] ** 2
        B[:, j, iv, iv] = -0.5 / var[j] ** 2 + d[:, j] ** 2 / var[j] ** 3
    names = [f"pi_{j + 1}" for j in range(k - 1)] + [f"mu_{j + 1}" for j in range(k)]
    names += [f"var_{j + 1}" for j in range(k)]
    return louis_information(s, B, resp, names=names)


@dataclass(frozen=True)
class BootstrapLRT:
    """Result of :func:`bootstrap_lrt`.

    Attributes
    ----------
    statistic : float
        ``2 (l_{K+1} - l_K)`` on the data.
    null_statistics : ndarray (n_bootstrap,)
        The same statistic on data simulated from the fitted K-component model.
    p_value : float
        ``(1 + #{null >= statistic}) / (n_bootstrap + 1)``.
    chi2_p_value : float
        What the (invalid here) chi-square law with ``df`` degrees of freedom would say.
    df : int
        Number of extra parameters of the larger model.
    """

    statistic: float
    null_statistics: np.ndarray
    p_value: float
    chi2_p_value: float
    df: int


def _fit(X, k, rng, settings, n_init=1, **init):
    from .gaussian_mixture import GaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(k, random_state=rng, n_init=n_init, **settings, **init).fit(X)


def _split_heaviest(model):
    """Starting values for K + 1 components: the heaviest component of a full-covariance
    K-component fit split in two along its longest axis."""
    j = int(np.argmax(model.weights_))
    vals, vecs = np.linalg.eigh(model.covariances_[j])
    step = 0.5 * np.sqrt(vals[-1]) * vecs[:, -1]
    weights = np.append(model.weights_, model.weights_[j] / 2)
    weights[j] /= 2
    means = np.vstack([model.means_, model.means_[j] + step])
    means[j] = model.means_[j] - step
    covariances = np.concatenate([model.covariances_, model.covariances_[j : j + 1]])
    return {"weights_init": weights, "means_init": means, "covariances_init": covariances}


def bootstrap_lrt(
    X, n_components, *, n_bootstrap=99, covariance_type="full", n_init=3, tol=1e-6, max_iter=500, random_state=None
):
    """Parametric bootstrap test of ``n_components`` against ``n_components + 1`` Gaussians.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int
        K, the number of components under the null hypothesis.
    n_bootstrap : int, default 99
        Number of data sets simulated from the fitted K-component mixture.
    covariance_type, n_init, tol, max_iter
        Passed to :class:`mixlearn.GaussianMixture` for every fit; ``n_init`` starts guard
        against a K + 1 fit stuck below the K fit.
    random_state : None, int or numpy Generator

    Returns
    -------
    BootstrapLRT

    Notes
    -----
    Under the null, the extra component of the larger model can sit anywhere with weight
    0 (a parameter on the boundary, the others then not identified), so the regularity
    conditions behind Wilks's chi-square law fail. The bootstrap simulates the statistic's
    actual law under the fitted null model instead (McLachlan 1987). A negative statistic
    (the larger fit worse, a local maximum) is set to 0.

    Every K + 1 fit keeps the best of ``n_init`` k-means++ starts and (for full covariances)
    one start that splits the heaviest component of the K fit in two, which guards against a
    K + 1 fit stuck below the K fit. On a simulated data set the K fit starts from the
    parameters that generated it, which are close to its maximum.

    Examples
    --------
    >>> from mixlearn.datasets import load_faithful
    >>> from mixlearn.inference import bootstrap_lrt
    >>> res = bootstrap_lrt(load_faithful()[:, :1], 1, n_bootstrap=9, random_state=0)
    >>> res.p_value        # none of 9 simulated statistics reaches the observed one
    0.1
    """
    X = check_data(X, "X", ndim=2)
    k = check_positive_int(n_components, "n_components")
    b = check_positive_int(n_bootstrap, "n_bootstrap")
    n_init = check_positive_int(n_init, "n_init")
    if X.shape[0] < 2 * (k + 1):
        raise ValueError(f"X has {X.shape[0]} samples; testing {k} against {k + 1} components needs many more.")
    rng = check_random_state(random_state)
    settings = dict(covariance_type=covariance_type, tol=tol, max_iter=max_iter)

    def lr(data, start=None):
        if start is None:
            small = _fit(data, k, rng, settings, n_init)
        else:
            small = _fit(data, k, rng, settings, weights_init=start.weights_, means_init=start.means_,
                         covariances_init=start.covariances_)
        large = _fit(data, k + 1, rng, settings, n_init)
        if covariance_type == "full":
            split = _fit(data, k + 1, rng, settings, **_split_heaviest(small))
            large = max(large, split, key=lambda m: m.score(data))
        return small, large, max(0.0, 2 * data.shape[0] * (large.score(data) - small.score(data)))

    null_model, alternative, statistic = lr(X)
    sims = np.empty(b)
    for i in range(b):
        data, _ = null_model.sample(X.shape[0], random_state=rng)
        sims[i] = lr(data, start=null_model)[2]
    df = int(alternative._n_parameters() - null_model._n_parameters())
    p_value = (1 + np.sum(sims >= statistic)) / (b + 1)
    return BootstrapLRT(float(statistic), sims, float(p_value), float(stats.chi2.sf(statistic, df)), df)
