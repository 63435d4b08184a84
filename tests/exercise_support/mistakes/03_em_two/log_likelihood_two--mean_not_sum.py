"""Returns the mean log-likelihood per marble instead of the total."""

def log_likelihood_two(x, pi, p1, p2):
    x = np.asarray(x)
    red = pi * p1 + (1 - pi) * p2
    return float(np.mean(np.where(x == 1, np.log(red), np.log1p(-red))))
