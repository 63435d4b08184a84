"""Calls mixlearn.posterior instead of computing the posterior."""

def gaussian_posterior(x, weights, means, stds):
    return ml.posterior(x, weights, [ml.Gaussian(m, s) for m, s in zip(means, stds)])
