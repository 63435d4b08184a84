"""Mixtures of multivariate Bernoulli distributions (binary feature vectors), fitted by EM.

Component ``k`` switches feature ``j`` on with probability ``theta_kj = means_[k, j]``
independently of the other features (the book's component parameter ``theta_k`` is the vector
of these probabilities), so

    log f_k(x) = sum_j x_j log theta_kj + (1 - x_j) log(1 - theta_kj).

Typical data: binarised images of digits, yes/no questionnaires, presence/absence tables.
"""

from numbers import Real

import numpy as np

from ._base import BaseMixture
from ._validation import check_binary, check_data, check_nonneg_real

__all__ = ["BernoulliMixture"]


class BernoulliMixture(BaseMixture):
    """Mixture of independent-feature Bernoulli distributions fitted by EM.

    Parameters
    ----------
    n_components : int, default 1
    tol : float, default 1e-3
        Stop when the mean log-likelihood per sample changes by less than ``tol``.
    min_prob : float, default 1e-10
        Success probabilities are kept inside ``[min_prob, 1 - min_prob]`` so that a feature
        never seen on in a component does not make a later sample impossible (log 0).
    max_iter : int, default 100
    n_init : int, default 1
    init_params : {"k-means++", "kmeans", "random", "random_from_data"}, default "k-means++"
    weights_init : array-like (n_components,), optional
    means_init : array-like (n_components, n_features), optional
        Starting success probabilities in [0, 1].
    random_state : None, int or numpy Generator
    warm_start : bool, default False
    callback : callable, optional
        ``callback(model, iteration)`` after every EM iteration.
    binarize : None or float, default None
        None: ``X`` must hold 0 and 1 (and NaN for missing entries). A number ``t``: values
        above ``t`` count as 1, the others as 0 (NaN stays missing), as scikit-learn's
        ``BernoulliNB(binarize=t)`` does.
    learning_decay : float in (0.5, 1], default 0.6
        Online EM (:meth:`partial_fit`): the step size of call ``t`` is
        ``rho_t = (t + learning_offset) ** (-learning_decay)``.
    learning_offset : float >= 0, default 1.0
        Online EM: larger values make the first steps smaller (see :meth:`partial_fit`).
    init_sample_size : int, default 100_000
        Chunked EM (``fit`` on a Dask array or a memmap): the initialisation runs on this many
        rows drawn at random, or on all rows (then the fit is the in-memory one) when there are
        no more.

    Missing entries (NaN) are latent variables: the likelihood is that of the observed entries,
    and :meth:`impute` gives the conditional probability that a missing entry is 1.

    Attributes
    ----------
    weights_ : ndarray (n_components,)
    means_ : ndarray (n_components, n_features)
        Success probability of each feature in each component.
    converged_, n_iter_, lower_bound_, history_
        As in :class:`mixlearn.GaussianMixture`.

    Examples
    --------
    >>> import numpy as np
    >>> from mixlearn import BernoulliMixture
    >>> rng = np.random.default_rng(0)
    >>> protos = np.array([[0.9, 0.9, 0.1, 0.1], [0.1, 0.1, 0.9, 0.9]])
    >>> X = (rng.random((500, 4)) < protos[rng.integers(2, size=500)]).astype(int)
    >>> bm = BernoulliMixture(2, random_state=0).fit(X)
    >>> np.sort(bm.means_[:, 0]).round(1).tolist()
    [0.1, 0.9]

    With a missing entry, the others say which prototype the row follows:

    >>> bm.impute([[1, 1, 0, np.nan]]).round(1)
    array([[1. , 1. , 0. , 0.1]])
    """

    def __init__(
        self,
        n_components=1,
        *,
        tol=1e-3,
        min_prob=1e-10,
        max_iter=100,
        n_init=1,
        init_params="k-means++",
        weights_init=None,
        means_init=None,
        random_state=None,
        warm_start=False,
        callback=None,
        binarize=None,
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
        self.min_prob = min_prob
        self.binarize = binarize

    def _check_X(self, X):
        if self.binarize is None:
            return check_binary(X, "X", ndim=2, allow_nan=True)
        if isinstance(self.binarize, bool) or not isinstance(self.binarize, (Real, np.integer, np.floating)):
            raise TypeError(f"binarize must be None or a number (the threshold), got {self.binarize!r}.")
        arr = check_data(X, "X", ndim=2, allow_nan=True)
        return np.where(np.isnan(arr), np.nan, (arr > self.binarize).astype(float))

    def _validate_params(self, X):
        self._validate_common_params(X)
        if check_nonneg_real(self.min_prob, "min_prob") >= 0.5:
            raise ValueError(f"min_prob must be < 0.5, got {self.min_prob}.")

    def _check_means_init(self, means):
        if np.any((means < 0) | (means > 1)):
            raise ValueError("means_init must hold probabilities in [0, 1].")

    def _get_parameters(self):
        return (self.weights_, self.means_)

    def _set_parameters(self, params):
        self.weights_, self.means_ = params

    def _apply_init_values(self):
        super()._apply_init_values()
        if self.means_init is not None:
            self.means_ = np.clip(self.means_, self.min_prob, 1 - self.min_prob)

    # E-step: log densities, (K, N); a missing entry contributes nothing (summed out)
    def _estimate_weighted_log_prob(self, data):
        log_on = np.log(self.means_)
        log_off = np.log1p(-self.means_)
        if data.patterns is None:
            out = (log_on - log_off) @ data.X.T
            out += (log_off.sum(axis=1) + np.log(self.weights_))[:, None]
            return out
        out = (log_on - log_off) @ data.patterns.X0.T
        out += log_off @ data.patterns.observed.T
        out += np.log(self.weights_)[:, None]
        return out

    # M-step; a missing entry counts with its expectation under the current parameters, theta_kj
    def _m_step(self, data, resp, sample_weight):
        self._m_step_from_statistics(self._statistics(data, resp, sample_weight, None), None)

    # sufficient statistics: sum r and sum r x (totals or averages; the M-step takes ratios)
    def _statistics(self, data, resp, sample_weight, shift):
        if sample_weight is not None:
            resp = resp * sample_weight
        nk = resp.sum(axis=1)
        if data.patterns is None:
            successes = resp @ data.X
        else:
            successes = resp @ data.patterns.X0 + (resp @ (1.0 - data.patterns.observed)) * self.means_
        return nk, successes

    def _m_step_from_statistics(self, stats, shift):
        nk, successes = stats
        nk = nk + 10 * np.finfo(float).eps
        self.weights_ = nk / nk.sum()
        self.means_ = np.clip(successes / nk[:, None], self.min_prob, 1 - self.min_prob)

    def _statistics_shift(self, column_means):
        return None

    # missing values: E[x_j | x^o] = sum_k P(z = k | x^o) theta_kj, since features are independent given z
    def _impute(self, data, resp):
        p = data.patterns
        return np.where(p.observed > 0, p.X0, resp.T @ self.means_)

    def _sample_missing(self, data, labels, rng):
        p = data.patterns
        draws = (rng.random(p.X0.shape) < self.means_[labels]).astype(float)
        return np.where(p.observed > 0, p.X0, draws)

    def _n_parameters(self):
        k, d = self.means_.shape
        return int(k * d + k - 1)

    def _sample(self, counts, rng):
        labels = np.repeat(np.arange(self.n_components), counts)
        return (rng.random((labels.size, self.means_.shape[1])) < self.means_[labels]).astype(int)
