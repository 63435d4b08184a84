"""Gives factory 1's weight to factory 2 and vice versa."""

def p_red(pi, p1, p2):
    pi = np.asarray(pi, dtype=float)
    return (1 - pi) * p1 + pi * p2
