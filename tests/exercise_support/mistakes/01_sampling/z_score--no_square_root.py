"""Divides by the variance of the fraction instead of its standard error."""

def z_score(x, pi, p1, p2):
    x = np.asarray(x)
    p = p_red(pi, p1, p2)
    return (x.mean() - p) / (p * (1 - p) / x.size)
