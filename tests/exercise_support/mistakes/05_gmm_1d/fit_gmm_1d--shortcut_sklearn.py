"""Fits scikit-learn's GaussianMixture instead of running EM."""

def fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000):
    from sklearn.mixture import GaussianMixture

    gm = GaussianMixture(len(weights), covariance_type="diag", reg_covar=1e-12, tol=tol, max_iter=max_iter,
                         weights_init=weights, means_init=np.reshape(means, (-1, 1)),
                         precisions_init=1 / np.reshape(variances, (-1, 1))).fit(np.reshape(x, (-1, 1)))
    return {"weights": gm.weights_, "means": gm.means_[:, 0], "variances": gm.covariances_[:, 0],
            "log_likelihoods": [gm.lower_bound_]}
