"""The EM loop shared by the mixture estimators, with scikit-learn's estimator conventions.

``BaseMixture`` holds what the estimators share: the constructor parameters common to all of
them, their validation (including ``weights_init`` and ``means_init``), the initialisation, the
EM loop, scoring, sampling and the handling of missing values (NaN). A subclass supplies the
model-specific pieces as small methods:

* ``_check_X(X)``: validate the data (NaN allowed, it marks a missing value);
* ``_prepare(X)``: a ``PreparedData`` holding ``X`` and any per-``X`` precomputation; the E- and
  M-steps receive it explicitly, nothing is cached on the estimator;
* ``_estimate_weighted_log_prob(data)``: the (K, N) array ``log pi_k + log f_k(x_n)``, with
  ``f_k`` evaluated on the *observed* coordinates of ``x_n`` only (its marginal density);
* ``_m_step(data, resp, sample_weight)``: new parameters from (K, N) responsibilities, using
  expected sufficient statistics for missing values;
* ``_impute(data, resp)`` / ``_sample_missing(data, labels, rng)``: conditional expectation and
  conditional draws of the missing values;
* ``_get_parameters()`` / ``_set_parameters(params)``, ``_n_parameters()``, ``_sample(n, rng)``.
* ``_statistics(data, resp, sample_weight, shift)`` / ``_m_step_from_statistics(stats, shift)``:
  the M-step split in two, the sufficient statistics (sums over the samples, centred on
  ``_statistics_shift(column_means)``) and the parameters they give; chunked EM
  (``_chunked``, for Dask arrays and memmaps) adds the statistics of the chunks, online EM
  (``partial_fit``) keeps running averages of them.

Responsibilities are held as (K, N), components by samples: the log-sum-exp over
components then runs along contiguous memory, which is much cheaper than the (N, K) layout.
"""

import inspect
import warnings
from numbers import Real

import numpy as np

from ._logsumexp import logsumexp_components, normalize_components
from ._missing import PreparedData
from ._validation import (
    check_data,
    check_missing,
    check_nonneg_real,
    check_positive_int,
    check_random_state,
    check_sample_weight,
    check_weights,
)
from .exceptions import ConvergenceWarning, not_fitted_error


class BaseMixture:
    """Common EM fitting, scoring and parameter handling for mixture estimators.

    The constructor takes the parameters every mixture shares; a subclass's ``__init__`` lists
    all of its parameters explicitly (scikit-learn reads them from its signature) and passes
    these on.
    """

    _init_methods = ("k-means++", "kmeans", "random", "random_from_data")

    def __init__(
        self,
        n_components,
        *,
        tol,
        max_iter,
        n_init,
        init_params,
        weights_init,
        means_init,
        random_state,
        warm_start,
        callback,
        learning_decay,
        learning_offset,
        init_sample_size,
    ):
        self.n_components = n_components
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.callback = callback
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.init_sample_size = init_sample_size

    # -- scikit-learn estimator protocol -------------------------------------------------------
    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep=True):
        """Constructor parameters as a dict (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor parameters; returns ``self``."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for {type(self).__name__}; valid parameters are {valid}.")
            setattr(self, key, value)
        return self

    def __sklearn_tags__(self):
        """Estimator tags, so scikit-learn's tools (clone, GridSearchCV, ...) accept the model.

        scikit-learn is imported only when one of its tools asks; mixlearn does not need it.
        """
        from sklearn.utils import InputTags, Tags, TargetTags

        return Tags(
            estimator_type="density_estimator",
            target_tags=TargetTags(required=False),
            input_tags=InputTags(allow_nan=True),
        )

    def __repr__(self):
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values() if p.name != "self"}
        changed = []
        for name in self._get_param_names():
            value = getattr(self, name)
            default = defaults.get(name, inspect.Parameter.empty)
            same = value is default or (
                not isinstance(value, np.ndarray) and not isinstance(default, np.ndarray) and value == default
            )
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    # -- validation ----------------------------------------------------------------------------
    def _validate_common_params(self, X):
        n_samples, n_features = X.shape
        check_positive_int(self.n_components, "n_components")
        if self.n_components > n_samples:
            raise ValueError(
                f"n_components={self.n_components} must be <= n_samples={n_samples}; use fewer components or more data."
            )
        check_nonneg_real(self.tol, "tol")
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.n_init, "n_init")
        if self.init_params not in self._init_methods:
            raise ValueError(f"init_params must be one of {list(self._init_methods)}, got {self.init_params!r}.")
        if self.callback is not None and not callable(self.callback):
            raise TypeError(f"callback must be callable as callback(model, iteration) or None, got {self.callback!r}.")
        k = self.n_components
        if self.weights_init is not None:
            check_weights(self.weights_init, k, "weights_init")
        if self.means_init is not None:
            means = check_data(self.means_init, "means_init", ndim=2)
            if means.shape != (k, n_features):
                raise ValueError(f"means_init must have shape ({k}, {n_features}), one row per component, got {means.shape}.")
            self._check_means_init(means)

    def _check_means_init(self, means):
        """Hook: model-specific checks of ``means_init`` (already a (K, D) finite array)."""

    def _check_is_fitted(self):
        if not hasattr(self, "weights_"):
            raise not_fitted_error(
                f"This {type(self).__name__} instance is not fitted yet; call fit(X) before using this method."
            )

    def _check_predict_X(self, X):
        self._check_is_fitted()
        X = self._check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} features "
                "as input (the number it was fitted with); pass data with the same columns."
            )
        return check_missing(X, "X", columns=False)

    def _prepare(self, X, shift=None):
        """Hook: ``X`` (validated, NaN = missing) ready for the E- and M-steps.

        ``shift`` is the centre of the coordinates in which a model accumulates sufficient
        statistics (chunked and online EM); None lets the model choose it from ``X``.
        """
        return PreparedData(X)

    def _chunk_X(self, block):
        """Hook: one chunk of a chunked fit as a float array ready for ``_prepare``."""
        return self._check_X(block)

    # -- initialisation ------------------------------------------------------------------------
    def _initialize(self, data, sample_weight, rng):
        """Starting parameters: an M-step on responsibilities from ``init_params``, then the
        user's ``*_init`` values. With missing values the first M-step sees each missing value
        replaced by its column's observed mean (only to start; EM then treats them exactly)."""
        if data.patterns is None:
            start = data
        else:
            start = self._prepare(data.patterns.mean_filled())
        resp = initial_responsibilities(start.X, self.n_components, self.init_params, rng)
        self._m_step(start, resp, sample_weight)
        self._apply_init_values()
        return start, resp

    def _apply_init_values(self):
        """Replace the starting parameters by ``weights_init`` / ``means_init`` when given."""
        if self.weights_init is not None:
            self.weights_ = check_weights(self.weights_init, self.n_components, "weights_init")
        if self.means_init is not None:
            self.means_ = np.array(self.means_init, dtype=float)

    # -- EM ------------------------------------------------------------------------------------
    def _e_step(self, data, sample_weight):
        """Responsibilities (K, N) and the (weighted) mean log-likelihood per sample."""
        resp, log_px = normalize_components(self._estimate_weighted_log_prob(data))
        if not np.all(np.isfinite(log_px)):
            raise ValueError("X has samples with zero probability under every component; check the data.")
        if sample_weight is None:
            return resp, float(log_px.mean())
        return resp, float(sample_weight @ log_px / sample_weight.sum())

    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model parameters with EM; returns ``self``.

        Runs ``n_init`` times from different starts (once with ``warm_start`` after a first
        fit) and keeps the run with the highest log-likelihood. Stops a run when the mean
        per-sample log-likelihood changes by less than ``tol``.

        ``X`` may contain NaN for missing values: the likelihood is then that of the observed
        values (the missing ones integrated out), and EM treats the missing values as latent
        variables. A row with no observed value, or a column never observed, is an error.

        ``X`` may be a Dask array (or a ``numpy.memmap``) larger than memory: each iteration is
        then one pass over its chunks, the E-step and the sufficient statistics of every chunk
        added up by Dask (its local scheduler, or a ``dask.distributed`` cluster when a
        ``Client`` is active). The result is that of the in-memory fit from the same start. The
        start comes from ``init_sample_size`` rows drawn at random (all rows, when there are no
        more: then the start, and so the fit, is the in-memory one). See ``mixlearn._chunked``.
        """
        if _chunked_input(X):
            from . import _chunked

            return _chunked.fit(self, X, sample_weight)
        X = check_missing(self._check_X(X), "X", columns=True)
        self._validate_params(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        total_weight = X.shape[0] if sample_weight is None else sample_weight.sum()
        rng = check_random_state(self.random_state)
        warm = self.warm_start and hasattr(self, "converged_")
        self.n_features_in_ = X.shape[1]

        data = self._prepare(X)
        sample_weight = data.to_working_order(sample_weight)
        runs = [self._run_em(data, sample_weight, rng, initialize=not warm) for _ in range(1 if warm else self.n_init)]
        return self._keep_best(runs, total_weight)

    def _keep_best(self, runs, total_weight, stacklevel=3):
        """Keep the run with the highest final log-likelihood (``runs``: what :meth:`_iterate`
        returns, one per initialisation); its history and a warning if it did not converge."""
        lls, weights, params, converged = max(runs, key=lambda run: run[0][-1])
        self._set_parameters(params)
        self.converged_ = converged
        self.n_iter_ = len(lls) - 1
        self.lower_bound_ = lls[-1]
        self.history_ = {"log_likelihood": np.asarray(lls) * total_weight, "weights": np.asarray(weights)}
        if not converged:
            warnings.warn(
                f"{type(self).__name__} did not converge within max_iter={self.max_iter} iterations "
                f"(tol={self.tol:g}); increase max_iter or tol, or check the initialisation.",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )
        self._online_state = None
        return self

    def _run_em(self, data, sample_weight, rng, initialize):
        """One EM run in memory: see :meth:`_iterate`."""
        if initialize:
            self._initialize(data, sample_weight, rng)
        resp, ll = self._e_step(data, sample_weight)
        state = {"resp": resp}

        def step():
            self._m_step(data, state["resp"], sample_weight)
            state["resp"], ll_new = self._e_step(data, sample_weight)
            return ll_new

        return self._iterate(ll, step)

    def _iterate(self, ll, step):
        """The EM loop, for every path (in memory, chunked): *ll* is the mean log-likelihood at
        the start and ``step()`` runs one M-step and the E-step after it, returning the new one.
        Returns (mean log-likelihoods, weights per iteration, parameters, converged)."""
        lls, weights = [ll], [self.weights_.copy()]
        for iteration in range(1, self.max_iter + 1):
            ll_new = step()
            lls.append(ll_new)
            weights.append(self.weights_.copy())
            self.n_iter_, self.lower_bound_ = iteration, ll_new
            if self.callback is not None:
                self.callback(self, iteration)
            if abs(ll_new - ll) < self.tol:
                return lls, weights, self._get_parameters(), True
            ll = ll_new
        return lls, weights, self._get_parameters(), False

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the most likely component of each sample."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    # -- online EM -----------------------------------------------------------------------------
    def partial_fit(self, X, y=None, sample_weight=None):
        """One step of online (stepwise) EM on the batch ``X``; returns ``self``.

        Online EM (Cappé & Moulines 2009; the stepwise EM of Liang & Klein 2009) keeps running
        averages ``s`` of the sufficient statistics the M-step needs (for each component the
        responsibility mass, and the responsibility-weighted sums of ``x`` and of ``x x^T``, or of
        ``x`` only for :class:`BernoulliMixture`). Call ``t`` (1, 2, ...) runs the E-step on its
        batch under the current parameters, giving the batch's average statistics ``s_hat``, then

            s <- (1 - rho_t) s + rho_t s_hat,    rho_t = (t + learning_offset) ** (-learning_decay),

        and the M-step turns ``s`` into the new parameters. With ``0.5 < learning_decay <= 1`` the
        steps satisfy Robbins-Monro's conditions (sum rho_t infinite, sum rho_t^2 finite), so on an
        endless stream from the model the parameters converge to a maximum of the expected
        log-likelihood. A smaller ``learning_decay`` forgets the early batches faster; a larger
        ``learning_offset`` makes the first steps smaller.

        The first call initialises as :meth:`fit` does, on its batch (``init_params``,
        ``weights_init``, ...), with ``s`` the statistics of the starting responsibilities (of the
        batch under the user's starting parameters when they are given). With
        ``learning_decay=1`` and ``learning_offset=0``, ``rho_1 = 1``: the first call is exactly one
        batch EM iteration on its batch (``fit`` with ``max_iter=1``), and ``rho_t = 1/t`` makes
        ``s`` the plain average of the batch statistics seen so far. A call after :meth:`fit`
        continues from the fitted parameters, its first step taking the batch's statistics whole.
        ``max_iter``, ``tol`` and ``n_init`` play no part.

        Parameters
        ----------
        X : array-like (n_samples, n_features)
            A batch; NaN marks a missing value (no row may be all NaN). Later batches must have
            the first batch's number of features and may be of any size.
        y : ignored
        sample_weight : array-like (n_samples,), optional
            Weights of the batch's samples (``s_hat`` is their weighted average).

        Returns
        -------
        self

        Notes
        -----
        ``n_iter_`` counts the calls since the first; ``lower_bound_`` is the batch's mean
        log-likelihood under the parameters before the step (a running view of the fit).

        Examples
        --------
        >>> import numpy as np
        >>> from mixlearn import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> gm = GaussianMixture(2, random_state=0)
        >>> for _ in range(200):
        ...     labels = rng.random(500) < 0.3
        ...     batch = np.where(labels, -2.0, 3.0)[:, None] + rng.standard_normal((500, 1))
        ...     gm = gm.partial_fit(batch)
        >>> np.sort(gm.means_.ravel()).round(1), np.sort(gm.weights_).round(2)
        (array([-2.,  3.]), array([0.3, 0.7]))
        """
        if _dask_input(X):
            X = X.compute()
        kappa, offset = self._check_online_params()
        fitted = hasattr(self, "weights_")
        X = self._check_X(X)
        if fitted:
            if self.means_.shape[0] != self.n_components:
                raise ValueError(
                    f"n_components={self.n_components} but the model was fitted with {self.means_.shape[0]} components; "
                    f"set n_components back to {self.means_.shape[0]}, or start a new estimator (or call fit) "
                    "to learn a different number."
                )
            if X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                    "features as input (the number of its first batch); pass batches with the same columns."
                )
        X = check_missing(X, "X", columns=not fitted)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        total_weight = X.shape[0] if sample_weight is None else sample_weight.sum()
        state = getattr(self, "_online_state", None)
        if not fitted:
            self._validate_params(X)
            shift = self._statistics_shift(np.nanmean(X, axis=0))
            data = self._prepare(X, shift=shift)
            weights_w = data.to_working_order(sample_weight)
            start, resp = self._initialize(data, weights_w, check_random_state(self.random_state))
            if self.weights_init is None and self.means_init is None and getattr(self, "covariances_init", None) is None:
                stats = _scale(self._statistics(start, resp, weights_w, shift), 1.0 / total_weight)
            else:
                stats = None
            state = {"t": 0, "stats": stats, "shift": shift}
        else:
            if state is None:  # fitted by fit: centre the statistics on the fitted mixture's mean
                state = {"t": 0, "stats": None, "shift": self._statistics_shift(self.weights_ @ self.means_)}
            data = self._prepare(X, shift=state["shift"])
            weights_w = data.to_working_order(sample_weight)
        resp, ll = self._e_step(data, weights_w)
        batch_stats = _scale(self._statistics(data, resp, weights_w, state["shift"]), 1.0 / total_weight)
        t = state["t"] + 1
        rho = (t + offset) ** (-kappa)
        if state["stats"] is None:
            stats = batch_stats
        else:
            stats = tuple((1.0 - rho) * old + rho * new for old, new in zip(state["stats"], batch_stats, strict=True))
        self._m_step_from_statistics(stats, state["shift"])
        self.n_features_in_ = X.shape[1]
        self._online_state = {"t": t, "stats": stats, "shift": state["shift"]}
        self.n_iter_ = t
        self.lower_bound_ = ll
        return self

    def _check_online_params(self):
        kappa, offset = self.learning_decay, self.learning_offset
        if isinstance(kappa, bool) or not isinstance(kappa, (Real, np.integer, np.floating)):
            raise TypeError(f"learning_decay must be a number in (0.5, 1], got {kappa!r}.")
        if not 0.5 < kappa <= 1:
            raise ValueError(
                f"learning_decay must be in (0.5, 1] (so that the step sizes rho_t = (t + learning_offset)^-learning_decay "
                f"add up to infinity while their squares stay summable), got {kappa}."
            )
        return float(kappa), check_nonneg_real(offset, "learning_offset")

    # -- inference -----------------------------------------------------------------------------
    # Rows with NaN are scored by the density of their observed coordinates.
    def score_samples(self, X):
        """Log-likelihood ``log p(x_n)`` of each sample, shape (n_samples,).

        For a sample with missing values (NaN) this is the log-density of its observed values.
        For a Dask ``X`` the result is a Dask array, computed chunk by chunk when asked.
        """
        if _chunked_input(X):
            return self._lazy(X, "score_samples")
        data = self._prepare(self._check_predict_X(X))
        return data.to_input_order(logsumexp_components(self._estimate_weighted_log_prob(data)))

    def score(self, X, y=None):
        """Mean log-likelihood per sample (of the observed values, for samples with NaN).

        For a Dask ``X``, a 0-d Dask array (call ``.compute()``).
        """
        if _chunked_input(X):
            mean = self._lazy(X, "score_samples", keep_lazy=True).mean()
            return mean if _dask_input(X) else float(mean.compute())
        return float(self.score_samples(X).mean())

    def predict_proba(self, X):
        """Posterior probability of each component for each sample, shape (n_samples, n_components).

        For a sample with missing values (NaN) the posterior given its observed values.
        For a Dask ``X`` the result is a Dask array.
        """
        if _chunked_input(X):
            return self._lazy(X, "predict_proba")
        data = self._prepare(self._check_predict_X(X))
        return data.to_input_order(self._e_step(data, None)[0].T)

    def predict(self, X):
        """The most likely component (index) of each sample (given its observed values).

        For a Dask ``X`` the result is a Dask array.
        """
        if _chunked_input(X):
            return self._lazy(X, "predict")
        data = self._prepare(self._check_predict_X(X))
        return data.to_input_order(np.argmax(self._estimate_weighted_log_prob(data), axis=0))

    def _lazy(self, X, method, keep_lazy=False):
        """``method`` on a Dask array (lazy) or a memmap (computed chunk by chunk, unless ``keep_lazy``)."""
        from . import _chunked

        self._check_is_fitted()
        out = _chunked.lazy(self, X, method)
        return out if keep_lazy or _dask_input(X) else out.compute()

    def impute(self, X):
        """``X`` with each missing value (NaN) replaced by its conditional expectation.

        The expectation is taken under the fitted mixture given the sample's observed values:
        ``E[x_mis | x_obs] = sum_k P(z = k | x_obs) E[x_mis | x_obs, z = k]``, the responsibilities
        coming from the observed values only. Observed values are returned unchanged; ``X`` is
        not modified. Imputed values are best guesses: their spread is smaller than the data's
        (use :meth:`sample_missing` for draws that keep it).

        Parameters
        ----------
        X : array-like (n_samples, n_features)
            Data with NaN for the missing values; each row needs at least one observed value.

        Returns
        -------
        ndarray (n_samples, n_features)
            A new array without NaN.

        Examples
        --------
        >>> import numpy as np
        >>> from mixlearn import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], size=2000)
        >>> gm = GaussianMixture(1, random_state=0).fit(X)
        >>> gm.impute([[2.0, np.nan]]).round(1)  # about 0.9 * 2
        array([[2. , 1.8]])
        """
        data = self._prepare(self._check_predict_X(X))
        if data.patterns is None:
            return data.X.copy()
        resp = self._e_step(data, None)[0]
        return data.to_input_order(self._impute(data, resp))

    def sample_missing(self, X, random_state=None):
        """``X`` with each missing value (NaN) replaced by a draw from its conditional distribution.

        For each sample a component is drawn from ``P(z = k | x_obs)``, then the missing values from
        that component's distribution given the observed ones. Repeating this gives multiple
        imputations, whose spread shows the uncertainty that :meth:`impute` hides. Observed
        values are returned unchanged; ``X`` is not modified.

        Parameters
        ----------
        X : array-like (n_samples, n_features)
            Data with NaN for the missing values; each row needs at least one observed value.
        random_state : None, int or numpy Generator
            Uses the estimator's ``random_state`` when None.

        Returns
        -------
        ndarray (n_samples, n_features)
            A new array without NaN.

        Examples
        --------
        >>> import numpy as np
        >>> from mixlearn import GaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], size=2000)
        >>> gm = GaussianMixture(1, random_state=0).fit(X)
        >>> draws = gm.sample_missing(np.tile([2.0, np.nan], (4000, 1)), random_state=1)[:, 1]
        >>> round(float(draws.mean()), 1), round(float(draws.var()), 1)  # about 0.9 * 2 and 1 - 0.9**2
        (1.8, 0.2)
        """
        data = self._prepare(self._check_predict_X(X))
        if data.patterns is None:
            return data.X.copy()
        rng = check_random_state(self.random_state if random_state is None else random_state)
        resp = self._e_step(data, None)[0]
        cumulative = np.cumsum(resp, axis=0)
        labels = np.minimum((cumulative < rng.random(data.n_samples) * cumulative[-1]).sum(axis=0), self.n_components - 1)
        return data.to_input_order(self._sample_missing(data, labels, rng))

    def sample(self, n_samples=1, random_state=None):
        """Draw samples from the fitted mixture; returns ``(X, labels)``.

        Uses ``random_state`` if given, else the estimator's ``random_state``.
        """
        self._check_is_fitted()
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(self.random_state if random_state is None else random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        labels = np.repeat(np.arange(self.n_components), counts)
        return self._sample(counts, rng), labels

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better; observed-data likelihood)."""
        X = self._check_predict_X(X)
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better; observed-data likelihood)."""
        X = self._check_predict_X(X)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()


def _scale(stats, factor):
    return tuple(factor * s for s in stats)


def _dask_input(X):
    return type(X).__module__.split(".")[:2] == ["dask", "array"] and hasattr(X, "chunks")


def _chunked_input(X):
    """Dask arrays and memmaps take the chunked path (``mixlearn._chunked``, which imports Dask)."""
    return _dask_input(X) or isinstance(X, np.memmap)


def kmeans_plusplus(X, n_clusters, rng):
    """Indices of ``n_clusters`` seed points chosen by k-means++ (D^2 weighting)."""
    n = X.shape[0]
    sq_norms = np.einsum("nd,nd->n", X, X)
    centers = [int(rng.integers(n))]
    closest = sq_norms - 2 * X @ X[centers[0]] + sq_norms[centers[0]]
    np.maximum(closest, 0, out=closest)
    for _ in range(1, n_clusters):
        total = closest.sum()
        if total <= 0:  # all remaining points coincide with a centre
            idx = int(rng.integers(n))
        else:
            idx = int(np.searchsorted(np.cumsum(closest), rng.random() * total))
            idx = min(idx, n - 1)
        centers.append(idx)
        dist = sq_norms - 2 * X @ X[idx] + sq_norms[idx]
        np.minimum(closest, np.maximum(dist, 0), out=closest)
    return np.asarray(centers)


def _nearest(X, centers):
    d = np.einsum("kd,kd->k", centers, centers)[:, None] - 2 * centers @ X.T
    return np.argmin(d, axis=0)


def hard_responsibilities(labels, n_components):
    resp = np.zeros((n_components, labels.size))
    resp[labels, np.arange(labels.size)] = 1.0
    return resp


def initial_responsibilities(X, n_components, method, rng, max_lloyd=100):
    """Starting (K, N) responsibilities for EM.

    * ``"k-means++"``: k-means++ seeds, each point assigned to its nearest seed;
    * ``"kmeans"``: k-means++ seeds refined by Lloyd iterations;
    * ``"random"``: random responsibilities;
    * ``"random_from_data"``: random data points as seeds, each point assigned to the nearest.
    """
    n = X.shape[0]
    if method == "random":
        resp = rng.uniform(size=(n_components, n))
        return resp / resp.sum(axis=0)
    if method == "random_from_data":
        seeds = rng.choice(n, size=n_components, replace=False)
    else:
        seeds = kmeans_plusplus(X, n_components, rng)
    centers = X[seeds].copy()
    labels = _nearest(X, centers)
    if method == "kmeans":
        for _ in range(max_lloyd):
            for k in range(n_components):
                members = labels == k
                if members.any():
                    centers[k] = X[members].mean(axis=0)
            new_labels = _nearest(X, centers)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
    return hard_responsibilities(labels, n_components)
