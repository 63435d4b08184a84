"""Records the log-likelihoods only after each iteration, not at pi_init."""

def em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
    x = np.asarray(x)
    pi, previous, lls = pi_init, log_likelihood_two(x, pi_init, p1, p2), []
    for _ in range(max_iter):
        pi = m_step_two(e_step_two(x, pi, p1, p2))
        lls.append(log_likelihood_two(x, pi, p1, p2))
        if abs(lls[-1] - previous) / x.size < tol:
            break
        previous = lls[-1]
    return pi, lls
