"""Codes factory 1 as 1, so z == 0 happens with probability 1 - pi."""

def sample_marbles(n, pi, p1, p2, rng):
    z = (rng.random(n) < pi).astype(int)
    x = (rng.random(n) < np.where(z == 1, p1, p2)).astype(int)
    return x, z
