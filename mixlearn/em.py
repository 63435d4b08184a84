"""EM for mixing weights when the components are known.

This is the problem of the two marble factories: every marble came from factory
1 (``P(red) = p1``, theta_1 in the book) with probability ``pi`` and from factory 2 (``P(red) = p2``)
otherwise; the colours are observed, the factories are not, and EM estimates
``pi``. ``em_n_components`` is the same algorithm for any number of known
components of any family.

One EM iteration has two steps:

* E-step: the responsibility ``gamma[n, k] = P(z_n = k | x_n)`` under the current
  weights (Bayes' rule).
* M-step: the new weight of component ``k`` is its average responsibility,
  ``pi_k = sum_n gamma[n, k] / N``. (Indices count from 0 here, from 1 in the book.)

The log-likelihood never decreases from one iteration to the next. The weights
depend on the data only through its distinct values and their counts, so the
iterations run on ``(value, count)`` pairs: a million marbles cost one counting
pass and then two numbers per iteration.
"""

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import special

from ._logsumexp import logsumexp_components, normalize_components
from ._validation import (
    check_data,
    check_nonneg_real,
    check_positive_int,
    check_probability,
    check_weights,
)
from .distributions import as_components
from .exceptions import ConvergenceWarning, IdentifiabilityWarning
from .mixture import component_log_likelihood

__all__ = ["EMResult", "e_step", "m_step", "em_two_components", "em_n_components"]


class ReadOnlyDict(dict):
    """A dict that refuses changes (and still pickles), for result histories."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("this history is read-only; copy it with dict(...) to change it.")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return (type(self), (dict(self),))


def _frozen(a):
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class EMResult:
    """Outcome of an EM run for mixing weights (immutable).

    Attributes
    ----------
    weights : ndarray of shape (n_components,)
        Estimated mixing weights; ``weights[0]`` is ``pi`` in the two-component problem.
    log_likelihood : float
        Total log-likelihood of the data at ``weights``.
    n_iter : int
        Number of EM iterations performed.
    converged : bool
        Whether the change of the mean per-sample log-likelihood fell below ``tol``.
    history : mapping
        ``history["log_likelihood"]`` of shape (n_iter + 1,) and ``history["weights"]`` of
        shape (n_iter + 1, n_components), both starting at the initial weights.
    """

    weights: np.ndarray
    log_likelihood: float
    n_iter: int
    converged: bool
    history: Mapping[str, np.ndarray]

    def __repr__(self):
        return (
            f"EMResult(weights={np.round(self.weights, 6).tolist()}, log_likelihood={self.log_likelihood:.6f}, "
            f"n_iter={self.n_iter}, converged={self.converged})"
        )


def _make_result(weights_hist, ll_hist, converged):
    history = ReadOnlyDict(log_likelihood=_frozen(ll_hist), weights=_frozen(weights_hist))
    return EMResult(
        weights=history["weights"][-1],
        log_likelihood=float(history["log_likelihood"][-1]),
        n_iter=len(ll_hist) - 1,
        converged=converged,
        history=history,
    )


def _check_loop_args(tol, max_iter):
    return check_nonneg_real(tol, "tol"), check_positive_int(max_iter, "max_iter")


def _warn_not_converged(max_iter, tol):
    warnings.warn(
        f"EM did not converge within max_iter={max_iter} iterations (tol={tol:g}); "
        "increase max_iter or tol, or start from other weights.",
        ConvergenceWarning,
        stacklevel=3,
    )


# ----------------------------------------------------------------------------------------------
# The two steps, on (value, count) pairs


def _e_step_counts(log_lik, log_weights, counts):
    """E-step on distinct values.

    ``log_lik`` is (K, M) with ``log f_k(value_m)``; ``counts`` (M,) how often each
    value occurs. Returns the responsibilities (K, M) and the total log-likelihood.
    """
    resp, log_px = normalize_components(log_lik + log_weights[:, None])
    return resp, float(counts @ log_px)


def _m_step_counts(resp, counts):
    """M-step: each weight is the count-weighted average responsibility."""
    weights = resp @ counts
    return weights / weights.sum()


def e_step(x, weights, components):
    """Responsibilities ``P(z_n = k | x_n)`` and the mean log-likelihood per sample.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
    weights : array-like of shape (n_components,)
    components : sequence of distributions

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
    mean_log_likelihood : float

    Examples
    --------
    >>> from mixlearn import Bernoulli, e_step
    >>> resp, ll = e_step([1, 1, 0], [0.5, 0.5], [Bernoulli(0.8), Bernoulli(0.3)])
    >>> resp.sum(axis=1).round(12).tolist()
    [1.0, 1.0, 1.0]
    """
    x = check_data(x, "x")
    components = as_components(components)
    w = check_weights(weights, len(components), "weights")
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    log_lik = component_log_likelihood(x, components)
    _check_possible(log_lik, log_w)
    resp, total = _e_step_counts(log_lik, log_w, np.ones(x.shape[0]))
    return resp.T, total / x.shape[0]


def m_step(resp):
    """New mixing weights from responsibilities of shape (n_samples, n_components).

    Examples
    --------
    >>> from mixlearn import m_step
    >>> m_step([[0.9, 0.1], [0.5, 0.5]]).tolist()
    [0.7, 0.3]
    """
    r = check_data(resp, "resp", ndim=2)
    if np.any(r < 0) or not np.allclose(r.sum(axis=1), 1.0, atol=1e-8):
        raise ValueError("resp must be non-negative with rows summing to 1 (one distribution over components per sample).")
    return r.mean(axis=0)


# ----------------------------------------------------------------------------------------------
# Data compression and checks


_CHUNK = 1 << 22


def _count_values(x, name="x"):
    """Distinct values of 1-D data and how often each occurs, after validating it.

    Integer and boolean arrays are counted with a chunked ``bincount`` (one pass, no float
    copy, memory independent of the data size); anything else goes through ``np.unique``.
    """
    if isinstance(x, np.ndarray) and x.ndim == 1 and x.dtype.kind in "biu" and x.size:
        data = x.view(np.uint8) if x.dtype.kind == "b" else x
        lo, hi = int(data.min()), int(data.max())
        if lo >= 0 and hi <= 1_000_000:
            counts = np.zeros(hi + 1, dtype=np.int64)
            for start in range(0, data.size, _CHUNK):
                counts += np.bincount(data[start : start + _CHUNK], minlength=hi + 1)
            values = np.flatnonzero(counts)
            return values.astype(float), counts[values].astype(float)
    arr = check_data(x, name, ndim=1)
    values, counts = np.unique(arr, return_counts=True)
    return values, counts.astype(float)


def _check_possible(log_lik, log_weights, name="weights"):
    possible = np.isfinite(log_lik).any(axis=0)
    if not possible.all():
        raise ValueError(
            "x has values that none of the components can produce (probability 0 under every component); "
            "check the data or the components."
        )
    if not np.isfinite(logsumexp_components(log_lik + log_weights[:, None])).all():
        raise ValueError(
            f"{name} gives zero weight to every component that can produce some samples of x; "
            f"give those components positive initial weight."
        )


def _identifiability_rank(log_lik, max_columns=2000):
    """Numerical rank of the (K, M) matrix of component likelihoods over the distinct values."""
    if log_lik.shape[1] > max_columns:
        log_lik = log_lik[:, np.linspace(0, log_lik.shape[1] - 1, max_columns).astype(int)]
    top = log_lik.max(axis=0)
    scaled = np.exp(log_lik - np.where(np.isfinite(top), top, 0.0))
    s = np.linalg.svd(scaled, compute_uv=False)
    if s.size == 0 or s[0] == 0:
        return 0
    return int(np.sum(s > s[0] * 1e-9))


def _warn_unidentifiable(rank, n_components):
    warnings.warn(
        f"The mixing weights are not identifiable from this data: the {n_components} components' "
        f"likelihoods over the observed values span only {rank} dimension(s), so many weight vectors "
        "give exactly the same likelihood (e.g. with single Bernoulli draws only sum_k pi_k theta_k is "
        "determined). The answer depends on weights_init; observe several draws per item or use "
        "components that differ on the observed values.",
        IdentifiabilityWarning,
        stacklevel=3,
    )


# ----------------------------------------------------------------------------------------------
# Public EM functions


def _responsibility_factory1(pi, p_first, p_second):
    """P(factory 1 | this colour), by Bayes' rule in log space."""
    with np.errstate(divide="ignore"):
        log_first = np.log(pi) + np.log(p_first)
        log_second = np.log1p(-pi) + np.log(p_second)
    if log_first == log_second == -np.inf:
        return 0.0  # the colour cannot occur, so it carries no responsibility
    return float(np.exp(log_first - np.logaddexp(log_first, log_second)))


def _two_component_log_likelihood(pi, p1, p2, n_red, n_blue):
    p_red = pi * p1 + (1 - pi) * p2
    with np.errstate(divide="ignore"):
        return float(special.xlogy(n_red, p_red) + special.xlog1py(n_blue, -p_red))


def em_two_components(x, p1, p2, pi_init=0.5, tol=1e-8, max_iter=1000):
    """Estimate the share ``pi`` of factory 1 from marble colours by EM.

    Each marble came from factory 1 (``P(red) = p1``) with probability ``pi`` and from
    factory 2 (``P(red) = p2``) otherwise.

    Parameters
    ----------
    x : array-like of 0/1, shape (n_samples,)
        Colours, 1 = red, 0 = blue.
    p1, p2 : float in [0, 1]
        ``P(red)`` for factory 1 and factory 2.
    pi_init : float in [0, 1], default 0.5
        Starting guess for ``pi``.
    tol : float, default 1e-8
        Stop when the mean log-likelihood per marble changes by less than ``tol``.
    max_iter : int, default 1000

    Returns
    -------
    EMResult
        ``weights = [pi, 1 - pi]``.

    Notes
    -----
    With single draws the maximum-likelihood answer has a closed form,
    ``clip((mean(x) - p2) / (p1 - p2), 0, 1)``; EM reaches it iteratively, which is the point
    of the exercise: the same loop works where no closed form exists.

    Examples
    --------
    >>> from mixlearn import em_two_components
    >>> res = em_two_components([1, 1, 1, 0, 1, 0, 1, 1, 0, 1], p1=0.8, p2=0.3, tol=1e-12)
    >>> round(float(res.weights[0]), 4)
    0.8
    """
    values, counts = _count_values(x, "x")
    if not np.all((values == 0) | (values == 1)):
        raise ValueError(
            f"x must hold only 0 and 1 (1 = red), found values such as {values[(values != 0) & (values != 1)][:3].tolist()}; "
            "encode the colours as 0/1 first."
        )
    p1 = check_probability(p1, "p1")
    p2 = check_probability(p2, "p2")
    pi = check_probability(pi_init, "pi_init")
    tol, max_iter = _check_loop_args(tol, max_iter)
    n_red = float(counts[values == 1].sum())
    n_blue = float(counts[values == 0].sum())
    n = n_red + n_blue
    if (n_red and p1 == 0 and p2 == 0) or (n_blue and p1 == 1 and p2 == 1):
        raise ValueError("x has a colour that neither factory can produce with these p1 and p2; check p1, p2 and x.")
    if p1 == p2:
        _warn_unidentifiable(1, 2)

    ll = _two_component_log_likelihood(pi, p1, p2, n_red, n_blue)
    if not np.isfinite(ll):
        raise ValueError(f"pi_init={pi} makes the observed colours impossible; start strictly inside (0, 1).")
    pis, lls, converged = [pi], [ll], False
    for _ in range(max_iter):
        # E-step: how responsible is factory 1 for a red marble, and for a blue one?
        r_red = _responsibility_factory1(pi, p1, p2)
        r_blue = _responsibility_factory1(pi, 1 - p1, 1 - p2)
        # M-step: the new share of factory 1 is its average responsibility over all marbles.
        pi = (n_red * r_red + n_blue * r_blue) / n
        ll_new = _two_component_log_likelihood(pi, p1, p2, n_red, n_blue)
        pis.append(pi)
        lls.append(ll_new)
        if abs(ll_new - ll) / n < tol:
            converged = True
            break
        ll = ll_new
    if not converged:
        _warn_not_converged(max_iter, tol)
    pis = np.asarray(pis)
    return _make_result(np.column_stack([pis, 1 - pis]), lls, converged)


def em_n_components(x, components, weights_init=None, tol=1e-8, max_iter=1000):
    """Estimate the mixing weights of known components by EM.

    Parameters
    ----------
    x : array-like of shape (n_samples,) (or (n_samples, d) for multivariate scipy components)
    components : sequence of distributions
        mixlearn distributions (``Bernoulli``, ``Binomial``, ``Categorical``, ``Poisson``,
        ``Gaussian``) or frozen ``scipy.stats`` distributions; they stay fixed.
    weights_init : array-like of shape (n_components,), optional
        Starting weights (non-negative, summing to 1); uniform by default.
    tol : float, default 1e-8
        Stop when the mean log-likelihood per sample changes by less than ``tol``.
    max_iter : int, default 1000

    Returns
    -------
    EMResult

    Warns
    -----
    IdentifiabilityWarning
        When the data cannot determine the weights (e.g. three Bernoulli components and one
        binary draw per item).
    ConvergenceWarning
        When ``max_iter`` ends the run before convergence.

    Examples
    --------
    >>> from mixlearn import Poisson, em_n_components, sample_mixture
    >>> comps = [Poisson(1.0), Poisson(6.0), Poisson(15.0)]
    >>> x, _ = sample_mixture([0.5, 0.3, 0.2], comps, 20_000, random_state=0)
    >>> em_n_components(x, comps).weights.round(2).tolist()
    [0.5, 0.3, 0.2]
    """
    if isinstance(x, np.ndarray) and x.ndim == 1:
        values, counts = _count_values(x, "x")
    else:
        arr = check_data(x, "x")
        values, counts = _count_values(arr, "x") if arr.ndim == 1 else (arr, np.ones(arr.shape[0]))
    components = as_components(components)
    k = len(components)
    weights = np.full(k, 1.0 / k) if weights_init is None else check_weights(weights_init, k, "weights_init")
    tol, max_iter = _check_loop_args(tol, max_iter)

    log_lik = component_log_likelihood(values, components)
    with np.errstate(divide="ignore"):
        _check_possible(log_lik, np.log(weights), "weights_init")
    rank = _identifiability_rank(log_lik)
    if rank < k:
        _warn_unidentifiable(rank, k)

    n = counts.sum()
    with np.errstate(divide="ignore"):
        resp, ll = _e_step_counts(log_lik, np.log(weights), counts)
    weight_hist, ll_hist, converged = [weights], [ll], False
    for _ in range(max_iter):
        weights = _m_step_counts(resp, counts)
        with np.errstate(divide="ignore"):
            resp, ll_new = _e_step_counts(log_lik, np.log(weights), counts)
        weight_hist.append(weights)
        ll_hist.append(ll_new)
        if abs(ll_new - ll) / n < tol:
            converged = True
            break
        ll = ll_new
    if not converged:
        _warn_not_converged(max_iter, tol)
    return _make_result(weight_hist, ll_hist, converged)
