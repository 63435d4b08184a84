"""Returns the posterior of the wrong factory."""

def marble_posterior(x, pi, p1, p2):
    x = np.asarray(x)
    joint1 = pi * np.where(x == 1, p1, 1 - p1)
    joint2 = (1 - pi) * np.where(x == 1, p2, 1 - p2)
    return joint2 / (joint1 + joint2)
