"""Builds a one-component mixlearn.GaussianMixture and asks it for score_samples on the row with NaN."""

def observed_log_density(mean, cov, x_row):
    mean, cov = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float)
    gm = ml.GaussianMixture(1, covariance_type="full")
    lower = np.linalg.cholesky(np.linalg.inv(cov))
    gm.n_features_in_ = mean.size
    gm._set_parameters((np.ones(1), mean[None], cov[None], lower[None]))
    return float(gm.score_samples(np.asarray(x_row, dtype=float)[None])[0])
