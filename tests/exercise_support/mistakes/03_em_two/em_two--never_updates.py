"""Computes the M-step but keeps using pi_init."""

def em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
    x = np.asarray(x)
    pi = pi_init
    lls = [log_likelihood_two(x, pi, p1, p2)]
    for _ in range(max_iter):
        new_pi = m_step_two(e_step_two(x, pi, p1, p2))
        lls.append(log_likelihood_two(x, pi, p1, p2))
        if abs(lls[-1] - lls[-2]) / x.size < tol:
            break
    return pi, lls
