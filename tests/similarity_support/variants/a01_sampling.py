"""Independent correct answers to assignment 01_sampling (the two-factory bag of marbles)."""

from textwrap import dedent

ASSIGNMENT = "01_sampling"

VARIANTS: dict[str, list[str]] = {
    "p_red": [
        dedent('''\
            def p_red(pi, p1, p2):
                """Probability that a marble drawn from the bag is red."""
                # P(red) = p2 + pi (p1 - p2): start from factory 2 and shift towards factory 1
                return p2 + np.asarray(pi, dtype=float) * (p1 - p2)
        '''),
        dedent("""\
            def p_red(pi, p1, p2):
                weights = np.stack([np.asarray(pi, dtype=float), 1.0 - np.asarray(pi, dtype=float)])
                reds = np.array([p1, p2])
                return np.tensordot(reds, weights, axes=1)  # sum over the two factories
        """),
        dedent('''\
            def p_red(pi, p1, p2):
                """Probability that a marble drawn from the bag is red."""
                def one_bag(share):
                    return share * p1 + (1 - share) * p2

                if np.ndim(pi) == 0:
                    return float(one_bag(pi))
                return np.array([one_bag(s) for s in np.ravel(pi)]).reshape(np.shape(pi))
        '''),
        dedent("""\
            def p_red(pi, p1, p2):
                # law of total probability, computed in log space
                pi = np.asarray(pi, dtype=float)
                with np.errstate(divide="ignore"):
                    log_red_1 = np.log(pi) + np.log(p1)
                    log_red_2 = np.log1p(-pi) + np.log(p2)
                return np.exp(np.logaddexp(log_red_1, log_red_2))
        """),
        dedent('''\
            def p_red(pi, p1, p2):
                """Probability that a marble drawn from the bag is red."""
                totalProbability = np.vectorize(lambda share: share * p1 + (1.0 - share) * p2)
                return totalProbability(pi)
        '''),
    ],
    "sample_marbles": [
        dedent('''\
            def sample_marbles(n, pi, p1, p2, rng):
                """Simulate n marbles; return (x, c): colours (1 = red) and factories (0 = factory 1)."""
                # factory 2 (c = 1) with probability 1 - pi, then a coin with that factory's red probability
                c = rng.binomial(1, 1 - pi, size=n)
                x = rng.binomial(1, np.where(c == 1, p2, p1))
                return x, c
        '''),
        dedent("""\
            def sample_marbles(n, pi, p1, p2, rng):
                factory = rng.choice(2, size=n, p=[pi, 1 - pi])
                red_prob = np.array([p1, p2])[factory]
                colour = (rng.uniform(size=n) < red_prob).astype(np.int64)
                return colour, factory
        """),
        dedent('''\
            def sample_marbles(n, pi, p1, p2, rng):
                """Simulate n marbles; return (x, c): colours (1 = red) and factories (0 = factory 1)."""
                uniforms = rng.random((n, 2))
                colours = np.zeros(n, dtype=int)
                factories = np.zeros(n, dtype=int)
                for i in range(n):
                    u_factory, u_colour = uniforms[i]
                    if u_factory < pi:
                        factories[i] = 0
                        colours[i] = 1 if u_colour < p1 else 0
                    else:
                        factories[i] = 1
                        colours[i] = 1 if u_colour < p2 else 0
                return colours, factories
        '''),
        dedent("""\
            def sample_marbles(n, pi, p1, p2, rng):
                from_second = rng.random(n) < 1 - pi
                c = from_second.astype(int)
                u = rng.random(n)
                x = np.zeros(n, dtype=int)
                x[~from_second] = u[~from_second] < p1
                x[from_second] = u[from_second] < p2
                return x, c
        """),
        dedent('''\
            def sample_marbles(n, pi, p1, p2, rng):
                """Simulate n marbles; return (x, c): colours (1 = red) and factories (0 = factory 1)."""
                # how many come from factory 1 is Binomial(n, pi); then shuffle who is who
                nFirst = rng.binomial(n, pi)
                factoryOf = np.ones(n, dtype=int)
                factoryOf[:nFirst] = 0
                rng.shuffle(factoryOf)
                redChance = np.take([p1, p2], factoryOf)
                isRed = (rng.random(n) < redChance).astype(int)
                return isRed, factoryOf
        '''),
    ],
    "red_fraction_by_factory": [
        dedent('''\
            def red_fraction_by_factory(x, c):
                """[fraction red among factory-1 marbles, fraction red among factory-2 marbles] (nan if none)."""
                c = np.asarray(c, dtype=int)
                counts = np.bincount(c, minlength=2)[:2]
                reds = np.bincount(c, weights=np.asarray(x, dtype=float), minlength=2)[:2]
                with np.errstate(invalid="ignore", divide="ignore"):
                    return np.where(counts > 0, reds / counts, np.nan)
        '''),
        dedent("""\
            def red_fraction_by_factory(x, c):
                total = [0, 0]
                red = [0, 0]
                for colour, factory in zip(x, c):
                    total[factory] += 1
                    red[factory] += colour
                result = []
                for k in (0, 1):
                    result.append(red[k] / total[k] if total[k] > 0 else float("nan"))
                return np.array(result)
        """),
        dedent('''\
            def _mean_or_nan(values):
                # the average of a possibly empty group of 0/1 colours
                return values.mean() if values.size else np.nan


            def red_fraction_by_factory(x, c):
                """[fraction red among factory-1 marbles, fraction red among factory-2 marbles] (nan if none)."""
                colours, factories = np.asarray(x), np.asarray(c)
                return np.array([_mean_or_nan(colours[factories == f]) for f in range(2)], dtype=float)
        '''),
        dedent("""\
            def red_fraction_by_factory(x, c):
                x = np.asarray(x, dtype=float)
                c = np.asarray(c)
                in_first = c == 0
                sums = np.array([x[in_first].sum(), x[~in_first].sum()])
                sizes = np.array([in_first.sum(), (~in_first).sum()], dtype=float)
                out = np.full(2, np.nan)
                np.divide(sums, sizes, out=out, where=sizes > 0)
                return out
        """),
        dedent('''\
            def red_fraction_by_factory(x, c):
                """[fraction red among factory-1 marbles, fraction red among factory-2 marbles] (nan if none)."""
                marble_colours = np.asarray(x)
                marble_factories = np.asarray(c)
                fraction_red = []
                factory = 0
                while factory < 2:
                    mask = marble_factories == factory
                    number_made = np.count_nonzero(mask)
                    if number_made == 0:
                        fraction_red.append(np.nan)  # no marble from this factory: undefined
                    else:
                        fraction_red.append(np.sum(marble_colours * mask) / number_made)
                    factory += 1
                return np.asarray(fraction_red)
        '''),
    ],
    "z_score": [
        dedent('''\
            import math


            def z_score(x, pi, p1, p2):
                """(observed fraction red - P(red)) / standard error."""
                n = len(x)
                p = p_red(pi, p1, p2)
                se = math.sqrt(p * (1 - p) / n)
                return (sum(x) / n - p) / se
        '''),
        dedent("""\
            def z_score(x, pi, p1, p2):
                # in counts: (reds - n p) / sqrt(n p (1 - p)), the same ratio
                x = np.asarray(x)
                n = x.size
                q = pi * p1 + (1 - pi) * p2
                reds = np.count_nonzero(x == 1)
                return (reds - n * q) / np.sqrt(n * q * (1 - q))
        """),
        dedent('''\
            from scipy import stats


            def z_score(x, pi, p1, p2):
                """(observed fraction red - P(red)) / standard error."""
                one_marble = stats.bernoulli(p_red(pi, p1, p2))
                observed = np.mean(x)
                return (observed - one_marble.mean()) / (one_marble.std() / np.sqrt(np.size(x)))
        '''),
        dedent("""\
            def z_score(x, pi, p1, p2):
                red_count = 0
                total = 0
                for colour in x:
                    red_count += colour
                    total += 1
                expected = p_red(pi, p1, p2)
                standard_error = np.sqrt(expected * (1 - expected) / total)
                return (red_count / total - expected) / standard_error
        """),
        dedent('''\
            def z_score(x, pi, p1, p2):
                """(observed fraction red - P(red)) / standard error."""
                probRed = p_red(pi, p1, p2)
                fracRed = np.average(np.asarray(x, dtype=float))
                stdErr = np.sqrt(probRed * (1.0 - probRed)) / np.sqrt(np.asarray(x).shape[0])
                return float((fracRed - probRed) / stdErr)
        '''),
    ],
}
