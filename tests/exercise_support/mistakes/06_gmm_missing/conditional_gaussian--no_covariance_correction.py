"""The conditional mean is right, but the covariance is the marginal one (no - B S_om term)."""

def conditional_gaussian(mean, cov, x_row):
    mean, cov, x_row = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float), np.asarray(x_row, dtype=float)
    obs, mis = split_observed(x_row)
    B = cov[np.ix_(mis, obs)] @ np.linalg.inv(cov[np.ix_(obs, obs)])
    return mean[mis] + B @ (x_row[obs] - mean[obs]), cov[np.ix_(mis, mis)]
