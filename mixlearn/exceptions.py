"""Warnings and errors raised by mixlearn."""


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before the log-likelihood settled within ``tol``."""


class IdentifiabilityWarning(UserWarning):
    """The data cannot tell the mixing weights apart, so the answer returned is one of many."""


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit`` was called."""


_SKLEARN_COMPATIBLE = {}


def not_fitted_error(message):
    """A :class:`NotFittedError` that is also scikit-learn's ``NotFittedError`` when that is loaded.

    Code that catches scikit-learn's class (its estimator checks, for example) must have imported
    ``sklearn.exceptions`` already, so looking it up in ``sys.modules`` at raise time is enough:
    mixlearn itself never imports scikit-learn.
    """
    import sys

    sklearn_exceptions = sys.modules.get("sklearn.exceptions")
    if sklearn_exceptions is None:
        return NotFittedError(message)
    base = sklearn_exceptions.NotFittedError
    if base not in _SKLEARN_COMPATIBLE:
        _SKLEARN_COMPATIBLE[base] = type("NotFittedError", (NotFittedError, base), {"__module__": __name__})
    return _SKLEARN_COMPATIBLE[base](message)
