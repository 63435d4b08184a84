"""Divides by p1 + p2 instead of p1 - p2."""

def closed_form_pi(x, p1, p2):
    return float(np.clip((np.mean(x) - p2) / (p1 + p2), 0, 1))
