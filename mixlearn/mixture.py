"""The generative story as code: the marginal p(x), the posterior P(z | x) and sampling.

A mixture draws a component ``z`` from the categorical distribution ``weights``
and then draws ``x`` from component ``z``. Hence

    p(x) = sum_k P(z = k) f_k(x)                (``mixture_logpdf``)
    P(z = k | x) = P(z = k) f_k(x) / p(x)       (``posterior``, Bayes' rule)

Both are computed in log space, so points far in the tails give finite answers.
"""

import numpy as np

from ._logsumexp import logsumexp_components, normalize_components
from ._validation import check_data, check_random_state, check_weights
from .distributions import as_components

__all__ = ["component_log_likelihood", "mixture_logpdf", "posterior", "sample_mixture"]


def component_log_likelihood(x, components):
    """(K, N) array of ``log f_k(x_n)``."""
    return np.stack([np.broadcast_to(c.logpdf(x), (x.shape[0],)) for c in components])


def _weighted_log_prob(x, weights, components):
    x = check_data(x, "x")
    components = as_components(components)
    w = check_weights(weights, len(components), "weights")
    with np.errstate(divide="ignore"):
        return component_log_likelihood(x, components) + np.log(w)[:, None]


def mixture_logpdf(x, weights, components):
    """Log of the mixture's probability (mass or density) at each sample.

    Parameters
    ----------
    x : array-like of shape (n_samples,) or (n_samples, n_features)
    weights : array-like of shape (n_components,)
        Mixing weights ``pi_k = P(z = k)``; non-negative, summing to 1.
    components : sequence of distributions
        mixlearn distributions or frozen ``scipy.stats`` distributions.

    Returns
    -------
    ndarray of shape (n_samples,)
        ``log P(x_n)``; ``-inf`` where no component can produce ``x_n``.

    Examples
    --------
    >>> import numpy as np
    >>> from mixlearn import Bernoulli, mixture_logpdf
    >>> float(np.exp(mixture_logpdf([1], [0.6, 0.4], [Bernoulli(0.8), Bernoulli(0.3)]))[0])
    0.6
    """
    return logsumexp_components(_weighted_log_prob(x, weights, components))


def posterior(x, weights, components):
    """Responsibilities ``gamma[n, k] = P(z_n = k | x_n)`` by Bayes' rule, shape (n_samples, n_components).

    Raises ``ValueError`` for a sample that no component (with positive weight) can produce,
    since its posterior is undefined.

    Examples
    --------
    >>> from mixlearn import Bernoulli, posterior
    >>> post = posterior([1, 0], [0.5, 0.5], [Bernoulli(0.8), Bernoulli(0.3)])
    >>> post.round(3).tolist()
    [[0.727, 0.273], [0.222, 0.778]]
    """
    resp, log_px = normalize_components(_weighted_log_prob(x, weights, components))
    if not np.all(np.isfinite(log_px)):
        bad = np.flatnonzero(~np.isfinite(log_px))[:3]
        raise ValueError(
            f"x has samples (indices {bad.tolist()}) that no component with positive weight can produce, "
            "so their posterior is undefined; check the data or the components."
        )
    return resp.T


def sample_mixture(weights, components, size, random_state=None):
    """Draw ``size`` samples: first the component, then the value.

    Returns
    -------
    x : ndarray of shape (size,) (or (size, d) for multivariate components)
    c : ndarray of int, shape (size,)
        The latent component index of each sample.

    Examples
    --------
    >>> from mixlearn import Bernoulli, sample_mixture
    >>> x, c = sample_mixture([0.6, 0.4], [Bernoulli(0.8), Bernoulli(0.3)], 5, random_state=0)
    >>> x.shape, c.shape
    ((5,), (5,))
    """
    components = as_components(components)
    w = check_weights(weights, len(components), "weights")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
        raise ValueError(f"size must be a non-negative integer, got {size!r}.")
    rng = check_random_state(random_state)
    c = rng.choice(len(components), size=size, p=w)
    parts = []  # (indices, draws) per component that was picked at least once
    for k, comp in enumerate(components):
        idx = np.flatnonzero(c == k)
        if idx.size:
            parts.append((idx, np.asarray(comp.sample(idx.size, random_state=rng))))
    if not parts:
        return np.empty(0), c
    # one dtype for all draws: integers stay integers unless some component draws floats
    x = np.empty((size,) + parts[0][1].shape[1:], dtype=np.result_type(*(d.dtype for _, d in parts)))
    for idx, draws in parts:
        x[idx] = draws
    return x, c
