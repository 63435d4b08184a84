"""Uses factory 2's probability of blue instead of red."""

def p_red(pi, p1, p2):
    pi = np.asarray(pi, dtype=float)
    return pi * p1 + (1 - pi) * (1 - p2)
