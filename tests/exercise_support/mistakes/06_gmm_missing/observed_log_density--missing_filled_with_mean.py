"""Fills the missing values with the component's mean and evaluates the full D-dimensional density."""

def observed_log_density(mean, cov, x_row):
    mean, cov, x_row = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float), np.asarray(x_row, dtype=float)
    filled = np.where(np.isnan(x_row), mean, x_row)
    return float(stats.multivariate_normal(mean, cov).logpdf(filled))
