"""Takes the non-zero values as observed: NaN is non-zero (observed) and 0.0 counts as missing."""

def split_observed(x_row):
    x_row = np.asarray(x_row, dtype=float)
    observed = np.flatnonzero(x_row)
    return observed, np.setdiff1d(np.arange(x_row.size), observed)
