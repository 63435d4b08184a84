"""Divides the summed responsibilities by the number of components."""

def m_step_n(resp):
    resp = np.asarray(resp, dtype=float)
    return resp.sum(axis=0) / resp.shape[1]
