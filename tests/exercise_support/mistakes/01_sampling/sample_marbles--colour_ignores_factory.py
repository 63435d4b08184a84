"""Draws every colour with factory 1's red probability."""

def sample_marbles(n, pi, p1, p2, rng):
    z = (rng.random(n) >= pi).astype(int)
    x = (rng.random(n) < p1).astype(int)
    return x, z
