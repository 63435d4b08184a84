"""Leaves the weights out of the responsibilities and the likelihood."""

def e_step_n(x, weights, components):
    log_lik = log_likelihood_matrix(x, components)
    log_px = logsumexp(log_lik, axis=1, keepdims=True)
    return np.exp(log_lik - log_px), float(np.mean(log_px))
