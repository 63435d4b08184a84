"""EM at scale: chunked EM on Dask arrays and memmaps, and online EM (``partial_fit``).

Oracles: the in-memory fit (chunked EM adds the same sums in another order, so from the same start
it must give the same iterations and log-likelihoods); one batch EM iteration (online EM with
``learning_decay=1, learning_offset=0`` on one batch); repeated rows (integer sample weights);
the truth of a simulated stream, with the error shrinking as the step size says. The Dask
schedulers are real (the local threaded one and a ``distributed`` LocalCluster); nothing is mocked.
"""

import itertools
import subprocess
import sys
import warnings

import numpy as np
import pytest

from mixlearn import BernoulliMixture, GaussianMixture
from mixlearn.exceptions import ConvergenceWarning

da = pytest.importorskip("dask.array")

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def gaussian_data(n=400, missing=0.0, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    centres = np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 1.0], [0.0, 4.0, -1.0]])
    X = centres[labels] + rng.standard_normal((n, 3)) @ np.array([[1.0, 0.3, 0.0], [0.0, 1.0, 0.2], [0.0, 0.0, 0.8]])
    if missing:
        X[rng.random(X.shape) < missing] = np.nan
        empty = np.isnan(X).all(axis=1)
        X[empty, 0] = 0.5  # every row keeps an observed value
    return X


def bernoulli_data(n=400, missing=0.0, seed=0):
    rng = np.random.default_rng(seed)
    protos = np.array([[0.9, 0.8, 0.1, 0.2, 0.5], [0.1, 0.2, 0.9, 0.7, 0.5]])
    X = (rng.random((n, 5)) < protos[rng.integers(2, size=n)]).astype(float)
    if missing:
        X[rng.random(X.shape) < missing] = np.nan
        X[np.isnan(X).all(axis=1), 0] = 1.0
    return X


def quiet_fit(model, X, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, **kwargs)


def assert_same_fit(a, b):
    """Two fits of the same model from the same start: same iterations, same log-likelihoods."""
    assert a.n_iter_ == b.n_iter_
    assert a.converged_ == b.converged_
    np.testing.assert_allclose(b.history_["log_likelihood"], a.history_["log_likelihood"], rtol=1e-10)
    np.testing.assert_allclose(b.lower_bound_, a.lower_bound_, rtol=1e-10)
    np.testing.assert_allclose(b.weights_, a.weights_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(b.means_, a.means_, rtol=1e-8, atol=1e-10)
    if hasattr(a, "covariances_"):
        np.testing.assert_allclose(b.covariances_, a.covariances_, rtol=1e-8, atol=1e-12)


# -- chunked EM equals in-memory EM -----------------------------------------------------------------
@pytest.mark.parametrize("missing", [0.0, 0.2], ids=["complete", "nan"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_chunked_gaussian_equals_in_memory(covariance_type, missing):
    X = gaussian_data(missing=missing)
    params = dict(covariance_type=covariance_type, random_state=0, tol=1e-9, max_iter=60)
    memory = quiet_fit(GaussianMixture(3, **params), X)
    chunked = quiet_fit(GaussianMixture(3, **params), da.from_array(X, chunks=(57, 3)))
    assert memory.n_iter_ > 5  # a real run, not a start that has converged already
    assert_same_fit(memory, chunked)


@pytest.mark.parametrize("missing", [0.0, 0.15], ids=["complete", "nan"])
def test_chunked_with_sample_weight_equals_in_memory(missing):
    X = gaussian_data(missing=missing, seed=1)
    w = np.random.default_rng(2).uniform(0.2, 3.0, size=X.shape[0])
    params = dict(random_state=0, tol=1e-9, max_iter=40)
    memory = quiet_fit(GaussianMixture(3, **params), X, sample_weight=w)
    dask_weights = quiet_fit(
        GaussianMixture(3, **params), da.from_array(X, chunks=(64, 3)), sample_weight=da.from_array(w, chunks=100)
    )
    numpy_weights = quiet_fit(GaussianMixture(3, **params), da.from_array(X, chunks=(64, 3)), sample_weight=w)
    assert_same_fit(memory, dask_weights)
    assert_same_fit(memory, numpy_weights)


@pytest.mark.parametrize("missing", [0.0, 0.2], ids=["complete", "nan"])
def test_chunked_bernoulli_equals_in_memory(missing):
    X = bernoulli_data(missing=missing)
    # random_state=1: random_state=0 starts next to a saddle point of this likelihood, where EM
    # crawls for 20 iterations and magnifies rounding differences (to 3e-9 relative)
    memory = quiet_fit(BernoulliMixture(2, random_state=1, tol=1e-10), X)
    chunked = quiet_fit(BernoulliMixture(2, random_state=1, tol=1e-10), da.from_array(X, chunks=(33, 5)))
    assert_same_fit(memory, chunked)
    # binarize is applied to every chunk
    reals = np.where(np.isnan(X), np.nan, X * 0.8 + 0.1)
    binarized = quiet_fit(BernoulliMixture(2, random_state=1, tol=1e-10, binarize=0.5), da.from_array(reals, chunks=50))
    assert_same_fit(memory, binarized)


def test_memmap_is_fitted_chunk_by_chunk_and_equals_in_memory(tmp_path, monkeypatch):
    from mixlearn import _chunked

    X = gaussian_data(n=600)
    mm = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=float, shape=X.shape)
    mm[:] = X
    mm.flush()
    monkeypatch.setattr(_chunked, "MEMMAP_CHUNK_CELLS", 300)  # 100 rows per chunk: several chunks
    memory = quiet_fit(GaussianMixture(3, random_state=0, tol=1e-9), X)
    mapped = quiet_fit(GaussianMixture(3, random_state=0, tol=1e-9), np.load(tmp_path / "X.npy", mmap_mode="r"))
    assert_same_fit(memory, mapped)
    scores = mapped.score_samples(np.load(tmp_path / "X.npy", mmap_mode="r"))
    assert isinstance(scores, np.ndarray)
    np.testing.assert_allclose(scores, memory.score_samples(X), rtol=1e-9)


def test_memmap_view_and_several_starts_equal_in_memory(tmp_path):
    X = gaussian_data(n=500, missing=0.1)
    mm = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=float, shape=X.shape)
    mm[:] = X
    mm.flush()
    view = np.load(tmp_path / "X.npy", mmap_mode="r")[100:]  # a view: read through the mapping
    params = dict(random_state=0, tol=1e-9, n_init=3, covariance_type="diag")
    assert_same_fit(quiet_fit(GaussianMixture(3, **params), X[100:]), quiet_fit(GaussianMixture(3, **params), view))


def test_chunked_fit_on_a_distributed_cluster_equals_in_memory():
    distributed = pytest.importorskip("distributed")
    X = gaussian_data(missing=0.1)
    memory = quiet_fit(GaussianMixture(3, random_state=0, tol=1e-9), X)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        with distributed.get_task_stream(client) as stream:
            chunked = quiet_fit(GaussianMixture(3, random_state=0, tol=1e-9), da.from_array(X, chunks=(80, 3)))
        workers = {task["worker"] for task in stream.data}
        labels = chunked.predict(da.from_array(X, chunks=(80, 3))).compute()
    assert_same_fit(memory, chunked)
    assert len(workers) == 2  # the chunks ran on the cluster's two workers
    np.testing.assert_array_equal(labels, memory.predict(X))


def test_inference_on_dask_input_is_lazy_and_equals_in_memory():
    X = gaussian_data(missing=0.1)
    gm = quiet_fit(GaussianMixture(3, random_state=0), X)
    Xd = da.from_array(X, chunks=(70, 3))
    lazy = {
        "score_samples": gm.score_samples(Xd),
        "predict": gm.predict(Xd),
        "predict_proba": gm.predict_proba(Xd),
        "score": gm.score(Xd),
    }
    for name, value in lazy.items():
        assert isinstance(value, da.Array), name
    np.testing.assert_allclose(lazy["score_samples"].compute(), gm.score_samples(X), rtol=1e-12)
    np.testing.assert_array_equal(lazy["predict"].compute(), gm.predict(X))
    np.testing.assert_allclose(lazy["predict_proba"].compute(), gm.predict_proba(X), atol=1e-12)
    np.testing.assert_allclose(float(lazy["score"].compute()), gm.score(X), rtol=1e-12)


def test_initialisation_on_a_sample():
    """With more rows than init_sample_size, the start comes from a sample; EM then reaches the same optimum."""
    X = gaussian_data(n=3000)
    memory = quiet_fit(GaussianMixture(3, random_state=0, tol=1e-8), X)
    sampled = quiet_fit(GaussianMixture(3, random_state=0, tol=1e-8, init_sample_size=200), da.from_array(X, chunks=500))
    full_start = quiet_fit(GaussianMixture(3, random_state=0, tol=1e-8, max_iter=1), da.from_array(X, chunks=500))
    sample_start = quiet_fit(
        GaussianMixture(3, random_state=0, tol=1e-8, max_iter=1, init_sample_size=200), da.from_array(X, chunks=500)
    )
    assert not np.allclose(full_start.history_["log_likelihood"][0], sample_start.history_["log_likelihood"][0])
    np.testing.assert_allclose(sampled.lower_bound_, memory.lower_bound_, rtol=1e-6)


def test_import_mixlearn_does_not_import_dask():
    code = "import sys, mixlearn; mixlearn.GaussianMixture(2).fit([[0.0], [1.0], [5.0]]); print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- bad input: a clear error, nothing modified -------------------------------------------------------
def fitted_state(model):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(model).items() if k.endswith("_")}


def assert_state_equal(before, after):
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(np.asarray(after[key], dtype=object), np.asarray(before[key], dtype=object))


def test_dask_input_errors_name_the_fix():
    X = gaussian_data()
    Xd = da.from_array(X, chunks=100)
    gm = GaussianMixture(3, random_state=0)
    with pytest.raises(ValueError, match=r"unknown chunk sizes.*compute_chunk_sizes"):
        gm.fit(Xd[Xd[:, 0] > 0])
    with pytest.raises(TypeError, match=r"dtype int64.*astype\(float\)"):
        gm.fit(da.from_array(np.round(X).astype(np.int64), chunks=100))
    bad = X.copy()
    bad[7] = np.nan
    with pytest.raises(ValueError, match=r"row\(s\) with every coordinate missing.*\[7\]"):
        gm.fit(da.from_array(bad, chunks=100))
    bad = X.copy()
    bad[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"column\(s\) \[1\] missing"):
        gm.fit(da.from_array(bad, chunks=100))
    with pytest.raises(ValueError, match="sample_weight has 1 negative"):
        gm.fit(Xd, sample_weight=da.from_array(np.r_[-1.0, np.ones(X.shape[0] - 1)], chunks=100))
    assert not hasattr(gm, "weights_")  # nothing was fitted
    fitted = quiet_fit(GaussianMixture(3, random_state=0), X)
    before = fitted_state(fitted)
    with pytest.raises(TypeError, match="astype"):
        fitted.fit(da.from_array(np.ones((50, 3), dtype=np.int32), chunks=10))
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        fitted.predict(Xd[Xd[:, 0] > 0])
    with pytest.raises(ValueError, match="expecting 3 features"):
        fitted.score_samples(Xd[:, :2])
    assert_state_equal(before, fitted_state(fitted))


def test_partial_fit_errors_name_the_fix_and_change_nothing():
    X = gaussian_data()
    gm = GaussianMixture(3, random_state=0).partial_fit(X[:200])
    before = fitted_state(gm)
    with pytest.raises(ValueError, match="expecting 3 features as input.*same columns"):
        gm.partial_fit(X[:50, :2])
    gm.set_params(n_components=4)
    with pytest.raises(ValueError, match="n_components=4 but the model was fitted with 3 components"):
        gm.partial_fit(X[:50])
    gm.set_params(n_components=3)
    bad = X[:50].copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match=r"every coordinate missing.*Drop them"):
        gm.partial_fit(bad)
    with pytest.raises(ValueError, match=r"learning_decay must be in \(0.5, 1\]"):
        gm.set_params(learning_decay=0.4).partial_fit(X[:50])
    with pytest.raises(ValueError, match="learning_offset must be a finite non-negative"):
        gm.set_params(learning_decay=0.6, learning_offset=-1).partial_fit(X[:50])
    assert_state_equal(before, fitted_state(gm))
    assert gm._online_state["t"] == 1


# -- online EM ------------------------------------------------------------------------------------
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("missing", [0.0, 0.15], ids=["complete", "nan"])
def test_one_partial_fit_with_unit_step_is_one_batch_em_iteration(covariance_type, missing):
    X = gaussian_data(missing=missing)
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=X.shape[0])
    batch = quiet_fit(GaussianMixture(3, covariance_type=covariance_type, random_state=0, max_iter=1), X, sample_weight=w)
    online = GaussianMixture(3, covariance_type=covariance_type, random_state=0, learning_decay=1, learning_offset=0)
    online.partial_fit(X, sample_weight=w)
    np.testing.assert_allclose(online.weights_, batch.weights_, rtol=1e-10)
    np.testing.assert_allclose(online.means_, batch.means_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(online.covariances_, batch.covariances_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(online.lower_bound_, batch.history_["log_likelihood"][0] / w.sum(), rtol=1e-12)
    # with a positive offset the first step also keeps part of the starting statistics
    damped = GaussianMixture(3, covariance_type=covariance_type, random_state=0, learning_decay=1, learning_offset=1)
    assert not np.allclose(damped.partial_fit(X, sample_weight=w).means_, batch.means_, rtol=1e-6)


@pytest.mark.parametrize("missing", [0.0, 0.2], ids=["complete", "nan"])
def test_bernoulli_one_partial_fit_with_unit_step_is_one_batch_em_iteration(missing):
    X = bernoulli_data(missing=missing)
    batch = quiet_fit(BernoulliMixture(2, random_state=0, max_iter=1), X)
    online = BernoulliMixture(2, random_state=0, learning_decay=1, learning_offset=0).partial_fit(X)
    np.testing.assert_allclose(online.weights_, batch.weights_, rtol=1e-12)
    np.testing.assert_allclose(online.means_, batch.means_, rtol=1e-12)


@pytest.mark.parametrize(
    "model",
    [
        GaussianMixture(
            2, covariance_type="diag", weights_init=[0.5, 0.5], means_init=[[0, 0], [1, 1]], covariances_init=[[1, 1], [1, 1]]
        ),
        BernoulliMixture(2, weights_init=[0.5, 0.5], means_init=[[0.7, 0.3], [0.3, 0.7]]),
    ],
    ids=["gaussian", "bernoulli"],
)
def test_partial_fit_integer_weights_equal_repeated_rows(model):
    rng = np.random.default_rng(4)
    batches = [(rng.random((30, 2)) < 0.5).astype(float) + rng.normal(0, 0.1, (30, 2)) * (model.__class__ is GaussianMixture)]
    batches.append((rng.random((20, 2)) < 0.6).astype(float))
    counts = [rng.integers(1, 4, size=len(b)) for b in batches]
    weighted = model.__class__(**model.get_params())
    repeated = model.__class__(**model.get_params())
    for b, c in zip(batches, counts, strict=True):
        weighted.partial_fit(b, sample_weight=c)
        repeated.partial_fit(np.repeat(b, c, axis=0))
    np.testing.assert_allclose(weighted.weights_, repeated.weights_, rtol=1e-12)
    np.testing.assert_allclose(weighted.means_, repeated.means_, rtol=1e-12)


def gaussian_stream(rng, n):
    labels = rng.random(n) < 0.3
    return np.where(labels, -2.0, 3.0)[:, None] + rng.standard_normal((n, 1))


def test_online_em_converges_to_the_truth_at_the_rate_of_its_step_size():
    """On a stream from 0.3 N(-2, 1) + 0.7 N(3, 1), in batches of B = 100 from a rough start.

    With steps rho_t, the running statistics are a moving average of about 2 B / rho_t samples
    (their variance is rho / (2 - rho) that of one batch's), so the error of component k's mean
    is about sqrt(rho_t / (2 B pi_k)): it shrinks like t^(-kappa / 2). Measured over 16 streams.
    """
    kappa, offset, batch, checkpoints = 0.6, 1.0, 100, (16, 256)
    errors = {t: [] for t in checkpoints}
    for seed in range(16):
        rng = np.random.default_rng(seed)
        gm = GaussianMixture(
            2,
            learning_decay=kappa,
            learning_offset=offset,
            weights_init=[0.5, 0.5],
            means_init=[[-1.0], [2.0]],
            covariances_init=[[[2.0]], [[2.0]]],
        )
        for t in range(1, checkpoints[-1] + 1):
            gm.partial_fit(gaussian_stream(rng, batch))
            if t in errors:
                order = np.argsort(gm.means_.ravel())
                errors[t].append(gm.means_.ravel()[order] - [-2.0, 3.0])
        np.testing.assert_allclose(np.sort(gm.weights_), [0.3, 0.7], atol=0.03)
        np.testing.assert_allclose(gm.covariances_.ravel(), [1.0, 1.0], atol=0.15)
    rms = {t: np.sqrt(np.mean(np.square(errors[t]), axis=0)) for t in checkpoints}
    predicted = np.sqrt((checkpoints[-1] + offset) ** -kappa / (2 * batch * np.array([0.3, 0.7])))
    assert np.all(rms[256] < rms[16])
    np.testing.assert_array_less(0.6 * predicted, rms[256])
    np.testing.assert_array_less(rms[256], 1.6 * predicted)


def test_online_bernoulli_converges_to_the_truth():
    rng = np.random.default_rng(5)
    protos = np.array([[0.9, 0.8, 0.1, 0.2], [0.1, 0.3, 0.9, 0.6]])
    weights = np.array([0.4, 0.6])
    # random soft responsibilities to start: k-means++'s hard assignments on 4 binary features can
    # give a component probabilities of 0 or 1 that no later batch can move (batch EM is stuck too)
    bm = BernoulliMixture(2, random_state=0, init_params="random")
    for _ in range(300):
        labels = (rng.random(200) < weights[1]).astype(int)
        bm.partial_fit((rng.random((200, 4)) < protos[labels]).astype(float))
    best = min(itertools.permutations(range(2)), key=lambda p: np.abs(bm.means_[list(p)] - protos).sum())
    np.testing.assert_allclose(bm.means_[list(best)], protos, atol=0.03)
    np.testing.assert_allclose(bm.weights_[list(best)], weights, atol=0.03)


def test_partial_fit_after_fit_continues_from_the_fit():
    X = gaussian_data(n=600)
    gm = quiet_fit(GaussianMixture(3, random_state=0, tol=1e-8), X)
    means = gm.means_.copy()
    gm.partial_fit(X[:300])
    assert gm.n_iter_ == 1
    np.testing.assert_allclose(gm.means_, means, atol=0.3)  # a step from the fitted optimum stays near it
