"""Returns pi_k f_k(x_n) without dividing by p(x_n)."""

def e_step_n(x, weights, components):
    log_joint = log_likelihood_matrix(x, components) + np.log(np.asarray(weights, dtype=float))
    log_px = logsumexp(log_joint, axis=1)
    return np.exp(log_joint), float(np.mean(log_px))
