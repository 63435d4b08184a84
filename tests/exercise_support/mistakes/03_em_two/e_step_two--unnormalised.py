"""Returns pi * P(x | factory 1) without dividing by P(x)."""

def e_step_two(x, pi, p1, p2):
    x = np.asarray(x)
    return pi * np.where(x == 1, p1, 1 - p1)
