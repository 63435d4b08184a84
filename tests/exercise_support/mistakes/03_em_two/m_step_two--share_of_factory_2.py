"""Returns the new share of factory 2."""

def m_step_two(r):
    return float(1 - np.mean(r))
