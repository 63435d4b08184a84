"""Returns the new share of factory 2."""

def m_step_two(gamma):
    return float(1 - np.mean(gamma))
