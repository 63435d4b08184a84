"""Log-sum-exp along the component axis, the one numerical trick EM needs."""

import numpy as np


def logsumexp_components(log_prob):
    """``log(sum_k exp(log_prob[k, :]))`` for a (K, N) array, without overflow or underflow.

    Columns whose entries are all ``-inf`` give ``-inf`` (not NaN).
    """
    top = log_prob.max(axis=0)
    safe_top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return safe_top + np.log(np.exp(log_prob - safe_top).sum(axis=0))
