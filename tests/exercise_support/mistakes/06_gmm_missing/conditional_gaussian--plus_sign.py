"""Adds the correction to the covariance instead of subtracting it (more uncertain, not less)."""

def conditional_gaussian(mean, cov, x_row):
    mean, cov, x_row = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float), np.asarray(x_row, dtype=float)
    obs, mis = split_observed(x_row)
    B = np.linalg.solve(cov[np.ix_(obs, obs)], cov[np.ix_(obs, mis)]).T
    return mean[mis] + B @ (x_row[obs] - mean[obs]), cov[np.ix_(mis, mis)] + B @ cov[np.ix_(obs, mis)]
