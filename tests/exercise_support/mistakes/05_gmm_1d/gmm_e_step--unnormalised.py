"""Returns the weighted densities without normalising them."""

def gmm_e_step(x, weights, means, variances):
    x = np.asarray(x, dtype=float)[:, None]
    v = np.asarray(variances, dtype=float)
    log_joint = np.log(weights) - 0.5 * np.log(2 * np.pi * v) - 0.5 * (x - means) ** 2 / v
    return np.exp(log_joint), float(np.mean(logsumexp(log_joint, axis=1)))
