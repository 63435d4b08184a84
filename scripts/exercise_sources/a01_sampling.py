"""Assignment 1: sampling the two-factory mixture."""

from _cells import answer, demo, md, setup, setup_source, solution, tests

TITLE = "Sampling a mixture"
PRACTISES = ("the generative story of a mixture: draw the factory, then the colour; the law of total "
             "probability for P(red); checking a simulation against the formula with a z-score.")


def cells():
    return [
        md(r"""
        # Assignment 1: sampling a mixture

        A bag holds marbles from two factories. Factory 1 makes red marbles with probability
        $\theta_1$, factory 2 with probability $\theta_2$. A marble comes from factory 1 with
        probability $\pi$ and from factory 2 otherwise. The factory is the *latent* variable $z$:
        it shapes what we see (the colour $x$) but is never observed itself.

        In this assignment you simulate the bag and check the simulation against the formula for
        $\rho = P(x = \text{red})$. Expect about 40 minutes.

        The symbols are those of the book (see its Notation page). In the code, the red
        probabilities $\theta_1, \theta_2$ are the arguments `p1`, `p2`, and `pi` is $\pi$.

        **How this notebook is graded.** Write your code where it says `YOUR CODE HERE` (delete the
        `raise NotImplementedError()` line) and your written answers where it says
        `YOUR ANSWER HERE`. The read-only cells after each function are tests: run them to check your
        work. The autograder also runs further hidden tests on other data, so write general code
        rather than code that only fits the visible examples. (From assignment 2 on, some tests
        also switch off mixlearn's own version of what you are asked to write.) Before submitting,
        restart the kernel and run all cells.

        Conventions used throughout: colours are `1` = red, `0` = blue. The mathematics counts the
        factories from 1 and the code from 0: factory 1 ($z = 1$) is `0` in an array and factory 2
        ($z = 2$) is `1` (as in `mixlearn.datasets.make_marbles`).
        """),
        setup("setup", setup_source("""
        import numpy as np
        import mixlearn as ml
        """)),
        md(r"""
        ## Part 1: the probability of a red marble

        Summing over the latent factory (law of total probability):

        $$\rho = P(x = \text{red}) = \sum_{k=1}^{2} P(z = k)\, P(x = \text{red} \mid z = k)
        = \pi\,\theta_1 + (1 - \pi)\,\theta_2 .$$

        Write `p_red(pi, p1, p2)` returning this probability. It should also work when `pi` is a
        NumPy array (one answer per entry).
        """),
        solution("p_red", '''
        def p_red(pi, p1, p2):
            """Probability that a marble drawn from the bag is red."""
            ### BEGIN SOLUTION
            pi = np.asarray(pi, dtype=float)
            return pi * p1 + (1 - pi) * p2
            ### END SOLUTION
        '''),
        tests("test_p_red", 2, """
        expect_close(p_red(0.6, 0.8, 0.3), 0.6, "p_red(0.6, 0.8, 0.3)")
        expect_close(p_red(0.2, 0.8, 0.3), 0.4, "p_red(0.2, 0.8, 0.3) (a bag mostly from factory 2)")
        expect_close(p_red(1.0, 0.8, 0.3), 0.8, "p_red(1, 0.8, 0.3) (every marble from factory 1)")
        expect_close(p_red(np.array([0.0, 0.5]), 0.9, 0.1), [0.1, 0.5], "p_red for an array of pi values")
        """, """
        for pi, p1, p2 in [(0.35, 0.15, 0.95), (0.9, 0.02, 0.6), (0.01, 0.99, 0.5)]:
            expected = np.exp(ml.mixture_logpdf([1], [pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)]))[0]
            expect_close(p_red(pi, p1, p2), expected, f"p_red({pi}, {p1}, {p2})")
        """),
        md(r"""
        ## Part 2: simulate the bag

        Write `sample_marbles(n, pi, p1, p2, rng)` that follows the generative story for `n` marbles
        (the book's $N$): first draw each marble's factory $z_n$ (factory 1 with probability `pi`),
        then its colour with the red probability $\theta_{z_n}$ of *its* factory. Use only the
        generator `rng` (a `numpy.random.Generator`) for randomness, so that results are
        reproducible. Return `(x, z)`: two integer arrays of length `n`, `x` the colours (1 = red)
        and `z` the factories, i.e. the latent $z_n$ counted from 0 (0 = factory 1, 1 = factory 2).
        Use vectorised NumPy code, not a Python loop over marbles.
        """),
        solution("sample_marbles", '''
        def sample_marbles(n, pi, p1, p2, rng):
            """Simulate n marbles; return (x, z): colours (1 = red) and factories (0 = factory 1)."""
            ### BEGIN SOLUTION
            z = (rng.random(n) >= pi).astype(int)
            p_red_each = np.where(z == 0, p1, p2)
            x = (rng.random(n) < p_red_each).astype(int)
            return x, z
            ### END SOLUTION
        '''),
        tests("test_sample_marbles_format", 1, """
        x, z = sample_marbles(50, 0.6, 0.8, 0.3, np.random.default_rng(1))
        assert isinstance(x, np.ndarray) and isinstance(z, np.ndarray), "sample_marbles should return two NumPy arrays (x, z)."
        assert x.shape == (50,) and z.shape == (50,), f"x and z should both have shape (50,), got {x.shape} and {z.shape}."
        assert x.dtype.kind in "iu" and z.dtype.kind in "iu", (
            f"x and z should be integer arrays, got dtypes {x.dtype} and {z.dtype}.")
        assert set(np.unique(x)) <= {0, 1} and set(np.unique(z)) <= {0, 1}, "x and z should contain only 0 and 1."
        x2, z2 = sample_marbles(50, 0.6, 0.8, 0.3, np.random.default_rng(1))
        assert np.array_equal(x, x2) and np.array_equal(z, z2), (
            "Two calls with generators seeded alike should give the same marbles: draw every random number from rng.")
        x3, z3 = sample_marbles(50, 0.6, 0.8, 0.3, np.random.default_rng(2))
        assert not (np.array_equal(x, x3) and np.array_equal(z, z3)), "Different seeds should give different marbles."
        """),
        tests("test_sample_marbles_frequencies", 3, """
        def check_frequencies(n, pi, p1, p2, seed):
            x, z = sample_marbles(n, pi, p1, p2, np.random.default_rng(seed))
            share1 = np.mean(z == 0)
            tol = 5 * np.sqrt(pi * (1 - pi) / n) + 1e-12
            assert abs(share1 - pi) <= tol, (
                f"About a fraction pi = {pi} of the marbles should come from factory 1 (z == 0), but {share1:.4f} did.")
            for k, p in [(0, p1), (1, p2)]:
                made_here = z == k
                if made_here.sum() > 0:
                    freq = x[made_here].mean()
                    tol = 5 * np.sqrt(p * (1 - p) / made_here.sum()) + 1e-12
                    assert abs(freq - p) <= tol, (
                        f"Marbles from factory {k + 1} should be red with probability {p}, but {freq:.4f} of them are red "
                        f"(each marble's colour must use its own factory's probability).")

        check_frequencies(200_000, 0.6, 0.8, 0.3, seed=0)
        """, """
        check_frequencies(150_000, 0.15, 0.05, 0.9, seed=11)
        check_frequencies(150_000, 0.75, 0.55, 0.45, seed=12)
        x, z = sample_marbles(1000, 0.0, 0.8, 0.3, np.random.default_rng(13))
        assert np.all(z == 1), "With pi = 0 every marble should come from factory 2 (z == 1)."
        x, z = sample_marbles(1000, 1.0, 0.8, 0.3, np.random.default_rng(14))
        assert np.all(z == 0), "With pi = 1 every marble should come from factory 1 (z == 0)."
        x, z = sample_marbles(1000, 0.4, 1.0, 0.0, np.random.default_rng(15))
        assert np.array_equal(x, (z == 0).astype(int)), (
            "With p1 = 1 and p2 = 0 a marble should be red exactly when it comes from factory 1.")
        """),
        md(r"""
        ## Part 3: red marbles per factory

        In a simulation (unlike in real life) we see the factories. Write
        `red_fraction_by_factory(x, z)` returning a length-2 array: the fraction of red marbles
        among those from factory 1, and among those from factory 2. If a factory made no marble,
        its entry is `np.nan` (there is nothing to estimate).
        """),
        solution("red_fraction_by_factory", '''
        def red_fraction_by_factory(x, z):
            """[fraction red among factory-1 marbles, fraction red among factory-2 marbles] (nan if none)."""
            ### BEGIN SOLUTION
            x = np.asarray(x)
            z = np.asarray(z)
            fractions = np.full(2, np.nan)
            for k in range(2):
                made_here = z == k
                if made_here.any():
                    fractions[k] = x[made_here].mean()
            return fractions
            ### END SOLUTION
        '''),
        tests("test_red_fraction_by_factory", 2, """
        expect_close(red_fraction_by_factory([1, 0, 1, 1, 0], [0, 0, 1, 1, 1]), [0.5, 2 / 3],
                     "red_fraction_by_factory(x=[1, 0, 1, 1, 0], z=[0, 0, 1, 1, 1])")
        expect_close(red_fraction_by_factory([1, 1, 0], [0, 0, 0]), [2 / 3, np.nan],
                     "red_fraction_by_factory when factory 2 made no marble (nan for factory 2)")
        """, """
        rng = np.random.default_rng(21)
        for n in [7, 300, 5000]:
            x = rng.integers(0, 2, n)
            z = rng.integers(0, 2, n)
            expected = [x[z == 0].sum() / (z == 0).sum(), x[z == 1].sum() / (z == 1).sum()]
            expect_close(red_fraction_by_factory(x, z), expected, f"red_fraction_by_factory on {n} random marbles")
        expect_close(red_fraction_by_factory([0, 1], [1, 1]), [np.nan, 0.5],
                     "red_fraction_by_factory when factory 1 made no marble (nan for factory 1)")
        """),
        md(r"""
        ## Part 4: does the simulation agree with the formula?

        The number of red marbles among $N$ is Binomial$(N, \rho)$ with $\rho = P(\text{red})$,
        so the observed fraction $\bar x$ has standard error $\sqrt{\rho(1-\rho)/N}$. Write
        `z_score(x, pi, p1, p2)`: the observed fraction of red marbles in `x` minus the formula's
        $\rho$, divided by that standard error. Keep the sign: positive means more red than
        expected. (The name "z-score" is the statistician's; it has nothing to do with the latent
        variable $z$.)
        """),
        solution("z_score", '''
        def z_score(x, pi, p1, p2):
            """(observed fraction red - P(red)) / standard error."""
            ### BEGIN SOLUTION
            x = np.asarray(x)
            p = p_red(pi, p1, p2)
            return (x.mean() - p) / np.sqrt(p * (1 - p) / x.size)
            ### END SOLUTION
        '''),
        tests("test_z_score", 2, """
        x = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0])  # 7 red out of 10; the formula gives 0.6
        expect_close(z_score(x, 0.6, 0.8, 0.3), 0.1 / np.sqrt(0.24 / 10), "z_score for 7 red out of 10 with P(red) = 0.6")
        expect_close(z_score(1 - x, 0.6, 0.8, 0.3), -0.3 / np.sqrt(0.24 / 10),
                     "z_score for 3 red out of 10 with P(red) = 0.6 (negative: fewer red than expected)")
        """, """
        zs = np.array([z_score(ml.datasets.make_marbles(400, 0.3, 0.7, 0.2, random_state=seed)[0], 0.3, 0.7, 0.2)
                       for seed in range(300)])
        assert abs(zs.mean()) < 0.25, (
            f"Over many simulated bags the z-scores should average about 0, but they average {zs.mean():.3f}.")
        assert 0.85 < zs.std() < 1.15, (
            f"Over many simulated bags the z-scores should have standard deviation about 1, but it is {zs.std():.3f}.")
        """),
        md("""
        Now watch the simulation approach the formula as the bag grows (the formula's value is
        $\\rho = 0.6$ here). The fraction of red marbles closes in on 0.6, while the z-score does not
        shrink: it stays of the order of 1 for every bag size (a value beyond about $\\pm 3$ would
        point to a bug in the sampler).
        """),
        demo("""
        rng = np.random.default_rng(2024)
        print("      n   fraction red   z-score")
        for n in [10, 100, 1_000, 10_000, 100_000, 1_000_000]:
            x, z = sample_marbles(n, 0.6, 0.8, 0.3, rng)
            print(f"{n:>7}   {x.mean():.4f}        {z_score(x, 0.6, 0.8, 0.3):+.2f}")
        """),
        md("""
        ## Written questions

        **Question 1.** In two or three sentences: why is $P(\\text{red})$ a weighted average of
        $\\theta_1$ and $\\theta_2$, and what are the weights? What range of values can
        $P(\\text{red})$ take?
        """),
        answer("answer_weighted_average", 2, """
        Every marble comes from exactly one factory, so the red marbles split into red marbles from
        factory 1 (probability $\\pi \\theta_1$) and red marbles from factory 2 (probability
        $(1-\\pi) \\theta_2$); adding them gives $\\pi \\theta_1 + (1-\\pi)\\theta_2$. The weights are the
        factory probabilities $\\pi$ and $1-\\pi$, which are non-negative and add up to one, so
        $P(\\text{red})$ always lies between $\\theta_1$ and $\\theta_2$ (inclusive; it equals one of
        them when $\\pi$ is 0 or 1).
        """),
        md("""
        **Question 2.** How does the gap between the simulated fraction of red marbles and the formula
        shrink as the number of marbles $N$ grows? Roughly how many marbles do you need for the
        fraction to be within $\\pm 0.01$ of $0.6$ about 95% of the time?
        """),
        answer("answer_sample_size", 2, """
        The typical gap is the standard error $\\sqrt{\\rho(1-\\rho)/N}$, so it shrinks like $1/\\sqrt{N}$:
        a hundred times more marbles make it ten times smaller. For 95% of the time within $0.01$ we
        need $1.96\\sqrt{0.24/N} \\le 0.01$ (here $\\rho(1-\\rho) = 0.6 \\cdot 0.4 = 0.24$), i.e.
        $N \\ge 1.96^2 \\cdot 0.24 / 0.01^2 \\approx 9{,}200$ marbles.
        """),
    ]
