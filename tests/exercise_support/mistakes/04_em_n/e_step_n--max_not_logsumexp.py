"""Takes the best component's log-probability as log P(x_n) (a lost log-sum)."""

def e_step_n(x, weights, components):
    log_joint = log_likelihood_matrix(x, components) + np.log(np.asarray(weights, dtype=float))
    resp = np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
    return resp, float(np.mean(log_joint.max(axis=1)))
