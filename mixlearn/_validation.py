"""Input checks shared by the public functions and estimators.

Every check returns a *new* array (or the input untouched) and never modifies its
argument in place. Errors name the offending argument and say how to fix it.
"""

from numbers import Integral, Real

import numpy as np


def check_data(x, name="x", ndim=None, allow_nan=False):
    """Return ``x`` as a finite, non-empty float64 array.

    ``ndim`` may be ``1``, ``2`` or ``None`` (either 1-D or 2-D is accepted). With
    ``allow_nan=True`` NaN entries are kept (they mark missing values); infinity is still an error.
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be array-like of numbers, got a {type(x).__name__}.")
    if hasattr(x, "toarray") and hasattr(x, "nnz"):
        raise TypeError(
            f"{name} is a sparse matrix, and sparse input is not supported; convert it with {name}.toarray() first."
        )
    try:
        raw = np.asarray(x)
        if raw.dtype.kind == "c":
            raise ValueError(f"Complex data not supported: {name} holds complex numbers; pass their real part or modulus.")
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as err:
        if str(err).startswith("Complex data"):
            raise
        raise TypeError(f"{name} must be array-like of numbers; could not convert it: {err}") from None
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array of samples, got a scalar; wrap it as [{name}].")
    if ndim == 1 and arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D with one value per sample, got shape {arr.shape}.")
    if ndim == 2 and arr.ndim != 2:
        hint = (
            f" Reshape your data with {name}.reshape(-1, 1) if it holds a single feature, or"
            f" {name}.reshape(1, -1) if it holds a single sample."
            if arr.ndim == 1
            else ""
        )
        raise ValueError(f"{name} must be 2-D with shape (n_samples, n_features), got shape {arr.shape}.{hint}")
    if ndim is None and arr.ndim > 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {arr.shape}.")
    if arr.ndim == 2 and arr.shape[0] > 0 and arr.shape[1] == 0:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required; pass at least one column."
        )
    if arr.shape[0] == 0 or arr.size == 0:
        raise ValueError(f"{name} is empty; pass at least one sample.")
    if allow_nan:
        if np.any(np.isinf(arr)):
            raise ValueError(
                f"{name} contains infinity; NaN marks a missing value, but an infinite value has no meaning here. "
                "Replace those entries with NaN or remove the samples."
            )
    elif not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity; remove or impute those samples first.")
    return arr


def check_missing(X, name="X", columns=True):
    """Reject rows of ``X`` (2-D, NaN = missing) with no observed value and, if ``columns``,
    columns never observed. Returns ``X`` untouched."""
    missing = np.isnan(X)
    if not missing.any():
        return X
    empty_rows = np.flatnonzero(missing.all(axis=1))
    if empty_rows.size:
        raise ValueError(
            f"{name} has {empty_rows.size} row(s) with every coordinate missing (NaN), for example row(s) "
            f"{empty_rows[:5].tolist()}; such a row carries no information. Drop them first, e.g. "
            f"{name}[~np.isnan({name}).all(axis=1)]."
        )
    if columns:
        empty_columns = np.flatnonzero(missing.all(axis=0))
        if empty_columns.size:
            raise ValueError(
                f"{name} has column(s) {empty_columns[:10].tolist()} missing (NaN) in every row, so the model cannot "
                f"learn anything about them. Drop those columns first, e.g. {name}[:, ~np.isnan({name}).all(axis=0)]."
            )
    return X


def check_binary(x, name="x", ndim=None, allow_nan=False):
    """Return ``x`` as a float64 array of 0/1 values (and NaN, if ``allow_nan``)."""
    arr = check_data(x, name, ndim, allow_nan=allow_nan)
    valid = (arr == 0) | (arr == 1)
    if allow_nan:
        valid |= np.isnan(arr)
    if not np.all(valid):
        bad = arr[~valid].ravel()[:3]
        raise ValueError(
            f"{name} must hold only 0 and 1 (1 = success/red), found values such as {bad.tolist()}; "
            "encode the outcomes as 0/1 first."
        )
    return arr


def check_probability(p, name):
    """Return ``p`` as a float in [0, 1]."""
    if isinstance(p, bool) or not isinstance(p, (Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number in [0, 1], got {p!r}.")
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}.")
    return p


def check_weights(weights, n_components, name="weights", atol=1e-8):
    """Return mixing weights as a float64 (K,) array that is non-negative and sums to 1."""
    try:
        w = np.array(weights, dtype=float)  # a copy: the caller's array is never touched
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of {n_components} numbers, got {weights!r}.") from None
    if w.ndim != 1 or w.shape[0] != n_components:
        raise ValueError(f"{name} must have shape ({n_components},), one weight per component, got shape {w.shape}.")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} contains NaN or infinity.")
    if np.any(w < 0):
        raise ValueError(f"{name} must be non-negative, got {w.tolist()}.")
    if abs(w.sum() - 1.0) > atol:
        raise ValueError(f"{name} must sum to 1 (got sum {w.sum():.6g}); divide them by their sum.")
    return w / w.sum()


def check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (Integral, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def check_nonneg_real(value, name):
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a non-negative number, got {value!r}.")
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite non-negative number, got {value}.")
    return float(value)


def check_random_state(seed):
    """Turn ``None``, an int or a Generator into a ``numpy.random.Generator``."""
    if seed is None or isinstance(seed, (Integral, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**31 - 1))
    raise TypeError(f"random_state must be None, an int or a numpy Generator, got {seed!r}.")


def check_sample_weight(sample_weight, n_samples):
    """Return sample weights as a float64 (N,) array, or ``None``."""
    if sample_weight is None:
        return None
    w = check_data(sample_weight, "sample_weight", ndim=1)
    if w.shape[0] != n_samples:
        raise ValueError(f"sample_weight must have one entry per sample ({n_samples}), got {w.shape[0]}.")
    if np.any(w < 0):
        raise ValueError("sample_weight must be non-negative; drop samples instead of giving them negative weight.")
    if w.sum() <= 0:
        raise ValueError("sample_weight is all zero (it sums to 0); at least one sample needs a positive weight.")
    return w
