"""Returns 0 instead of nan for a factory without marbles."""

def red_fraction_by_factory(x, z):
    x, z = np.asarray(x), np.asarray(z)
    return np.array([x[z == k].sum() / max((z == k).sum(), 1) for k in (0, 1)])
