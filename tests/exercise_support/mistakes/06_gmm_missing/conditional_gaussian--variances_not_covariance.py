"""Divides by the observed variances one at a time, as if the observed coordinates were uncorrelated."""

def conditional_gaussian(mean, cov, x_row):
    mean, cov, x_row = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float), np.asarray(x_row, dtype=float)
    obs, mis = split_observed(x_row)
    B = cov[np.ix_(mis, obs)] / np.diag(cov)[obs]
    return mean[mis] + B @ (x_row[obs] - mean[obs]), cov[np.ix_(mis, mis)] - B @ cov[np.ix_(obs, mis)]
