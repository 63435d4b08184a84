"""Updates weights and means but keeps the starting variances."""

def fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000):
    x = np.asarray(x, dtype=float)
    resp, ll = gmm_e_step(x, weights, means, variances)
    lls = [ll]
    for _ in range(max_iter):
        weights, means, _ = gmm_m_step(x, resp)
        resp, ll = gmm_e_step(x, weights, means, variances)
        lls.append(ll)
        if abs(lls[-1] - lls[-2]) < tol:
            break
    return {"weights": weights, "means": means, "variances": variances, "log_likelihoods": lls}
