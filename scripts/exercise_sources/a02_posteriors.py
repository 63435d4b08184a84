"""Assignment 2: posteriors P(z | x)."""

from _cells import answer, demo, md, setup, setup_source, solution, tests

TITLE = "Posteriors"
PRACTISES = ("Bayes' rule for the latent variable: P(factory | colour) for the marbles and the "
             "responsibilities of a 1-D Gaussian mixture, computed stably in log space; how the prior "
             "moves the posterior.")


def cells():
    return [
        md(r"""
        # Assignment 2: posteriors

        We see a marble's colour; which factory made it? Bayes' rule turns the prior $P(z = k)$ and
        the likelihood $P(x \mid z = k)$ of the latent factory $z$ into the posterior

        $$P(z = k \mid x) = \frac{P(z = k)\,P(x \mid z = k)}{\sum_j P(z = j)\,P(x \mid z = j)}.$$

        For the $n$-th observation these posteriors are the *responsibilities*
        $\gamma_{nk} = P(z_n = k \mid x_n)$ that the E-step of EM computes (assignments 3 to 5).
        The symbols are those of the book (see its Notation page). Expect about 45 minutes.

        **How this notebook is graded.** Write code where it says `YOUR CODE HERE` (delete the
        `raise NotImplementedError()` line) and answers where it says `YOUR ANSWER HERE`. The read-only
        cells are tests; the autograder adds hidden tests on other data. Some tests switch off
        mixlearn's `posterior` and `e_step`, so compute the posteriors yourself. Before submitting,
        restart the kernel and run all cells.

        Conventions: colours `1` = red, `0` = blue; `pi` is the prior probability $\pi = P(z = 1)$
        of factory 1; `p1`, `p2` are the red probabilities $\theta_1$, $\theta_2$ of factories 1
        and 2. The mathematics counts components from 1, the code from 0: column `0` of an array of
        responsibilities belongs to component $k = 1$.
        """),
        setup("setup", setup_source("""
        import numpy as np
        from scipy.special import logsumexp
        import mixlearn as ml
        """)),
        md(r"""
        ## Part 1: which factory made this marble?

        Write `marble_posterior(x, pi, p1, p2)` returning, for every marble in the array `x`, the
        posterior probability $P(z = 1 \mid x)$ that it came from **factory 1**. Remember that a
        blue marble has probability $1 - \theta_1$ under factory 1.
        """),
        solution("marble_posterior", '''
        def marble_posterior(x, pi, p1, p2):
            """P(factory 1 | colour) for every marble in x (1 = red, 0 = blue)."""
            ### BEGIN SOLUTION
            x = np.asarray(x)
            joint1 = pi * np.where(x == 1, p1, 1 - p1)
            joint2 = (1 - pi) * np.where(x == 1, p2, 1 - p2)
            return joint1 / (joint1 + joint2)
            ### END SOLUTION
        '''),
        tests("test_marble_posterior", 3, """
        expect_close(marble_posterior(np.array([1, 0]), 0.5, 0.8, 0.3), [0.8 / 1.1, 0.2 / 0.9],
                     "marble_posterior([red, blue], pi=0.5, p1=0.8, p2=0.3)")
        expect_close(marble_posterior(np.array([1, 0, 1]), 0.2, 0.8, 0.3), [0.16 / 0.4, 0.04 / 0.6, 0.16 / 0.4],
                     "marble_posterior([red, blue, red], pi=0.2, p1=0.8, p2=0.3) (the prior favours factory 2)")
        """, """
        rng = np.random.default_rng(31)
        for pi, p1, p2 in [(0.7, 0.35, 0.9), (0.02, 0.99, 0.01), (0.45, 0.6, 0.55)]:
            x = rng.integers(0, 2, 25)
            expected = ml.posterior(x, [pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)])[:, 0]
            with own_work_only("posterior", "e_step"):
                got = marble_posterior(x, pi, p1, p2)
            expect_close(got, expected, f"marble_posterior with pi={pi}, p1={p1}, p2={p2}")
        expect_close(marble_posterior(np.array([1, 0]), 0.0, 0.8, 0.3), [0.0, 0.0],
                     "marble_posterior with pi = 0 (a factory with prior 0 has posterior 0)")
        expect_close(marble_posterior(np.array([0, 1]), 0.5, 1.0, 0.3), [0.0, 1 / 1.3],
                     "marble_posterior with p1 = 1 (factory 1 never makes blue marbles)")
        """),
        md(r"""
        ## Part 2: responsibilities in a 1-D Gaussian mixture

        Now the observations are real numbers and component $k$ is a normal distribution with mean
        $\mu_k$ and standard deviation $\sigma_k$ (variance $\sigma_k^2$), with weight $\pi_k$.
        Write `gaussian_posterior(x, weights, means, stds)` (the arrays $\pi_k$, $\mu_k$ and
        $\sigma_k$) returning an array `resp` of shape `(N, K)` whose entry `resp[n, k]` holds the
        responsibility $\gamma_{nk} = P(z_n = k \mid x_n)$.

        Work in log space: compute $\log \pi_k + \log \mathcal{N}(x_n \mid \mu_k, \sigma_k^2)$ with

        $$\log \mathcal{N}(x \mid \mu, \sigma^2)
          = -\log\sigma - \tfrac12 \log(2\pi) - \tfrac12\left(\frac{x-\mu}{\sigma}\right)^2$$

        (here $\pi$ is the circle constant, not a weight), and normalise each row with
        `scipy.special.logsumexp` (already imported). A direct computation with densities
        underflows to `0/0` for points far from every component; the log-space version keeps full
        precision there. Vectorise over samples and components (broadcasting).
        """),
        solution("gaussian_posterior", '''
        def gaussian_posterior(x, weights, means, stds):
            """(N, K) array of responsibilities gamma_nk = P(z_n = k | x_n) for a 1-D Gaussian mixture."""
            ### BEGIN SOLUTION
            x = np.asarray(x, dtype=float)[:, None]
            means = np.asarray(means, dtype=float)
            stds = np.asarray(stds, dtype=float)
            with np.errstate(divide="ignore"):
                log_w = np.log(np.asarray(weights, dtype=float))
            log_joint = log_w - np.log(stds) - 0.5 * np.log(2 * np.pi) - 0.5 * ((x - means) / stds) ** 2
            return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
            ### END SOLUTION
        '''),
        tests("test_gaussian_posterior", 2, """
        def gaussian_oracle(x, weights, means, stds):
            return ml.posterior(x, weights, [ml.Gaussian(m, s) for m, s in zip(means, stds)])

        x = np.array([-1.0, 0.0, 0.5, 2.0, 3.5])
        expected = gaussian_oracle(x, [0.3, 0.7], [0.0, 2.0], [1.0, 1.0])
        with own_work_only("posterior", "e_step"):
            got = gaussian_posterior(x, [0.3, 0.7], [0.0, 2.0], [1.0, 1.0])
        expect_close(got, expected, "gaussian_posterior(x, weights=[0.3, 0.7], means=[0, 2], stds=[1, 1])")
        expect_close(np.sum(got, axis=1), np.ones(5), "Each row of the responsibilities (one sample) summed over components")
        x = np.linspace(-3, 6, 7)
        expected = gaussian_oracle(x, [0.5, 0.2, 0.3], [0.0, 1.0, 4.0], [0.5, 2.0, 1.0])
        with own_work_only("posterior", "e_step"):
            got = gaussian_posterior(x, [0.5, 0.2, 0.3], [0.0, 1.0, 4.0], [0.5, 2.0, 1.0])
        expect_close(got, expected, "gaussian_posterior with three components of different spreads")
        """, """
        rng = np.random.default_rng(32)
        for k in [1, 2, 5]:
            weights = rng.dirichlet(np.ones(k))
            means = rng.normal(0, 3, k)
            stds = rng.uniform(0.3, 2.5, k)
            x = rng.normal(0, 4, 40)
            expected = gaussian_oracle(x, weights, means, stds)
            with own_work_only("posterior", "e_step"):
                got = gaussian_posterior(x, weights, means, stds)
            expect_close(got, expected, f"gaussian_posterior for {k} random components")
        """),
        tests("test_gaussian_posterior_tails", 2, """
        x = np.array([-40.0, 60.0, 1000.0])
        with own_work_only("posterior", "e_step"):
            got = gaussian_posterior(x, [0.5, 0.5], [0.0, 3.0], [1.0, 1.0])
        assert np.all(np.isfinite(got)), (
            f"Responsibilities far from both components should still be finite numbers (work in log space), got {got}.")
        expect_close(got, gaussian_oracle(x, [0.5, 0.5], [0.0, 3.0], [1.0, 1.0]),
                     "gaussian_posterior at x = -40, 60, 1000 (far in the tails; the nearer component takes it all)")
        """, """
        x = np.array([-300.0, -25.0, 25.0, 300.0])
        args = ([0.9, 0.1], [0.0, 0.5], [1.0, 3.0])
        with own_work_only("posterior", "e_step"):
            got = gaussian_posterior(x, *args)
        expect_close(got, gaussian_oracle(x, *args),
                     "gaussian_posterior far in both tails (the wider component takes both tails)")
        """),
        md(r"""
        ## Part 3: the effect of the prior

        A red marble is evidence for the factory that makes more red marbles, but the prior counts too.
        Write `even_odds_prior(colour, p1, p2)`: the prior $\pi$ at which a marble of this colour
        (1 = red, 0 = blue) is exactly as likely to come from factory 1 as from factory 2, i.e.
        the $\pi$ that makes the posterior equal to $1/2$. (Solve
        $\pi\,P(x \mid z = 1) = (1 - \pi)\,P(x \mid z = 2)$ on paper first.)
        """),
        solution("even_odds_prior", '''
        def even_odds_prior(colour, p1, p2):
            """The prior pi for which P(factory 1 | colour) = 1/2."""
            ### BEGIN SOLUTION
            like1 = p1 if colour == 1 else 1 - p1
            like2 = p2 if colour == 1 else 1 - p2
            return like2 / (like1 + like2)
            ### END SOLUTION
        '''),
        tests("test_even_odds_prior", 2, """
        expect_close(even_odds_prior(1, 0.8, 0.3), 0.3 / 1.1, "even_odds_prior(red, p1=0.8, p2=0.3)")
        pi = even_odds_prior(1, 0.8, 0.3)
        expect_close(ml.posterior([1], [pi, 1 - pi], [ml.Bernoulli(0.8), ml.Bernoulli(0.3)])[0, 0], 0.5,
                     "The posterior of factory 1 for a red marble at the prior returned by even_odds_prior")
        """, """
        expect_close(even_odds_prior(0, 0.8, 0.3), 0.7 / 0.9, "even_odds_prior(blue, p1=0.8, p2=0.3)")
        for colour, p1, p2 in [(1, 0.1, 0.6), (0, 0.95, 0.05), (0, 0.4, 0.7)]:
            pi = even_odds_prior(colour, p1, p2)
            post = ml.posterior([colour], [pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)])[0, 0]
            expect_close(post, 0.5, f"The posterior of factory 1 for colour {colour} at even_odds_prior({colour}, {p1}, {p2})")
        """),
        md(r"How the posterior of factory 1 follows the prior ($\theta_1 = 0.8$, $\theta_2 = 0.3$):"),
        demo("""
        for prior in [0.05, 0.2, even_odds_prior(1, 0.8, 0.3), 0.5, 0.8]:
            red, blue = marble_posterior(np.array([1, 0]), prior, 0.8, 0.3)
            print(f"prior {prior:.3f} -> after a red marble {red:.3f}, after a blue marble {blue:.3f}")
        """),
        md(r"""
        ## Written questions

        **Question 1.** A single red marble moves the probability of factory 1 from $\pi = 0.05$ to
        about $0.12$. Explain, using the formula, why one marble cannot overturn a strong prior, and what
        would happen with ten red marbles in a row from the same unknown factory.
        """),
        answer("answer_strong_prior", 2, r"""
        The posterior odds are the prior odds times the likelihood ratio: $\frac{0.05}{0.95}\cdot
        \frac{0.8}{0.3} \approx 0.14$, i.e. a posterior of about $0.12$. One marble only multiplies the odds
        by $8/3$, so a prior of 1 to 19 stays far below even odds. Ten red marbles from the same factory
        multiply the odds by $(8/3)^{10} \approx 18{,}000$, so the evidence then overwhelms the prior
        (the posterior is above $0.99$).
        """),
        md(r"""
        **Question 2.** Take two components with weights $0.9, 0.1$, means $0, 0.5$ and standard
        deviations $1, 3$. Near the centre the narrow component is responsible, but the wide one takes
        *both* tails. Why? (You can check with `gaussian_posterior`.)
        """),
        answer("answer_tails", 2, r"""
        The log-density of a normal falls like $-(x-\mu)^2 / (2\sigma^2)$. For large $|x|$ this quadratic
        term dominates the constants $\log \pi_k - \log\sigma_k$, and it falls much more slowly for the larger
        $\sigma$. So on both sides, far enough from the centre, the wide component has the higher weighted
        density and its responsibility tends to 1, even though its weight is small.
        """),
    ]
