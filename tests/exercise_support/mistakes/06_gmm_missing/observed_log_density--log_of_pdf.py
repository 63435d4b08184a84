"""Takes the log of the density, which has underflowed to 0 far in the tails (-inf)."""

def observed_log_density(mean, cov, x_row):
    mean, cov, x_row = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float), np.asarray(x_row, dtype=float)
    obs, _ = split_observed(x_row)
    with np.errstate(divide="ignore"):
        return float(np.log(stats.multivariate_normal(mean[obs], cov[np.ix_(obs, obs)]).pdf(x_row[obs])))
