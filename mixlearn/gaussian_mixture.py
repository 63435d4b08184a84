"""Gaussian mixture models fitted by EM, with scikit-learn's conventions.

The E-step is ``_estimate_weighted_log_prob`` (log densities in (K, N) layout,
turned into responsibilities by the shared loop in ``_base``); the M-step is
``_m_step``. Both delegate to plain functions that take every input explicitly:
``_gaussian_kernels`` for rows without missing values (with the fast path), and
``_gaussian_missing`` for rows with NaN. Covariances are
parametrised through the Cholesky factors of the precision matrices, so the
log-density of complete rows needs no matrix inverse and no determinant of a possibly
ill-conditioned matrix.
"""

import numpy as np
from scipy import linalg

from . import _gaussian_missing as missing
from ._base import BaseMixture
from ._gaussian_kernels import (
    complete_statistics,
    m_step_complete,
    parameters_from_statistics,
    quadratic_features,
    weighted_log_prob_complete,
)
from ._validation import check_data, check_nonneg_real

__all__ = ["GaussianMixture"]

_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


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
    learning_decay : float in (0.5, 1], default 0.6
        Online EM (:meth:`partial_fit`): the step size of call ``t`` is
        ``rho_t = (t + learning_offset) ** (-learning_decay)``.
    learning_offset : float >= 0, default 1.0
        Online EM: larger values make the first steps smaller (see :meth:`partial_fit`).
    init_sample_size : int, default 100_000
        Chunked EM (``fit`` on a Dask array or a memmap): the initialisation runs on this many
        rows drawn at random, or on all rows (then the fit is the in-memory one) when there are
        no more.

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

    Missing values (NaN, any covariance type): the E-step uses each row's observed coordinates
    (the marginal Gaussians of the components), the M-step the expected sufficient statistics
    (the conditional means of the missing coordinates, and their conditional covariances added
    to the second moments). This is exact EM for the observed-data likelihood, which ``score``,
    ``score_samples``, ``predict_proba``, ``predict``, ``bic`` and ``aic`` also use. Rows sharing a
    missingness pattern are processed together (patterns with few rows are stacked), and complete
    rows keep the fast path, so an iteration costs a small multiple of a complete-data one (see
    ``benchmarks/bench_gmm.py``); without NaN the computation is the complete-data one, unchanged.

    Examples
    --------
    >>> from mixlearn import GaussianMixture
    >>> from mixlearn.datasets import load_faithful
    >>> gm = GaussianMixture(2, random_state=0, tol=1e-8).fit(load_faithful())
    >>> round(gm.score(load_faithful()) * 272, 2)
    -1130.26

    Missing values are NaN. EM integrates them out, and ``impute`` fills them in with their
    conditional expectation (here from the eruption's duration):

    >>> import numpy as np
    >>> X = load_faithful().copy()
    >>> X[::4, 1] = np.nan  # every fourth waiting time lost
    >>> gm = GaussianMixture(2, random_state=0, tol=1e-8).fit(X)
    >>> X[0], gm.impute(X[:1]).round(1)
    (array([3.6, nan]), array([[ 3.6, 77.2]]))

    A Dask array (or a ``numpy.memmap``) larger than memory is fitted chunk by chunk, one pass
    per iteration, with the in-memory result (``pip install mixlearn[dask]``):

    >>> import dask.array as da
    >>> chunks = da.from_array(load_faithful(), chunks=(50, 2))
    >>> chunked = GaussianMixture(2, random_state=0, tol=1e-8).fit(chunks)
    >>> round(chunked.score(load_faithful()) * 272, 2)
    -1130.26
    """

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
        learning_decay=0.6,
        learning_offset=1.0,
        init_sample_size=100_000,
    ):
        super().__init__(
            n_components,
            tol=tol,
            max_iter=max_iter,
            n_init=n_init,
            init_params=init_params,
            weights_init=weights_init,
            means_init=means_init,
            random_state=random_state,
            warm_start=warm_start,
            callback=callback,
            learning_decay=learning_decay,
            learning_offset=learning_offset,
            init_sample_size=init_sample_size,
        )
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.covariances_init = covariances_init

    # -- validation ----------------------------------------------------------------------------
    def _check_X(self, X):
        return check_data(X, "X", ndim=2, allow_nan=True)

    def _validate_params(self, X):
        if self.covariance_type not in _COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {list(_COVARIANCE_TYPES)}, got {self.covariance_type!r}.")
        self._validate_common_params(X)
        check_nonneg_real(self.reg_covar, "reg_covar")
        k, d = self.n_components, X.shape[1]
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

    def _apply_init_values(self):
        super()._apply_init_values()
        if self.covariances_init is not None:
            self.covariances_ = np.array(self.covariances_init, dtype=float)
            self.precisions_cholesky_ = _precision_cholesky(self.covariances_, self.covariance_type, "covariances_init")

    def _prepare(self, X, shift=None):
        data = super()._prepare(X)
        if data.patterns is None:
            data.features = quadratic_features(data.X, self.covariance_type, shift)
        else:
            data.features = missing.missing_features(data.patterns, self.covariance_type, shift)
        return data

    def _chunk_X(self, block):
        # chunks were checked by the validation pass of a chunked fit (or come from a checked array)
        return np.asarray(block, dtype=float)

    # -- E-step: log densities -----------------------------------------------------------------
    def _estimate_weighted_log_prob(self, data):
        """(K, N) array of ``log pi_k + log N(x_n | mean_k, cov_k)`` (observed coordinates of ``x_n``)."""
        args = (self.weights_, self.means_, self.precisions_cholesky_, self.covariance_type)
        if data.patterns is None:
            return weighted_log_prob_complete(data.X, *args, data.features)
        return missing.weighted_log_prob(data.patterns, *args, self.covariances_, data.features)

    # -- M-step --------------------------------------------------------------------------------
    def _m_step(self, data, resp, sample_weight):
        """Weights, means and covariances from (K, N) responsibilities.

        With missing values, the sufficient statistics are their expectations given the
        observed values under the current parameters (conditional means, plus the conditional
        covariance of the missing coordinates in the second moments).
        """
        if data.patterns is None:
            params = m_step_complete(data.X, resp, sample_weight, self.covariance_type, self.reg_covar, data.features)
        else:
            params = missing.m_step(
                data.patterns,
                resp,
                sample_weight,
                self.means_,
                self.covariances_,
                self.covariance_type,
                self.reg_covar,
                data.features,
            )
        self.weights_, self.means_, self.covariances_ = params
        self.precisions_cholesky_ = _precision_cholesky(self.covariances_, self.covariance_type)

    # -- sufficient statistics (chunked and online EM) -----------------------------------------
    def _statistics(self, data, resp, sample_weight, shift):
        """``(sum r, sum r x, sum r x x^T)`` of ``data`` in coordinates shifted by ``shift`` (missing
        values replaced by their expected sufficient statistics under the current parameters)."""
        r = resp if sample_weight is None else resp * sample_weight
        features = data.features if data.features is not None and data.features[0] is shift else None
        if data.patterns is None:
            return complete_statistics(data.X, r, self.covariance_type, shift, features)
        return missing.statistics(data.patterns, r, self.means_, self.covariances_, self.covariance_type, shift, features)

    def _m_step_from_statistics(self, stats, shift):
        """The M-step from sufficient statistics (totals or averages); see ``_statistics``."""
        weights, means, cov = parameters_from_statistics(stats, shift, self.covariance_type, self.reg_covar)
        precisions_cholesky = _precision_cholesky(cov, self.covariance_type)
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = weights, means, cov, precisions_cholesky

    def _statistics_shift(self, column_means):
        return np.asarray(column_means, dtype=float)

    # -- missing values ------------------------------------------------------------------------
    def _impute(self, data, resp):
        return missing.impute(data.patterns, resp, self.means_, self.covariances_, self.covariance_type)

    def _sample_missing(self, data, labels, rng):
        return missing.sample_missing(data.patterns, labels, rng, self.means_, self.covariances_, self.covariance_type)

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
