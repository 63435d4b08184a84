"""Uses P(red) for blue marbles as well."""

def e_step_two(x, pi, p1, p2):
    x = np.asarray(x)
    r = pi * p1 / (pi * p1 + (1 - pi) * p2)
    return np.full(x.shape, r)
