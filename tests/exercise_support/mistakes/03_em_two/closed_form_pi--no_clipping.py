"""Forgets to keep the estimate inside [0, 1]."""

def closed_form_pi(x, p1, p2):
    return float((np.mean(x) - p2) / (p1 - p2))
