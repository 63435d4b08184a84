"""Assignment 4: EM for the weights of K known components."""

from _cells import answer, demo, md, setup, setup_source, solution, tests

TITLE = "EM for K components"
PRACTISES = ("EM for the mixing weights of any number of known components of any family, vectorised "
             "and in log space (logsumexp), from K = 1 to K = 10 components.")

GUARD = '"em_n_components", "em_two_components", "e_step", "m_step", "posterior"'


def cells():
    return [
        md(r"""
        # Assignment 4: EM for $K$ components

        The marble problem had two components. Here you write EM for any number $K$ of **known**
        component densities $f_1, \dots, f_K$ (any family: Poisson, Gaussian, Binomial, Categorical,
        ...) and unknown weights $\pi_k = P(z = k)$, from observations $x_1, \dots, x_N$:

        * **E-step**: the responsibilities $\gamma_{nk} = \dfrac{\pi_k f_k(x_n)}{\sum_j \pi_j f_j(x_n)}$;
        * **M-step**: $\pi_k \leftarrow \frac1N \sum_n \gamma_{nk}$.

        The symbols are those of the book (see its Notation page). In the code, `weights[k]` holds
        $\pi_k$ and `resp[n, k]` holds $\gamma_{nk}$, with indices counted from 0 where the
        mathematics counts from 1.

        A component is any object with a method `logpdf(x)` returning $\log f_k(x)$ for an array `x`
        (all of mixlearn's distributions have it). Compute in log space and without Python loops over
        the samples (a loop over the $K$ components is fine). Expect about 60 minutes.

        **How this notebook is graded.** Write code where it says `YOUR CODE HERE` (delete the
        `raise NotImplementedError()` line) and answers where it says `YOUR ANSWER HERE`. The read-only
        cells are tests; the autograder adds hidden tests on other data. The tests switch off mixlearn's
        EM functions (`em_n_components`, `e_step`, `m_step`, `posterior`, ...), so write the steps
        yourself. Before submitting, restart the kernel and run all cells.
        """),
        setup("setup", setup_source(f"""
        import numpy as np
        from scipy.special import logsumexp
        import mixlearn as ml

        EM_FUNCTIONS = ({GUARD})
        """)),
        md(r"""
        ## Part 1: the log-likelihood matrix

        Write `log_likelihood_matrix(x, components)` returning the array `L` of shape `(N, K)` with
        `L[n, k]` $= \log f_k(x_n)$. Use each component's `logpdf`: taking the log of a density that
        has already underflowed to 0 gives $-\infty$ where the true value is finite.
        """),
        solution("log_likelihood_matrix", '''
        def log_likelihood_matrix(x, components):
            """(N, K) array of log f_k(x_n)."""
            ### BEGIN SOLUTION
            x = np.asarray(x)
            return np.column_stack([np.broadcast_to(comp.logpdf(x), x.shape) for comp in components])
            ### END SOLUTION
        '''),
        tests("test_log_likelihood_matrix", 2, """
        def matrix_oracle(x, components):
            # a one-component mixture has the component's own log-density
            return np.column_stack([ml.mixture_logpdf(x, [1.0], [comp]) for comp in components])

        x = np.array([0, 1, 3, 7, 2])
        comps = [ml.Poisson(1.0), ml.Poisson(4.0)]
        expect_close(log_likelihood_matrix(x, comps), matrix_oracle(x, comps),
                     "log_likelihood_matrix for 5 counts and Poisson(1), Poisson(4)")
        x = np.array([-1.0, 0.5, 60.0])
        comps = [ml.Gaussian(0.0, 1.0), ml.Gaussian(2.0, 0.5), ml.Gaussian(-3.0, 2.0), ml.Gaussian(1.0, 1.0)]
        expect_close(log_likelihood_matrix(x, comps), matrix_oracle(x, comps),
                     "log_likelihood_matrix for three points (one at 60, far in the tails) and four Gaussians")
        """, """
        rng = np.random.default_rng(71)
        x = rng.integers(0, 11, 17)
        comps = [ml.Binomial(10, p) for p in (0.1, 0.5, 0.9)]
        expect_close(log_likelihood_matrix(x, comps), matrix_oracle(x, comps), "log_likelihood_matrix for Binomial components")
        x = rng.integers(0, 3, 9)
        comps = [ml.Categorical([0.7, 0.2, 0.1]), ml.Categorical([0.1, 0.1, 0.8])]
        expect_close(log_likelihood_matrix(x, comps), matrix_oracle(x, comps), "log_likelihood_matrix for Categorical components")
        """),
        md(r"""
        ## Part 2: the E-step

        Write `e_step_n(x, weights, components)` returning `(resp, mean_log_likelihood)`: the
        responsibilities $\gamma_{nk}$, shape `(N, K)`, rows summing to 1, and the mean
        log-likelihood per sample $\ell / N = \frac1N\sum_n \log \sum_k \pi_k f_k(x_n)$. Compute
        $\log \pi_k + \log f_k(x_n)$ and use `logsumexp` along the components axis. A weight of 0
        is allowed (`np.log(0)` is $-\infty$, and that component's responsibilities are 0).
        """),
        solution("e_step_n", '''
        def e_step_n(x, weights, components):
            """Responsibilities (N, K) and the mean log-likelihood per sample."""
            ### BEGIN SOLUTION
            with np.errstate(divide="ignore"):
                log_joint = log_likelihood_matrix(x, components) + np.log(np.asarray(weights, dtype=float))
            log_px = logsumexp(log_joint, axis=1, keepdims=True)
            return np.exp(log_joint - log_px), float(np.mean(log_px))
            ### END SOLUTION
        '''),
        tests("test_e_step_n", 3, """
        def check_e_step(x, weights, comps, what):
            expected_resp, expected_ll = ml.e_step(x, weights, comps)
            with own_work_only(*EM_FUNCTIONS):
                result = e_step_n(x, weights, comps)
            assert isinstance(result, tuple) and len(result) == 2, "e_step_n should return a pair (resp, mean_log_likelihood)."
            resp, ll = result
            expect_close(resp, expected_resp, f"The responsibilities for {what}")
            expect_close(ll, expected_ll, f"The mean log-likelihood for {what}")

        check_e_step(np.array([0, 2, 5, 9, 1, 3]), [0.5, 0.3, 0.2], [ml.Poisson(1.0), ml.Poisson(4.0), ml.Poisson(8.0)],
                     "6 counts and three Poisson components")
        check_e_step(np.array([0.3, -1.2, 4.0]), [1.0], [ml.Gaussian(0.0, 1.0)], "one component (K = 1)")
        check_e_step(np.array([-30.0, 0.0, 45.0]), [0.5, 0.5], [ml.Gaussian(-1.0, 1.0), ml.Gaussian(1.0, 1.0)],
                     "points far in the tails (log space needed)")
        """, """
        rng = np.random.default_rng(72)
        means = np.arange(10.0)
        comps = [ml.Gaussian(m, 0.7) for m in means]
        weights = rng.dirichlet(np.ones(10))
        check_e_step(rng.normal(4.5, 3.0, 200), weights, comps, "200 points and ten Gaussian components")
        check_e_step(rng.integers(0, 13, 50), [0.0, 0.25, 0.75], [ml.Binomial(12, p) for p in (0.2, 0.5, 0.8)],
                     "Binomial components, one with weight 0")
        """),
        md("""
        ## Part 3: the M-step

        Write `m_step_n(resp)` returning the new weights $\\pi_k = \\frac1N \\sum_n \\gamma_{nk}$, shape `(K,)`.
        """),
        solution("m_step_n", '''
        def m_step_n(resp):
            """New weights: the average responsibility of each component."""
            ### BEGIN SOLUTION
            return np.asarray(resp, dtype=float).mean(axis=0)
            ### END SOLUTION
        '''),
        tests("test_m_step_n", 1, """
        resp = np.array([[0.9, 0.1, 0.0], [0.5, 0.25, 0.25], [0.1, 0.1, 0.8], [0.5, 0.15, 0.35]])
        expect_close(m_step_n(resp), [0.5, 0.15, 0.35], "m_step_n for 4 samples and 3 components")
        """, """
        resp = np.random.default_rng(73).dirichlet(np.ones(6), size=41)
        with own_work_only(*EM_FUNCTIONS):
            got = m_step_n(resp)
        expect_close(got, resp.sum(axis=0) / 41, "m_step_n for 41 samples and 6 components")
        """),
        md(r"""
        ## Part 4: the EM loop

        Write `em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000)` returning
        `(weights, log_likelihoods)`: the final weights and the list of **mean** log-likelihoods per
        sample, starting with the one at the initial weights (uniform when `weights_init` is `None`) and
        then one per iteration. Stop when it changes by less than `tol`, or after `max_iter` iterations.
        """),
        solution("em_n", '''
        def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
            """EM for the weights of known components. Returns (weights, mean log-likelihoods from the start)."""
            ### BEGIN SOLUTION
            k = len(components)
            weights = np.full(k, 1.0 / k) if weights_init is None else np.asarray(weights_init, dtype=float)
            resp, ll = e_step_n(x, weights, components)
            log_likelihoods = [ll]
            for _ in range(max_iter):
                weights = m_step_n(resp)
                resp, ll = e_step_n(x, weights, components)
                log_likelihoods.append(ll)
                if abs(log_likelihoods[-1] - log_likelihoods[-2]) < tol:
                    break
            return weights, log_likelihoods
            ### END SOLUTION
        '''),
        tests("test_em_n_agrees", 3, """
        def check_em(x, comps, what, weights_init=None):
            expected = ml.em_n_components(x, comps, weights_init=weights_init, tol=1e-12, max_iter=100_000).weights
            with own_work_only(*EM_FUNCTIONS):
                weights, lls = em_n(x, comps, weights_init=weights_init, tol=1e-12, max_iter=500)
            expect_close(weights, expected, f"em_n's weights for {what}", rtol=1e-4, atol=1e-6)

        comps = [ml.Poisson(1.0), ml.Poisson(6.0), ml.Poisson(15.0)]
        x, _ = ml.sample_mixture([0.5, 0.3, 0.2], comps, 2000, random_state=0)
        check_em(x, comps, "2000 counts from three Poisson components")
        check_em(x[:50], [ml.Poisson(3.0)], "one component (K = 1)")
        """, """
        rng = np.random.default_rng(74)
        comps = [ml.Gaussian(m, 1.0) for m in np.arange(0.0, 30.0, 3.0)]
        x, _ = ml.sample_mixture(rng.dirichlet(np.ones(10)), comps, 2000, random_state=75)
        check_em(x, comps, "2000 points and ten Gaussian components")
        comps = [ml.Binomial(20, 0.2), ml.Binomial(20, 0.7)]
        x, _ = ml.sample_mixture([0.85, 0.15], comps, 1500, random_state=76)
        check_em(x, comps, "Binomial components started at weights [0.1, 0.9]", weights_init=[0.1, 0.9])
        """),
        tests("test_em_n_history", 2, """
        comps = [ml.Gaussian(-2.0, 1.0), ml.Gaussian(0.0, 0.5), ml.Gaussian(3.0, 1.5)]
        x, _ = ml.sample_mixture([0.2, 0.5, 0.3], comps, 1000, random_state=1)
        with own_work_only(*EM_FUNCTIONS):
            weights, lls = em_n(x, comps, weights_init=[0.8, 0.1, 0.1])
        lls = np.asarray(lls, dtype=float)
        assert lls.ndim == 1 and lls.size >= 3, (
            f"em_n should return the mean log-likelihood at the start and after every iteration, got {lls.size} values.")
        expect_close(lls[0], ml.mixture_logpdf(x, [0.8, 0.1, 0.1], comps).mean(),
                     "The first mean log-likelihood (at weights_init = [0.8, 0.1, 0.1])")
        assert np.all(np.diff(lls) >= -1e-10), "The log-likelihood should never decrease from one EM iteration to the next."
        expect_close(lls[-1], ml.mixture_logpdf(x, weights, comps).mean(),
                     "The last mean log-likelihood (at the returned weights)")
        """, """
        comps = [ml.Poisson(2.0), ml.Poisson(3.0)]
        x, _ = ml.sample_mixture([0.3, 0.7], comps, 5000, random_state=2)
        with own_work_only(*EM_FUNCTIONS):
            weights, lls = em_n(x, comps, max_iter=5, tol=0.0)
        assert len(lls) == 6, f"With max_iter=5 and tol=0 em_n should run 5 iterations (6 log-likelihoods), got {len(lls)}."
        assert np.all(np.diff(lls) >= -1e-10), "The log-likelihood should never decrease from one EM iteration to the next."
        """),
        tests("test_em_n_large", 1, """
        comps = [ml.Poisson(1.0), ml.Poisson(7.0), ml.Poisson(20.0)]
        x, _ = ml.sample_mixture([0.2, 0.5, 0.3], comps, 50_000, random_state=3)
        expected = ml.em_n_components(x, comps, tol=1e-9).weights
        with own_work_only(*EM_FUNCTIONS):
            weights, lls = em_n(x, comps, tol=1e-9, max_iter=50)
        expect_close(weights, expected, "em_n's weights for 50,000 counts (this needs vectorised code)", rtol=1e-3, atol=1e-4)
        """),
        md("Recovering the weights of three known Poisson components from 5000 counts:"),
        demo("""
        comps = [ml.Poisson(1.0), ml.Poisson(6.0), ml.Poisson(15.0)]
        x, _ = ml.sample_mixture([0.5, 0.3, 0.2], comps, 5000, random_state=8)
        weights, lls = em_n(x, comps, max_iter=200)
        print("estimated weights:", np.round(weights, 3), f"after {len(lls) - 1} iterations")
        """),
        md(r"""
        ## Written questions

        **Question 1.** Why work in log space? Give a concrete example (a component and a data point)
        where computing $\pi_k f_k(x_n)$ directly and normalising fails, and say what goes wrong.
        """),
        answer("answer_log_space", 2, r"""
        Densities far from a component underflow: for $\mathcal N(0, 1)$ and $\mathcal N(1, 1)$ at $x = 40$
        both densities are below $10^{-300}$ and round to 0, so the direct responsibilities are $0/0$ =
        `nan`, and $\log p(x)$ becomes $-\infty$. In log space the values (about $-801$ and $-761$) are
        exact; subtracting their maximum before exponentiating (`logsumexp`) gives responsibilities of
        nearly 0 and 1 and a finite log-likelihood.
        """),
        md("""
        **Question 2.** What does EM return if two of the known components are identical (say
        `Poisson(4)` twice)? Why can no algorithm do better with such data?
        """),
        answer("answer_identical_components", 2, """
        Identical components always get identical responsibilities in proportion to their weights, so
        their weights keep their initial ratio and only their sum is estimated; from a uniform start they
        split it equally. The likelihood depends only on the sum, so every split fits the data equally
        well: the individual weights are not identifiable, whatever the algorithm.
        """),
    ]
