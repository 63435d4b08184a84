"""Takes the log of the density, which is -inf where the density underflowed."""

def log_likelihood_matrix(x, components):
    x = np.asarray(x)
    with np.errstate(divide="ignore"):
        return np.column_stack([np.log(comp.pdf(x)) for comp in components])
