"""Normalises over samples (axis 0) instead of components."""

def e_step_n(x, weights, components):
    log_joint = log_likelihood_matrix(x, components) + np.log(np.asarray(weights, dtype=float))
    resp = np.exp(log_joint - logsumexp(log_joint, axis=0, keepdims=True))
    return resp, float(np.mean(logsumexp(log_joint, axis=1)))
