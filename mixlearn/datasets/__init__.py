"""Small data sets shipped with mixlearn (nothing is downloaded)."""

from importlib import resources

import numpy as np

from .._validation import check_probability, check_random_state

__all__ = ["load_faithful", "make_marbles"]


def load_faithful():
    """Old Faithful geyser eruptions (Yellowstone), 272 rows.

    Returns
    -------
    ndarray of shape (272, 2)
        Column 0: eruption time in minutes; column 1: waiting time to the next eruption
        in minutes. The same table as R's ``datasets::faithful`` (Härdle 1991; Azzalini and
        Bowman 1990). A new array on every call.

    Examples
    --------
    >>> from mixlearn.datasets import load_faithful
    >>> load_faithful().shape
    (272, 2)
    """
    with resources.files(__package__).joinpath("data/faithful.csv").open("r") as fh:
        return np.loadtxt(fh, delimiter=",", skiprows=1)


def make_marbles(n, pi, p1, p2, random_state=None):
    """Simulate ``n`` marbles from the two factories.

    Each marble comes from factory 1 with probability ``pi`` (else factory 2) and is red
    with probability ``p1`` (factory 1) or ``p2`` (factory 2).

    Returns
    -------
    x : ndarray of int, shape (n,)
        1 = red, 0 = blue.
    c : ndarray of int, shape (n,)
        0 = factory 1, 1 = factory 2 (the latent variable).

    Examples
    --------
    >>> from mixlearn.datasets import make_marbles
    >>> x, c = make_marbles(1000, pi=0.6, p1=0.8, p2=0.3, random_state=0)
    >>> x.shape, set(x.tolist()) <= {0, 1}
    ((1000,), True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer number of marbles, got {n!r}.")
    pi = check_probability(pi, "pi")
    p1 = check_probability(p1, "p1")
    p2 = check_probability(p2, "p2")
    rng = check_random_state(random_state)
    c = (rng.random(n) >= pi).astype(int)
    p_red = np.where(c == 0, p1, p2)
    x = (rng.random(n) < p_red).astype(int)
    return x, c
