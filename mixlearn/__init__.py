"""mixlearn: mixture distributions, latent variables and the EM algorithm.

Where to find what:

* ``mixlearn.distributions``: the component families (Bernoulli, Binomial, ...);
* ``mixlearn.mixture``: p(x), P(z | x) and sampling, the generative story;
* ``mixlearn.em``: EM for the mixing weights of known components (the E-step is ``e_step``);
* ``mixlearn.gaussian_mixture`` / ``mixlearn.bernoulli_mixture``: estimators that learn
  every parameter, with scikit-learn's conventions (the shared EM loop is in ``_base``);
  NaN in their data marks a missing value, which EM treats as a latent variable
  (``impute`` and ``sample_missing`` fill them in);
* ``mixlearn.datasets``: Old Faithful and the marble simulator;
* ``mixlearn.inference`` (standard errors by Louis's identity, a bootstrap test of K),
  ``mixlearn.bayesian_mixture`` (MAP-EM for weights, variational Bayes) and
  ``mixlearn.censored`` (EM for censored normal data), imported on their own.
"""

from . import datasets
from .bernoulli_mixture import BernoulliMixture
from .distributions import Bernoulli, Binomial, Categorical, Gaussian, Poisson
from .em import EMResult, e_step, em_n_components, em_two_components, m_step
from .exceptions import ConvergenceWarning, IdentifiabilityWarning, NotFittedError
from .gaussian_mixture import GaussianMixture
from .mixture import mixture_logpdf, posterior, sample_mixture

__version__ = "0.1.0"

__all__ = [
    "Bernoulli",
    "BernoulliMixture",
    "Binomial",
    "Categorical",
    "ConvergenceWarning",
    "EMResult",
    "Gaussian",
    "GaussianMixture",
    "IdentifiabilityWarning",
    "NotFittedError",
    "Poisson",
    "datasets",
    "e_step",
    "em_n_components",
    "em_two_components",
    "m_step",
    "mixture_logpdf",
    "posterior",
    "sample_mixture",
]
