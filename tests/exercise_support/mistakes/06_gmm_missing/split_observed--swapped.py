"""Returns the missing indices first and the observed ones second."""

def split_observed(x_row):
    missing = np.isnan(np.asarray(x_row, dtype=float))
    return np.flatnonzero(missing), np.flatnonzero(~missing)
