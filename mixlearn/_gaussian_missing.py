"""Gaussian mixtures on rows with missing values (NaN): E-step, M-step, imputation and
conditional draws, as plain functions over a ``MissingPatterns`` and the parameters.

For a row with observed coordinates ``o`` and missing ones ``m``, component ``k``
(mean ``mu``, covariance ``Sigma``, the book's ``mu_k`` and ``Sigma_k``) gives

* the marginal ``x^o ~ N(mu^o, Sigma^oo)``, used by the E-step (the missing coordinates are
  integrated out, so the likelihood is that of the observed values);
* the conditional ``x^m | x^o ~ N(mu^m + coef (x^o - mu^o), Sigma^mm - coef Sigma^om)`` with
  the regression coefficients ``coef = Sigma^mo (Sigma^oo)^{-1}``, used by the M-step: the
  expected sufficient statistics replace ``x^m`` by its conditional mean and add the
  conditional covariance to the second moments.

Rows sharing a pattern share ``(Sigma^oo)^{-1}``, ``coef`` and the conditional covariance, so each
pattern is one vectorised step for all components (``pattern_marginals``); patterns with few
rows are stacked by number of observed coordinates into one batched step (``batch_marginals``);
rows without a missing value go through the complete-data kernels and their fast path. For diagonal and
spherical covariances the coordinates are independent within a component: the marginal is a
sum over the observed coordinates and the conditional mean is ``mu_m``, so no grouping is needed
(masked matrix products over all rows).
"""

import numpy as np

from ._gaussian_kernels import (
    _CANCELLATION_LIMIT,
    _LOG_2PI,
    fast_path_applies,
    features_of_shifted,
    weighted_log_prob_complete,
    weighted_sums,
)

_EPS = 10 * np.finfo(float).eps


def full_covariances(covariances, covariance_type, n_features):
    """Covariances as (K', D, D) matrices: K' = 1 for ``tied``, else one per component."""
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return covariances[None]
    if covariance_type == "diag":
        out = np.zeros((covariances.shape[0], n_features, n_features))
        out[:, np.arange(n_features), np.arange(n_features)] = covariances
        return out
    return covariances[:, None, None] * np.eye(n_features)


def pattern_marginals(X_obs, means, covs, obs, mis, conditional=True):
    """Marginal log-densities and conditional distributions for rows sharing one pattern.

    Parameters
    ----------
    X_obs : ndarray (n, len(obs))
        The observed values of the rows.
    means : ndarray (K, D)
    covs : ndarray (K', D, D)
        K' = K, or 1 for a covariance shared by all components.
    obs, mis : ndarray of int
        Indices of the observed and missing coordinates.
    conditional : bool
        Also return the conditional means and covariances of the missing coordinates.

    Returns
    -------
    log_prob : ndarray (K, n)
        ``log N(x^o | mu_k^o, Sigma_k^oo)``.
    cond_mean : ndarray (K, n, len(mis)) or None
    cond_cov : ndarray (K', len(mis), len(mis)) or None
    """
    try:
        lower = np.linalg.cholesky(covs[:, obs[:, None], obs])
    except np.linalg.LinAlgError:
        raise ValueError(
            "covariances are not positive definite on the observed coordinates of some rows: a component has "
            "collapsed. Increase reg_covar, use fewer components, or scale the data."
        ) from None
    lower_inv = np.linalg.inv(lower)  # (K', o, o)
    diff = X_obs[None, :, :] - means[:, None, obs]  # (K, n, o)
    y = diff @ np.swapaxes(lower_inv, 1, 2)
    maha = np.einsum("kno,kno->kn", y, y)
    log_det = 2.0 * np.log(np.diagonal(lower, axis1=1, axis2=2)).sum(axis=1)
    log_prob = -0.5 * (maha + log_det[:, None] + len(obs) * _LOG_2PI)
    if not conditional:
        return log_prob, None, None
    inv_oo = np.swapaxes(lower_inv, 1, 2) @ lower_inv
    coef = covs[:, mis[:, None], obs] @ inv_oo  # (K', m, o)
    cond_mean = diff @ np.ascontiguousarray(np.swapaxes(coef, 1, 2))
    cond_mean += means[:, None, mis]
    cond_cov = covs[:, mis[:, None], mis] - coef @ covs[:, obs[:, None], mis]
    cond_cov = 0.5 * (cond_cov + np.swapaxes(cond_cov, 1, 2))
    return log_prob, cond_mean, cond_cov


def batch_marginals(X_rows, pattern, obs, mis, means, covs, conditional=True):
    """``pattern_marginals`` for rows of several patterns with the same number of observed
    coordinates, stacked (each row gathers its pattern's factors).

    Parameters
    ----------
    X_rows : ndarray (n, D)
        The rows, with anything (0) at their missing coordinates.
    pattern : ndarray (n,) of int
        Pattern of each row, indexing ``obs`` and ``mis``.
    obs, mis : ndarray (P, q) and (P, D - q) of int

    Returns
    -------
    log_prob : ndarray (K, n)
    cond_mean : ndarray (K, n, D) or None
        Conditional means at each row's missing coordinates, 0 at its observed ones.
    cond_cov : ndarray (K', P, D, D) or None
        Conditional covariance of each pattern's missing coordinates, 0 elsewhere.
    """
    n, d = X_rows.shape
    q = obs.shape[1]
    try:
        lower = np.linalg.cholesky(covs[:, obs[:, :, None], obs[:, None, :]])  # (K', P, q, q)
    except np.linalg.LinAlgError:
        raise ValueError(
            "covariances are not positive definite on the observed coordinates of some rows: a component has "
            "collapsed. Increase reg_covar, use fewer components, or scale the data."
        ) from None
    lower_inv = np.linalg.inv(lower)
    log_det = 2.0 * np.log(np.diagonal(lower, axis1=2, axis2=3)).sum(axis=2)  # (K', P)
    row_obs = obs[pattern]  # (n, q)
    diff = X_rows[np.arange(n)[:, None], row_obs][None] - means[:, row_obs]  # (K, n, q)
    y = (lower_inv[:, pattern] @ diff[..., None])[..., 0]
    log_prob = -0.5 * (np.einsum("knq,knq->kn", y, y) + log_det[:, pattern] + q * _LOG_2PI)
    if not conditional:
        return log_prob, None, None
    n_patterns = obs.shape[0]
    inv_oo = np.swapaxes(lower_inv, 2, 3) @ lower_inv
    coef = covs[:, mis[:, :, None], obs[:, None, :]] @ inv_oo  # (K', P, m, q)
    row_mis = mis[pattern]
    cond_mean = np.zeros((means.shape[0], n, d))
    cond_mean[:, np.arange(n)[:, None], row_mis] = means[:, row_mis] + (coef[:, pattern] @ diff[..., None])[..., 0]
    cc = covs[:, mis[:, :, None], mis[:, None, :]] - coef @ covs[:, obs[:, :, None], mis[:, None, :]]
    cond_cov = np.zeros((covs.shape[0], n_patterns, d, d))
    cond_cov[:, np.arange(n_patterns)[:, None, None], mis[:, :, None], mis[:, None, :]] = 0.5 * (cc + np.swapaxes(cc, 2, 3))
    return log_prob, cond_mean, cond_cov


def missing_features(patterns, covariance_type, shift=None):
    """Fast-path features of all rows, missing coordinates counted as 0 after the shift.

    Returns ``(shift, Z, iu, radius2)`` like ``quadratic_features`` (``shift`` = the columns'
    observed means, or the given ``shift`` for a chunk of a larger array; ``radius2`` over the
    complete rows, whose block ``Z[:, :n_complete]`` the complete-data E-step uses), or None when
    the fast path does not apply. With ``x~`` the row shifted and zero where missing,
    ``r @ Z.T`` holds ``sum r``, ``sum r x~`` and ``sum r x~ x~^T``; the M-step adds what the
    conditional means contribute, pattern by pattern.
    """
    n, d = patterns.X.shape
    if not fast_path_applies(n, d, covariance_type):
        return None
    shift = patterns.column_means() if shift is None else shift
    xs = ((patterns.X0 - shift) * patterns.observed).T
    Z, iu, _ = features_of_shifted(xs)
    complete = xs[:, : patterns.n_complete]
    radius2 = float(np.max(np.einsum("dn,dn->n", complete, complete))) if patterns.n_complete else 0.0
    return shift, Z, iu, radius2


def weighted_log_prob(patterns, weights, means, precisions_cholesky, covariance_type, covariances, features):
    """(K, N) array of ``log pi_k + log N(x_n,obs | mean_k,obs, cov_k,obs)`` in working order.

    ``features`` are ``missing_features(patterns, covariance_type)`` (or None).
    """
    n_components, d = means.shape
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)
    pc = precisions_cholesky
    if covariance_type in ("diag", "spherical"):
        prec, log_pc = pc**2, np.log(pc)
        if covariance_type == "spherical":
            prec, log_pc = np.repeat(prec[:, None], d, axis=1), np.repeat(log_pc[:, None], d, axis=1)
        X0, observed = patterns.X0, patterns.observed
        out = (means**2 * prec) @ observed.T
        out -= 2.0 * (means * prec) @ X0.T
        out += prec @ (X0 * X0).T
        out *= -0.5
        out += log_pc @ observed.T
        out -= (0.5 * _LOG_2PI) * observed.sum(axis=1)
        out += log_w[:, None]
        return out
    covs = full_covariances(covariances, covariance_type, d)
    out = np.empty((n_components, patterns.X.shape[0]))
    n_complete = patterns.n_complete
    if n_complete:
        complete_features = None if features is None else (features[0], features[1][:, :n_complete], *features[2:])
        out[:, :n_complete] = weighted_log_prob_complete(
            patterns.X[:n_complete], weights, means, pc, covariance_type, complete_features
        )
    for start, stop, obs, mis in patterns.large_groups:
        log_prob, _, _ = pattern_marginals(patterns.X[start:stop, obs], means, covs, obs, mis, conditional=False)
        log_prob += log_w[:, None]
        out[:, start:stop] = log_prob
    for rows, pattern, _, obs, mis in patterns.batches:
        log_prob, _, _ = batch_marginals(patterns.X0[rows], pattern, obs, mis, means, covs, conditional=False)
        log_prob += log_w[:, None]
        out[:, rows] = log_prob
    return out


def m_step(patterns, resp, sample_weight, means, covariances, covariance_type, reg_covar, features):
    """``(weights, means, covariances)`` from (K, N) responsibilities (working order), with the
    expected sufficient statistics of the missing values under the current ``means`` and
    ``covariances``. ``features`` are ``missing_features(patterns, covariance_type)`` (or None)."""
    r = resp if sample_weight is None else resp * sample_weight
    n_components, d = means.shape
    if covariance_type in ("diag", "spherical"):
        nk = r.sum(axis=1) + _EPS
        old_var = covariances if covariance_type == "diag" else np.repeat(covariances[:, None], d, axis=1)
        X0 = patterns.X0
        r_missing = r @ (1.0 - patterns.observed)  # (K, D): responsibility mass on missing entries
        new_means = (r @ X0 + r_missing * means) / nk[:, None]
        avg_x2 = (r @ (X0 * X0) + r_missing * (means**2 + old_var)) / nk[:, None]
        var = np.maximum(avg_x2 - new_means**2 + reg_covar, reg_covar)
        cov = var if covariance_type == "diag" else var.mean(axis=1)
        return nk / nk.sum(), new_means, cov

    shift = features[0] if features is not None else patterns.column_means()
    nk = r.sum(axis=1) + _EPS
    _, sum_x, sum_xx, conditionals = _shifted_sums(patterns, r, means, covariances, covariance_type, shift, features)
    shifted_means = sum_x / nk[:, None]
    scatter = sum_xx / nk[:, None, None] - shifted_means[:, :, None] * shifted_means[:, None, :]
    for k in range(n_components):
        var = np.diagonal(scatter[k])
        if not (np.all(var > 0) and shifted_means[k] @ shifted_means[k] <= _CANCELLATION_LIMIT * var.min()):
            scatter[k] = _direct_scatter(patterns, r[k], nk[k], conditionals, k)
    new_means = shifted_means + shift
    if covariance_type == "full":
        cov = 0.5 * (scatter + np.swapaxes(scatter, 1, 2))
        cov[:, np.arange(d), np.arange(d)] += reg_covar
    else:
        cov = np.einsum("k,kij->ij", nk, scatter) / nk.sum()
        cov = 0.5 * (cov + cov.T)
        cov.flat[:: d + 1] += reg_covar
    return nk / nk.sum(), new_means, cov


def statistics(patterns, r, means, covariances, covariance_type, shift, features):
    """Expected sufficient statistics ``(sum r, sum r x, sum r x x^T)`` of rows with missing values.

    ``r`` are the (K, N) responsibilities already multiplied by any sample weights; the sums are
    in coordinates shifted by ``shift`` (``features`` = ``missing_features(patterns, covariance_type,
    shift)`` or None), each missing value replaced by its conditional expectation under ``means``
    and ``covariances`` and its conditional (co)variance added to the second moments. For
    ``diag``/``spherical`` the third entry holds only the diagonal, ``sum r x^2`` (K, D).
    """
    d = means.shape[1]
    if covariance_type in ("diag", "spherical"):
        old_var = covariances if covariance_type == "diag" else np.repeat(covariances[:, None], d, axis=1)
        xs = (patterns.X0 - shift) * patterns.observed
        r_missing = r @ (1.0 - patterns.observed)
        m = means - shift
        return r.sum(axis=1), r @ xs + r_missing * m, r @ (xs * xs) + r_missing * (m**2 + old_var)
    nk, sum_x, sum_xx, _ = _shifted_sums(patterns, r, means, covariances, covariance_type, shift, features)
    return nk, sum_x, sum_xx


def _shifted_sums(patterns, r, means, covariances, covariance_type, shift, features):
    """``(sum r, sum r x, sum r x x^T, conditionals)`` for full and tied covariances."""
    # Sufficient statistics sum r, sum r x, sum r x x^T (with x_m -> E[x_m | x_o, k]) in coordinates
    # shifted by ``shift``. First every row with its missing values counted as 0 (``x~``,
    # through the fast-path features when there are some); then, pattern by pattern, what the
    # conditional means c add: sum r c, the cross terms sum r c x~^T (and transpose) and
    # sum r c c^T; and Cov[x_m | x_o, k] added to the second moments.
    n_components, d = means.shape
    X0 = patterns.X0
    covs = full_covariances(covariances, covariance_type, d)
    nk = r.sum(axis=1)
    sum_x, sum_xx = weighted_sums(r, d, features, lambda: (X0 - shift) * patterns.observed)
    conditionals = []
    for start, stop, obs, mis in patterns.large_groups:
        _, cond_mean, cond_cov = pattern_marginals(patterns.X[start:stop, obs], means, covs, obs, mis)
        rg = r[:, start:stop]
        mass = rg.sum(axis=1)
        conditionals.append(("group", (start, stop, mis), cond_mean, cond_cov, mass))
        c = cond_mean - shift[mis]  # (K, n, m)
        weighted_c = np.swapaxes(c * rg[:, :, None], 1, 2)  # (K, m, n)
        cross = weighted_c @ (patterns.X[start:stop, obs] - shift[obs])  # (K, m, o)
        sum_x[:, mis] += weighted_c.sum(axis=2)
        sum_xx[:, mis[:, None], obs] += cross
        sum_xx[:, obs[:, None], mis] += np.swapaxes(cross, 1, 2)
        sum_xx[:, mis[:, None], mis] += weighted_c @ c + mass[:, None, None] * cond_cov
    for rows, pattern, first, obs, mis in patterns.batches:
        _, cond_mean, cond_cov = batch_marginals(X0[rows], pattern, obs, mis, means, covs)
        rb = r[:, rows]
        mass = np.add.reduceat(rb, first, axis=1)  # (K, P)
        conditionals.append(("batch", rows, cond_mean, cond_cov, mass))
        c = (cond_mean - shift) * (1.0 - patterns.observed[rows])  # (K, n, D), 0 where observed
        weighted_c = np.swapaxes(c * rb[:, :, None], 1, 2)  # (K, D, n)
        cross = weighted_c @ ((X0[rows] - shift) * patterns.observed[rows])
        sum_x += weighted_c.sum(axis=2)
        sum_xx += cross + np.swapaxes(cross, 1, 2) + weighted_c @ c
        sum_xx += np.einsum("kp,kpij->kij", mass, np.broadcast_to(cond_cov, (n_components, *cond_cov.shape[1:])))
    return nk, sum_x, sum_xx, conditionals


def _direct_scatter(patterns, r_k, nk_k, conditionals, k):
    """Two-pass scatter of component ``k`` (used when the shifted sums would lose digits)."""
    filled = patterns.X0.copy()
    correction = np.zeros((filled.shape[1], filled.shape[1]))
    for kind, where, cond_mean, cond_cov, mass in conditionals:
        k_cov = k if cond_cov.shape[0] > 1 else 0
        if kind == "group":
            start, stop, mis = where
            filled[start:stop, mis] = cond_mean[k]
            correction[np.ix_(mis, mis)] += mass[k] * cond_cov[k_cov]
        else:
            filled[where] += cond_mean[k]
            correction += np.einsum("p,pij->ij", mass[k], cond_cov[k_cov])
    mean = r_k @ filled / nk_k
    diff = filled - mean
    return ((r_k[:, None] * diff).T @ diff + correction) / nk_k


def impute(patterns, resp, means, covariances, covariance_type):
    """Rows (working order) with each missing value replaced by ``sum_k gamma_nk E[x_m | x_o, z = k]``."""
    covs = full_covariances(covariances, covariance_type, means.shape[1])
    out = patterns.X0.copy()
    for start, stop, obs, mis in patterns.groups:
        _, cond_mean, _ = pattern_marginals(patterns.X[start:stop, obs], means, covs, obs, mis)
        out[start:stop, mis] = np.einsum("kn,knm->nm", resp[:, start:stop], cond_mean)
    return out


def sample_missing(patterns, labels, rng, means, covariances, covariance_type):
    """Rows (working order) with the missing values of row ``n`` drawn from component
    ``labels[n]``'s conditional distribution given the row's observed values."""
    covs = full_covariances(covariances, covariance_type, means.shape[1])
    out = patterns.X0.copy()
    for start, stop, obs, mis in patterns.groups:
        _, cond_mean, cond_cov = pattern_marginals(patterns.X[start:stop, obs], means, covs, obs, mis)
        lab = labels[start:stop]
        rows = np.arange(stop - start)
        factors = np.linalg.cholesky(cond_cov)  # (K', m, m)
        factors = factors[lab] if factors.shape[0] > 1 else np.broadcast_to(factors, (rows.size, *factors.shape[1:]))
        noise = rng.standard_normal((rows.size, mis.size))
        out[start:stop, mis] = cond_mean[lab, rows] + np.einsum("nij,nj->ni", factors, noise)
    return out
