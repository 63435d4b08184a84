"""Independent correct answers to assignment 03_em_two (EM for the share of factory 1)."""

from textwrap import dedent

ASSIGNMENT = "03_em_two"

VARIANTS: dict[str, list[str]] = {
    "e_step_two": [
        dedent('''\
            from scipy import stats


            def e_step_two(x, pi, p1, p2):
                """Responsibility of factory 1 for every marble: gamma_n = P(z_n = 1 | x_n)."""
                a = pi * stats.bernoulli.pmf(x, p1)
                b = (1 - pi) * stats.bernoulli.pmf(x, p2)
                return a / (a + b)
        '''),
        dedent("""\
            def e_step_two(x, pi, p1, p2):
                x = np.asarray(x, dtype=float)
                f1 = np.power(p1, x) * np.power(1 - p1, 1 - x)
                f2 = np.power(p2, x) * np.power(1 - p2, 1 - x)
                return pi * f1 / (pi * f1 + (1 - pi) * f2)
        """),
        dedent("""\
            from scipy.special import expit


            def e_step_two(x, pi, p1, p2):
                # responsibilities are a logistic function of the log-odds
                is_red = np.asarray(x) == 1
                log_odds = np.log(pi / (1 - pi)) + np.where(is_red, np.log(p1 / p2), np.log((1 - p1) / (1 - p2)))
                return expit(log_odds)
        """),
        dedent('''\
            def e_step_two(x, pi, p1, p2):
                """Responsibility of factory 1 for every marble: gamma_n = P(z_n = 1 | x_n)."""
                gamma = np.empty(len(x))
                for n, colour in enumerate(x):
                    top = pi * (p1 if colour == 1 else 1 - p1)
                    bottom = top + (1 - pi) * (p2 if colour == 1 else 1 - p2)
                    gamma[n] = top / bottom
                return gamma
        '''),
        dedent("""\
            def e_step_two(x, pi, p1, p2):
                # only two possible colours: compute both responsibilities once, then look them up
                def resp_for(colour_prob1, colour_prob2):
                    return 1.0 / (1.0 + (1 - pi) * colour_prob2 / (pi * colour_prob1))

                gammaRed = resp_for(p1, p2)
                gammaBlue = resp_for(1 - p1, 1 - p2)
                return np.where(np.asarray(x) == 1, gammaRed, gammaBlue)
        """),
    ],
    "m_step_two": [
        dedent('''\
            def m_step_two(r):
                """New share of factory 1: the average responsibility."""
                return float(sum(r) / len(r))
        '''),
        dedent("""\
            def m_step_two(r):
                total = 0.0
                count = 0
                for value in r:
                    total += value
                    count += 1
                return total / count
        """),
        dedent("""\
            def m_step_two(r):
                # the maximiser of the expected complete log-likelihood in pi
                return np.average(np.asarray(r, dtype=float)).item()
        """),
        dedent('''\
            def m_step_two(r):
                """New share of factory 1: the average responsibility."""
                r = np.asarray(r)
                return float(r.sum() / r.size)
        '''),
        dedent("""\
            import statistics


            def m_step_two(r):
                return statistics.fmean(r)
        """),
    ],
    "log_likelihood_two": [
        dedent('''\
            def log_likelihood_two(x, pi, p1, p2):
                """Total log-likelihood of the colours x."""
                x = np.asarray(x)
                n_red = np.sum(x == 1)
                n_blue = x.size - n_red
                q = pi * p1 + (1 - pi) * p2
                return float(n_red * np.log(q) + n_blue * np.log(1 - q))
        '''),
        dedent("""\
            from scipy import stats


            def log_likelihood_two(x, pi, p1, p2):
                # each colour is Bernoulli(P(red)) once the factory is summed out
                return float(stats.bernoulli.logpmf(x, pi * p1 + (1 - pi) * p2).sum())
        """),
        dedent("""\
            import math


            def log_likelihood_two(x, pi, p1, p2):
                prob_red = pi * p1 + (1 - pi) * p2
                log_red, log_blue = math.log(prob_red), math.log(1 - prob_red)
                total = 0.0
                for colour in x:
                    total += log_red if colour == 1 else log_blue
                return total
        """),
        dedent('''\
            def log_likelihood_two(x, pi, p1, p2):
                """Total log-likelihood of the colours x."""
                per_marble = pi * np.where(np.asarray(x) == 1, p1, 1 - p1) + (1 - pi) * np.where(np.asarray(x) == 1, p2, 1 - p2)
                return np.log(per_marble).sum()
        '''),
        dedent("""\
            def log_likelihood_two(x, pi, p1, p2):
                xs = np.asarray(x, dtype=float)
                pRed = pi * p1 + (1 - pi) * p2
                return float(xs @ np.full(xs.size, np.log(pRed)) + (1 - xs) @ np.full(xs.size, np.log1p(-pRed)))
        """),
    ],
    "em_two": [
        dedent('''\
            def em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
                """EM for the share of factory 1. Returns (pi, list of total log-likelihoods from pi_init on)."""
                x = np.asarray(x)
                pi = pi_init
                history = [log_likelihood_two(x, pi, p1, p2)]
                iteration = 0
                converged = False
                while iteration < max_iter and not converged:
                    gamma = e_step_two(x, pi, p1, p2)
                    pi = m_step_two(gamma)
                    history.append(log_likelihood_two(x, pi, p1, p2))
                    converged = abs(history[-1] - history[-2]) < tol * len(x)
                    iteration += 1
                return pi, history
        '''),
        dedent("""\
            def em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
                # E and M steps written out here: the responsibilities depend only on the colour
                x = np.asarray(x)
                n, n_red = x.size, int(np.sum(x))
                pi = float(pi_init)

                def loglik(share):
                    q = share * p1 + (1 - share) * p2
                    return n_red * np.log(q) + (n - n_red) * np.log(1 - q)

                lls = [loglik(pi)]
                for _ in range(max_iter):
                    g_red = pi * p1 / (pi * p1 + (1 - pi) * p2)
                    g_blue = pi * (1 - p1) / (pi * (1 - p1) + (1 - pi) * (1 - p2))
                    pi = (n_red * g_red + (n - n_red) * g_blue) / n
                    lls.append(loglik(pi))
                    if abs(lls[-1] - lls[-2]) < tol * n:
                        break
                return pi, lls
        """),
        dedent('''\
            def em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
                """EM for the share of factory 1. Returns (pi, list of total log-likelihoods from pi_init on)."""
                marbles = np.asarray(x)
                share = pi_init
                log_liks = [log_likelihood_two(marbles, share, p1, p2)]
                for step in range(1, max_iter + 1):
                    share = m_step_two(e_step_two(marbles, share, p1, p2))
                    log_liks.append(log_likelihood_two(marbles, share, p1, p2))
                    gain_per_marble = (log_liks[step] - log_liks[step - 1]) / marbles.size
                    if abs(gain_per_marble) < tol:
                        return share, log_liks
                return share, log_liks
        '''),
        dedent("""\
            def _one_em_update(colours, share, p1, p2):
                responsibilities = e_step_two(colours, share, p1, p2)
                return m_step_two(responsibilities)


            def em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
                colours = np.asarray(x)
                shares = [pi_init]
                lls = [log_likelihood_two(colours, pi_init, p1, p2)]
                while len(shares) <= max_iter:
                    shares.append(_one_em_update(colours, shares[-1], p1, p2))
                    lls.append(log_likelihood_two(colours, shares[-1], p1, p2))
                    mean_change = abs(lls[-1] - lls[-2]) / len(colours)
                    if mean_change < tol:  # converged
                        break
                return shares[-1], lls
        """),
        dedent('''\
            def em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
                """EM for the share of factory 1. Returns (pi, list of total log-likelihoods from pi_init on)."""
                x = np.asarray(x)
                N = len(x)
                piCurrent = pi_init
                llCurrent = log_likelihood_two(x, piCurrent, p1, p2)
                trace = [llCurrent]
                for it in range(max_iter):
                    piNext = np.mean(e_step_two(x, piCurrent, p1, p2))
                    llNext = log_likelihood_two(x, piNext, p1, p2)
                    trace.append(llNext)
                    small = abs(llNext - llCurrent) / N < tol
                    piCurrent, llCurrent = float(piNext), llNext
                    if small:
                        break
                return piCurrent, trace
        '''),
    ],
    "closed_form_pi": [
        dedent('''\
            def closed_form_pi(x, p1, p2):
                """Maximum-likelihood share of factory 1 from the fraction of red marbles."""
                # P(red) = p2 + pi (p1 - p2) must match the observed fraction; pi lives in [0, 1]
                estimate = (np.mean(x) - p2) / (p1 - p2)
                return float(min(1.0, max(0.0, estimate)))
        '''),
        dedent("""\
            def closed_form_pi(x, p1, p2):
                red_fraction = np.count_nonzero(np.asarray(x) == 1) / np.size(x)
                pi_hat = (red_fraction - p2) / (p1 - p2)
                if pi_hat < 0:
                    return 0.0
                if pi_hat > 1:
                    return 1.0
                return float(pi_hat)
        """),
        dedent("""\
            def closed_form_pi(x, p1, p2):
                n = len(x)
                k = sum(x)
                # k = n (p2 + pi (p1 - p2)), solved for pi and clipped to [0, 1]
                return float(np.minimum(np.maximum((k - n * p2) / (n * (p1 - p2)), 0.0), 1.0))
        """),
        dedent('''\
            def closed_form_pi(x, p1, p2):
                """Maximum-likelihood share of factory 1 from the fraction of red marbles."""
                unconstrained = (np.average(x) - p2) / (p1 - p2)
                return float(np.median([0.0, unconstrained, 1.0]))  # the middle one is the clipped value
        '''),
        dedent("""\
            def closed_form_pi(x, p1, p2):
                fracRed = np.asarray(x, dtype=float).mean()
                # the likelihood only depends on P(red); solve p2 + pi * (p1 - p2) = fracRed as a 1 x 1 system
                piHat = np.linalg.solve(np.array([[p1 - p2]]), np.array([fracRed - p2]))[0]
                return float(np.clip(piHat, 0, 1))
        """),
    ],
}
