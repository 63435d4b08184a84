"""Ignores rng and draws from NumPy's global generator (not reproducible)."""

def sample_marbles(n, pi, p1, p2, rng):
    z = (np.random.random(n) >= pi).astype(int)
    x = (np.random.random(n) < np.where(z == 0, p1, p2)).astype(int)
    return x, z
