"""Divides each factory's red count by the number of all marbles."""

def red_fraction_by_factory(x, c):
    x, c = np.asarray(x), np.asarray(c)
    out = np.array([x[c == 0].sum(), x[c == 1].sum()]) / x.size
    out[[not np.any(c == 0), not np.any(c == 1)]] = np.nan
    return out
