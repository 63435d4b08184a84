"""Always starts from uniform weights."""

def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
    k = len(components)
    weights = np.full(k, 1.0 / k)
    resp, ll = e_step_n(x, weights, components)
    lls = [ll]
    for _ in range(max_iter):
        weights = m_step_n(resp)
        resp, ll = e_step_n(x, weights, components)
        lls.append(ll)
        if abs(lls[-1] - lls[-2]) < tol:
            break
    return weights, lls
