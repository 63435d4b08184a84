"""Codes factory 1 as 1, so c == 0 happens with probability 1 - pi."""

def sample_marbles(n, pi, p1, p2, rng):
    c = (rng.random(n) < pi).astype(int)
    x = (rng.random(n) < np.where(c == 1, p1, p2)).astype(int)
    return x, c
