"""EM for censored normal data: a latent-variable model that is not a mixture.

A measurement is **right-censored** when we only learn that it exceeds a limit: a stopwatch
stopped at 60 minutes, a lifetime still running when the study ended. The complete data
are the true values ``x_n ~ N(mu, sigma^2)``; for a censored one we observe only
``x_n > c_n``. EM treats the hidden values as latent variables, exactly as it treats
component labels:

* E-step: the expected sufficient statistics ``E[x_n]`` and ``E[x_n^2]`` given what was
  observed, which for a censored value are the moments of a normal truncated to
  ``(c_n, inf)``: with ``a = (c_n - mu) / sigma`` and the inverse Mills ratio
  ``h = phi(a) / (1 - Phi(a))``, ``E[x] = mu + sigma h`` and
  ``Var[x] = sigma^2 (1 + a h - h^2)``;
* M-step: the complete-data maximum likelihood, ``mu = mean(E[x])`` and
  ``sigma^2 = mean(E[x^2]) - mu^2``.

The observed log-likelihood ``sum_obs log N(x_n | mu, sigma^2) + sum_cens log P(x > c_n)``
never decreases.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._validation import check_data, check_nonneg_real, check_positive_int
from .exceptions import ConvergenceWarning

__all__ = ["CensoredNormalResult", "censored_normal_em", "censored_normal_loglik"]


@dataclass(frozen=True)
class CensoredNormalResult:
    """Outcome of :func:`censored_normal_em`.

    Attributes
    ----------
    mean, var : float
        The maximum-likelihood estimates of ``mu`` and ``sigma^2``.
    log_likelihood : ndarray (n_iter + 1,)
        Observed-data log-likelihood at every iterate, from the start on.
    means, variances : ndarray (n_iter + 1,)
        The iterates.
    n_iter : int
    converged : bool
    """

    mean: float
    var: float
    log_likelihood: np.ndarray
    means: np.ndarray
    variances: np.ndarray
    n_iter: int
    converged: bool


def _check(x, censored, min_observed=2):
    x = check_data(x, "x", ndim=1)
    c = np.asarray(censored)
    if c.shape != x.shape:
        raise ValueError(f"censored must have the shape of x, {x.shape}, one flag per value; got {c.shape}.")
    if c.dtype != bool:
        if not np.all(np.isin(c, [0, 1])):
            raise ValueError("censored must hold booleans (True where x is a censoring limit, not a value).")
        c = c.astype(bool)
    if np.sum(~c) < min_observed:
        raise ValueError("at least two values must be observed exactly (not censored) to estimate a mean and a variance.")
    return x, c


def censored_normal_loglik(x, censored, mean, var):
    """Observed-data log-likelihood of right-censored normal data.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
        The value, or the censoring limit where ``censored`` is True.
    censored : array-like of bool, shape (n_samples,)
    mean, var : float
        ``mu`` and ``sigma^2`` (positive).

    Returns
    -------
    float

    Examples
    --------
    >>> round(censored_normal_loglik([0.0, 1.0], [False, True], 0.0, 1.0), 4)   # log phi(0) + log P(x > 1)
    -2.76
    """
    x, c = _check(x, censored, min_observed=0)
    if not (np.isfinite(var) and var > 0):
        raise ValueError(f"var must be a positive number, got {var!r}.")
    sd = np.sqrt(var)
    return float(np.sum(stats.norm.logpdf(x[~c], mean, sd)) + np.sum(stats.norm.logsf(x[c], mean, sd)))


def censored_normal_em(x, censored, mean_init=None, var_init=None, tol=1e-10, max_iter=10_000):
    """Maximum-likelihood mean and variance of right-censored normal data, by EM.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
        The value, or the censoring limit where ``censored`` is True.
    censored : array-like of bool, shape (n_samples,)
        True where only ``x_n > limit`` is known.
    mean_init, var_init : float, optional
        Starting values; by default the mean and variance of the exactly observed values.
    tol : float, default 1e-10
        Stop when the log-likelihood per sample changes by less than ``tol``.
    max_iter : int, default 10000

    Returns
    -------
    CensoredNormalResult

    Examples
    --------
    Times of 1000 runners, N(50, 10^2) minutes, the clock stopped at 60. The exactly timed
    runners alone give a mean and standard deviation far too small; EM recovers the truth
    up to sampling noise:

    >>> import numpy as np
    >>> t = np.random.default_rng(0).normal(50, 10, 1000)
    >>> res = censored_normal_em(np.minimum(t, 60), t > 60)
    >>> round(float(t[t <= 60].mean()), 1), round(float(t[t <= 60].std()), 1)
    (46.9, 7.8)
    >>> round(res.mean, 1), round(float(np.sqrt(res.var)), 1)
    (49.6, 9.9)
    """
    x, c = _check(x, censored)
    tol = check_nonneg_real(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    mu = float(np.mean(x[~c])) if mean_init is None else float(mean_init)
    var = float(np.var(x[~c])) if var_init is None else float(var_init)
    if not np.isfinite(mu):
        raise ValueError(f"mean_init must be a finite number, got {mean_init!r}.")
    if not (np.isfinite(var) and var > 0):
        raise ValueError(f"var_init must be a positive number, got {var_init!r}.")
    n = x.shape[0]
    lls, means, variances = [censored_normal_loglik(x, c, mu, var)], [mu], [var]
    converged = False
    for _ in range(max_iter):
        sd = np.sqrt(var)
        a = (x[c] - mu) / sd
        h = np.exp(stats.norm.logpdf(a) - stats.norm.logsf(a))      # inverse Mills ratio, stable in the tail
        e1 = x.copy()
        e2 = x**2
        e1[c] = mu + sd * h
        e2[c] = var * (1 + a * h - h**2) + e1[c] ** 2
        mu = float(e1.mean())
        var = float(e2.mean() - mu**2)
        lls.append(censored_normal_loglik(x, c, mu, var))
        means.append(mu)
        variances.append(var)
        if abs(lls[-1] - lls[-2]) < tol * n:
            converged = True
            break
    if not converged:
        warnings.warn(f"EM did not converge in max_iter={max_iter} iterations (tol={tol:g}); increase max_iter.",
                      ConvergenceWarning, stacklevel=2)
    return CensoredNormalResult(mu, var, np.array(lls), np.array(means), np.array(variances), len(lls) - 1, converged)
