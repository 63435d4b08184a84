"""Divides the weighted sums by N instead of N_k."""

def gmm_m_step(x, resp):
    x, resp = np.asarray(x, dtype=float), np.asarray(resp, dtype=float)
    nk = resp.sum(axis=0)
    means = resp.T @ x / x.size
    variances = np.sum(resp * (x[:, None] - means) ** 2, axis=0) / x.size
    return nk / x.size, means, variances
