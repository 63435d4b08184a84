"""Leaves out the mixing weights (the prior)."""

def gaussian_posterior(x, weights, means, stds):
    x = np.asarray(x, dtype=float)[:, None]
    log_joint = -np.log(stds) - 0.5 * ((x - means) / np.asarray(stds)) ** 2
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
