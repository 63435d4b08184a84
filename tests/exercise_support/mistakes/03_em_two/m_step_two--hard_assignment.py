"""Counts marbles whose responsibility exceeds 1/2 (hard EM) instead of averaging."""

def m_step_two(r):
    return float(np.mean(np.asarray(r) > 0.5))
