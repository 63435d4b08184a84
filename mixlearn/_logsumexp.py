"""Log-sum-exp along the component axis, the one numerical trick EM needs, and the E-step's
normalisation built on it."""

import numpy as np


def logsumexp_components(log_prob):
    """``log(sum_k exp(log_prob[k, :]))`` for a (K, N) array, without overflow or underflow.

    Columns whose entries are all ``-inf`` give ``-inf`` (not NaN).
    """
    top = log_prob.max(axis=0)
    safe_top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return safe_top + np.log(np.exp(log_prob - safe_top).sum(axis=0))


def normalize_components(log_joint):
    """Bayes' rule in log space for a (K, N) array of ``log pi_k + log f_k(x_n)`` (the log joint of ``z_n = k`` and ``x_n``).

    Returns ``(resp, log_px)``: the responsibilities ``gamma[n, k] = P(z_n = k | x_n)`` (K, N) and
    ``log P(x_n)`` (N,). Works in place on ``log_joint`` (one ``exp`` per entry). Columns whose
    entries are all ``-inf`` give ``log_px = -inf`` and NaN responsibilities: callers check
    ``log_px`` and raise a clear error first.
    """
    top = log_joint.max(axis=0)
    safe_top = np.where(np.isfinite(top), top, 0.0)
    log_joint -= safe_top
    resp = np.exp(log_joint, out=log_joint)
    total = resp.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        resp /= total
        return resp, safe_top + np.log(total)
