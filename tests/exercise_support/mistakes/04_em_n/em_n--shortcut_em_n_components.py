"""Calls mixlearn's em_n_components instead of running EM."""

def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
    res = ml.em_n_components(x, components, weights_init=weights_init, tol=tol, max_iter=max_iter)
    return res.weights, list(res.history["log_likelihood"] / len(x))
