"""Drops the sign of the difference."""

def z_score(x, pi, p1, p2):
    x = np.asarray(x)
    p = p_red(pi, p1, p2)
    return abs(x.mean() - p) / np.sqrt(p * (1 - p) / x.size)
