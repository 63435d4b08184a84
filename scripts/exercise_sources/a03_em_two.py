"""Assignment 3: EM for the two-factory problem."""

from _cells import answer, demo, md, setup, setup_source, solution, tests

TITLE = "EM for two components"
PRACTISES = ("the E-step, the M-step and the EM loop for the marble problem, the log-likelihood that "
             "never decreases, and the closed-form answer EM must agree with.")

GUARD = '"em_two_components", "em_n_components", "e_step", "m_step", "posterior"'


def cells():
    return [
        md(r"""
        # Assignment 3: EM for two components

        The factories' red probabilities $\theta_1$ and $\theta_2$ are known, but the share $\pi$ of
        marbles from factory 1 is not. We only see the colours $x_1, \dots, x_N$.
        Expectation-maximisation (EM) estimates $\pi$ by alternating two steps:

        * **E-step**: with the current guess $\pi$, compute each marble's responsibility
          $\gamma_n = P(z_n = 1 \mid x_n)$, the posterior probability that marble $n$ came from
          factory 1 (Bayes' rule, as in assignment 2);
        * **M-step**: the new guess is the average responsibility, $\pi \leftarrow \frac1N \sum_n \gamma_n$.

        No round ever lowers the log-likelihood $\ell(\pi) = \sum_n \log p(x_n)$, where
        $p(\text{red}) = \rho = \pi\theta_1 + (1 - \pi)\theta_2$ and $p(\text{blue}) = 1 - \rho$.
        The symbols are those of the book (see its Notation page). Expect about 50 minutes.

        **How this notebook is graded.** Write code where it says `YOUR CODE HERE` (delete the
        `raise NotImplementedError()` line) and answers where it says `YOUR ANSWER HERE`. The read-only
        cells are tests; the autograder adds hidden tests on other data. The tests switch off mixlearn's
        EM functions (`em_two_components`, `e_step`, `m_step`, `posterior`, ...), so write the steps
        yourself. Before submitting, restart the kernel and run all cells.

        Conventions: `x` is an array of colours, `1` = red, `0` = blue; `pi` is $\pi$ and `p1`, `p2`
        are $\theta_1$, $\theta_2$.
        """),
        setup("setup", setup_source(f"""
        import numpy as np
        import mixlearn as ml

        EM_FUNCTIONS = ({GUARD})
        """)),
        md(r"""
        ## Part 1: the E-step

        Write `e_step_two(x, pi, p1, p2)` returning the array of responsibilities $\gamma_n$ of
        factory 1, one per marble. (It is the `marble_posterior` of assignment 2; copy your code, as
        this notebook cannot see that one.)
        """),
        solution("e_step_two", '''
        def e_step_two(x, pi, p1, p2):
            """Responsibility of factory 1 for every marble: gamma_n = P(z_n = 1 | x_n)."""
            ### BEGIN SOLUTION
            x = np.asarray(x)
            joint1 = pi * np.where(x == 1, p1, 1 - p1)
            joint2 = (1 - pi) * np.where(x == 1, p2, 1 - p2)
            return joint1 / (joint1 + joint2)
            ### END SOLUTION
        '''),
        tests("test_e_step_two", 2, """
        def marble_oracle(x, pi, p1, p2):
            return ml.posterior(x, [pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)])[:, 0]

        x = np.array([1, 0, 0, 1, 1])
        with own_work_only(*EM_FUNCTIONS):
            got = e_step_two(x, 0.5, 0.8, 0.3)
        expect_close(got, marble_oracle(x, 0.5, 0.8, 0.3), "e_step_two(x, pi=0.5, p1=0.8, p2=0.3)")
        with own_work_only(*EM_FUNCTIONS):
            got = e_step_two(x, 0.25, 0.8, 0.3)
        expect_close(got, marble_oracle(x, 0.25, 0.8, 0.3), "e_step_two(x, pi=0.25, p1=0.8, p2=0.3)")
        """, """
        rng = np.random.default_rng(41)
        for pi, p1, p2 in [(0.9, 0.2, 0.65), (0.5, 0.999, 0.001), (0.33, 0.5, 0.75)]:
            x = rng.integers(0, 2, 30)
            with own_work_only(*EM_FUNCTIONS):
                got = e_step_two(x, pi, p1, p2)
            expect_close(got, marble_oracle(x, pi, p1, p2), f"e_step_two with pi={pi}, p1={p1}, p2={p2}")
        """),
        md("""
        ## Part 2: the M-step

        Write `m_step_two(gamma)`: the new estimate of $\\pi$ from the array `gamma` of
        responsibilities (`gamma[n]` holds $\\gamma_n$).
        """),
        solution("m_step_two", '''
        def m_step_two(gamma):
            """New share of factory 1: the average responsibility."""
            ### BEGIN SOLUTION
            return float(np.mean(gamma))
            ### END SOLUTION
        '''),
        tests("test_m_step_two", 1, """
        expect_close(m_step_two(np.array([0.2, 0.4, 0.9])), 0.5, "m_step_two([0.2, 0.4, 0.9])")
        expect_close(m_step_two(np.array([0.3, 0.3])), 0.3, "m_step_two([0.3, 0.3])")
        """, """
        gamma = np.random.default_rng(42).uniform(0.05, 0.45, 1001)
        expect_close(m_step_two(gamma), gamma.mean(), "m_step_two on 1001 random responsibilities")
        """),
        md(r"""
        ## Part 3: the log-likelihood

        Write `log_likelihood_two(x, pi, p1, p2)` returning $\ell(\pi) = \sum_n \log p(x_n)$, where
        $p(\text{red}) = \rho = \pi \theta_1 + (1-\pi) \theta_2$ and $p(\text{blue}) = 1 - \rho$.
        Sum logarithms; do not multiply probabilities (a product of 100,000 probabilities such as
        0.6 or 0.4 is 0 in floating point).
        """),
        solution("log_likelihood_two", '''
        def log_likelihood_two(x, pi, p1, p2):
            """Total log-likelihood of the colours x."""
            ### BEGIN SOLUTION
            x = np.asarray(x)
            red = pi * p1 + (1 - pi) * p2
            return float(np.sum(np.where(x == 1, np.log(red), np.log1p(-red))))
            ### END SOLUTION
        '''),
        tests("test_log_likelihood_two", 2, """
        def loglik_oracle(x, pi, p1, p2):
            return ml.mixture_logpdf(x, [pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)]).sum()

        x = np.array([1, 1, 0])
        expect_close(log_likelihood_two(x, 0.6, 0.8, 0.3), 2 * np.log(0.6) + np.log(0.4),
                     "log_likelihood_two([red, red, blue], 0.6, 0.8, 0.3)")
        x, _ = ml.datasets.make_marbles(100_000, 0.6, 0.8, 0.3, random_state=0)
        expect_close(log_likelihood_two(x, 0.5, 0.8, 0.3), loglik_oracle(x, 0.5, 0.8, 0.3),
                     "log_likelihood_two for 100,000 marbles (a finite negative number)")
        """, """
        for seed, (pi, p1, p2) in enumerate([(0.2, 0.1, 0.7), (0.95, 0.6, 0.01)]):
            x, _ = ml.datasets.make_marbles(50_000 + seed, pi, p1, p2, random_state=100 + seed)
            expect_close(log_likelihood_two(x, 0.4, p1, p2), loglik_oracle(x, 0.4, p1, p2),
                         f"log_likelihood_two at pi = 0.4 with p1={p1}, p2={p2}")
        """),
        md(r"""
        ## Part 4: the EM loop

        Write `em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000)` that starts at `pi_init`
        and repeats E-step and M-step. Return `(pi, log_likelihoods)`: the final estimate and the list of
        total log-likelihoods $\ell$, **starting with the one at `pi_init`** and then one per
        iteration. Stop when the log-likelihood per marble, $\ell / N$, changes by less than `tol`
        between two iterations, or after `max_iter` iterations.
        """),
        solution("em_two", '''
        def em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
            """EM for the share of factory 1. Returns (pi, list of total log-likelihoods from pi_init on)."""
            ### BEGIN SOLUTION
            x = np.asarray(x)
            pi = pi_init
            log_likelihoods = [log_likelihood_two(x, pi, p1, p2)]
            for _ in range(max_iter):
                pi = m_step_two(e_step_two(x, pi, p1, p2))
                log_likelihoods.append(log_likelihood_two(x, pi, p1, p2))
                if abs(log_likelihoods[-1] - log_likelihoods[-2]) / x.size < tol:
                    break
            return pi, log_likelihoods
            ### END SOLUTION
        '''),
        tests("test_em_two_agrees", 3, """
        x, _ = ml.datasets.make_marbles(1000, 0.6, 0.8, 0.3, random_state=1)
        expected = ml.em_two_components(x, 0.8, 0.3, pi_init=0.5, tol=1e-13).weights[0]
        with own_work_only(*EM_FUNCTIONS):
            pi, lls = em_two(x, 0.8, 0.3, tol=1e-13)
        expect_close(pi, expected, "em_two's estimate of pi for 1000 marbles (pi = 0.6, p1 = 0.8, p2 = 0.3)", rtol=1e-5)
        """, """
        for seed, (pi_true, p1, p2, pi_init) in enumerate([(0.25, 0.9, 0.2, 0.9), (0.5, 0.3, 0.6, 0.1), (0.8, 0.7, 0.4, 0.5)]):
            x, _ = ml.datasets.make_marbles(777 + 100 * seed, pi_true, p1, p2, random_state=50 + seed)
            expected = ml.em_two_components(x, p1, p2, pi_init=pi_init, tol=1e-13).weights[0]
            with own_work_only(*EM_FUNCTIONS):
                pi, lls = em_two(x, p1, p2, pi_init=pi_init, tol=1e-13)
            expect_close(pi, expected, f"em_two's estimate with p1={p1}, p2={p2}, pi_init={pi_init}", rtol=1e-5)
        """),
        tests("test_em_two_history", 2, """
        x, _ = ml.datasets.make_marbles(500, 0.3, 0.8, 0.3, random_state=2)
        with own_work_only(*EM_FUNCTIONS):
            pi, lls = em_two(x, 0.8, 0.3, pi_init=0.9)
        lls = np.asarray(lls, dtype=float)
        assert lls.ndim == 1 and lls.size >= 3, (
            f"em_two should return the log-likelihood at pi_init and after every iteration (several values), got {lls.size}.")
        expect_close(lls[0], loglik_oracle(x, 0.9, 0.8, 0.3), "The first log-likelihood (at pi_init = 0.9)")
        pi_one = ml.posterior(x, [0.9, 0.1], [ml.Bernoulli(0.8), ml.Bernoulli(0.3)])[:, 0].mean()
        expect_close(lls[1], loglik_oracle(x, pi_one, 0.8, 0.3),
                     "The second log-likelihood (after one EM iteration from pi_init = 0.9)")
        assert np.all(np.diff(lls) >= -1e-9), "The log-likelihood should never decrease from one EM iteration to the next."
        expect_close(lls[-1], loglik_oracle(x, pi, 0.8, 0.3), "The last log-likelihood (at the returned pi)")
        """, """
        x, _ = ml.datasets.make_marbles(2000, 0.7, 0.55, 0.45, random_state=3)
        with own_work_only(*EM_FUNCTIONS):
            pi, lls = em_two(x, 0.55, 0.45, pi_init=0.05, max_iter=20)
        assert len(lls) == 21, (
            f"With max_iter=20 and slow convergence em_two should stop after 20 iterations (21 values), got {len(lls)}.")
        assert np.all(np.diff(lls) >= -1e-9), "The log-likelihood should never decrease from one EM iteration to the next."
        """),
        md(r"""
        ## Part 5: the closed form

        With single draws the maximum-likelihood estimate can be found by hand: the likelihood depends
        on $\pi$ only through $\rho = \pi \theta_1 + (1 - \pi) \theta_2$, and the best $\rho$ is
        the observed fraction of red marbles $\bar x$. Solving for $\pi$ and keeping it within $[0, 1]$
        gives $\hat\pi = \operatorname{clip}\left(\frac{\bar x - \theta_2}{\theta_1 - \theta_2}, 0, 1\right)$.
        Write `closed_form_pi(x, p1, p2)` (assume $\theta_1 \ne \theta_2$).
        """),
        solution("closed_form_pi", '''
        def closed_form_pi(x, p1, p2):
            """Maximum-likelihood share of factory 1 from the fraction of red marbles."""
            ### BEGIN SOLUTION
            return float(np.clip((np.mean(x) - p2) / (p1 - p2), 0.0, 1.0))
            ### END SOLUTION
        '''),
        tests("test_closed_form_pi", 2, """
        x = np.array([1] * 6 + [0] * 4)
        expect_close(closed_form_pi(x, 0.8, 0.3), 0.6, "closed_form_pi for 6 red out of 10 (p1 = 0.8, p2 = 0.3)")
        expect_close(closed_form_pi(np.ones(10), 0.8, 0.3), 1.0,
                     "closed_form_pi when every marble is red (more red than factory 1 makes: clip to 1)")
        expect_close(closed_form_pi(np.array([0, 0, 0, 1]), 0.8, 0.3), 0.0,
                     "closed_form_pi for 1 red out of 4 (fewer red than factory 2 makes: clip to 0)")
        """, """
        for seed, (pi_true, p1, p2) in enumerate([(0.4, 0.2, 0.9), (0.7, 0.65, 0.25)]):
            x, _ = ml.datasets.make_marbles(3000, pi_true, p1, p2, random_state=60 + seed)
            expected = ml.em_two_components(x, p1, p2, tol=1e-14, max_iter=100_000).weights[0]
            expect_close(closed_form_pi(x, p1, p2), expected, f"closed_form_pi with p1={p1}, p2={p2} (EM's answer)", rtol=1e-4)
        """),
        md("EM on a bag of 1000 marbles, next to the closed form:"),
        demo("""
        x, _ = ml.datasets.make_marbles(1000, 0.6, 0.8, 0.3, random_state=7)
        pi, lls = em_two(x, 0.8, 0.3)
        print(f"EM: pi = {pi:.4f} after {len(lls) - 1} iterations; closed form: {closed_form_pi(x, 0.8, 0.3):.4f}")
        print("first log-likelihoods:", np.round(lls[:4], 2))
        """),
        md(r"""
        ## Written questions

        **Question 1.** EM and the closed form give the same $\hat\pi$ here (to the four decimals
        printed). Why, and why learn EM when the closed form exists?
        """),
        answer("answer_why_em", 2, r"""
        Both maximise the same log-likelihood, which has a single maximum on $[0, 1]$: it is concave
        in $\pi$, and strictly so when $\theta_1 \ne \theta_2$. Started strictly between 0 and 1, EM
        never goes down and has no other point to stop at, so it converges to that maximum, which is
        the clipped closed form. It does not reach it to within `tol`, though: the loop stops when
        $\ell / N$ changes by less than `tol`, and near the flat top an error $\delta$ in $\pi$ costs
        only about $\tfrac12 i \delta^2$ of $\ell / N$ ($i$ the information per marble), so the last
        iterate can be off by up to roughly $\sqrt{2\,\mathtt{tol} / (i (1 - r^2))}$, with $r$ the rate of
        convergence: about $1.4 \times 10^{-5}$ here at `tol = 1e-10`, which is why the two agree
        to four decimals and not to ten. With nearly equal factories $i$ is tiny and $r$ close to 1,
        and the gap grows: in question 2, EM stops at $0.8457$ while the closed form is $0.85$.
        (Started at exactly 0 or 1 it would stay there, since every responsibility is then 0 or 1.) The
        closed form exists only because one number, $\rho$, summarises single binary draws; with more
        components, other families or more parameters there is no formula, but the same
        E-step/M-step loop still works.
        """),
        md(r"""
        **Question 2.** Simulate a bag from two factories that are hard to tell apart,
        `x, _ = ml.datasets.make_marbles(1000, 0.6, 0.52, 0.48, random_state=7)`
        ($\pi = 0.6$, $\theta_1 = 0.52$, $\theta_2 = 0.48$), and run `em_two(x, 0.52, 0.48)`.
        Compare the number of iterations with the run above ($\theta_1 = 0.8$, $\theta_2 = 0.3$) and
        explain the difference. How close to the true $\pi = 0.6$ can you expect the estimate to be?
        """),
        answer("answer_slow_convergence", 2, r"""
        EM now needs about 4,300 iterations instead of about 30. With nearly equal factories a
        marble's colour says almost nothing about its factory, so every responsibility $\gamma_n$
        stays close to the current $\pi$ and each M-step moves $\pi$ only a little: near the maximum
        each iteration shrinks the distance to it by a factor close to 1 (the fraction of missing
        information). The same flatness makes the estimate uncertain: its standard error is about
        $\sqrt{\bar x(1-\bar x)/N} \,/\, |\theta_1 - \theta_2| \approx 0.016 / 0.04 \approx 0.4$, so an
        estimate of about $0.85$ against the true $0.6$ is no surprise. (EM's last iterate, $0.8457$,
        is itself $0.004$ short of the maximum-likelihood $0.85$: the flat likelihood lets the stopping
        rule fire early.) EM is slow exactly where the data carry little information about $\pi$.
        """),
    ]
