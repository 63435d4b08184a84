"""Missing values (NaN) in a data matrix: rows grouped by which coordinates they lack.

EM with missing values needs, for each row, the marginal of every component on the row's
observed coordinates (E-step) and the conditional distribution of its missing coordinates
(M-step). Both depend on the row only through its *missingness pattern* (which coordinates are
NaN), so rows sharing a pattern are handled together, in one vectorised step per pattern.

``PreparedData`` is what the estimators' E- and M-steps receive: ``X`` with its rows in
*working order* (complete rows first, then one contiguous block per pattern), the patterns, and
whatever per-``X`` precomputation a model adds (``features``). Everything is an explicit input
of the steps, nothing is cached on an estimator. Without NaN the working order is the input
order and ``X`` is the array itself.
"""

import numpy as np


class MissingPatterns:
    """Rows of ``X`` (2-D, NaN = missing) grouped by missingness pattern.

    Attributes
    ----------
    order : ndarray (n_samples,)
        Row ``i`` of the working order is row ``order[i]`` of the input.
    X : ndarray (n_samples, n_features)
        The rows in working order, NaN kept.
    X0 : ndarray (n_samples, n_features)
        The same with NaN replaced by 0 (so sums over observed entries are matrix products).
    observed : ndarray (n_samples, n_features) of float
        1.0 where a value is observed, 0.0 where it is missing (working order).
    n_complete : int
        The first ``n_complete`` rows have no missing value.
    groups : list of (start, stop, observed_idx, missing_idx)
        One entry per pattern with at least one missing coordinate: rows ``start:stop`` (working
        order) lack the coordinates ``missing_idx`` and have ``observed_idx``.
    large_groups : list
        The entries of ``groups`` with at least ``small_pattern_rows`` rows.
    batches : list of (rows, pattern, first, observed_idx, missing_idx)
        The other patterns, stacked by number of observed coordinates ``q``: ``rows`` (working
        order) belong to pattern ``pattern[i]`` of the batch, whose rows start at ``first[p]``
        in ``rows``; ``observed_idx`` (P, q) and ``missing_idx`` (P, D - q) per pattern.
    """

    small_pattern_rows = 64  # patterns with fewer rows are processed in batches (see ``batches``)
    batch_cells = 1_000_000  # at most about this many rows * q * q per batch

    def __init__(self, X):
        missing = np.isnan(X)
        patterns, inverse, counts = np.unique(missing, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
        self.order = np.argsort(inverse, kind="stable")
        self.X = X[self.order]
        self.observed = (~missing[self.order]).astype(float)
        self.X0 = np.where(self.observed > 0, self.X, 0.0)
        starts = np.concatenate([[0], np.cumsum(counts)])
        self.n_complete = 0
        self.groups = []
        for p, pattern in enumerate(patterns):  # np.unique sorts rows: the all-observed pattern is first
            if not pattern.any():
                self.n_complete = int(counts[p])
                continue
            self.groups.append((int(starts[p]), int(starts[p + 1]), np.flatnonzero(~pattern), np.flatnonzero(pattern)))
        # Many patterns with few rows each (values missing independently, for example) would cost
        # one small step per pattern; those with the same number of observed coordinates are
        # stacked instead, so one batched step serves them all.
        self.large_groups = [g for g in self.groups if g[1] - g[0] >= self.small_pattern_rows]
        by_size = {}
        for g in self.groups:
            if g[1] - g[0] < self.small_pattern_rows:
                by_size.setdefault(g[2].size, []).append(g)
        self.batches = []
        for q, same_size in sorted(by_size.items()):
            chunk, cells = [], 0
            for g in same_size:  # a batch gathers a (q, q) factor per row: bound its memory
                chunk.append(g)
                cells += (g[1] - g[0]) * q * q
                if cells >= self.batch_cells:
                    self.batches.append(self._batch(chunk))
                    chunk, cells = [], 0
            if chunk:
                self.batches.append(self._batch(chunk))

    @staticmethod
    def _batch(groups):
        sizes = [stop - start for start, stop, _, _ in groups]
        return (
            np.concatenate([np.arange(start, stop) for start, stop, _, _ in groups]),
            np.repeat(np.arange(len(groups)), sizes),
            np.concatenate([[0], np.cumsum(sizes)[:-1]]),
            np.stack([g[2] for g in groups]),
            np.stack([g[3] for g in groups]),
        )

    @property
    def n_patterns(self):
        """Number of distinct patterns with at least one missing value."""
        return len(self.groups)

    def column_means(self):
        """Mean of each column over its observed values (0 for a column never observed), shape (n_features,)."""
        return self.X0.sum(axis=0) / np.maximum(self.observed.sum(axis=0), 1.0)

    def mean_filled(self):
        """The rows in working order with each missing value replaced by its column's mean."""
        return np.where(self.observed > 0, self.X, self.column_means())


class PreparedData:
    """``X`` ready for the E- and M-steps (see the module docstring).

    Parameters
    ----------
    X : ndarray (n_samples, n_features)
        Validated data, NaN marking missing values.
    """

    small_pattern_rows = 64  # patterns with fewer rows are processed in batches (see ``batches``)
    batch_cells = 1_000_000  # at most about this many rows * q * q per batch

    def __init__(self, X):
        self.patterns = MissingPatterns(X) if np.isnan(X).any() else None
        self.X = X if self.patterns is None else self.patterns.X
        self.features = None  # set by a model that precomputes something on X

    @property
    def n_samples(self):
        return self.X.shape[0]

    def to_working_order(self, values):
        """Per-sample ``values`` (first axis = samples, input order) in working order."""
        if self.patterns is None or values is None:
            return values
        return values[self.patterns.order]

    def to_input_order(self, values, axis=0):
        """Undo the grouping along ``axis`` of a per-sample array in working order."""
        if self.patterns is None:
            return values
        out = np.empty_like(values)
        index = [slice(None)] * values.ndim
        index[axis] = self.patterns.order
        out[tuple(index)] = values
        return out
