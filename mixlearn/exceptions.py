"""Warnings and errors raised by mixlearn."""


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the log-likelihood settled within ``tol``."""


class IdentifiabilityWarning(UserWarning):
    """The data cannot tell the mixing weights apart, so the answer returned is one of many."""


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit`` was called."""
