"""Returns boolean masks instead of the indices."""

def split_observed(x_row):
    missing = np.isnan(np.asarray(x_row, dtype=float))
    return ~missing, missing
