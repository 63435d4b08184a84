"""Counts every coordinate, not only the observed ones, in the log(2 pi) term."""

def observed_log_density(mean, cov, x_row):
    mean, cov, x_row = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float), np.asarray(x_row, dtype=float)
    obs, _ = split_observed(x_row)
    diff = x_row[obs] - mean[obs]
    block = cov[np.ix_(obs, obs)]
    return float(-0.5 * (diff @ np.linalg.solve(block, diff) + np.linalg.slogdet(block)[1] + x_row.size * np.log(2 * np.pi)))
