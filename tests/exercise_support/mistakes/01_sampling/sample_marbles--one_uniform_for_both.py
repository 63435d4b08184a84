"""Reuses one uniform draw for the factory and the colour, which couples them."""

def sample_marbles(n, pi, p1, p2, rng):
    u = rng.random(n)
    z = (u >= pi).astype(int)
    x = (u < np.where(z == 0, p1, p2)).astype(int)
    return x, z
