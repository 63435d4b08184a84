"""Exponentiates before normalising (0/0 far in the tails)."""

def e_step_n(x, weights, components):
    joint = np.exp(log_likelihood_matrix(x, components)) * np.asarray(weights, dtype=float)
    px = joint.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return joint / px, float(np.mean(np.log(px)))
