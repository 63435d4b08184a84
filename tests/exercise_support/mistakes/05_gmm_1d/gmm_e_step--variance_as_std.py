"""Treats the variances as standard deviations."""

def gmm_e_step(x, weights, means, variances):
    x = np.asarray(x, dtype=float)[:, None]
    sd = np.asarray(variances, dtype=float)
    log_joint = np.log(weights) - np.log(sd) - 0.5 * np.log(2 * np.pi) - 0.5 * ((x - means) / sd) ** 2
    log_px = logsumexp(log_joint, axis=1, keepdims=True)
    return np.exp(log_joint - log_px), float(np.mean(log_px))
