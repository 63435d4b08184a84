"""Normalises the likelihoods without multiplying by the prior."""

def marble_posterior(x, pi, p1, p2):
    x = np.asarray(x)
    like1 = np.where(x == 1, p1, 1 - p1)
    like2 = np.where(x == 1, p2, 1 - p2)
    return like1 / (like1 + like2)
