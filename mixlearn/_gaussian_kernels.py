"""The E- and M-steps of Gaussian mixtures on rows without missing values, as plain functions.

Every input is an argument (parameters, data, and the per-``X`` features of the fast path,
computed once per fit by ``quadratic_features``); nothing is read from an estimator.
"""

import numpy as np

_LOG_2PI = np.log(2 * np.pi)

# -- quadratic features (the fast path for full and tied covariances) ----------------------------
#
# (x - m)^T P (x - m) = sum_ij P_ij x_i x_j - 2 (P m)^T x + m^T P m is linear in the
# features z(x) = (1, x_1..x_D, x_i x_j for i <= j). Holding z for all samples as an
# (F, N) array turns the E-step for all K components into one matrix product W @ Z, and
# the M-step's sufficient statistics into one product resp @ Z.T. The data are shifted
# to their mean first; components far from the data's centre relative to their spread
# (where the expansion would lose digits) use the direct formulas instead.

_MAX_FEATURE_CELLS = 20_000_000  # F * N; above this the features would use > 160 MB
_CANCELLATION_LIMIT = 1e7  # |shifted scale|^2 / variance beyond which we use direct formulas


def quadratic_features(X, covariance_type, shift=None):
    """``(shift, Z, iu, radius2)`` for the fast path, or None when it does not apply.

    ``Z`` is the (F, N) array of features of ``X - shift``; ``iu`` the upper-triangle indices;
    ``radius2`` the largest squared distance of a sample from ``shift``. Computed once per
    ``X`` (per fit) and passed to the E- and M-steps. ``shift`` defaults to the mean of ``X``
    (a chunk of a larger array passes the whole array's column means, so that the sums of
    all chunks are in the same coordinates).
    """
    n, d = X.shape
    if not fast_path_applies(n, d, covariance_type):
        return None
    shift = X.mean(axis=0) if shift is None else shift
    xs = (X - shift).T  # (D, N)
    return (shift, *features_of_shifted(xs))


def fast_path_applies(n_samples, n_features, covariance_type):
    """Whether the features fit in memory and the covariance type uses them."""
    n_feature_rows = 1 + n_features + n_features * (n_features + 1) // 2
    return n_feature_rows * n_samples <= _MAX_FEATURE_CELLS and covariance_type in ("full", "tied")


def features_of_shifted(xs):
    """``(Z, iu, radius2)`` from shifted samples held as a (D, N) array."""
    d, n = xs.shape
    iu = np.triu_indices(d)
    Z = np.empty((1 + d + len(iu[0]), n))
    Z[0] = 1.0
    Z[1 : d + 1] = xs
    np.multiply(xs[iu[0]], xs[iu[1]], out=Z[d + 1 :])
    radius2 = float(np.max(np.einsum("dn,dn->n", xs, xs)))
    return Z, iu, radius2


def weighted_log_prob_complete(X, weights, means, precisions_cholesky, covariance_type, features):
    """(K, N) array of ``log pi_k + log N(x_n | mean_k, cov_k)`` for rows without missing values.

    ``features`` is ``quadratic_features(X, covariance_type)`` (or None for the direct formulas).
    """
    n, d = X.shape
    n_components = means.shape[0]
    pc, ctype = precisions_cholesky, covariance_type
    if ctype in ("full", "tied"):
        out = np.empty((n_components, n))
        direct = range(n_components)
        if features is not None:
            shift, Z, iu, radius2 = features
            W = np.empty((n_components, Z.shape[0]))
            direct = []
            for k in range(n_components):
                chol = pc[k] if ctype == "full" else pc
                prec = chol @ chol.T
                m = means[k] - shift
                scale = max(radius2, float(m @ m)) * np.trace(prec)
                if scale > _CANCELLATION_LIMIT * 1e3:
                    direct.append(k)
                    continue
                pm = prec @ m
                quad = prec[iu] * np.where(iu[0] == iu[1], 1.0, 2.0)
                W[k, 0] = m @ pm
                W[k, 1 : d + 1] = -2.0 * pm
                W[k, d + 1 :] = quad
            np.matmul(W, Z, out=out)
        for k in direct:
            chol = pc[k] if ctype == "full" else pc
            y = X @ chol
            y -= means[k] @ chol
            out[k] = np.einsum("nd,nd->n", y, y)
        if ctype == "full":
            log_det = np.log(np.diagonal(pc, axis1=1, axis2=2)).sum(axis=1)
        else:
            log_det = np.full(n_components, np.log(np.diag(pc)).sum())
    elif ctype == "diag":
        prec = pc**2
        out = np.sum(means**2 * prec, axis=1)[:, None] - 2.0 * (means * prec) @ X.T + prec @ (X**2).T
        log_det = np.log(pc).sum(axis=1)
    else:  # spherical
        prec = pc**2
        sq = np.einsum("nd,nd->n", X, X)
        out = (np.sum(means**2, axis=1) * prec)[:, None] - 2.0 * (means @ X.T) * prec[:, None] + prec[:, None] * sq[None, :]
        log_det = d * np.log(pc)
    out *= -0.5
    with np.errstate(divide="ignore"):
        out += (log_det - 0.5 * d * _LOG_2PI + np.log(weights))[:, None]
    return out


def m_step_complete(X, resp, sample_weight, covariance_type, reg_covar, features):
    """``(weights, means, covariances)`` from (K, N) responsibilities, for rows without missing values."""
    if sample_weight is not None:
        resp = resp * sample_weight
    n_components, d = resp.shape[0], X.shape[1]
    reg = reg_covar
    ctype = covariance_type
    feats = features if ctype in ("full", "tied") else None
    if feats is not None:
        shift, Z, iu, _ = feats
        stats = resp @ Z.T  # (K, F): sum_n gamma_nk, sum_n gamma_nk x_n, sum_n gamma_nk x_ni x_nj
        nk = stats[:, 0] + 10 * np.finfo(float).eps
        shifted_means = stats[:, 1 : d + 1] / nk[:, None]
        means = shifted_means + shift
        second = np.empty((n_components, d, d))
        second[:, iu[0], iu[1]] = stats[:, d + 1 :] / nk[:, None]
        second[:, iu[1], iu[0]] = second[:, iu[0], iu[1]]
        scatter = second - shifted_means[:, :, None] * shifted_means[:, None, :]
    else:
        nk = resp.sum(axis=1) + 10 * np.finfo(float).eps
        means = (resp @ X) / nk[:, None]
    if ctype == "full":
        cov = np.empty((n_components, d, d))
        for k in range(n_components):
            if feats is not None:
                var = np.diagonal(scatter[k])
                m2 = float(shifted_means[k] @ shifted_means[k])
                if np.all(var > 0) and m2 <= _CANCELLATION_LIMIT * var.min():
                    cov[k] = scatter[k]
                    cov[k].flat[:: d + 1] += reg
                    continue
            diff = X - means[k]
            cov[k] = (resp[k][:, None] * diff).T @ diff / nk[k]
            cov[k].flat[:: d + 1] += reg
    elif ctype == "tied":
        if feats is not None:
            cov = np.einsum("k,kij->ij", nk, scatter)
        else:
            cov = (X.T * resp.sum(axis=0)) @ X - (nk * means.T) @ means
        cov /= nk.sum()
        cov.flat[:: d + 1] += reg
    else:
        avg_x2 = (resp @ (X * X)) / nk[:, None]
        var = avg_x2 - means**2 + reg
        var = np.maximum(var, reg)
        cov = var if ctype == "diag" else var.mean(axis=1)
    return nk / nk.sum(), means, cov


# -- sufficient statistics (chunked and online EM) ------------------------------------------------
#
# The M-step needs the data only through sums over the samples: sum r_k, sum r_k x and sum r_k x x^T
# (only its diagonal for diag and spherical covariances). Sums over chunks add up, so a chunked or
# online EM keeps these and ``parameters_from_statistics`` turns them into parameters. They are held
# in coordinates shifted by a fixed ``shift`` (the data's column means), which keeps the one-pass
# second moments accurate.


def complete_statistics(X, r, covariance_type, shift, features):
    """``(sum r, sum r x, sum r x x^T)`` of rows without missing values, in coordinates shifted by ``shift``.

    ``r`` (K, N) are the responsibilities multiplied by any sample weights; ``features`` is
    ``quadratic_features(X, covariance_type, shift)`` or None. For ``diag`` and ``spherical`` the
    third entry is ``sum r x^2`` (K, D), the diagonal.
    """
    nk = r.sum(axis=1)
    if covariance_type in ("full", "tied"):
        return (nk, *weighted_sums(r, X.shape[1], features, lambda: X - shift))
    xs = X - shift
    return nk, r @ xs, r @ (xs * xs)


def weighted_sums(r, d, features, shifted_rows):
    """``(sum r x, sum r x x^T)`` per component, in D = ``d`` dimensions: from the fast-path
    ``features`` when there are some, else from ``shifted_rows()`` (N, D), the rows in shifted
    coordinates."""
    n_components = r.shape[0]
    if features is not None:
        _, Z, iu, _ = features
        stats = r @ Z.T
        sum_xx = np.empty((n_components, d, d))
        sum_xx[:, iu[0], iu[1]] = stats[:, d + 1 :]
        sum_xx[:, iu[1], iu[0]] = stats[:, d + 1 :]
        return stats[:, 1 : d + 1].copy(), sum_xx
    xs = shifted_rows()
    sum_xx = np.empty((n_components, d, d))
    for k in range(n_components):
        sum_xx[k] = (r[k][:, None] * xs).T @ xs
    return r @ xs, sum_xx


def parameters_from_statistics(stats, shift, covariance_type, reg_covar):
    """``(weights, means, covariances)`` from sufficient statistics ``(sum r, sum r x, sum r x x^T)``.

    The statistics may be totals or averages (any common scale): the parameters are ratios.
    """
    nk, sum_x, sum_xx = stats
    nk = nk + 10 * np.finfo(float).eps
    m = sum_x / nk[:, None]
    if covariance_type in ("full", "tied"):
        d = m.shape[1]
        scatter = sum_xx / nk[:, None, None] - m[:, :, None] * m[:, None, :]
        scatter = 0.5 * (scatter + np.swapaxes(scatter, 1, 2))
        if covariance_type == "full":
            cov = scatter
            cov[:, np.arange(d), np.arange(d)] += reg_covar
        else:
            cov = np.einsum("k,kij->ij", nk, scatter) / nk.sum()
            cov.flat[:: d + 1] += reg_covar
    else:
        var = np.maximum(sum_xx / nk[:, None] - m**2 + reg_covar, reg_covar)
        cov = var if covariance_type == "diag" else var.mean(axis=1)
    return nk / nk.sum(), m + shift, cov
