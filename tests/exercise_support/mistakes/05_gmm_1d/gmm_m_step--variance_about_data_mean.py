"""Measures each variance around the mean of all the data, not the component's mean."""

def gmm_m_step(x, resp):
    x, resp = np.asarray(x, dtype=float), np.asarray(resp, dtype=float)
    nk = resp.sum(axis=0)
    means = resp.T @ x / nk
    variances = np.sum(resp * (x[:, None] - x.mean()) ** 2, axis=0) / nk
    return nk / x.size, means, variances
