"""Tests `x == np.nan`, which is never true, so every coordinate counts as observed."""

def split_observed(x_row):
    x_row = np.asarray(x_row, dtype=float)
    missing = x_row == np.nan
    return np.flatnonzero(~missing), np.flatnonzero(missing)
