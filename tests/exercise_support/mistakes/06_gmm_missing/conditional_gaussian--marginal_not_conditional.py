"""Returns the marginal of the missing coordinates, ignoring what the observed ones say about them."""

def conditional_gaussian(mean, cov, x_row):
    mean, cov, x_row = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float), np.asarray(x_row, dtype=float)
    obs, mis = split_observed(x_row)
    return mean[mis], cov[np.ix_(mis, mis)]
