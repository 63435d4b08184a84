"""Stops after one EM iteration (the break is in the wrong place)."""

def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
    k = len(components)
    weights = np.full(k, 1.0 / k) if weights_init is None else np.asarray(weights_init, dtype=float)
    resp, ll = e_step_n(x, weights, components)
    lls = [ll]
    for _ in range(max_iter):
        weights = m_step_n(resp)
        resp, ll = e_step_n(x, weights, components)
        lls.append(ll)
        break
    return weights, lls
