"""Returns the index of the value before the drop."""

def first_decrease(log_likelihoods, atol=1e-9):
    drops = np.flatnonzero(np.diff(np.asarray(log_likelihoods, dtype=float)) < -atol)
    return int(drops[0]) if drops.size else None
