"""Calls mixlearn's em_two_components instead of running EM."""

def em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
    res = ml.em_two_components(x, p1, p2, pi_init=pi_init, tol=tol, max_iter=max_iter)
    return res.weights[0], list(res.history["log_likelihood"])
