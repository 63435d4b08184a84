"""Mixtures of multivariate Bernoulli distributions (binary feature vectors), fitted by EM.

Component ``k`` switches feature ``d`` on with probability ``means_[k, d]``
independently of the other features, so

    log p(x | k) = sum_d x_d log mu_kd + (1 - x_d) log(1 - mu_kd).

Typical data: binarised images of digits, yes/no questionnaires, presence/absence tables.
"""

import numpy as np

from ._base import BaseMixture, initial_responsibilities
from ._validation import check_binary, check_data, check_nonneg_real, check_weights

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
    """

    _init_methods = ("k-means++", "kmeans", "random", "random_from_data")

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
    ):
        self.n_components = n_components
        self.tol = tol
        self.min_prob = min_prob
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.callback = callback

    def _check_X(self, X):
        return check_binary(X, "X", ndim=2)

    def _validate_params(self, X):
        self._validate_common_params(X.shape[0])
        if check_nonneg_real(self.min_prob, "min_prob") >= 0.5:
            raise ValueError(f"min_prob must be < 0.5, got {self.min_prob}.")
        if self.weights_init is not None:
            check_weights(self.weights_init, self.n_components, "weights_init")
        if self.means_init is not None:
            means = check_data(self.means_init, "means_init", ndim=2)
            if means.shape != (self.n_components, X.shape[1]):
                raise ValueError(f"means_init must have shape ({self.n_components}, {X.shape[1]}), got {means.shape}.")
            if np.any((means < 0) | (means > 1)):
                raise ValueError("means_init must hold probabilities in [0, 1].")

    def _get_parameters(self):
        return (self.weights_, self.means_)

    def _set_parameters(self, params):
        self.weights_, self.means_ = params

    def _initialize(self, X, sample_weight, rng):
        resp = initial_responsibilities(X, self.n_components, self.init_params, rng)
        self._m_step(X, resp, sample_weight)
        if self.weights_init is not None:
            self.weights_ = check_weights(self.weights_init, self.n_components, "weights_init")
        if self.means_init is not None:
            self.means_ = np.clip(np.array(self.means_init, dtype=float), self.min_prob, 1 - self.min_prob)

    # E-step: log densities, (K, N)
    def _estimate_weighted_log_prob(self, X):
        log_on = np.log(self.means_)
        log_off = np.log1p(-self.means_)
        out = (log_on - log_off) @ X.T
        out += (log_off.sum(axis=1) + np.log(self.weights_))[:, None]
        return out

    # M-step
    def _m_step(self, X, resp, sample_weight):
        if sample_weight is not None:
            resp = resp * sample_weight
        nk = resp.sum(axis=1) + 10 * np.finfo(float).eps
        self.weights_ = nk / nk.sum()
        self.means_ = np.clip((resp @ X) / nk[:, None], self.min_prob, 1 - self.min_prob)

    def _n_parameters(self):
        k, d = self.means_.shape
        return int(k * d + k - 1)

    def _sample(self, counts, rng):
        labels = np.repeat(np.arange(self.n_components), counts)
        return (rng.random((labels.size, self.means_.shape[1])) < self.means_[labels]).astype(int)
