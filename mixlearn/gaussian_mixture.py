"""Gaussian mixture models fitted by EM, with scikit-learn's conventions.

The E-step is ``_estimate_weighted_log_prob`` (log densities in (K, N) layout,
turned into responsibilities by the shared loop in ``_base``); the M-step is
``_m_step``. Covariances are parametrised through the Cholesky factors of the
precision matrices, so the log-density needs no matrix inverse and no
determinant of a possibly ill-conditioned matrix.
"""

import numpy as np
from scipy import linalg

from ._base import BaseMixture, initial_responsibilities
from ._validation import check_data, check_nonneg_real, check_weights

__all__ = ["GaussianMixture"]

_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_LOG_2PI = np.log(2 * np.pi)


def _covariance_shape(covariance_type, n_components, n_features):
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def _cholesky_precision(cov, name="covariances"):
    """Upper factor ``U`` with ``U @ U.T = inv(cov)`` for one symmetric positive definite matrix."""
    try:
        lower = linalg.cholesky(cov, lower=True)
    except linalg.LinAlgError:
        raise ValueError(
            f"{name} is not positive definite: a component has collapsed onto too few points. "
            "Increase reg_covar, use fewer components, or scale the data."
        ) from None
    return linalg.solve_triangular(lower, np.eye(cov.shape[0]), lower=True).T


def _precision_cholesky(covariances, covariance_type, name="covariances"):
    if covariance_type == "full":
        return np.stack([_cholesky_precision(c, name) for c in covariances])
    if covariance_type == "tied":
        return _cholesky_precision(covariances, name)
    if np.any(covariances <= 0):
        raise ValueError(
            f"{name} has non-positive variances: a component has collapsed. Increase reg_covar or use fewer components."
        )
    return 1.0 / np.sqrt(covariances)


class GaussianMixture(BaseMixture):
    """Gaussian mixture fitted by expectation-maximisation.

    Parameters
    ----------
    n_components : int, default 1
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
        ``full``: each component has its own covariance matrix; ``tied``: one shared matrix;
        ``diag``: own diagonal matrix; ``spherical``: own single variance.
    tol : float, default 1e-3
        Stop when the mean log-likelihood per sample changes by less than ``tol``.
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance, keeping them positive definite.
    max_iter : int, default 100
    n_init : int, default 1
        Number of starts; the best log-likelihood is kept.
    init_params : {"k-means++", "kmeans", "random", "random_from_data"}, default "k-means++"
        How the starting responsibilities are chosen (see ``_base.initial_responsibilities``).
    weights_init, means_init, covariances_init : array-like, optional
        Starting parameters; they replace those derived from ``init_params``.
    random_state : None, int or numpy Generator
    warm_start : bool, default False
        If True, a second ``fit`` continues from the previous solution.
    callback : callable, optional
        ``callback(model, iteration)`` after every EM iteration, with the model holding the
        current parameters (handy for animations and teaching).

    Attributes
    ----------
    weights_ : ndarray (n_components,)
    means_ : ndarray (n_components, n_features)
    covariances_ : ndarray, shape depends on ``covariance_type``
    precisions_cholesky_, precisions_ : ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood per sample at the final parameters.
    history_ : mapping
        ``history_["log_likelihood"]`` (n_iter_ + 1,) total log-likelihood and
        ``history_["weights"]`` (n_iter_ + 1, n_components), from the starting parameters on.

    Notes
    -----
    Exact EM never decreases the log-likelihood. ``reg_covar`` makes the M-step a regularised
    one, so when a component collapses onto a few points (its covariance shrinking to the
    ``reg_covar`` floor) the log-likelihood can dip by a tiny amount, as in scikit-learn. Such a
    component is usually a sign of too many components.

    Examples
    --------
    >>> from mixlearn import GaussianMixture
    >>> from mixlearn.datasets import load_faithful
    >>> gm = GaussianMixture(2, random_state=0, tol=1e-8).fit(load_faithful())
    >>> round(gm.score(load_faithful()) * 272, 2)
    -1130.26
    """

    _init_methods = ("k-means++", "kmeans", "random", "random_from_data")

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="k-means++",
        weights_init=None,
        means_init=None,
        covariances_init=None,
        random_state=None,
        warm_start=False,
        callback=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.covariances_init = covariances_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.callback = callback

    # -- validation ----------------------------------------------------------------------------
    def _check_X(self, X):
        return check_data(X, "X", ndim=2)

    def _validate_params(self, X):
        if self.covariance_type not in _COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {list(_COVARIANCE_TYPES)}, got {self.covariance_type!r}.")
        self._validate_common_params(X.shape[0])
        check_nonneg_real(self.reg_covar, "reg_covar")
        k, d = self.n_components, X.shape[1]
        if self.weights_init is not None:
            check_weights(self.weights_init, k, "weights_init")
        if self.means_init is not None:
            means = check_data(self.means_init, "means_init", ndim=2)
            if means.shape != (k, d):
                raise ValueError(f"means_init must have shape ({k}, {d}), got {means.shape}.")
        if self.covariances_init is not None:
            cov = np.asarray(self.covariances_init, dtype=float)
            if not np.all(np.isfinite(cov)):
                raise ValueError("covariances_init contains NaN or infinity.")
            expected = _covariance_shape(self.covariance_type, k, d)
            if cov.shape != expected:
                raise ValueError(
                    f"covariances_init must have shape {expected} for covariance_type={self.covariance_type!r}, got {cov.shape}."
                )
            if self.covariance_type in ("full", "tied"):
                mats = cov.reshape(-1, d, d)
                if not np.allclose(mats, np.swapaxes(mats, 1, 2)):
                    raise ValueError("covariances_init must hold symmetric matrices.")
            _precision_cholesky(cov, self.covariance_type, "covariances_init")

    # -- parameters ----------------------------------------------------------------------------
    def _get_parameters(self):
        return (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)

    def _set_parameters(self, params):
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = params
        pc = self.precisions_cholesky_
        if self.covariance_type == "full":
            self.precisions_ = pc @ np.swapaxes(pc, 1, 2)
        elif self.covariance_type == "tied":
            self.precisions_ = pc @ pc.T
        else:
            self.precisions_ = pc**2

    def _initialize(self, X, sample_weight, rng):
        resp = initial_responsibilities(X, self.n_components, self.init_params, rng)
        self._m_step(X, resp, sample_weight)
        if self.weights_init is not None:
            self.weights_ = check_weights(self.weights_init, self.n_components, "weights_init")
        if self.means_init is not None:
            self.means_ = np.array(self.means_init, dtype=float)
        if self.covariances_init is not None:
            self.covariances_ = np.array(self.covariances_init, dtype=float)
            self.precisions_cholesky_ = _precision_cholesky(self.covariances_, self.covariance_type, "covariances_init")

    # -- quadratic features (the fast path for full and tied covariances) ----------------------
    #
    # (x - m)^T P (x - m) = sum_ij P_ij x_i x_j - 2 (P m)^T x + m^T P m is linear in the
    # features z(x) = (1, x_1..x_D, x_i x_j for i <= j). Holding z for all samples as an
    # (F, N) array turns the E-step for all K components into one matrix product W @ Z, and
    # the M-step's sufficient statistics into one product resp @ Z.T. The data are shifted
    # to their mean first; components far from the data's centre relative to their spread
    # (where the expansion would lose digits) use the direct formulas instead.

    _MAX_FEATURE_CELLS = 20_000_000  # F * N; above this the features would use > 160 MB
    _CANCELLATION_LIMIT = 1e7  # |shifted scale|^2 / variance beyond which we use direct formulas

    def _features(self, X):
        cache = getattr(self, "_feature_cache", None)
        if cache is not None and cache[0] is X:
            return cache[1]
        n, d = X.shape
        iu = np.triu_indices(d)
        if (1 + d + len(iu[0])) * n > self._MAX_FEATURE_CELLS or self.covariance_type not in ("full", "tied"):
            feats = None
        else:
            shift = X.mean(axis=0)
            xs = (X - shift).T  # (D, N)
            Z = np.empty((1 + d + len(iu[0]), n))
            Z[0] = 1.0
            Z[1 : d + 1] = xs
            np.multiply(xs[iu[0]], xs[iu[1]], out=Z[d + 1 :])
            radius2 = float(np.max(np.einsum("dn,dn->n", xs, xs)))
            feats = (shift, Z, iu, radius2)
        if getattr(self, "_fitting", False):  # keep them for the iterations of this fit only
            self._feature_cache = (X, feats)
        return feats

    def _begin_fit(self):
        self._fitting = True

    def _end_fit(self):
        self._fitting = False
        self._feature_cache = None

    def _chol(self, k):
        return self.precisions_cholesky_[k] if self.covariance_type == "full" else self.precisions_cholesky_

    # -- E-step: log densities -----------------------------------------------------------------
    def _estimate_weighted_log_prob(self, X):
        """(K, N) array of ``log pi_k + log N(x_n | mean_k, cov_k)``."""
        n, d = X.shape
        means, pc, ctype = self.means_, self.precisions_cholesky_, self.covariance_type
        if ctype in ("full", "tied"):
            feats = self._features(X)
            out = np.empty((self.n_components, n))
            direct = range(self.n_components)
            if feats is not None:
                shift, Z, iu, radius2 = feats
                W = np.empty((self.n_components, Z.shape[0]))
                direct = []
                for k in range(self.n_components):
                    chol = self._chol(k)
                    prec = chol @ chol.T
                    m = means[k] - shift
                    scale = max(radius2, float(m @ m)) * np.trace(prec)
                    if scale > self._CANCELLATION_LIMIT * 1e3:
                        direct.append(k)
                        continue
                    pm = prec @ m
                    quad = prec[iu] * np.where(iu[0] == iu[1], 1.0, 2.0)
                    W[k, 0] = m @ pm
                    W[k, 1 : d + 1] = -2.0 * pm
                    W[k, d + 1 :] = quad
                np.matmul(W, Z, out=out)
            for k in direct:
                chol = self._chol(k)
                y = X @ chol
                y -= means[k] @ chol
                out[k] = np.einsum("nd,nd->n", y, y)
            if ctype == "full":
                log_det = np.log(np.diagonal(pc, axis1=1, axis2=2)).sum(axis=1)
            else:
                log_det = np.full(self.n_components, np.log(np.diag(pc)).sum())
        elif ctype == "diag":
            prec = pc**2
            out = (
                np.sum(means**2 * prec, axis=1)[:, None]
                - 2.0 * (means * prec) @ X.T
                + prec @ (X**2).T
            )
            log_det = np.log(pc).sum(axis=1)
        else:  # spherical
            prec = pc**2
            sq = np.einsum("nd,nd->n", X, X)
            out = (
                (np.sum(means**2, axis=1) * prec)[:, None]
                - 2.0 * (means @ X.T) * prec[:, None]
                + prec[:, None] * sq[None, :]
            )
            log_det = d * np.log(pc)
        out *= -0.5
        with np.errstate(divide="ignore"):
            out += (log_det - 0.5 * d * _LOG_2PI + np.log(self.weights_))[:, None]
        return out

    # -- M-step --------------------------------------------------------------------------------
    def _m_step(self, X, resp, sample_weight):
        """Weights, means and covariances from (K, N) responsibilities."""
        if sample_weight is not None:
            resp = resp * sample_weight
        d = X.shape[1]
        reg = self.reg_covar
        ctype = self.covariance_type
        feats = self._features(X) if ctype in ("full", "tied") else None
        if feats is not None:
            shift, Z, iu, _ = feats
            stats = resp @ Z.T  # (K, F): sum r, sum r x, sum r x_i x_j
            nk = stats[:, 0] + 10 * np.finfo(float).eps
            shifted_means = stats[:, 1 : d + 1] / nk[:, None]
            means = shifted_means + shift
            second = np.empty((self.n_components, d, d))
            second[:, iu[0], iu[1]] = stats[:, d + 1 :] / nk[:, None]
            second[:, iu[1], iu[0]] = second[:, iu[0], iu[1]]
            scatter = second - shifted_means[:, :, None] * shifted_means[:, None, :]
        else:
            nk = resp.sum(axis=1) + 10 * np.finfo(float).eps
            means = (resp @ X) / nk[:, None]
        if ctype == "full":
            cov = np.empty((self.n_components, d, d))
            for k in range(self.n_components):
                if feats is not None:
                    var = np.diagonal(scatter[k])
                    m2 = float(shifted_means[k] @ shifted_means[k])
                    if np.all(var > 0) and m2 <= self._CANCELLATION_LIMIT * var.min():
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
        self.weights_ = nk / nk.sum()
        self.means_ = means
        self.covariances_ = cov
        self.precisions_cholesky_ = _precision_cholesky(cov, ctype)

    # -- model size and sampling ---------------------------------------------------------------
    def _n_parameters(self):
        k, d = self.means_.shape
        cov_params = {
            "full": k * d * (d + 1) / 2.0,
            "tied": d * (d + 1) / 2.0,
            "diag": k * d,
            "spherical": k,
        }[self.covariance_type]
        return int(cov_params + k * d + k - 1)

    def _sample(self, counts, rng):
        d = self.means_.shape[1]
        parts = []
        for k, count in enumerate(counts):
            if self.covariance_type == "full":
                cov = self.covariances_[k]
            elif self.covariance_type == "tied":
                cov = self.covariances_
            elif self.covariance_type == "diag":
                cov = np.diag(self.covariances_[k])
            else:
                cov = np.eye(d) * self.covariances_[k]
            parts.append(rng.multivariate_normal(self.means_[k], cov, size=count))
        return np.concatenate(parts) if parts else np.empty((0, d))
