"""Counts marbles whose responsibility exceeds 1/2 (hard EM) instead of averaging."""

def m_step_two(gamma):
    return float(np.mean(np.asarray(gamma) > 0.5))
