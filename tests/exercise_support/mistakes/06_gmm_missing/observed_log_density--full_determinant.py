"""Uses the observed block in the quadratic form but the determinant of the whole covariance."""

def observed_log_density(mean, cov, x_row):
    mean, cov, x_row = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float), np.asarray(x_row, dtype=float)
    obs, _ = split_observed(x_row)
    diff = x_row[obs] - mean[obs]
    maha = diff @ np.linalg.solve(cov[np.ix_(obs, obs)], diff)
    return float(-0.5 * (maha + np.linalg.slogdet(cov)[1] + obs.size * np.log(2 * np.pi)))
