"""Returns 0 instead of nan for a factory without marbles."""

def red_fraction_by_factory(x, c):
    x, c = np.asarray(x), np.asarray(c)
    return np.array([x[c == k].sum() / max((c == k).sum(), 1) for k in (0, 1)])
