"""Averages the responsibilities over components for the weights."""

def gmm_m_step(x, resp):
    x, resp = np.asarray(x, dtype=float), np.asarray(resp, dtype=float)
    nk = resp.sum(axis=0)
    means = resp.T @ x / nk
    variances = np.sum(resp * (x[:, None] - means) ** 2, axis=0) / nk
    return resp.mean(axis=1), means, variances
