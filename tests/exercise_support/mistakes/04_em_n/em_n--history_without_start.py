"""Records the log-likelihood only after each iteration."""

def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
    k = len(components)
    weights = np.full(k, 1.0 / k) if weights_init is None else np.asarray(weights_init, dtype=float)
    resp, previous = e_step_n(x, weights, components)
    lls = []
    for _ in range(max_iter):
        weights = m_step_n(resp)
        resp, ll = e_step_n(x, weights, components)
        lls.append(ll)
        if abs(ll - previous) < tol:
            break
        previous = ll
    return weights, lls
