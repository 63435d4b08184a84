"""Multiplies the probabilities and takes the log at the end (underflows to -inf)."""

def log_likelihood_two(x, pi, p1, p2):
    x = np.asarray(x)
    red = pi * p1 + (1 - pi) * p2
    return float(np.log(np.prod(np.where(x == 1, red, 1 - red))))
