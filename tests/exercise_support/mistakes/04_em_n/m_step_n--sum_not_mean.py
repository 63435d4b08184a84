"""Sums the responsibilities without dividing by N."""

def m_step_n(resp):
    return np.asarray(resp, dtype=float).sum(axis=0)
