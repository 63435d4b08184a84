"""Shipped data and the marble simulator."""

import numpy as np
import pytest

from mixlearn.datasets import load_faithful, make_marbles


def test_old_faithful_is_the_classic_table():
    X = load_faithful()
    assert X.shape == (272, 2) and X.dtype == float
    np.testing.assert_allclose(X[0], [3.6, 79])
    # the published summary of R's datasets::faithful
    np.testing.assert_allclose(X.mean(axis=0), [3.487783, 70.897059], atol=1e-6)
    assert X[:, 0].min() == 1.6 and X[:, 1].max() == 96
    X[0, 0] = -1
    assert load_faithful()[0, 0] == 3.6  # a fresh copy every call


def test_make_marbles_follows_the_story():
    x, c = make_marbles(200_000, pi=0.6, p1=0.8, p2=0.3, random_state=1)
    assert set(np.unique(x)) == {0, 1} and set(np.unique(c)) == {0, 1}
    assert np.mean(c == 0) == pytest.approx(0.6, abs=0.005)
    assert x[c == 0].mean() == pytest.approx(0.8, abs=0.005)
    assert x[c == 1].mean() == pytest.approx(0.3, abs=0.006)
    np.testing.assert_array_equal(make_marbles(20, 0.5, 0.8, 0.3, random_state=3)[0],
                                  make_marbles(20, 0.5, 0.8, 0.3, random_state=3)[0])


@pytest.mark.parametrize("kwargs, message", [(dict(n=0), "n must be a positive integer"), (dict(pi=1.5), "pi must be"),
                                             (dict(p1=-0.2), "p1 must be")])
def test_make_marbles_bad_input(kwargs, message):
    args = dict(n=10, pi=0.5, p1=0.8, p2=0.3) | kwargs
    with pytest.raises(ValueError, match=message):
        make_marbles(**args)
