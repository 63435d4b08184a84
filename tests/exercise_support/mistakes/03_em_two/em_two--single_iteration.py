"""Returns inside the loop, after one iteration."""

def em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
    x = np.asarray(x)
    pi = pi_init
    lls = [log_likelihood_two(x, pi, p1, p2)]
    for _ in range(max_iter):
        pi = m_step_two(e_step_two(x, pi, p1, p2))
        lls.append(log_likelihood_two(x, pi, p1, p2))
        return pi, lls
