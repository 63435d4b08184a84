"""Puts factory 2 first."""

def red_fraction_by_factory(x, z):
    x, z = np.asarray(x), np.asarray(z)
    return np.array([x[z == k].mean() if np.any(z == k) else np.nan for k in (1, 0)])
