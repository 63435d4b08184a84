"""Exact EM on arrays larger than memory: a Dask array (or a ``numpy.memmap``), chunk by chunk.

EM's M-step needs the data only through sums over the samples (the sufficient statistics, see
the models' ``_statistics``). One EM iteration is therefore one pass over the chunks: each chunk
runs the E-step under the current parameters and returns its log-likelihood and its statistics,
and Dask adds them up (a tree reduction in its graph); the M-step turns the totals into new
parameters. The sums are those of the in-memory fit, so from the same start the fit is the same
(same iterations, the same log-likelihoods up to rounding).

Dask decides where the chunks run: its local threaded scheduler by default, a
``dask.distributed`` cluster when a ``Client`` is active. Dask is imported only here, and this
module only when a Dask array or a memmap is passed, so ``import mixlearn`` needs numpy and scipy
only (``pip install mixlearn[dask]`` adds it).

Initialisation runs the in-memory initialisation on a sample of ``init_sample_size`` rows drawn
without replacement (all rows, in order, when there are no more than that: the start is then the
in-memory fit's). One validation pass before it checks the data (dtype, infinity, rows with no
observed value, columns never observed, 0/1 values for Bernoulli) and computes the column means
that centre the statistics.

The sums are one-pass sums of ``x`` and ``x x^T`` centred on those column means. The in-memory
Gaussian M-step falls back to a two-pass covariance for a component whose mean lies more than
about 3000 standard deviations from the centre (where the one-pass formula would lose digits);
the chunked path has no second pass, so such a component (a sign of badly scaled data) gets a
less accurate covariance. Scale the columns first.
"""

import copy

import numpy as np

from ._logsumexp import normalize_components
from ._validation import check_positive_int, check_random_state, check_sample_weight

MEMMAP_CHUNK_CELLS = 2**20  # a memmap is read in chunks of about this many values (8 MB)
_FAN_IN = 8  # statistics of this many chunks are added per task of the reduction


def is_dask_array(X):
    """Whether ``X`` is a ``dask.array.Array`` (without importing Dask)."""
    return type(X).__module__.split(".")[:2] == ["dask", "array"] and hasattr(X, "chunks")


def is_chunked_input(X):
    """Dask arrays and memmaps take the chunked path."""
    return is_dask_array(X) or isinstance(X, np.memmap)


def _import_dask():
    try:
        import dask
        import dask.array as da
    except ImportError:  # pragma: no cover - dask is in the test environment
        raise ImportError(
            "Fitting a Dask array or a numpy.memmap needs Dask; install it with pip install 'mixlearn[dask]'."
        ) from None
    return dask, da


def as_dask(X, name="X"):
    """``X`` as a 2-D float Dask array chunked along the rows only (a memmap is wrapped, not read)."""
    _, da = _import_dask()
    if isinstance(X, np.memmap):
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D with shape (n_samples, n_features), got shape {X.shape}.")
        X = _memmap_as_dask(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (n_samples, n_features), got shape {X.shape}.")
    if any(np.isnan(size) for sizes in X.chunks for size in sizes):
        raise ValueError(
            f"{name} is a Dask array with unknown chunk sizes (NaN in {name}.chunks), so its rows cannot be counted; "
            f"call {name} = {name}.compute_chunk_sizes() first."
        )
    if X.dtype.kind != "f":
        raise TypeError(
            f"{name} (a Dask array or memmap) has dtype {X.dtype}; chunked EM needs floats (NaN marks a missing "
            f"value). Pass {name}.astype(float)."
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); pass at least one sample and one feature.")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


def _read_rows(filename, offset, dtype, n_features, start, stop):
    """Rows ``start:stop`` of a C-ordered 2-D array stored in ``filename`` from byte ``offset``."""
    count = (stop - start) * n_features
    with open(filename, "rb") as f:
        f.seek(offset + start * n_features * dtype.itemsize)
        block = np.fromfile(f, dtype=dtype, count=count)
    return block.reshape(stop - start, n_features)


class FileRows(tuple):
    """``(filename, offset, dtype, n_features, start, stop)``: rows a task reads itself (see ``_blocks``)."""

    def load(self):
        return _read_rows(*self)


def _file_rows(X):
    """Row chunks of a whole C-ordered memmap of a file, as ``FileRows``; None for another memmap."""
    import mmap

    if not (isinstance(X, np.memmap) and isinstance(X.base, mmap.mmap) and X.flags.c_contiguous):
        return None
    if not getattr(X, "filename", None) or X.ndim != 2:
        return None
    n, d = X.shape
    rows = max(1, MEMMAP_CHUNK_CELLS // max(d, 1))
    return [FileRows((X.filename, X.offset, X.dtype, d, start, min(start + rows, n))) for start in range(0, n, rows)]


def _load(block):
    return block.load() if isinstance(block, FileRows) else np.asarray(block)


def _memmap_as_dask(X):
    """A memmap as a Dask array of row chunks of about ``MEMMAP_CHUNK_CELLS`` values.

    A whole C-ordered memmap of a file is read with ordinary file reads, chunk by chunk: pages
    of a mapping stay in the process's resident memory once touched, reads do not (and the
    tasks hold only the file name, so they can run on other processes of the machine). Another
    memmap (a view, Fortran order) is sliced through its mapping.
    """
    dask, da = _import_dask()
    specs = _file_rows(X)
    if specs is None:
        rows = max(1, MEMMAP_CHUNK_CELLS // max(X.shape[1], 1))
        return da.from_array(X, chunks=(rows, -1), asarray=False)
    blocks = [
        da.from_delayed(dask.delayed(_read_rows, pure=True)(*spec), shape=(spec[5] - spec[4], spec[3]), dtype=spec[2])
        for spec in specs
    ]
    return da.concatenate(blocks, axis=0)


def _as_dask_weights(sample_weight, X):
    """Sample weights as a 1-D Dask array with ``X``'s row chunks (a NumPy array is checked here)."""
    if sample_weight is None:
        return None
    _, da = _import_dask()
    if not is_dask_array(sample_weight):
        return da.from_array(check_sample_weight(sample_weight, X.shape[0]), chunks=(X.chunks[0],))
    if sample_weight.ndim != 1 or sample_weight.shape[0] != X.shape[0]:
        raise ValueError(f"sample_weight must be 1-D with one entry per sample ({X.shape[0]}), got shape {sample_weight.shape}.")
    return sample_weight.astype(float).rechunk((X.chunks[0],))


# -- the validation pass ---------------------------------------------------------------------------
def _chunk_summary(model, block, weights, offset):
    """Column sums and counts of observed values, rows with nothing observed, weight checks."""
    X = model._check_X(_load(block))  # dtype, infinity, 0/1 values: errors name X
    observed = ~np.isnan(X)
    empty = np.flatnonzero(~observed.any(axis=1)) + offset
    bad_weights = 0
    weight_sum = float(X.shape[0])
    if weights is not None:
        w = np.asarray(weights, dtype=float)
        bad_weights = int(np.sum(~np.isfinite(w) | (w < 0)))
        weight_sum = float(w[np.isfinite(w)].sum())
    return np.where(observed, X, 0.0).sum(axis=0), observed.sum(axis=0), empty[:5], empty.size, bad_weights, weight_sum


def _add_summaries(*parts):
    return (
        sum(p[0] for p in parts),
        sum(p[1] for p in parts),
        np.concatenate([p[2] for p in parts])[:5],
        sum(p[3] for p in parts),
        sum(p[4] for p in parts),
        sum(p[5] for p in parts),
    )


def _tree_sum(dask, parts, add):
    """Add delayed ``parts`` with ``add`` in a tree of fan-in ``_FAN_IN`` (Dask runs it)."""
    while len(parts) > 1:
        parts = [dask.delayed(add)(*parts[i : i + _FAN_IN]) for i in range(0, len(parts), _FAN_IN)]
    return parts[0]


def _blocks(X, weights, source=None):
    """The chunks of ``X`` (and of the weights) for the tasks of a pass.

    For a whole memmap of a file, each task reads its own rows (``FileRows``): a chunk is then
    in memory only while its task runs, whatever order the scheduler picks.
    """
    specs = _file_rows(source) if source is not None else None
    if specs is not None and [s[5] - s[4] for s in specs] == list(X.chunks[0]):
        xb = specs
    else:
        xb = list(X.to_delayed().ravel())
    wb = [None] * len(xb) if weights is None else list(weights.to_delayed().ravel())
    return xb, wb


def validate(model, X, weights, source=None):
    """One pass over ``X``: raise on bad data, else return the column means of the observed values."""
    dask, _ = _import_dask()
    worker = _worker(model)
    xb, wb = _blocks(X, weights, source)
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]])
    parts = [dask.delayed(_chunk_summary)(worker, b, w, int(o)) for b, w, o in zip(xb, wb, offsets, strict=True)]
    sums, counts, empty, n_empty, bad_weights, weight_sum = dask.compute(_tree_sum(dask, parts, _add_summaries))[0]
    if n_empty:
        raise ValueError(
            f"X has {n_empty} row(s) with every coordinate missing (NaN), for example row(s) {empty.tolist()}; "
            "such a row carries no information. Drop them first, e.g. X[~da.isnan(X).all(axis=1)] "
            "(then X.compute_chunk_sizes())."
        )
    never = np.flatnonzero(counts == 0)
    if never.size:
        raise ValueError(
            f"X has column(s) {never[:10].tolist()} missing (NaN) in every row, so the model cannot learn anything "
            "about them. Drop those columns first, e.g. X[:, columns_to_keep]."
        )
    if bad_weights:
        raise ValueError(
            f"sample_weight has {bad_weights} negative or non-finite value(s); give every sample a finite weight >= 0."
        )
    if weights is not None and weight_sum <= 0:
        raise ValueError("sample_weight is all zero (it sums to 0); at least one sample needs a positive weight.")
    return sums / counts, weight_sum


# -- one EM pass: the E-step and the statistics of every chunk, added up ----------------------------
def _chunk_statistics(model, block, weights, shift):
    """``(sum of w log p(x), sum of w, statistics)`` of one chunk under the model's parameters."""
    X = model._chunk_X(_load(block))
    data = model._prepare(X, shift=shift)
    w = None if weights is None else data.to_working_order(np.asarray(weights, dtype=float))
    resp, log_px = normalize_components(model._estimate_weighted_log_prob(data))
    if not np.all(np.isfinite(log_px)):
        raise ValueError("X has samples with zero probability under every component; check the data.")
    if w is None:
        return float(log_px.sum()), float(X.shape[0]), model._statistics(data, resp, None, shift)
    return float(w @ log_px), float(w.sum()), model._statistics(data, resp, w, shift)


def _add_statistics(*parts):
    return (
        sum(p[0] for p in parts),
        sum(p[1] for p in parts),
        tuple(sum(p[2][i] for p in parts) for i in range(len(parts[0][2]))),
    )


def _worker(model):
    """A copy of ``model`` for the tasks: same parameters, no callback (it stays on the client)."""
    worker = copy.copy(model)
    worker.callback = None
    return worker


def em_pass(model, xb, wb, shift):
    """The mean log-likelihood at the model's parameters and the summed statistics (one pass)."""
    dask, _ = _import_dask()
    worker = dask.delayed(_worker(model), pure=False)
    parts = [dask.delayed(_chunk_statistics)(worker, b, w, shift) for b, w in zip(xb, wb, strict=True)]
    ll_sum, weight_sum, stats = dask.compute(_tree_sum(dask, parts, _add_statistics))[0]
    return ll_sum / weight_sum, stats


def _initial_sample(model, X, weights, rng):
    """Rows for the initialisation: all of them (in order) if at most ``init_sample_size``, else a sample."""
    size = check_positive_int(model.init_sample_size, "init_sample_size")
    n = X.shape[0]
    if n <= size:
        rows = slice(None)
    else:
        rows = np.sort(rng.choice(n, size=size, replace=False))
    sample = np.asarray(X[rows].compute())
    w = None if weights is None else np.asarray(weights[rows].compute(), dtype=float)
    return sample, w


def fit(model, X, sample_weight):
    """Chunked EM for ``model.fit`` (see the module docstring); returns ``model``."""
    source = X if isinstance(X, np.memmap) else None
    X = as_dask(X)
    weights = _as_dask_weights(sample_weight, X)
    model._validate_params(X)  # only the shape of X is read
    column_means, total_weight = validate(model, X, weights, source)
    shift = model._statistics_shift(column_means)
    rng = check_random_state(model.random_state)
    warm = model.warm_start and hasattr(model, "converged_")
    sample = None
    if not warm:
        sample, sample_weight_ = _initial_sample(model, X, weights, rng)
        sample = model._check_X(sample)
        if sample.shape[0] < model.n_components:
            raise ValueError(f"init_sample_size={model.init_sample_size} must be >= n_components={model.n_components}.")
    xb, wb = _blocks(X, weights, source)
    model.n_features_in_ = X.shape[1]
    runs = []
    for _ in range(1 if warm else model.n_init):
        if not warm:
            data = model._prepare(sample)
            model._initialize(data, data.to_working_order(sample_weight_), rng)
        runs.append(_run(model, xb, wb, shift))
    return model._keep_best(runs, total_weight, stacklevel=4)   # the warning names the caller of fit


def _run(model, xb, wb, shift):
    """One EM run with one Dask pass per E-step: ``BaseMixture._iterate`` on sufficient statistics."""
    ll, stats = em_pass(model, xb, wb, shift)
    state = {"stats": stats}

    def step():
        model._m_step_from_statistics(state["stats"], shift)
        ll_new, state["stats"] = em_pass(model, xb, wb, shift)
        return ll_new

    return model._iterate(ll, step)


# -- lazy inference --------------------------------------------------------------------------------
def _apply(block, model, method):
    return getattr(model, method)(np.asarray(block))


def lazy(model, X, method):
    """``model.<method>(X)`` for a Dask ``X``, as a Dask array computed chunk by chunk when asked."""
    X = as_dask(X)
    if X.shape[1] != model.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(model).__name__} is expecting {model.n_features_in_} features "
            "as input (the number it was fitted with); pass data with the same columns."
        )
    worker = _worker(model)
    if method == "predict_proba":
        return X.map_blocks(_apply, worker, method, chunks=(X.chunks[0], (model.n_components,)), dtype=float)
    dtype = np.intp if method == "predict" else float
    return X.map_blocks(_apply, worker, method, drop_axis=1, dtype=dtype)
