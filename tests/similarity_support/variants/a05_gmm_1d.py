"""Independent correct answers to assignment 05_gmm_1d (EM for a one-dimensional Gaussian mixture)."""

from textwrap import dedent

ASSIGNMENT = "05_gmm_1d"

VARIANTS: dict[str, list[str]] = {
    "gmm_e_step": [
        dedent('''\
            from scipy import stats


            def gmm_e_step(x, weights, means, variances):
                """Responsibilities (N, K) and mean log-likelihood per sample of a 1-D Gaussian mixture."""
                log_joint = np.log(weights) + stats.norm.logpdf(np.reshape(x, (-1, 1)), means, np.sqrt(variances))
                log_px = logsumexp(log_joint, axis=1)
                return np.exp(log_joint - log_px[:, None]), float(log_px.mean())
        '''),
        dedent("""\
            def gmm_e_step(x, weights, means, variances):
                x = np.asarray(x, dtype=float)
                K = len(weights)
                L = np.empty((x.size, K))
                for k in range(K):
                    log_norm_const = -0.5 * np.log(2 * np.pi * variances[k])
                    L[:, k] = np.log(weights[k]) + log_norm_const - (x - means[k]) ** 2 / (2 * variances[k])
                m = L.max(axis=1, keepdims=True)
                log_norm = m + np.log(np.exp(L - m).sum(axis=1, keepdims=True))
                return np.exp(L - log_norm), float(np.mean(log_norm))
        """),
        dedent('''\
            def gmm_e_step(x, weights, means, variances):
                """Responsibilities (N, K) and mean log-likelihood per sample of a 1-D Gaussian mixture."""
                precision = 1.0 / np.asarray(variances, dtype=float)
                deviation = np.subtract.outer(np.asarray(x, dtype=float), np.asarray(means, dtype=float))
                # log N(x; m, v) = 0.5 log(precision / 2 pi) - 0.5 precision (x - m)^2
                log_dens = 0.5 * np.log(precision / (2 * np.pi)) - 0.5 * precision * deviation**2
                scores = np.log(np.asarray(weights, dtype=float)) + log_dens
                total = np.logaddexp.reduce(scores, axis=1)
                return np.exp(scores - total[:, None]), float(total.sum() / len(total))
        '''),
        dedent("""\
            def _log_normal_pdf(values, mean, variance):
                return -0.5 * (np.log(2 * np.pi * variance) + (values - mean) ** 2 / variance)


            def gmm_e_step(x, weights, means, variances):
                x = np.asarray(x, dtype=float)
                log_terms = np.column_stack(
                    [np.log(w) + _log_normal_pdf(x, m, v) for w, m, v in zip(weights, means, variances)]
                )
                log_evidence = logsumexp(log_terms, axis=1, keepdims=True)
                responsibilities = np.exp(log_terms - log_evidence)
                return responsibilities, float(np.mean(log_evidence))
        """),
        dedent('''\
            from scipy.special import softmax


            def gmm_e_step(x, weights, means, variances):
                """Responsibilities (N, K) and mean log-likelihood per sample of a 1-D Gaussian mixture."""
                xCol = np.asarray(x, dtype=float)[:, np.newaxis]
                sd = np.sqrt(np.asarray(variances, dtype=float))
                logJoint = np.log(weights) - np.log(sd * np.sqrt(2 * np.pi)) - 0.5 * ((xCol - means) / sd) ** 2
                meanLogLik = logsumexp(logJoint, axis=1).mean()
                return softmax(logJoint, axis=1), float(meanLogLik)
        '''),
    ],
    "gmm_m_step": [
        dedent('''\
            def gmm_m_step(x, resp):
                """New (weights, means, variances) from the data and the responsibilities."""
                x = np.asarray(x, dtype=float)
                resp = np.asarray(resp, dtype=float)
                K = resp.shape[1]
                weights, means, variances = np.zeros(K), np.zeros(K), np.zeros(K)
                for k in range(K):
                    r = resp[:, k]
                    weights[k] = r.mean()
                    means[k] = np.average(x, weights=r)
                    variances[k] = np.average((x - means[k]) ** 2, weights=r)
                return weights, means, variances
        '''),
        dedent("""\
            def gmm_m_step(x, resp):
                x = np.asarray(x, dtype=float)
                Nk = np.einsum("nk->k", resp)
                mu = np.einsum("nk,n->k", resp, x) / Nk
                var = np.einsum("nk,nk->k", resp, (x[:, None] - mu) ** 2) / Nk
                return Nk / len(x), mu, var
        """),
        dedent("""\
            def gmm_m_step(x, resp):
                # moments: variance = E_k[x^2] - (E_k[x])^2 under each component's weights
                x = np.asarray(x, dtype=float)
                resp = np.asarray(resp, dtype=float)
                effective_n = resp.sum(axis=0)
                first = x @ resp / effective_n
                second = (x**2) @ resp / effective_n
                return effective_n / x.shape[0], first, second - first**2
        """),
        dedent('''\
            def gmm_m_step(x, resp):
                """New (weights, means, variances) from the data and the responsibilities."""
                n_points, n_comp = len(x), len(resp[0])
                new_w, new_m, new_v = [], [], []
                for k in range(n_comp):
                    total = sum(resp[i][k] for i in range(n_points))
                    mean_k = sum(resp[i][k] * x[i] for i in range(n_points)) / total
                    var_k = sum(resp[i][k] * (x[i] - mean_k) ** 2 for i in range(n_points)) / total
                    new_w.append(total / n_points)
                    new_m.append(mean_k)
                    new_v.append(var_k)
                return np.array(new_w), np.array(new_m), np.array(new_v)
        '''),
        dedent("""\
            def gmm_m_step(x, resp):
                xs = np.asarray(x, dtype=float).reshape(-1, 1)
                gamma = np.asarray(resp, dtype=float)
                colWeights = gamma / gamma.sum(axis=0, keepdims=True)  # each column sums to one
                newMeans = (colWeights * xs).sum(axis=0)
                newVars = (colWeights * (xs - newMeans) ** 2).sum(axis=0)
                return gamma.mean(axis=0), newMeans, newVars
        """),
    ],
    "fit_gmm_1d": [
        dedent('''\
            def fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000):
                """EM for all parameters of a 1-D Gaussian mixture, from the given start."""
                x = np.asarray(x, dtype=float)
                w, m, v = weights, means, variances
                history = np.full(max_iter + 1, np.nan)  # room for the start and every iteration
                r, history[0] = gmm_e_step(x, w, m, v)
                n_iter = 0
                while n_iter < max_iter:
                    w, m, v = gmm_m_step(x, r)
                    n_iter += 1
                    r, history[n_iter] = gmm_e_step(x, w, m, v)
                    if abs(history[n_iter] - history[n_iter - 1]) < tol:
                        break
                fitted = {"weights": w, "means": m, "variances": v, "n_iter": n_iter}
                fitted["log_likelihoods"] = history[: n_iter + 1].tolist()
                return fitted
        '''),
        dedent("""\
            def fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000):
                x = np.asarray(x, dtype=float)
                params = (np.asarray(weights, dtype=float), np.asarray(means, dtype=float), np.asarray(variances, dtype=float))
                resp, ll = gmm_e_step(x, *params)
                lls = [ll]
                for _ in range(max_iter):
                    params = gmm_m_step(x, resp)
                    resp, ll = gmm_e_step(x, *params)
                    lls.append(ll)
                    if abs(lls[-1] - lls[-2]) < tol:
                        break
                result = dict(zip(["weights", "means", "variances"], params))
                result["log_likelihoods"] = lls
                return result
        """),
        dedent('''\
            def fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000):
                """EM for all parameters of a 1-D Gaussian mixture, from the given start."""
                data = np.asarray(x, dtype=float)
                state = {"weights": weights, "means": means, "variances": variances}
                responsibilities, mean_ll = gmm_e_step(data, state["weights"], state["means"], state["variances"])
                state["log_likelihoods"] = [mean_ll]
                for iteration in range(max_iter):
                    new_w, new_m, new_v = gmm_m_step(data, responsibilities)
                    state.update(weights=new_w, means=new_m, variances=new_v)
                    responsibilities, mean_ll = gmm_e_step(data, new_w, new_m, new_v)
                    previous = state["log_likelihoods"][-1]
                    state["log_likelihoods"].append(mean_ll)
                    if abs(mean_ll - previous) < tol:  # the likelihood has stopped moving
                        return state
                return state
        '''),
        dedent("""\
            def _em_iteration(x, resp):
                w, m, v = gmm_m_step(x, resp)
                new_resp, ll = gmm_e_step(x, w, m, v)
                return (w, m, v), new_resp, ll


            def fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000):
                x = np.asarray(x, dtype=float)
                theta = (weights, means, variances)
                resp, ll = gmm_e_step(x, *theta)
                lls = [ll]
                it = 0
                converged = False
                while not converged and it < max_iter:
                    theta, resp, ll = _em_iteration(x, resp)
                    converged = abs(ll - lls[-1]) < tol
                    lls.append(ll)
                    it += 1
                return {"weights": theta[0], "means": theta[1], "variances": theta[2], "log_likelihoods": lls}
        """),
        dedent("""\
            from scipy import stats


            def fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000):
                # everything in one loop: E step with scipy's normal density, M step by weighted averages
                x = np.asarray(x, dtype=float)
                w = np.array(weights, dtype=float)
                mu = np.array(means, dtype=float)
                var = np.array(variances, dtype=float)
                logLiks = []
                for it in range(max_iter + 1):
                    logJoint = np.log(w) + stats.norm.logpdf(x[:, None], mu, np.sqrt(var))
                    logPx = logsumexp(logJoint, axis=1, keepdims=True)
                    logLiks.append(float(logPx.mean()))
                    if it == max_iter or (it > 0 and abs(logLiks[-1] - logLiks[-2]) < tol):
                        break
                    gamma = np.exp(logJoint - logPx)
                    Nk = gamma.sum(axis=0)
                    w = Nk / x.size
                    mu = gamma.T @ x / Nk
                    var = (gamma * (x[:, None] - mu) ** 2).sum(axis=0) / Nk
                return {"weights": w, "means": mu, "variances": var, "log_likelihoods": logLiks}
        """),
    ],
    "first_decrease": [
        dedent('''\
            def first_decrease(log_likelihoods, atol=1e-9):
                """Index of the first drop larger than atol, or None."""
                for i in range(1, len(log_likelihoods)):
                    if log_likelihoods[i] < log_likelihoods[i - 1] - atol:
                        return i
                return None
        '''),
        dedent("""\
            def first_decrease(log_likelihoods, atol=1e-9):
                steps = np.diff(np.asarray(log_likelihoods, dtype=float))
                dropped = steps < -atol
                if not dropped.any():
                    return None
                return int(np.argmax(dropped)) + 1  # argmax finds the first True
        """),
        dedent("""\
            def first_decrease(log_likelihoods, atol=1e-9):
                pairs = zip(log_likelihoods[:-1], log_likelihoods[1:])
                return next((k + 1 for k, (before, after) in enumerate(pairs) if before - after > atol), None)
        """),
        dedent('''\
            def first_decrease(log_likelihoods, atol=1e-9):
                """Index of the first drop larger than atol, or None."""
                values = list(log_likelihoods)
                i = 1
                while i < len(values):
                    if values[i - 1] - values[i] > atol:
                        break
                    i += 1
                else:
                    return None
                return i
        '''),
        dedent("""\
            def first_decrease(log_likelihoods, atol=1e-9):
                lls = np.asarray(log_likelihoods, dtype=float)
                bad = np.nonzero(lls[1:] + atol < lls[:-1])[0]
                return None if len(bad) == 0 else int(bad[0] + 1)
        """),
    ],
}
