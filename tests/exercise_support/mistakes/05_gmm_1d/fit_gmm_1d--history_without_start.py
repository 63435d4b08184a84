"""Records the log-likelihood only after each iteration."""

def fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000):
    x = np.asarray(x, dtype=float)
    resp, previous = gmm_e_step(x, weights, means, variances)
    lls = []
    for _ in range(max_iter):
        weights, means, variances = gmm_m_step(x, resp)
        resp, ll = gmm_e_step(x, weights, means, variances)
        lls.append(ll)
        if abs(ll - previous) < tol:
            break
        previous = ll
    return {"weights": weights, "means": means, "variances": variances, "log_likelihoods": lls}
