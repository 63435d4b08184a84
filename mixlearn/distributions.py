"""Component distributions with a known, fixed parameter.

Each class offers the same small interface: ``logpdf(x)`` (the log of the
probability mass or density, ``-inf`` outside the support), ``pdf(x)``,
``sample(size, random_state)`` and ``mean()``. Wherever mixlearn asks for
``components`` it also accepts any frozen ``scipy.stats`` distribution.

Examples
--------
>>> from mixlearn import Bernoulli
>>> red_factory = Bernoulli(0.8)
>>> float(red_factory.pdf(1))
0.8
"""

import sys

import numpy as np
from scipy import special

from ._validation import check_probability, check_random_state

__all__ = ["Bernoulli", "Binomial", "Categorical", "Poisson", "Gaussian", "as_component"]


class _Distribution:
    discrete = True

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self):
        return hash((type(self).__name__, self._key()))


class Bernoulli(_Distribution):
    """One 0/1 draw with ``P(x = 1) = p``."""

    def __init__(self, p):
        self.p = check_probability(p, "p")

    def _key(self):
        return (self.p,)

    def __repr__(self):
        return f"Bernoulli(p={self.p:g})"

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            log_one, log_zero = np.log(self.p), np.log1p(-self.p)
        out = np.full(x.shape, -np.inf)
        out[x == 1] = log_one
        out[x == 0] = log_zero
        return out

    def sample(self, size=None, random_state=None):
        rng = check_random_state(random_state)
        return (rng.random(size) < self.p).astype(int)

    def mean(self):
        return self.p


class Binomial(_Distribution):
    """Number of successes in ``n`` independent draws, each a success with probability ``p``."""

    def __init__(self, n, p):
        if isinstance(n, bool) or not float(n).is_integer() or n < 0:
            raise ValueError(f"n must be a non-negative integer number of draws, got {n!r}.")
        self.n = int(n)
        self.p = check_probability(p, "p")

    def _key(self):
        return (self.n, self.p)

    def __repr__(self):
        return f"Binomial(n={self.n}, p={self.p:g})"

    def logpdf(self, x):
        k = np.asarray(x, dtype=float)
        valid = (k >= 0) & (k <= self.n) & (k == np.floor(k))
        kk = np.where(valid, k, 0.0)
        log_choose = special.gammaln(self.n + 1) - special.gammaln(kk + 1) - special.gammaln(self.n - kk + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            # xlogy gives 0 * log(0) = 0, so p in {0, 1} is handled exactly
            body = special.xlogy(kk, self.p) + special.xlog1py(self.n - kk, -self.p)
        return np.where(valid, log_choose + body, -np.inf)

    def sample(self, size=None, random_state=None):
        return check_random_state(random_state).binomial(self.n, self.p, size)

    def mean(self):
        return self.n * self.p


class Categorical(_Distribution):
    """One draw from the categories ``0, ..., len(probs) - 1``."""

    def __init__(self, probs):
        probs = np.array(probs, dtype=float)
        if probs.ndim != 1 or probs.size == 0:
            raise ValueError(f"probs must be a non-empty 1-D array of category probabilities, got shape {probs.shape}.")
        if not np.all(np.isfinite(probs)) or np.any(probs < 0) or np.any(probs > 1):
            raise ValueError(f"probs must lie in [0, 1], got {probs.tolist()}.")
        if abs(probs.sum() - 1) > 1e-8:
            raise ValueError(f"probs must sum to 1 (got {probs.sum():.6g}); divide them by their sum.")
        self.probs = probs / probs.sum()
        self.probs.setflags(write=False)

    def _key(self):
        return tuple(self.probs.tolist())

    def __repr__(self):
        return f"Categorical(probs={np.round(self.probs, 4).tolist()})"

    def logpdf(self, x):
        k = np.asarray(x, dtype=float)
        valid = (k >= 0) & (k < self.probs.size) & (k == np.floor(k))
        with np.errstate(divide="ignore"):
            log_probs = np.log(self.probs)
        return np.where(valid, log_probs[np.where(valid, k, 0).astype(int)], -np.inf)

    def sample(self, size=None, random_state=None):
        return check_random_state(random_state).choice(self.probs.size, size=size, p=self.probs)

    def mean(self):
        return float(np.arange(self.probs.size) @ self.probs)


class Poisson(_Distribution):
    """Counts with mean ``rate``."""

    def __init__(self, rate):
        if isinstance(rate, bool) or not np.isfinite(rate) or rate < 0:
            raise ValueError(f"rate must be a finite non-negative number, got {rate!r}.")
        self.rate = float(rate)

    def _key(self):
        return (self.rate,)

    def __repr__(self):
        return f"Poisson(rate={self.rate:g})"

    def logpdf(self, x):
        k = np.asarray(x, dtype=float)
        valid = (k >= 0) & (k == np.floor(k))
        kk = np.where(valid, k, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = special.xlogy(kk, self.rate) - self.rate - special.gammaln(kk + 1)
        return np.where(valid, out, -np.inf)

    def sample(self, size=None, random_state=None):
        return check_random_state(random_state).poisson(self.rate, size)

    def mean(self):
        return self.rate


class Gaussian(_Distribution):
    """Normal density with ``mean`` and standard deviation ``std`` (> 0)."""

    discrete = False

    def __init__(self, mean, std):
        if isinstance(mean, bool) or not np.isfinite(mean):
            raise ValueError(f"mean must be a finite number, got {mean!r}.")
        if isinstance(std, bool) or not np.isfinite(std) or std <= 0:
            raise ValueError(f"std must be a finite positive number, got {std!r}.")
        self.loc = float(mean)
        self.std = float(std)

    def _key(self):
        return (self.loc, self.std)

    def __repr__(self):
        return f"Gaussian(mean={self.loc:g}, std={self.std:g})"

    def logpdf(self, x):
        z = (np.asarray(x, dtype=float) - self.loc) / self.std
        return -0.5 * z * z - np.log(self.std) - 0.5 * np.log(2 * np.pi)

    def sample(self, size=None, random_state=None):
        return check_random_state(random_state).normal(self.loc, self.std, size)

    def mean(self):
        return self.loc


class _ScipyComponent:
    """Adapter giving a frozen scipy.stats distribution the mixlearn interface."""

    def __init__(self, frozen):
        self.frozen = frozen
        self.discrete = hasattr(frozen, "logpmf")
        self._log = frozen.logpmf if self.discrete else frozen.logpdf

    def __repr__(self):
        return f"scipy:{self.frozen.dist.name}"

    def logpdf(self, x):
        return np.asarray(self._log(x), dtype=float)

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def sample(self, size=None, random_state=None):
        return self.frozen.rvs(size=size, random_state=check_random_state(random_state))

    def mean(self):
        return self.frozen.mean()


def as_component(obj, name="components"):
    """Return ``obj`` with the mixlearn distribution interface, or raise ``TypeError``."""
    if isinstance(obj, (_Distribution, _ScipyComponent)):
        return obj
    # scipy.stats is not imported here (it takes most of a second); an unfrozen scipy distribution
    # can only exist once it has been imported
    stats = sys.modules.get("scipy.stats")
    if stats is not None and isinstance(obj, (stats.rv_continuous, stats.rv_discrete)):
        raise TypeError(
            f"{name} holds an unfrozen scipy distribution ({obj.name}); freeze it with its "
            f"parameters, e.g. scipy.stats.{obj.name}(...)."
        )
    if hasattr(obj, "dist") and (hasattr(obj, "logpdf") or hasattr(obj, "logpmf")):
        return _ScipyComponent(obj)
    raise TypeError(
        f"{name} must hold mixlearn distributions (Bernoulli, Binomial, Categorical, Poisson, Gaussian) "
        f"or frozen scipy.stats distributions, got {obj!r}."
    )


def as_components(components, name="components"):
    """Validate a non-empty sequence of components."""
    if isinstance(components, (_Distribution, _ScipyComponent)) or hasattr(components, "dist"):
        raise TypeError(f"{name} must be a list of distributions; wrap a single one as [{name}].")
    try:
        comps = [as_component(c, name) for c in components]
    except TypeError as err:
        if "iterable" in str(err):
            raise TypeError(f"{name} must be a list of distributions, got {components!r}.") from None
        raise
    if not comps:
        raise ValueError(f"{name} is empty; pass at least one distribution.")
    return comps
