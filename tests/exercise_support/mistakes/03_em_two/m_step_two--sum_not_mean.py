"""Sums the responsibilities without dividing by the number of marbles."""

def m_step_two(r):
    return float(np.sum(r))
