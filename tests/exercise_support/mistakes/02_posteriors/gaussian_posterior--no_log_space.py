"""Multiplies densities directly, which gives 0/0 far in the tails."""

def gaussian_posterior(x, weights, means, stds):
    x = np.asarray(x, dtype=float)[:, None]
    stds = np.asarray(stds, dtype=float)
    joint = np.asarray(weights) * np.exp(-0.5 * ((x - means) / stds) ** 2) / (stds * np.sqrt(2 * np.pi))
    return joint / joint.sum(axis=1, keepdims=True)
