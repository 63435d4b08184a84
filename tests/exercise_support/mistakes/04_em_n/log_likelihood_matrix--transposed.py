"""Returns the (K, N) array instead of (N, K)."""

def log_likelihood_matrix(x, components):
    x = np.asarray(x)
    return np.array([comp.logpdf(x) for comp in components])
