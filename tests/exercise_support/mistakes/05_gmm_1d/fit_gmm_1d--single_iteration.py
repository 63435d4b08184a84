"""Returns after the first iteration."""

def fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000):
    x = np.asarray(x, dtype=float)
    resp, ll = gmm_e_step(x, weights, means, variances)
    lls = [ll]
    weights, means, variances = gmm_m_step(x, resp)
    lls.append(gmm_e_step(x, weights, means, variances)[1])
    return {"weights": weights, "means": means, "variances": variances, "log_likelihoods": lls}
