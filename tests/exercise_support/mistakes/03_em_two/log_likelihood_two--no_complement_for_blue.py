"""Uses P(red) for blue marbles."""

def log_likelihood_two(x, pi, p1, p2):
    x = np.asarray(x)
    return float(x.size * np.log(pi * p1 + (1 - pi) * p2))
