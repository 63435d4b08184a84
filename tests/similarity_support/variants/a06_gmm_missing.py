"""Independent correct answers to assignment 06_gmm_missing (Gaussians with missing coordinates)."""

from textwrap import dedent

ASSIGNMENT = "06_gmm_missing"

VARIANTS: dict[str, list[str]] = {
    "split_observed": [
        dedent('''\
            def split_observed(x_row):
                """Indices of the observed and of the missing (NaN) coordinates of one sample."""
                nan_mask = np.isnan(x_row)
                return np.where(~nan_mask)[0], np.where(nan_mask)[0]
        '''),
        dedent("""\
            def split_observed(x_row):
                observed = [i for i, value in enumerate(x_row) if not np.isnan(value)]
                missing = [i for i, value in enumerate(x_row) if np.isnan(value)]
                return np.array(observed, dtype=int), np.array(missing, dtype=int)
        """),
        dedent("""\
            def split_observed(x_row):
                # NaN is the only value that is not equal to itself
                row = np.asarray(x_row, dtype=float)
                positions = np.arange(row.size)
                is_there = row == row
                return positions[is_there], positions[~is_there]
        """),
        dedent('''\
            def split_observed(x_row):
                """Indices of the observed and of the missing (NaN) coordinates of one sample."""
                obs_idx, mis_idx = [], []
                for j in range(len(x_row)):
                    if np.isnan(x_row[j]):
                        mis_idx.append(j)
                    else:
                        obs_idx.append(j)
                return np.asarray(obs_idx, dtype=np.intp), np.asarray(mis_idx, dtype=np.intp)
        '''),
        dedent("""\
            def split_observed(x_row):
                missingIdx = np.nonzero(np.isnan(np.asarray(x_row, dtype=float)))[0]
                observedIdx = np.setdiff1d(np.arange(len(x_row)), missingIdx)
                return observedIdx, missingIdx
        """),
        dedent("""\
            def split_observed(x_row):
                import math

                flags = [math.isnan(v) for v in np.asarray(x_row, dtype=float).tolist()]
                order = np.argsort(flags, kind="stable")  # observed (False) first, both in index order
                n_observed = flags.count(False)
                return order[:n_observed], order[n_observed:]
        """),
    ],
    "conditional_gaussian": [
        dedent('''\
            def conditional_gaussian(mean, cov, x_row):
                """Mean and covariance of the missing coordinates of x_row given its observed ones."""
                o, m = split_observed(x_row)
                S_oo_inv = np.linalg.inv(cov[np.ix_(o, o)]) if o.size else np.zeros((0, 0))
                S_mo = cov[np.ix_(m, o)]
                gain = S_mo @ S_oo_inv
                return mean[m] + gain @ (x_row[o] - mean[o]), cov[np.ix_(m, m)] - gain @ S_mo.T
        '''),
        dedent("""\
            def conditional_gaussian(mean, cov, x_row):
                # through the precision matrix: x_m | x_o ~ N(mu_m - P_mm^-1 P_mo (x_o - mu_o), P_mm^-1)
                mean = np.asarray(mean, dtype=float)
                x_row = np.asarray(x_row, dtype=float)
                observed, missing = split_observed(x_row)
                if missing.size == 0:
                    return np.zeros(0), np.zeros((0, 0))
                precision = np.linalg.inv(cov)
                cond_cov = np.linalg.inv(precision[np.ix_(missing, missing)])
                shift = cond_cov @ precision[np.ix_(missing, observed)] @ (x_row[observed] - mean[observed])
                return mean[missing] - shift, cond_cov
        """),
        dedent('''\
            from scipy.linalg import cho_factor, cho_solve


            def conditional_gaussian(mean, cov, x_row):
                """Mean and covariance of the missing coordinates of x_row given its observed ones."""
                mean, cov, x_row = (np.asarray(a, dtype=float) for a in (mean, cov, x_row))
                gone = np.isnan(x_row)
                seen = ~gone
                cross = cov[gone][:, seen]
                if not seen.any():
                    return mean[gone], cov[gone][:, gone]
                factor = cho_factor(cov[seen][:, seen])
                cond_mean = mean[gone] + cross @ cho_solve(factor, x_row[seen] - mean[seen])
                cond_cov = cov[gone][:, gone] - cross @ cho_solve(factor, cross.T)
                return cond_mean, cond_cov
        '''),
        dedent("""\
            def conditional_gaussian(mean, cov, x_row):
                # reorder so that the missing coordinates come first, then read off the blocks
                x_row = np.asarray(x_row, dtype=float)
                obs, mis = split_observed(x_row)
                order = np.concatenate([mis, obs])
                S = np.asarray(cov, dtype=float)[np.ix_(order, order)]
                mu = np.asarray(mean, dtype=float)[order]
                q = mis.size
                S11, S12, S22 = S[:q, :q], S[:q, q:], S[q:, q:]
                weights_matrix = np.linalg.solve(S22, S12.T).T
                mu_cond = mu[:q] + weights_matrix @ (x_row[obs] - mu[q:])
                S_cond = S11 - weights_matrix @ S12.T
                return mu_cond, S_cond
        """),
        dedent('''\
            import scipy.linalg


            def conditional_gaussian(mean, cov, x_row):
                """Mean and covariance of the missing coordinates of x_row given its observed ones."""
                observedIdx, missingIdx = split_observed(x_row)
                covObs = cov[np.ix_(observedIdx, observedIdx)]
                covMisObs = cov[np.ix_(missingIdx, observedIdx)]
                # solve S_oo A = [x_o - mu_o, S_om] for both right-hand sides at once
                rhs = np.column_stack([x_row[observedIdx] - mean[observedIdx], covMisObs.T])
                solved = scipy.linalg.solve(covObs, rhs, assume_a="pos") if observedIdx.size else rhs
                condMean = mean[missingIdx] + covMisObs @ solved[:, 0]
                condCov = cov[np.ix_(missingIdx, missingIdx)] - covMisObs @ solved[:, 1:]
                return condMean, condCov
        '''),
        dedent("""\
            def conditional_gaussian(mean, cov, x_row):
                mean = np.asarray(mean, dtype=float)
                cov = np.asarray(cov, dtype=float)
                x_row = np.asarray(x_row, dtype=float)
                o, m = split_observed(x_row)
                # whiten the observed block with its Cholesky factor L (S_oo = L L^T)
                L = np.linalg.cholesky(cov[np.ix_(o, o)])
                A = np.linalg.solve(L, cov[np.ix_(o, m)])  # L^-1 S_om
                z = np.linalg.solve(L, x_row[o] - mean[o])  # L^-1 (x_o - mu_o)
                return mean[m] + A.T @ z, cov[np.ix_(m, m)] - A.T @ A
        """),
    ],
    "observed_log_density": [
        dedent('''\
            from scipy import stats


            def observed_log_density(mean, cov, x_row):
                """log N(x_o; mean_o, cov_oo) for the observed coordinates o of x_row."""
                o, _ = split_observed(x_row)
                return float(stats.multivariate_normal(mean[o], cov[np.ix_(o, o)]).logpdf(x_row[o]))
        '''),
        dedent("""\
            def observed_log_density(mean, cov, x_row):
                keep = ~np.isnan(x_row)
                diff = x_row[keep] - mean[keep]
                S = cov[np.ix_(keep, keep)]
                sign, logdet = np.linalg.slogdet(S)
                quad = diff @ np.linalg.solve(S, diff)
                return -0.5 * (quad + logdet + diff.size * np.log(2 * np.pi))
        """),
        dedent("""\
            from scipy.linalg import cho_factor, cho_solve


            def observed_log_density(mean, cov, x_row):
                mean, cov, x_row = np.asarray(mean, float), np.asarray(cov, float), np.asarray(x_row, float)
                obs, _ = split_observed(x_row)
                c, lower = cho_factor(cov[np.ix_(obs, obs)], lower=True)
                r = x_row[obs] - mean[obs]
                mahalanobis = r @ cho_solve((c, lower), r)
                log_det = 2 * np.log(np.diag(c)).sum()
                return float(-0.5 * mahalanobis - 0.5 * log_det - 0.5 * len(obs) * np.log(2 * np.pi))
        """),
        dedent('''\
            def observed_log_density(mean, cov, x_row):
                """log N(x_o; mean_o, cov_oo) for the observed coordinates o of x_row."""
                # eigen-decomposition of the observed block: log det = sum log eigenvalues
                observed, _missing = split_observed(x_row)
                eigenvalues, eigenvectors = np.linalg.eigh(cov[np.ix_(observed, observed)])
                projected = eigenvectors.T @ (x_row[observed] - mean[observed])
                log_density = -0.5 * np.sum(projected**2 / eigenvalues + np.log(2 * np.pi * eigenvalues))
                return float(log_density)
        '''),
        dedent("""\
            import math


            def observed_log_density(mean, cov, x_row):
                d_obs = [i for i in range(len(x_row)) if not math.isnan(x_row[i])]
                mu_o = np.array([mean[i] for i in d_obs])
                sigma_oo = np.array([[cov[i][j] for j in d_obs] for i in d_obs])
                dev = np.array([x_row[i] for i in d_obs]) - mu_o
                precision = np.linalg.inv(sigma_oo)
                log_det = math.log(np.linalg.det(sigma_oo))
                return -0.5 * (dev @ precision @ dev) - 0.5 * log_det - 0.5 * len(d_obs) * math.log(2 * math.pi)
        """),
        dedent("""\
            from scipy.linalg import solve_triangular


            def observed_log_density(mean, cov, x_row):
                xRow = np.asarray(x_row, dtype=float)
                seen, _ = split_observed(xRow)
                chol = np.linalg.cholesky(np.asarray(cov, dtype=float)[seen][:, seen])
                white = solve_triangular(chol, xRow[seen] - np.asarray(mean, dtype=float)[seen], lower=True)
                halfLogDet = np.log(chol.diagonal()).sum()
                return -0.5 * white.dot(white) - halfLogDet - 0.5 * seen.size * np.log(2 * np.pi)
        """),
    ],
}
