"""Divides each factory's red count by the number of all marbles."""

def red_fraction_by_factory(x, z):
    x, z = np.asarray(x), np.asarray(z)
    out = np.array([x[z == 0].sum(), x[z == 1].sum()]) / x.size
    out[[not np.any(z == 0), not np.any(z == 1)]] = np.nan
    return out
