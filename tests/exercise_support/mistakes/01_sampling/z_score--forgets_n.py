"""Uses the standard deviation of one marble, not of the fraction of n marbles."""

def z_score(x, pi, p1, p2):
    x = np.asarray(x)
    p = p_red(pi, p1, p2)
    return (x.mean() - p) / np.sqrt(p * (1 - p))
