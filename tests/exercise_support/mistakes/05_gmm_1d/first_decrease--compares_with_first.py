"""Compares every value with the first one instead of the one before it."""

def first_decrease(log_likelihoods, atol=1e-9):
    lls = np.asarray(log_likelihoods, dtype=float)
    drops = np.flatnonzero(lls[1:] < lls[0] - atol)
    return int(drops[0]) + 1 if drops.size else None
