"""Independent correct answers to assignment 02_posteriors (which factory made this marble?)."""

from textwrap import dedent

ASSIGNMENT = "02_posteriors"

VARIANTS: dict[str, list[str]] = {
    "marble_posterior": [
        dedent("""\
            def marble_posterior(x, pi, p1, p2):
                # Bernoulli likelihood written as p^x (1 - p)^(1 - x)
                x = np.asarray(x)
                lik1 = p1**x * (1 - p1) ** (1 - x)
                lik2 = p2**x * (1 - p2) ** (1 - x)
                numerator = pi * lik1
                return numerator / (numerator + (1 - pi) * lik2)
        """),
        dedent('''\
            def marble_posterior(x, pi, p1, p2):
                """P(factory 1 | colour) for every marble."""
                answers = []
                for colour in x:
                    if colour == 1:
                        a, b = pi * p1, (1 - pi) * p2
                    else:
                        a, b = pi * (1 - p1), (1 - pi) * (1 - p2)
                    answers.append(a / (a + b))
                return np.array(answers)
        '''),
        dedent("""\
            from scipy import stats


            def marble_posterior(x, pi, p1, p2):
                prior_times_likelihood = [pi * stats.bernoulli.pmf(x, p1), (1 - pi) * stats.bernoulli.pmf(x, p2)]
                evidence = prior_times_likelihood[0] + prior_times_likelihood[1]
                return prior_times_likelihood[0] / evidence
        """),
        dedent('''\
            def marble_posterior(x, pi, p1, p2):
                """Posterior of factory 1 through the odds: 1 / (1 + prior odds of 2 x likelihood ratio)."""
                x = np.asarray(x)
                ratio2to1 = np.where(x == 1, p2 / p1 if p1 > 0 else np.inf, (1 - p2) / (1 - p1) if p1 < 1 else np.inf)
                with np.errstate(divide="ignore"):
                    oddsAgainst = (1 - pi) / pi if pi > 0 else np.inf
                return 1.0 / (1.0 + oddsAgainst * ratio2to1)
        '''),
        dedent("""\
            from scipy.special import expit


            def marble_posterior(x, pi, p1, p2):
                # log-odds of factory 1 against factory 2, then the logistic function
                red = np.asarray(x) == 1
                with np.errstate(divide="ignore"):
                    log_a = np.log(pi) + np.where(red, np.log(p1), np.log1p(-p1))
                    log_b = np.log1p(-pi) + np.where(red, np.log(p2), np.log1p(-p2))
                return expit(log_a - log_b)
        """),
        dedent('''\
            def marble_posterior(x, pi, p1, p2):
                """P(factory 1 | colour) for every marble."""
                colours = np.asarray(x, dtype=int)
                table = np.array([[1 - p1, p1], [1 - p2, p2]])  # table[factory, colour]
                joint = np.array([pi, 1 - pi])[:, None] * table[:, colours]
                posterior = joint / joint.sum(axis=0)
                return posterior[0]
        '''),
    ],
    "gaussian_posterior": [
        dedent('''\
            from scipy import stats


            def gaussian_posterior(x, weights, means, stds):
                """Responsibilities (N, K) of K Gaussian components for the points x."""
                x = np.asarray(x, dtype=float).reshape(-1, 1)
                log_joint = np.log(weights) + stats.norm.logpdf(x, loc=means, scale=stds)
                return np.exp(log_joint - logsumexp(log_joint, axis=1)[:, None])
        '''),
        dedent("""\
            def gaussian_posterior(x, weights, means, stds):
                x = np.asarray(x, dtype=float)
                columns = []
                for w, m, s in zip(weights, means, stds):
                    columns.append(np.log(w) - np.log(s * np.sqrt(2 * np.pi)) - (x - m) ** 2 / (2 * s * s))
                log_joint = np.array(columns).T
                # subtract the largest term of each row before exponentiating (no overflow, no 0/0)
                shifted = np.exp(log_joint - log_joint.max(axis=1, keepdims=True))
                return shifted / shifted.sum(axis=1, keepdims=True)
        """),
        dedent('''\
            from scipy.special import softmax


            def gaussian_posterior(x, weights, means, stds):
                """Responsibilities (N, K) of K Gaussian components for the points x."""
                z = (np.asarray(x, dtype=float)[:, np.newaxis] - np.asarray(means)) / np.asarray(stds)
                scores = np.log(np.asarray(weights, dtype=float) / np.asarray(stds)) - z**2 / 2
                return softmax(scores, axis=1)  # the constant log(sqrt(2 pi)) cancels
        '''),
        dedent("""\
            def log_gauss(value, mu, sigma):
                return -0.5 * np.log(2 * np.pi * sigma**2) - 0.5 * ((value - mu) / sigma) ** 2


            def gaussian_posterior(x, weights, means, stds):
                n_points, n_comp = len(x), len(weights)
                resp = np.zeros((n_points, n_comp))
                for i in range(n_points):
                    logs = np.array([np.log(weights[k]) + log_gauss(x[i], means[k], stds[k]) for k in range(n_comp)])
                    resp[i] = np.exp(logs - np.logaddexp.reduce(logs))
                return resp
        """),
        dedent('''\
            def gaussian_posterior(x, weights, means, stds):
                """Responsibilities (N, K) of K Gaussian components for the points x."""
                var = np.square(np.asarray(stds, dtype=float))
                diff = np.subtract.outer(np.asarray(x, dtype=float), np.asarray(means, dtype=float))
                with np.errstate(divide="ignore"):
                    logw = np.log(weights)
                logp = logw - 0.5 * np.log(2 * np.pi * var) - diff**2 / (2 * var)
                return np.exp(logp - np.logaddexp.reduce(logp, axis=1, keepdims=True))
        '''),
        dedent("""\
            def _row_normalise_in_log_space(log_values):
                biggest = np.max(log_values, axis=1, keepdims=True)
                log_total = biggest + np.log(np.sum(np.exp(log_values - biggest), axis=1, keepdims=True))
                return np.exp(log_values - log_total)


            def gaussian_posterior(x, weights, means, stds):
                points = np.atleast_1d(np.asarray(x, dtype=float))
                component_means = np.asarray(means, dtype=float)
                component_stds = np.asarray(stds, dtype=float)
                log_densities = -np.log(component_stds) - 0.5 * np.log(2 * np.pi) - 0.5 * (
                    (points[:, None] - component_means[None, :]) / component_stds[None, :]) ** 2
                return _row_normalise_in_log_space(np.log(np.asarray(weights, dtype=float)) + log_densities)
        """),
    ],
    "even_odds_prior": [
        dedent('''\
            def even_odds_prior(colour, p1, p2):
                """Prior share of factory 1 at which the posterior after `colour` is exactly 1/2."""
                # pi L1 = (1 - pi) L2  =>  pi = L2 / (L1 + L2)
                L1 = (1 - p1, p1)[colour]
                L2 = (1 - p2, p2)[colour]
                return L2 / (L1 + L2)
        '''),
        dedent("""\
            def even_odds_prior(colour, p1, p2):
                if colour == 1:
                    return p2 / (p1 + p2)
                return (1 - p2) / ((1 - p1) + (1 - p2))
        """),
        dedent("""\
            from scipy import stats


            def even_odds_prior(colour, p1, p2):
                likelihood_ratio = stats.bernoulli.pmf(colour, p1) / stats.bernoulli.pmf(colour, p2)
                # posterior odds = prior odds x likelihood ratio = 1, so the prior odds are 1 / ratio
                prior_odds = 1.0 / likelihood_ratio
                return float(prior_odds / (1.0 + prior_odds))
        """),
        dedent('''\
            def even_odds_prior(colour, p1, p2):
                """Prior share of factory 1 at which the posterior after `colour` is exactly 1/2."""
                f1 = p1**colour * (1 - p1) ** (1 - colour)
                f2 = p2**colour * (1 - p2) ** (1 - colour)
                return 1 / (1 + f1 / f2)
        '''),
        dedent("""\
            from scipy.optimize import brentq


            def even_odds_prior(colour, p1, p2):
                # find the prior numerically: where the posterior of factory 1 crosses 1/2
                def posterior_minus_half(prior):
                    return marble_posterior(np.array([colour]), prior, p1, p2)[0] - 0.5

                return brentq(posterior_minus_half, 0.0, 1.0, xtol=1e-15, rtol=1e-14)
        """),
        dedent('''\
            def even_odds_prior(colour, p1, p2):
                """Prior share of factory 1 at which the posterior after `colour` is exactly 1/2."""
                probs = np.array([p1, p2]) if colour else 1 - np.array([p1, p2])
                logLik = np.log(probs)
                # log prior odds of factory 1 = -(log L1 - log L2)
                return float(1 / (1 + np.exp(logLik[0] - logLik[1])))
        '''),
    ],
}
