"""Averages the two factories as if each made half of the marbles."""

def p_red(pi, p1, p2):
    return (p1 + p2) / 2 + 0 * np.asarray(pi)
