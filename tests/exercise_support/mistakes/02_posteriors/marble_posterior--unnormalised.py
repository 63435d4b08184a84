"""Returns the joint probability P(factory 1, x) instead of the posterior."""

def marble_posterior(x, pi, p1, p2):
    x = np.asarray(x)
    return pi * np.where(x == 1, p1, 1 - p1)
