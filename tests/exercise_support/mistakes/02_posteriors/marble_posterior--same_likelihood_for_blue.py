"""Uses P(red) as the likelihood of a blue marble too."""

def marble_posterior(x, pi, p1, p2):
    x = np.asarray(x)
    joint1 = pi * p1 * np.ones(x.shape)
    joint2 = (1 - pi) * p2 * np.ones(x.shape)
    return joint1 / (joint1 + joint2)
