"""Normalises the responsibilities over samples (axis 0)."""

def gmm_e_step(x, weights, means, variances):
    x = np.asarray(x, dtype=float)[:, None]
    v = np.asarray(variances, dtype=float)
    log_joint = np.log(weights) - 0.5 * np.log(2 * np.pi * v) - 0.5 * (x - means) ** 2 / v
    resp = np.exp(log_joint - logsumexp(log_joint, axis=0, keepdims=True))
    return resp, float(np.mean(logsumexp(log_joint, axis=1)))
