"""Independent correct answers to assignment 04_em_n (EM for the weights of K known components)."""

from textwrap import dedent

ASSIGNMENT = "04_em_n"

VARIANTS: dict[str, list[str]] = {
    "log_likelihood_matrix": [
        dedent('''\
            def log_likelihood_matrix(x, components):
                """(N, K) array of log f_k(x_n)."""
                x = np.asarray(x)
                out = np.empty((x.shape[0], len(components)))
                for k, component in enumerate(components):
                    out[:, k] = component.logpdf(x)
                return out
        '''),
        dedent("""\
            def log_likelihood_matrix(x, components):
                # counts repeat a lot: evaluate every distinct value once, then spread back to the samples
                distinct, where = np.unique(np.asarray(x), return_inverse=True)
                table = np.array([np.broadcast_to(c.logpdf(distinct), distinct.shape) for c in components])
                return table[:, where.ravel()].T
        """),
        dedent("""\
            def log_likelihood_matrix(x, components):
                # one row per component first, then transpose to (N, K)
                rows = [np.asarray(comp.logpdf(np.asarray(x)), dtype=float) * np.ones(len(x)) for comp in components]
                return np.array(rows).T
        """),
        dedent('''\
            def log_likelihood_matrix(x, components):
                """(N, K) array of log f_k(x_n)."""
                points = np.asarray(x)
                columns = []
                for dist in components:
                    column = np.reshape(dist.logpdf(points), (-1, 1))
                    if column.shape[0] == 1:  # a component that answers with one number
                        column = np.repeat(column, points.size, axis=0)
                    columns.append(column)
                return np.hstack(columns)
        '''),
        dedent("""\
            def log_likelihood_matrix(x, components):
                xArr = np.asarray(x)
                logLik = np.zeros((len(xArr), len(components)))
                k = 0
                while k < len(components):
                    logLik[:, k] += components[k].logpdf(xArr)
                    k += 1
                return logLik
        """),
    ],
    "e_step_n": [
        dedent('''\
            def e_step_n(x, weights, components):
                """Responsibilities (N, K) and the mean log-likelihood per sample."""
                with np.errstate(divide="ignore"):
                    a = log_likelihood_matrix(x, components) + np.log(weights)
                # log-sum-exp by hand: pull out the largest term of each row
                top = a.max(axis=1, keepdims=True)
                log_norm = top + np.log(np.exp(a - top).sum(axis=1, keepdims=True))
                resp = np.exp(a - log_norm)
                return resp, float(log_norm.mean())
        '''),
        dedent("""\
            from scipy.special import softmax


            def e_step_n(x, weights, components):
                with np.errstate(divide="ignore"):
                    log_w = np.log(np.asarray(weights, dtype=float))
                scores = log_likelihood_matrix(x, components) + log_w[np.newaxis, :]
                return softmax(scores, axis=1), float(np.mean(logsumexp(scores, axis=1)))
        """),
        dedent('''\
            def e_step_n(x, weights, components):
                """Responsibilities (N, K) and the mean log-likelihood per sample."""
                x = np.asarray(x)
                log_joint = np.zeros((x.size, len(components)))
                for k, (w, comp) in enumerate(zip(weights, components)):
                    log_joint[:, k] = (np.log(w) if w > 0 else -np.inf) + comp.logpdf(x)
                log_evidence = np.logaddexp.reduce(log_joint, axis=1)
                responsibilities = np.exp(log_joint - log_evidence[:, None])
                return responsibilities, log_evidence.sum() / x.size
        '''),
        dedent('''\
            def _normalise_log_rows(log_rows):
                """Rows of exp(log_rows) scaled to sum to one, and the log of what each row summed to."""
                log_totals = logsumexp(log_rows, axis=1)
                return np.exp(log_rows - log_totals.reshape(-1, 1)), log_totals


            def e_step_n(x, weights, components):
                weights = np.asarray(weights, dtype=float)
                with np.errstate(divide="ignore"):
                    log_prior = np.log(weights)
                resp, log_px = _normalise_log_rows(log_likelihood_matrix(x, components) + log_prior)
                return resp, float(np.average(log_px))
        '''),
        dedent("""\
            from scipy.special import log_softmax


            def e_step_n(x, weights, components):
                logF = log_likelihood_matrix(x, components)
                logW = np.array([np.log(w) if w > 0 else -np.inf for w in weights])
                logJoint = logF + logW
                gamma = np.exp(log_softmax(logJoint, axis=1))  # normalised in log space, then back
                logPx = logsumexp(logJoint, axis=1)
                meanLogLik = float(np.sum(logPx) / len(logPx))
                return gamma, meanLogLik
        """),
    ],
    "m_step_n": [
        dedent('''\
            def m_step_n(resp):
                """New weights: the average responsibility of each component."""
                resp = np.asarray(resp, dtype=float)
                return resp.sum(axis=0) / resp.shape[0]
        '''),
        dedent("""\
            def m_step_n(resp):
                resp = np.asarray(resp)
                n_samples, n_components = resp.shape
                new_weights = np.zeros(n_components)
                for k in range(n_components):
                    new_weights[k] = sum(resp[:, k]) / n_samples
                return new_weights
        """),
        dedent("""\
            def m_step_n(resp):
                # pi_k = N_k / N with N_k the effective number of samples of component k
                return np.average(np.asarray(resp, dtype=float), axis=0)
        """),
        dedent('''\
            def m_step_n(resp):
                """New weights: the average responsibility of each component."""
                R = np.asarray(resp, dtype=float)
                ones = np.ones(R.shape[0])
                return ones @ R / len(ones)
        '''),
        dedent("""\
            def m_step_n(resp):
                effectiveCounts = np.einsum("nk->k", np.asarray(resp, dtype=float))
                return effectiveCounts / effectiveCounts.sum()
        """),
    ],
    "em_n": [
        dedent('''\
            def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
                """EM for the weights of known components. Returns (weights, mean log-likelihoods from the start)."""
                K = len(components)
                if weights_init is None:
                    w = np.ones(K) / K
                else:
                    w = np.array(weights_init, dtype=float)
                r, ll = e_step_n(x, w, components)
                history = [ll]
                it = 0
                while it < max_iter:
                    w = m_step_n(r)
                    r, ll = e_step_n(x, w, components)
                    history.append(ll)
                    it += 1
                    if abs(history[-1] - history[-2]) < tol:
                        break
                return w, history
        '''),
        dedent("""\
            def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
                # the component densities never change, so compute them once and iterate on weights only
                log_f = log_likelihood_matrix(x, components)
                n_comp = log_f.shape[1]
                weights = np.full(n_comp, 1 / n_comp) if weights_init is None else np.asarray(weights_init, float)

                def e_step(current):
                    with np.errstate(divide="ignore"):
                        joint = log_f + np.log(current)
                    norm = logsumexp(joint, axis=1, keepdims=True)
                    return np.exp(joint - norm), float(norm.mean())

                resp, mean_ll = e_step(weights)
                trace = [mean_ll]
                for _ in range(max_iter):
                    weights = resp.mean(axis=0)
                    resp, mean_ll = e_step(weights)
                    trace.append(mean_ll)
                    if abs(trace[-1] - trace[-2]) < tol:
                        break
                return weights, trace
        """),
        dedent('''\
            def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
                """EM for the weights of known components. Returns (weights, mean log-likelihoods from the start)."""
                if weights_init is not None:
                    current_weights = np.asarray(weights_init, dtype=float)
                else:
                    current_weights = np.repeat(1.0 / len(components), len(components))
                responsibilities, mean_loglik = e_step_n(x, current_weights, components)
                mean_logliks = [mean_loglik]
                for iteration in range(max_iter):
                    current_weights = m_step_n(responsibilities)
                    responsibilities, mean_loglik = e_step_n(x, current_weights, components)
                    improvement = mean_loglik - mean_logliks[-1]
                    mean_logliks.append(mean_loglik)
                    if abs(improvement) < tol:
                        return current_weights, mean_logliks
                return current_weights, mean_logliks
        '''),
        dedent('''\
            def _em_update(x, weights, components):
                """One EM iteration: new weights and the mean log-likelihood at them."""
                resp, _ = e_step_n(x, weights, components)
                new_weights = m_step_n(resp)
                return new_weights, e_step_n(x, new_weights, components)[1]


            def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
                k = len(components)
                w = np.asarray(weights_init, dtype=float) if weights_init is not None else np.full(k, 1.0 / k)
                lls = [e_step_n(x, w, components)[1]]
                for _ in range(max_iter):
                    w, ll = _em_update(x, w, components)
                    lls.append(ll)
                    if abs(lls[-1] - lls[-2]) < tol:
                        break
                return w, lls
        '''),
        dedent("""\
            def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
                nComp = len(components)
                pis = np.full(nComp, 1.0 / nComp) if weights_init is None else np.array(weights_init, dtype=float)
                gamma, llOld = e_step_n(x, pis, components)
                lls = [llOld]
                done = max_iter == 0
                while not done:
                    pis = np.mean(gamma, axis=0)
                    gamma, llNew = e_step_n(x, pis, components)
                    lls.append(llNew)
                    done = abs(llNew - llOld) < tol or len(lls) > max_iter
                    llOld = llNew
                return pis, lls
        """),
    ],
}
