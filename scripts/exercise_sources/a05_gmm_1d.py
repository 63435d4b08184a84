"""Assignment 5: EM for a 1-D Gaussian mixture (weights, means and variances)."""

from _cells import answer, demo, md, setup, setup_source, solution, tests

TITLE = "EM for a 1-D Gaussian mixture"
PRACTISES = ("EM that learns every parameter of a 1-D Gaussian mixture (weights, means, variances), "
             "the weighted M-step, the monotone log-likelihood check as a debugging tool, and Old "
             "Faithful's eruptions.")

GUARD = '"GaussianMixture", "em_n_components", "e_step", "m_step", "posterior"'


def cells():
    return [
        md(r"""
        # Assignment 5: EM for a 1-D Gaussian mixture

        Now nothing about the components is known: a mixture of $K$ normal distributions has weights
        $\pi_k$, means $\mu_k$ and variances $\sigma_k^2$, all estimated by EM from $x_1, \dots, x_N$:

        * **E-step**: responsibilities $\gamma_{nk} \propto \pi_k\,\mathcal{N}(x_n \mid \mu_k, \sigma_k^2)$,
          normalised so that $\sum_k \gamma_{nk} = 1$;
        * **M-step**: with $N_k = \sum_n \gamma_{nk}$,
          $\pi_k = N_k / N$, $\mu_k = \frac{1}{N_k}\sum_n \gamma_{nk} x_n$,
          $\sigma_k^2 = \frac{1}{N_k}\sum_n \gamma_{nk}(x_n - \mu_k)^2$ (with the **new** $\mu_k$).

        The log-likelihood still never decreases, which makes a great test of your code. Expect about
        60 minutes.

        **How this notebook is graded.** Write code where it says `YOUR CODE HERE` (delete the
        `raise NotImplementedError()` line) and answers where it says `YOUR ANSWER HERE`. The read-only
        cells are tests; the autograder adds hidden tests on other data. The tests switch off
        `mixlearn.GaussianMixture` (and scikit-learn's) and mixlearn's EM helpers, so write the steps
        yourself. Before submitting, restart the kernel and run all cells.

        All parameters are NumPy arrays of shape `(K,)` (`weights[k]` holds $\pi_k$, `means[k]`
        $\mu_k$, `variances[k]` $\sigma_k^2$); the data `x` has shape `(N,)`, and `resp[n, k]` holds
        $\gamma_{nk}$. The symbols are those of the book (see its Notation page); indices in the
        code count from 0, in the formulas from 1.
        """),
        setup("setup", setup_source(f"""
        import warnings

        import numpy as np
        from scipy.special import logsumexp
        import mixlearn as ml

        EM_FUNCTIONS = ({GUARD})


        def gmm_oracle(x, weights, means, variances, max_iter=10_000, tol=1e-12):
            # mixlearn's GaussianMixture, started at the given parameters (no regularisation)
            gm = ml.GaussianMixture(len(weights), covariance_type="diag", reg_covar=0.0, tol=tol, max_iter=max_iter,
                                    weights_init=weights, means_init=np.reshape(means, (-1, 1)),
                                    covariances_init=np.reshape(variances, (-1, 1)))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gm.fit(np.reshape(x, (-1, 1)))
            return gm.weights_, gm.means_[:, 0], gm.covariances_[:, 0], gm
        """)),
        md(r"""
        ## Part 1: the E-step

        Write `gmm_e_step(x, weights, means, variances)` returning `(resp, mean_log_likelihood)` as in
        assignment 4, for Gaussian components given by their **variances**. Work in log space.
        """),
        solution("gmm_e_step", '''
        def gmm_e_step(x, weights, means, variances):
            """Responsibilities (N, K) and mean log-likelihood per sample of a 1-D Gaussian mixture."""
            ### BEGIN SOLUTION
            x = np.asarray(x, dtype=float)[:, None]
            variances = np.asarray(variances, dtype=float)
            with np.errstate(divide="ignore"):
                log_w = np.log(np.asarray(weights, dtype=float))
            log_joint = log_w - 0.5 * np.log(2 * np.pi * variances) - 0.5 * (x - means) ** 2 / variances
            log_px = logsumexp(log_joint, axis=1, keepdims=True)
            return np.exp(log_joint - log_px), float(np.mean(log_px))
            ### END SOLUTION
        '''),
        tests("test_gmm_e_step", 2, """
        def check_gmm_e_step(x, weights, means, variances, what):
            comps = [ml.Gaussian(m, np.sqrt(v)) for m, v in zip(means, variances)]
            with own_work_only(*EM_FUNCTIONS):
                result = gmm_e_step(x, np.asarray(weights), np.asarray(means), np.asarray(variances))
            assert isinstance(result, tuple) and len(result) == 2, "gmm_e_step should return a pair (resp, mean_log_likelihood)."
            expect_close(result[0], ml.posterior(x, weights, comps), f"The responsibilities for {what}")
            expect_close(result[1], ml.mixture_logpdf(x, weights, comps).mean(), f"The mean log-likelihood for {what}")

        check_gmm_e_step(np.array([-2.0, 0.0, 1.0, 4.0]), [0.4, 0.6], [0.0, 3.0], [1.0, 4.0],
                         "4 points, weights [0.4, 0.6], means [0, 3], variances [1, 4]")
        """, """
        rng = np.random.default_rng(81)
        check_gmm_e_step(rng.normal(0, 5, 60), rng.dirichlet(np.ones(4)), rng.normal(0, 4, 4), rng.uniform(0.2, 9.0, 4),
                         "60 points and four random components")
        check_gmm_e_step(np.array([-80.0, 95.0]), [0.5, 0.5], [0.0, 1.0], [0.25, 0.25], "points far in the tails")
        """),
        md(r"""
        ## Part 2: the M-step

        Write `gmm_m_step(x, resp)` returning `(weights, means, variances)` from the formulas above.
        The means and variances are weighted averages: every sample counts with its responsibility
        $\gamma_{nk}$, and component $k$'s sums are divided by $N_k$, not by $N$ (only the weights
        divide by $N$).
        """),
        solution("gmm_m_step", '''
        def gmm_m_step(x, resp):
            """New (weights, means, variances) from the data and the responsibilities."""
            ### BEGIN SOLUTION
            x = np.asarray(x, dtype=float)
            resp = np.asarray(resp, dtype=float)
            nk = resp.sum(axis=0)
            weights = nk / x.size
            means = resp.T @ x / nk
            variances = np.sum(resp * (x[:, None] - means) ** 2, axis=0) / nk
            return weights, means, variances
            ### END SOLUTION
        '''),
        tests("test_gmm_m_step", 3, """
        def m_step_oracle(x, resp):
            # weighted statistics computed by numpy, one component at a time
            means = np.array([np.average(x, weights=r) for r in resp.T])
            variances = np.array([np.cov(x, aweights=r, bias=True) for r in resp.T])
            return resp.mean(axis=0), means, variances

        def check_m_step(x, resp, what):
            with own_work_only(*EM_FUNCTIONS):
                result = gmm_m_step(x, resp)
            assert isinstance(result, tuple) and len(result) == 3, "gmm_m_step should return (weights, means, variances)."
            for name, got, expected in zip(["weights", "means", "variances"], result, m_step_oracle(x, resp)):
                expect_close(got, expected, f"The new {name} for {what}")

        x = np.array([0.0, 1.0, 2.0, 10.0])
        resp = np.array([[1.0, 0.0], [0.8, 0.2], [0.5, 0.5], [0.0, 1.0]])
        check_m_step(x, resp, "x = [0, 1, 2, 10] and the responsibilities in this cell")
        """, """
        rng = np.random.default_rng(82)
        x = rng.normal(3.0, 2.0, 500)
        check_m_step(x, rng.dirichlet([2.0, 1.0, 0.5], size=500), "500 points and three components")
        """),
        md(r"""
        ## Part 3: fitting, with the monotone check

        Write `fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000)` that starts from the
        given parameters and alternates E- and M-steps. Return a dictionary with keys `"weights"`,
        `"means"`, `"variances"` (the final parameters) and `"log_likelihoods"` (the list of mean
        log-likelihoods per sample: at the starting parameters, then after every iteration). Stop when
        it changes by less than `tol`, or after `max_iter` iterations.
        """),
        solution("fit_gmm_1d", '''
        def fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000):
            """EM for all parameters of a 1-D Gaussian mixture, from the given start."""
            ### BEGIN SOLUTION
            x = np.asarray(x, dtype=float)
            resp, ll = gmm_e_step(x, weights, means, variances)
            log_likelihoods = [ll]
            for _ in range(max_iter):
                weights, means, variances = gmm_m_step(x, resp)
                resp, ll = gmm_e_step(x, weights, means, variances)
                log_likelihoods.append(ll)
                if abs(log_likelihoods[-1] - log_likelihoods[-2]) < tol:
                    break
            return {"weights": weights, "means": means, "variances": variances, "log_likelihoods": log_likelihoods}
            ### END SOLUTION
        '''),
        tests("test_fit_gmm_1d", 3, """
        def check_fit(x, start, what):
            w, m, v, _ = gmm_oracle(x, *start)
            with own_work_only(*EM_FUNCTIONS):
                fit = fit_gmm_1d(x, *[np.array(p, dtype=float) for p in start], tol=1e-12, max_iter=2000)
            assert isinstance(fit, dict), "fit_gmm_1d should return a dictionary."
            for name, expected in [("weights", w), ("means", m), ("variances", v)]:
                assert name in fit, f"fit_gmm_1d's result should have the key {name!r}."
                expect_close(fit[name], expected, f"The fitted {name} for {what}", rtol=1e-4, atol=1e-6)

        eruptions = ml.datasets.load_faithful()[:, 0]
        check_fit(eruptions, ([0.5, 0.5], [2.0, 4.0], [0.5, 0.5]), "Old Faithful's eruption durations (K = 2)")
        """, """
        waiting = ml.datasets.load_faithful()[:, 1]
        check_fit(waiting, ([0.3, 0.7], [50.0, 85.0], [30.0, 30.0]), "Old Faithful's waiting times (K = 2)")
        x, _ = ml.sample_mixture([0.3, 0.4, 0.3], [ml.Gaussian(-4, 1), ml.Gaussian(0, 0.5), ml.Gaussian(5, 2)], 900,
                                 random_state=83)
        check_fit(x, ([1 / 3, 1 / 3, 1 / 3], [-3.0, 1.0, 4.0], [1.0, 1.0, 1.0]), "900 points from three components")
        """),
        tests("test_fit_gmm_1d_monotone", 2, """
        x, _ = ml.sample_mixture([0.6, 0.4], [ml.Gaussian(0, 1), ml.Gaussian(2.5, 0.7)], 400, random_state=4)
        start = (np.array([0.5, 0.5]), np.array([-1.0, 1.0]), np.array([2.0, 2.0]))
        with own_work_only(*EM_FUNCTIONS):
            fit = fit_gmm_1d(x, *start)
        lls = np.asarray(fit["log_likelihoods"], dtype=float)
        assert lls.ndim == 1 and lls.size >= 3, f"fit_gmm_1d should record several log-likelihoods, got {lls.size}."
        expect_close(lls[0], gmm_oracle(x, *start, max_iter=1)[3].history_["log_likelihood"][0] / x.size,
                     "The first mean log-likelihood (at the starting parameters)")
        assert np.all(np.diff(lls) >= -1e-10), (
            "The log-likelihood should never decrease from one EM iteration to the next; a decrease means a bug in a step.")
        """, """
        x, _ = ml.sample_mixture([0.5, 0.5], [ml.Gaussian(0, 1), ml.Gaussian(1, 1)], 1000, random_state=5)
        with own_work_only(*EM_FUNCTIONS):
            fit = fit_gmm_1d(x, np.array([0.9, 0.1]), np.array([-2.0, 3.0]), np.array([0.5, 3.0]), max_iter=7, tol=0.0)
        lls = np.asarray(fit["log_likelihoods"], dtype=float)
        assert lls.size == 8, f"With max_iter=7 and tol=0 fit_gmm_1d should run 7 iterations (8 log-likelihoods), got {lls.size}."
        assert np.all(np.diff(lls) >= -1e-10), "The log-likelihood should never decrease from one EM iteration to the next."
        """),
        md(r"""
        ## Part 4: a debugging helper

        Write `first_decrease(log_likelihoods, atol=1e-9)` returning the index `i` of the first value
        that is lower than the one before it by more than `atol` (so `log_likelihoods[i] <
        log_likelihoods[i - 1] - atol`), or `None` if there is no such drop. Tiny drops within `atol`
        are rounding noise, not bugs.
        """),
        solution("first_decrease", '''
        def first_decrease(log_likelihoods, atol=1e-9):
            """Index of the first drop larger than atol, or None."""
            ### BEGIN SOLUTION
            drops = np.flatnonzero(np.diff(np.asarray(log_likelihoods, dtype=float)) < -atol)
            return int(drops[0]) + 1 if drops.size else None
            ### END SOLUTION
        '''),
        tests("test_first_decrease", 1, """
        assert first_decrease([-3.0, -2.0, -1.5, -1.4]) is None, "first_decrease should return None for an increasing list."
        got = first_decrease([-3.0, -2.0, -2.5, -1.0, -1.2])
        assert got == 2, f"first_decrease([-3, -2, -2.5, -1, -1.2]) should be 2 (the value -2.5 drops), but it is {got}."
        """, """
        got = first_decrease([-1.0, -1.0 - 1e-12, -0.5, -0.6], atol=1e-9)
        assert got == 3, (f"first_decrease should ignore a drop of 1e-12 (within atol = 1e-9) and return 3, the index of "
                          f"the first real drop, but it returned {got}.")
        got = first_decrease(np.array([-5.0, -5.5]))
        assert got == 1, f"first_decrease([-5, -5.5]) should be 1, got {got}."
        assert first_decrease([-2.0]) is None, "first_decrease of a single value should be None."
        """),
        md("Old Faithful's eruption durations (minutes), fitted with two components:"),
        demo("""
        eruptions = ml.datasets.load_faithful()[:, 0]
        fit = fit_gmm_1d(eruptions, np.array([0.5, 0.5]), np.array([2.0, 4.0]), np.array([0.5, 0.5]))
        for k in range(2):
            print(f"component {k}: weight {fit['weights'][k]:.3f}, mean {fit['means'][k]:.3f} min, "
                  f"std {np.sqrt(fit['variances'][k]):.3f} min")
        print("iterations:", len(fit["log_likelihoods"]) - 1, "| first decrease:", first_decrease(fit["log_likelihoods"]))
        """),
        demo("""
        import matplotlib.pyplot as plt

        grid = np.linspace(1, 6, 300)
        density = sum(w * np.exp(-0.5 * (grid - m) ** 2 / v) / np.sqrt(2 * np.pi * v)
                      for w, m, v in zip(fit["weights"], fit["means"], fit["variances"]))
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(eruptions, bins=30, density=True, alpha=0.5, label="eruptions")
        ax.plot(grid, density, label="fitted mixture")
        ax.set_xlabel("eruption duration (min)")
        ax.legend()
        plt.show()
        """, check_output=False),
        md(r"""
        ## Written questions

        **Question 1.** Why must the log-likelihood never decrease under EM, and what does a decrease in
        your recorded list tell you when your code gives wrong answers?
        """),
        answer("answer_monotone", 2, r"""
        The E-step makes a lower bound on the log-likelihood that touches it at the current parameters, and
        the M-step maximises that bound exactly, so the new log-likelihood is at least the bound's value
        there, which is at least the old log-likelihood. If the recorded values go down (beyond rounding),
        one of the steps is not doing its exact job: typically a wrong normaliser in the M-step (dividing
        by $N$ instead of $N_k$), variances about the old means, or a log-likelihood computed with other
        parameters than the ones just updated. `first_decrease` points at the iteration where it happens.
        """),
        md(r"""
        **Question 2.** Start one component on a data point with a tiny variance:
        `fit_gmm_1d(eruptions, np.array([0.5, 0.5]), np.array([eruptions[0], 3.5]), np.array([1e-6, 1.0]))`
        (`eruptions[0]` is 3.6 minutes). What happens to that component's variance and to the recorded
        log-likelihoods? Why does the likelihood of a Gaussian mixture have no maximum, and what do
        practical implementations do about it?
        """),
        answer("answer_collapse", 2, r"""
        The component keeps the points at 3.6 (the durations are rounded, and 3.6 occurs four times)
        and its variance collapses to exactly 0 within two iterations: the mean log-likelihood jumps
        from about $-2.16$ to $-1.11$ and then becomes `nan`, because a normal density with
        $\sigma_k^2 = 0$ is infinite at its mean and the responsibilities turn into $0/0$; from then
        on every parameter is `nan` (the loop does not stop, as `nan` never passes the test against
        `tol`, and runs to `max_iter`). This is not a bug in the steps: a component with $\mu_k$ on
        a data point has a weighted density proportional to $\pi_k / \sigma_k$ there, which grows
        without bound as $\sigma_k \to 0$, while
        the other components keep every other point's density positive. So the likelihood is
        unbounded, and EM has followed that degenerate direction instead of finding a useful fit
        (started with variance 0.01 instead, it moves the component away and does find one).
        Implementations add a small constant to every variance (`reg_covar`), put a prior on the
        variances (MAP-EM), or restart from other initial values when a component collapses.
        """),
    ]
