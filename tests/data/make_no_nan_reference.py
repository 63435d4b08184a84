"""Write ``no_nan_reference.npz``: fits of the estimators on data WITHOUT missing values.

The file was written by the code of commit 7aebd0c (before NaN support), run as

    cd /tmp && PYTHONPATH=<checkout of 7aebd0c> python <this file> <output.npz>

``tests/test_missing_values.py`` refits the same problems with today's code and asserts
``np.array_equal`` on every array: supporting missing values must not change a single bit of
the fit on complete data (same iterations, same arithmetic).
"""

import os
import platform
import sys
import warnings

import numpy as np

import mixlearn
from mixlearn import BernoulliMixture, GaussianMixture


def gaussian_data(n=300, d=3, offset=0.0, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(3, d))
    labels = rng.integers(3, size=n)
    A = rng.normal(size=(d, d)) * 0.5 + np.eye(d)
    return centers[labels] + rng.normal(size=(n, d)) @ A + offset


def binary_data(n=300, d=6, seed=1):
    rng = np.random.default_rng(seed)
    protos = rng.uniform(0.05, 0.95, size=(3, d))
    return (rng.random((n, d)) < protos[rng.integers(3, size=n)]).astype(float)


def gaussian_cases():
    X, Xoff, Xt = gaussian_data(), gaussian_data(offset=3e7, seed=2), gaussian_data(50, seed=3)
    w = np.random.default_rng(4).uniform(0.2, 2.0, size=300)
    for ctype in ("full", "tied", "diag", "spherical"):
        for init in ("k-means++", "kmeans", "random", "random_from_data"):
            yield f"{ctype}-{init}", GaussianMixture(3, covariance_type=ctype, init_params=init, random_state=0,
                                                     tol=1e-6, n_init=2), X, None, Xt
        yield f"{ctype}-weighted", GaussianMixture(3, covariance_type=ctype, random_state=1), X, w, Xt
        yield f"{ctype}-offset", GaussianMixture(2, covariance_type=ctype, random_state=0, max_iter=30), Xoff, None, Xoff[:40]
        yield f"{ctype}-inits", GaussianMixture(
            3, covariance_type=ctype, random_state=0, weights_init=[0.2, 0.3, 0.5], means_init=X[:3]
        ), X, None, Xt


def bernoulli_cases():
    B = binary_data()
    w = np.random.default_rng(5).uniform(0.2, 2.0, size=300)
    for init in ("k-means++", "kmeans", "random", "random_from_data"):
        yield f"bern-{init}", BernoulliMixture(3, init_params=init, random_state=0, tol=1e-8, n_init=2), B, None, B[:40]
    yield "bern-weighted", BernoulliMixture(3, random_state=2), B, w, B[:40]
    inits = dict(weights_init=[0.2, 0.3, 0.5], means_init=B[:3] * 0.8 + 0.1)
    yield "bern-inits", BernoulliMixture(3, random_state=0, **inits), B, None, B[:40]


def outputs(model, X, sample_weight, Xt):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, sample_weight=sample_weight)
        out = {
            "weights": model.weights_, "means": model.means_, "n_iter": np.array(model.n_iter_),
            "lower_bound": np.array(model.lower_bound_), "ll": model.history_["log_likelihood"],
            "hist_weights": model.history_["weights"], "score_samples": model.score_samples(Xt),
            "proba": model.predict_proba(Xt), "predict": model.predict(Xt), "bic": np.array(model.bic(Xt)),
            "sample": model.sample(7, random_state=3)[0],
        }
        if hasattr(model, "covariances_"):
            out["covariances"] = model.covariances_
            out["precisions_cholesky"] = model.precisions_cholesky_
        model.set_params(warm_start=True, max_iter=3)
        model.fit(X, sample_weight=sample_weight)
        out["warm_means"] = model.means_
        out["warm_ll"] = model.history_["log_likelihood"]
    return out


def environment():
    """What the bits depend on besides the code: numpy (and its BLAS) and the CPU kernels."""
    return f"numpy {np.__version__}, {platform.machine()}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}"


def all_outputs():
    arrays = {}
    for name, model, X, w, Xt in [*gaussian_cases(), *bernoulli_cases()]:
        for key, value in outputs(model, X, w, Xt).items():
            arrays[f"{name}/{key}"] = np.asarray(value)
    return arrays


if __name__ == "__main__":
    print("mixlearn from", mixlearn.__file__)
    np.savez_compressed(sys.argv[1], environment=np.array(environment()), **all_outputs())
