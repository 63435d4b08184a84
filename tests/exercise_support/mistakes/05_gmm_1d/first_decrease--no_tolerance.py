"""Flags any drop, even rounding noise below atol."""

def first_decrease(log_likelihoods, atol=1e-9):
    drops = np.flatnonzero(np.diff(np.asarray(log_likelihoods, dtype=float)) < 0)
    return int(drops[0]) + 1 if drops.size else None
