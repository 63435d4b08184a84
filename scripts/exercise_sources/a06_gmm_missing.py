"""Assignment 6 (optional): the E-step for one Gaussian component when some coordinates are missing."""

from _cells import answer, demo, md, setup, setup_source, solution, tests

TITLE = "Missing coordinates in the E-step (optional)"
PRACTISES = ("The E-step of a Gaussian component for a sample with missing coordinates: which coordinates "
             "are observed, the conditional mean and covariance of the missing ones given the observed "
             "ones, and the log-density of the observed values alone (the missing ones integrated out); "
             "imputing Old Faithful's waiting times from the eruption durations.")

GUARD = '"GaussianMixture", "e_step", "m_step", "posterior"'


def cells():
    return [
        md(r"""
        # Assignment 6 (optional): missing coordinates in the E-step

        A sample $\mathbf{x}_n \in \mathbb{R}^d$ often comes with some coordinates never recorded
        (stored as `np.nan`). For a mixture of $K$ Gaussians with weights $\pi_k$, means
        $\boldsymbol\mu_k$ and covariances $\Sigma_k$, EM treats these values as more latent
        variables, next to the component $z_n$. Split row $n$ into its observed coordinates
        $\mathbf{x}_n^{\mathrm{o}}$ and its missing ones $\mathbf{x}_n^{\mathrm{m}}$, and write the
        blocks of a component's parameters accordingly ($\boldsymbol\mu_k^{\mathrm{o}}$,
        $\Sigma_k^{\mathrm{oo}}$, $\Sigma_k^{\mathrm{mo}}$, ...; which coordinates are which changes
        from row to row). Then, within component $k$:

        * the observed values alone follow the **marginal**
          $\mathbf{x}_n^{\mathrm{o}} \sim \mathcal N(\boldsymbol\mu_k^{\mathrm{o}}, \Sigma_k^{\mathrm{oo}})$:
          just drop the missing rows and columns of $\boldsymbol\mu_k$ and $\Sigma_k$. Its density
          replaces $\mathcal N(\mathbf{x}_n \mid \boldsymbol\mu_k, \Sigma_k)$ in the responsibilities:

          $$\gamma_{nk} \propto
          \pi_k\, \mathcal N(\mathbf{x}_n^{\mathrm{o}} \mid \boldsymbol\mu_k^{\mathrm{o}}, \Sigma_k^{\mathrm{oo}});$$

        * the missing values given the observed ones follow the **conditional**
          $\mathbf{x}_n^{\mathrm{m}} \mid \mathbf{x}_n^{\mathrm{o}} \sim \mathcal N(\hat{\mathbf{x}}_{nk}^{\mathrm{m}}, C_{nk})$
          with

          $$\hat{\mathbf{x}}_{nk}^{\mathrm{m}} = \boldsymbol\mu_k^{\mathrm{m}}
          + \Sigma_k^{\mathrm{mo}} (\Sigma_k^{\mathrm{oo}})^{-1}
          (\mathbf{x}_n^{\mathrm{o}} - \boldsymbol\mu_k^{\mathrm{o}}), \qquad
          C_{nk} = \Sigma_k^{\mathrm{mm}} - \Sigma_k^{\mathrm{mo}} (\Sigma_k^{\mathrm{oo}})^{-1} \Sigma_k^{\mathrm{om}}.$$

          The matrix $\Sigma_k^{\mathrm{mo}} (\Sigma_k^{\mathrm{oo}})^{-1}$ holds the coefficients of
          the regression of the missing coordinates on the observed ones.

          Its mean fills in $\mathbf{x}_n^{\mathrm{m}}$ in the M-step, and its covariance is added to
          the second moments.

        You write these pieces for **one** component and one row; a mixture repeats them for every
        $k$ and $n$. The symbols are those of the book (see its Notation page). Expect about 45
        minutes.

        **How this notebook is graded.** Write code where it says `YOUR CODE HERE` (delete the
        `raise NotImplementedError()` line) and answers where it says `YOUR ANSWER HERE`. The read-only
        cells are tests; the autograder adds hidden tests on other data. While grading, mixlearn's
        Gaussian mixture code (`GaussianMixture`, and its helpers for missing values) is switched off,
        so write the steps yourself with numpy (and scipy, if you like). Before submitting, restart the
        kernel and run all cells.

        Throughout, `mean` ($\boldsymbol\mu_k$) has shape `(d,)`, `cov` ($\Sigma_k$) is a symmetric
        positive definite `(d, d)` array and `x_row` ($\mathbf{x}_n$) has shape `(d,)` with `np.nan`
        at the missing coordinates (at least one coordinate is observed). Coordinates are numbered
        from 0 in the code and from 1 in the formulas.
        """),
        setup("setup", setup_source(f"""
        import numpy as np
        from scipy import stats
        import mixlearn as ml

        EM_FUNCTIONS = ({GUARD})
        """)),
        md(r"""
        ## Part 1: which coordinates are observed?

        Write `split_observed(x_row)` returning `(observed, missing)`: two integer arrays with the
        indices of the observed and of the missing coordinates, each in increasing order. Note that
        `np.nan == np.nan` is `False`: use `np.isnan`.
        """),
        solution("split_observed", '''
        def split_observed(x_row):
            """Indices of the observed and of the missing (NaN) coordinates of one sample."""
            ### BEGIN SOLUTION
            missing = np.isnan(np.asarray(x_row, dtype=float))
            return np.flatnonzero(~missing), np.flatnonzero(missing)
            ### END SOLUTION
        '''),
        tests("test_split_observed", 1, """
        def check_split(x_row, expected_observed, expected_missing, what):
            result = split_observed(np.array(x_row, dtype=float))
            assert isinstance(result, tuple) and len(result) == 2, "split_observed should return a pair (observed, missing)."
            observed, missing = result
            expect_close(observed, expected_observed, f"The observed indices of {what}")
            expect_close(missing, expected_missing, f"The missing indices of {what}")

        check_split([1.5, np.nan, 0.0, np.nan], [0, 2], [1, 3], "[1.5, nan, 0, nan]")
        check_split([2.0, -1.0, 3.0], [0, 1, 2], np.zeros(0), "[2, -1, 3] (nothing missing)")
        """, """
        rng = np.random.default_rng(91)
        x_row = rng.normal(0.0, 2.0, 12)
        x_row[[0, 4, 5, 11]] = np.nan
        x_row[7] = 0.0
        check_split(x_row, [1, 2, 3, 6, 7, 8, 9, 10], [0, 4, 5, 11], "a row of 12 values with 4 missing")
        """),
        md(r"""
        ## Part 2: the conditional distribution of the missing coordinates

        Write `conditional_gaussian(mean, cov, x_row)` returning `(cond_mean, cond_cov)`: the
        conditional mean $\hat{\mathbf{x}}_{nk}^{\mathrm{m}}$ (shape `(len(missing),)`) and covariance
        $C_{nk}$ (shape `(len(missing), len(missing))`) of the missing coordinates given the observed
        ones, in the order of `split_observed`. With nothing missing, return arrays
        of shapes `(0,)` and `(0, 0)`.

        Solve a linear system (`np.linalg.solve`) rather than inverting $\Sigma_k^{\mathrm{oo}}$
        explicitly; it is more accurate. Check your answer on the 2-D case by hand: for a row
        $(x_1, x_2)$ with $x_1$ missing and $x_2$ observed, the conditional mean is
        $\mu_1 + \frac{\sigma_{12}}{\sigma_2^2}(x_2 - \mu_2)$, with $\boldsymbol\mu_k = (\mu_1, \mu_2)$
        and $\sigma_{12}$, $\sigma_2^2$ the entries of $\Sigma_k$.
        """),
        solution("conditional_gaussian", '''
        def conditional_gaussian(mean, cov, x_row):
            """Mean and covariance of the missing coordinates of x_row given its observed ones."""
            ### BEGIN SOLUTION
            mean = np.asarray(mean, dtype=float)
            cov = np.asarray(cov, dtype=float)
            x_row = np.asarray(x_row, dtype=float)
            obs, mis = split_observed(x_row)
            cov_mo = cov[np.ix_(mis, obs)]
            # coef = Sigma^mo (Sigma^oo)^{-1}, from Sigma^oo coef^T = Sigma^om (Sigma^oo is symmetric)
            coef = np.linalg.solve(cov[np.ix_(obs, obs)], cov_mo.T).T
            cond_mean = mean[mis] + coef @ (x_row[obs] - mean[obs])
            cond_cov = cov[np.ix_(mis, mis)] - coef @ cov_mo.T
            return cond_mean, cond_cov
            ### END SOLUTION
        '''),
        tests("test_conditional_gaussian", 3, """
        def check_conditional(mean, cov, x_row, expected_mean, expected_cov, what):
            with own_work_only(*EM_FUNCTIONS):
                result = conditional_gaussian(np.array(mean, dtype=float), np.array(cov, dtype=float),
                                              np.array(x_row, dtype=float))
            assert isinstance(result, tuple) and len(result) == 2, (
                "conditional_gaussian should return a pair (cond_mean, cond_cov).")
            expect_close(result[0], expected_mean, f"The conditional mean for {what}")
            expect_close(result[1], expected_cov, f"The conditional covariance for {what}")

        check_conditional([1.0, 2.0], [[4.0, 2.0], [2.0, 3.0]], [np.nan, 5.0], [3.0], [[8 / 3]],
                          "mean [1, 2], cov [[4, 2], [2, 3]] and x = [nan, 5]")
        cov3 = [[2.0, 1.0, 0.5], [1.0, 2.0, 1.0], [0.5, 1.0, 2.0]]
        check_conditional([0.0, 0.0, 0.0], cov3, [1.0, np.nan, np.nan], [0.5, 0.25], [[1.5, 0.75], [0.75, 1.875]],
                          "three coordinates, only the first observed")
        check_conditional([0.0, 0.0, 0.0], cov3, [1.0, -2.0, 0.5], np.zeros(0), np.zeros((0, 0)),
                          "a row with nothing missing")
        """, """
        def conditional_oracle(mean, cov, x_row):
            # from the precision matrix P = cov^-1: x_m | x_o has covariance P_mm^-1 and
            # mean mu_m - P_mm^-1 P_mo (x_o - mu_o)
            mis = np.isnan(x_row)
            precision = np.linalg.inv(cov)
            cond_cov = np.linalg.inv(precision[np.ix_(mis, mis)])
            return mean[mis] - cond_cov @ precision[np.ix_(mis, ~mis)] @ (x_row[~mis] - mean[~mis]), cond_cov

        rng = np.random.default_rng(92)
        for d, missing in [(5, [1, 3]), (6, [0, 2, 4, 5]), (4, [3])]:
            a = rng.normal(size=(d, d))
            cov = a @ a.T + 0.5 * np.eye(d)
            mean = rng.normal(0.0, 3.0, d)
            x_row = rng.multivariate_normal(mean, cov)
            x_row[missing] = np.nan
            check_conditional(mean, cov, x_row, *conditional_oracle(mean, cov, x_row),
                              f"{d} correlated coordinates with {len(missing)} missing")
        """),
        md(r"""
        ## Part 3: the log-density of the observed values

        Write `observed_log_density(mean, cov, x_row)` returning the float
        $\log \mathcal N(\mathbf{x}_n^{\mathrm{o}} \mid \boldsymbol\mu_k^{\mathrm{o}}, \Sigma_k^{\mathrm{oo}})$,
        the log-density of the observed coordinates with the missing ones integrated out. Work in
        log space: far from the mean the density itself underflows to 0. (You may use
        `stats.multivariate_normal(...).logpdf`; the point is which mean and covariance to give it.)
        """),
        solution("observed_log_density", '''
        def observed_log_density(mean, cov, x_row):
            """log N(x_n^o | mu_k^o, Sigma_k^oo): the log-density of the observed coordinates of x_row."""
            ### BEGIN SOLUTION
            mean = np.asarray(mean, dtype=float)
            cov = np.asarray(cov, dtype=float)
            x_row = np.asarray(x_row, dtype=float)
            obs, _ = split_observed(x_row)
            lower = np.linalg.cholesky(cov[np.ix_(obs, obs)])
            z = np.linalg.solve(lower, x_row[obs] - mean[obs])
            log_det = 2.0 * np.sum(np.log(np.diag(lower)))
            return float(-0.5 * (z @ z + log_det + obs.size * np.log(2 * np.pi)))
            ### END SOLUTION
        '''),
        tests("test_observed_log_density", 2, """
        def check_density(mean, cov, x_row, expected, what):
            with own_work_only(*EM_FUNCTIONS):
                got = observed_log_density(np.array(mean, dtype=float), np.array(cov, dtype=float),
                                           np.array(x_row, dtype=float))
            expect_close(got, expected, f"The observed-data log-density for {what}")

        check_density([1.0, 2.0], [[4.0, 2.0], [2.0, 3.0]], [np.nan, 5.0], stats.norm(2.0, np.sqrt(3.0)).logpdf(5.0),
                      "mean [1, 2], cov [[4, 2], [2, 3]] and x = [nan, 5]")
        cov3 = [[2.0, 1.0, 0.5], [1.0, 2.0, 1.0], [0.5, 1.0, 2.0]]
        full_density = stats.multivariate_normal([0.0, 1.0, 0.0], cov3).logpdf([1.0, -2.0, 0.5])
        check_density([0.0, 1.0, 0.0], cov3, [1.0, -2.0, 0.5], full_density, "a row with nothing missing")
        check_density([0.0, 0.0], [[1.0, 0.5], [0.5, 1.0]], [np.nan, 45.0], -0.5 * (np.log(2 * np.pi) + 45.0 ** 2),
                      "x = [nan, 45], far in the tail (log space needed)")
        """, """
        rng = np.random.default_rng(93)
        for d, missing in [(5, [0, 4]), (6, [1, 2, 3]), (3, [])]:
            a = rng.normal(size=(d, d))
            cov = a @ a.T + 0.5 * np.eye(d)
            mean = rng.normal(0.0, 3.0, d)
            x_row = rng.multivariate_normal(mean, cov)
            x_row[missing] = np.nan
            obs = ~np.isnan(x_row)
            expected = stats.multivariate_normal(mean[obs], cov[np.ix_(obs, obs)]).logpdf(x_row[obs])
            check_density(mean, cov, x_row, expected, f"{d} correlated coordinates with {len(missing)} missing")
        """),
        md(r"""
        ## Imputing Old Faithful's waiting times

        Fit one Gaussian to the complete (eruption duration, waiting time) pairs, hide the waiting time
        of 30 eruptions, and fill each in with its conditional mean given the duration. The column mean
        ignores the strong correlation between the two; the conditional mean uses it, and its standard
        deviation says how far off it is likely to be. (The Gaussian is fitted before the values are
        hidden, so it has seen them; with 272 pairs that changes the mean and covariance very little.)
        """),
        demo("""
        faithful = ml.datasets.load_faithful()
        mean, cov = faithful.mean(axis=0), np.cov(faithful.T, bias=True)
        rows = np.random.default_rng(6).choice(len(faithful), size=30, replace=False)
        errors_conditional, errors_column_mean, spreads = [], [], []
        for n in rows:
            x_row = faithful[n].copy()
            x_row[1] = np.nan
            cond_mean, cond_cov = conditional_gaussian(mean, cov, x_row)
            errors_conditional.append(cond_mean[0] - faithful[n, 1])
            errors_column_mean.append(mean[1] - faithful[n, 1])
            spreads.append(np.sqrt(cond_cov[0, 0]))
        print(f"RMS error, conditional mean: {np.sqrt(np.mean(np.square(errors_conditional))):.1f} min")
        print(f"RMS error, column mean:      {np.sqrt(np.mean(np.square(errors_column_mean))):.1f} min")
        print(f"conditional standard deviation: {spreads[0]:.1f} min (the column's: {np.sqrt(cov[1, 1]):.1f} min)")
        """),
        md(r"""
        ## Written questions

        **Question 1.** In the M-step the covariance of component $k$ needs
        $\mathbb E[\mathbf{x}_n \mathbf{x}_n^\top \mid \mathbf{x}_n^{\mathrm{o}}, z_n = k]$ for every
        sample. Why is it wrong to fill in the missing coordinates with their conditional means and
        then take the covariance of the filled-in data? What does the conditional covariance add?
        """),
        answer("answer_covariance_correction", 2, r"""
        For the missing block (within component $k$),
        $\mathbb E[\mathbf{x}_n^{\mathrm{m}} (\mathbf{x}_n^{\mathrm{m}})^\top \mid \mathbf{x}_n^{\mathrm{o}}]
        = \hat{\mathbf{x}}_{nk}^{\mathrm{m}} (\hat{\mathbf{x}}_{nk}^{\mathrm{m}})^\top + C_{nk}$ with
        $\hat{\mathbf{x}}_{nk}^{\mathrm{m}}$ the conditional mean and
        $C_{nk} = \Sigma_k^{\mathrm{mm}} - \Sigma_k^{\mathrm{mo}}(\Sigma_k^{\mathrm{oo}})^{-1}\Sigma_k^{\mathrm{om}}$
        the conditional covariance. Filled-in values lie exactly on the regression of
        $\mathbf{x}_n^{\mathrm{m}}$ on $\mathbf{x}_n^{\mathrm{o}}$, so using
        $\hat{\mathbf{x}}_{nk}^{\mathrm{m}} (\hat{\mathbf{x}}_{nk}^{\mathrm{m}})^\top$ alone drops
        $C_{nk}$: the variances of the often-missing coordinates
        come out too small and their correlations with the observed ones too strong, more so the more
        is missing. Adding $C_{nk}$ (weighted by $\gamma_{nk}$) puts back the spread the filled-in values
        lack; with it the M-step maximises the expected complete-data log-likelihood and EM's
        observed-data log-likelihood never decreases.
        """),
        md(r"""
        **Question 2.** The E-step above never asks *why* a value is missing. When is that justified?
        Give an example of data where it is not, and say which way the estimates go wrong.
        """),
        answer("answer_missingness", 2, r"""
        Ignoring the mask is justified when whether a value is missing does not depend on the missing
        value itself: completely at random (MCAR, e.g. a sensor that drops readings at random), or at
        random given the observed values (MAR, e.g. a second test given only to patients whose first
        test was high), and when the parameters of the missingness mechanism are distinct from the
        mixture's (Rubin's ignorability). Maximising the likelihood of the observed values then gives
        valid estimates (consistent as the sample grows), without a model of the mask. It fails
        when missingness depends on the value that is missing (MNAR): a scale that cannot show weights
        above 150 kg, or people with high incomes declining to report them. The recorded values are
        then a biased sample of the low end, and the fitted means and variances come out too low; the
        missingness mechanism itself must be modelled.
        """),
    ]
