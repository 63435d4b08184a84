"""Sums the responsibilities without dividing by the number of marbles."""

def m_step_two(gamma):
    return float(np.sum(gamma))
