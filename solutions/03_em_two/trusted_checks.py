"""Trusted checks of assignment 3 (EM for the two-factory problem).

One check per autograder test cell of ``03_em_two.ipynb``. Visible cases repeat the notebook's
visible tests; hidden cases draw their inputs from ``t.rng`` (the grader's seed). Labels of hidden
cases are fixed text: they reach the student's feedback.

The student's functions run in the sandboxed kernel, where mixlearn's EM (``em_two_components``,
``e_step``, ``m_step``, ``posterior``, ...) is switched off; the expected values are computed
here with the real mixlearn.
"""

import numpy as np

import mixlearn as ml
from mixlearn.course.checks import as_array, as_tuple, check, expect, expect_close, tol_between


def _marble_oracle(x, pi, p1, p2):
    return ml.posterior(x, [pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)])[:, 0]


def _loglik_oracle(x, pi, p1, p2):
    return float(ml.mixture_logpdf(x, [pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)]).sum())


def _close_case(t, what, expected, call, hidden=False, **tolerance):
    t.case(what, lambda got: expect_close(got, expected, what, **tolerance), call, hidden=hidden)


def _interior_bag(r, n, pi, p1, p2):
    """Marbles whose maximum-likelihood pi lies well inside (0, 1), so EM converges fast to it."""
    while True:
        x, _ = ml.datasets.make_marbles(n, pi, p1, p2, random_state=r)
        if 0.1 < (x.mean() - p2) / (p1 - p2) < 0.9:
            return x


def _factories(r, gap):
    """Two red probabilities at least *gap* apart, in either order."""
    while True:
        p1, p2 = (float(v) for v in r.uniform(0.05, 0.95, 2))
        if abs(p1 - p2) >= gap:
            return p1, p2


def _never_decreases(lls, atol):
    """No step down by more than atol (a step from or to -inf or nan counts as a decrease)."""
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.diff(lls) >= -atol))


# ---------------------------------------------------------------------------------- e_step_two
@check("test_e_step_two")
def _(t):
    x = np.array([1, 0, 0, 1, 1])
    for pi in (0.5, 0.25):
        _close_case(t, f"e_step_two(x, pi={pi}, p1=0.8, p2=0.3)", _marble_oracle(x, pi, 0.8, 0.3),
                    t.call("e_step_two", x, pi, 0.8, 0.3))
    r = t.rng
    for pi_range, p_range in [((0.6, 0.95), (0.1, 0.9)), ((0.3, 0.7), (0.001, 0.01)), ((0.2, 0.5), (0.4, 0.8))]:
        pi = float(r.uniform(*pi_range))
        if p_range[1] < 0.1:  # nearly certain factories
            p1, p2 = 1 - float(r.uniform(*p_range)), float(r.uniform(*p_range))
        else:
            p1, p2 = (float(v) for v in r.uniform(*p_range, 2))
        x = r.integers(0, 2, int(r.integers(20, 50)))
        x[:2] = [0, 1]
        _close_case(t, "e_step_two for other priors and factories", _marble_oracle(x, pi, p1, p2),
                    t.call("e_step_two", x, pi, p1, p2), hidden=True)


# ---------------------------------------------------------------------------------- m_step_two
@check("test_m_step_two")
def _(t):
    _close_case(t, "m_step_two([0.2, 0.4, 0.9])", 0.5, t.call("m_step_two", np.array([0.2, 0.4, 0.9])))
    _close_case(t, "m_step_two([0.3, 0.3])", 0.3, t.call("m_step_two", np.array([0.3, 0.3])))
    r = t.rng
    for n_range, low, high in [((500, 1500), 0.05, 0.45), ((4, 12), 0.5, 0.99)]:
        resp = r.uniform(low, high, int(r.integers(*n_range)))
        _close_case(t, "m_step_two on random responsibilities", float(resp.sum() / resp.size),
                    t.call("m_step_two", resp), hidden=True)


# -------------------------------------------------------------------------- log_likelihood_two
@check("test_log_likelihood_two")
def _(t):
    _close_case(t, "log_likelihood_two([red, red, blue], 0.6, 0.8, 0.3)", 2 * np.log(0.6) + np.log(0.4),
                t.call("log_likelihood_two", np.array([1, 1, 0]), 0.6, 0.8, 0.3))
    x, _ = ml.datasets.make_marbles(100_000, 0.6, 0.8, 0.3, random_state=0)
    _close_case(t, "log_likelihood_two for 100,000 marbles (a finite negative number)", _loglik_oracle(x, 0.5, 0.8, 0.3),
                t.call("log_likelihood_two", x, 0.5, 0.8, 0.3))
    r = t.rng
    for n_range in [(40_000, 80_000), (5, 30)]:
        pi_true, pi = (float(v) for v in r.uniform(0.05, 0.95, 2))
        p1, p2 = (float(v) for v in r.uniform(0.01, 0.99, 2))
        x, _ = ml.datasets.make_marbles(int(r.integers(*n_range)), pi_true, p1, p2, random_state=r)
        _close_case(t, "log_likelihood_two for a random bag", _loglik_oracle(x, pi, p1, p2),
                    t.call("log_likelihood_two", x, pi, p1, p2), hidden=True)


# -------------------------------------------------------------------------------------- em_two
def _em_case(t, x, p1, p2, pi_init, what, hidden=False):
    expected = ml.em_two_components(x, p1, p2, pi_init=pi_init, tol=1e-13, max_iter=100_000).weights[0]

    def judge(got):
        pi, _ = as_tuple(got, 2, "em_two should return a pair (pi, log_likelihoods).")
        expect_close(pi, expected, what, rtol=1e-5)

    t.case(what, judge, t.call("em_two", x, p1, p2, pi_init=pi_init, tol=1e-13), hidden=hidden)


@check("test_em_two_agrees")
def _(t):
    x, _ = ml.datasets.make_marbles(1000, 0.6, 0.8, 0.3, random_state=1)
    _em_case(t, x, 0.8, 0.3, 0.5, "em_two's estimate of pi for 1000 marbles (pi = 0.6, p1 = 0.8, p2 = 0.3)")
    r = t.rng
    for _ in range(3):
        p1, p2 = _factories(r, 0.3)
        x = _interior_bag(r, int(r.integers(500, 900)), float(r.uniform(0.2, 0.8)), p1, p2)
        _em_case(t, x, p1, p2, float(r.uniform(0.05, 0.95)), "em_two's estimate for other factories and starts",
                 hidden=True)
    # stopped by max_iter before converging: pi is EM's iterate, not the maximum-likelihood answer
    x, p1, p2, max_iter, pis, _ = _slow_start(r)

    def unfinished(got):
        pi, _ = as_tuple(got, 2, "em_two should return a pair (pi, log_likelihoods).")
        expect_close(pi, pis[-1], "em_two's pi after max_iter iterations of a slow run (EM has not converged yet)",
                     rtol=1e-7)

    t.case("em_two's estimate when max_iter stops it early", unfinished,
           t.call("em_two", x, p1, p2, pi_init=0.05, max_iter=max_iter), hidden=True)


def _em_path(x, p1, p2, pi_init, n_iter):
    """pi and the total log-likelihood after 0, 1, ..., n_iter EM iterations from pi_init (oracle)."""
    pis, lls = [float(pi_init)], [_loglik_oracle(x, pi_init, p1, p2)]
    for _ in range(n_iter):
        pis.append(float(_marble_oracle(x, pis[-1], p1, p2).mean()))
        lls.append(_loglik_oracle(x, pis[-1], p1, p2))
    return np.array(pis), np.array(lls)


def _history_case(t, x, p1, p2, pi_init, label, where, hidden=False):
    """em_two's history: it starts at the log-likelihood of pi_init, its second value is that of
    one EM iteration from there, it never decreases, and it ends at the log-likelihood of EM's
    answer.  All expected values are computed here (an em_two whose history only agrees with the
    student's own log_likelihood_two, or that draws a line from start to end, does not pass)."""
    pi_hat = float(ml.em_two_components(x, p1, p2, pi_init=pi_init, tol=1e-14, max_iter=100_000).weights[0])
    _, path = _em_path(x, p1, p2, pi_init, 1)
    ll_end = _loglik_oracle(x, pi_hat, p1, p2)

    def judge(got):
        pi, lls = as_tuple(got, 2, "em_two should return a pair (pi, log_likelihoods).")
        lls = as_array(lls, "em_two's list of log-likelihoods")
        expect(lls.ndim == 1 and lls.size >= 3, "em_two should return the log-likelihood at pi_init and after every "
                                                f"iteration (several values), got {lls.size}.")
        expect_close(lls[0], path[0], f"The first log-likelihood ({where})")
        expect_close(lls[1], path[1], "The second log-likelihood (after one EM iteration from pi_init)")
        expect(_never_decreases(lls, 1e-9), "The log-likelihood should never decrease from one EM iteration to the next.")
        expect_close(lls[-1], ll_end, "The last log-likelihood (at the returned pi)")

    t.case(label, judge, t.call("em_two", x, p1, p2, pi_init=pi_init), hidden=hidden)


def _slow_start(r):
    """Nearly equal factories and a start far from the answer: EM is still moving after max_iter steps."""
    while True:
        p2 = float(r.uniform(0.3, 0.6))
        p1 = p2 + float(r.uniform(0.08, 0.12))
        pi_true = float(r.uniform(0.6, 0.8))
        x, _ = ml.datasets.make_marbles(int(r.integers(1500, 2500)), pi_true, p1, p2, random_state=r)
        max_iter = int(r.integers(12, 25))
        # the solution's stopping rule must not fire before max_iter
        pis, lls = _em_path(x, p1, p2, 0.05, max_iter)
        if np.min(np.abs(np.diff(lls))) / x.size > 1e-8:
            return x, p1, p2, max_iter, pis, lls


def _unfinished_judge(max_iter, pis, lls):
    """After max_iter iterations of a slow run: exactly max_iter + 1 values, the EM path itself."""
    def judge(got):
        pi, history = as_tuple(got, 2, "em_two should return a pair (pi, log_likelihoods).")
        history = as_array(history, "em_two's list of log-likelihoods")
        expect(history.ndim == 1 and history.size == max_iter + 1, "With a small max_iter and slow convergence em_two "
                                                                   "should stop after max_iter iterations (max_iter + 1 values).")
        expect(_never_decreases(history, 1e-9), "The log-likelihood should never decrease from one EM iteration to the next.")
        expect_close(history, lls, "The log-likelihoods of an EM run stopped by max_iter (each one EM iteration after the last)",
                     rtol=1e-7)
        expect_close(pi, pis[-1], "pi after max_iter EM iterations of a slow run (EM has not converged yet)", rtol=1e-7)

    return judge


def _stopping_case(t, r):
    """The stopping rule: with a tol that falls between two successive changes of the
    log-likelihood per marble (well apart, so rounding cannot decide), em_two stops right after
    the first iteration whose change is below tol, with that iteration's pi.  A loop that never
    stops early, or compares the total instead of the per-marble log-likelihood, runs on."""
    while True:
        p1, p2 = _factories(r, 0.3)
        x = _interior_bag(r, int(r.integers(300, 800)), float(r.uniform(0.2, 0.8)), p1, p2)
        pis, lls = _em_path(x, p1, p2, float(r.choice([r.uniform(0.02, 0.1), r.uniform(0.9, 0.98)])), 40)
        found = tol_between(np.abs(np.diff(lls)) / x.size, r)   # em_two should stop after iteration `stop`
        if found:
            break
    stop, tol = found

    def judge(got):
        pi, history = as_tuple(got, 2, "em_two should return a pair (pi, log_likelihoods).")
        history = as_array(history, "em_two's list of log-likelihoods")
        expect(history.ndim == 1 and history.size == stop + 1,
               f"With tol={tol:.3g} em_two should stop after iteration {stop}, the first whose log-likelihood per marble "
               f"changes by less than tol ({stop + 1} values), got {history.size}.")
        expect_close(pi, pis[stop], f"pi after the {stop} iterations that tol={tol:.3g} allows", rtol=1e-7)

    t.case("em_two's stopping rule (a change of the log-likelihood per marble below tol)", judge,
           t.call("em_two", x, p1, p2, pi_init=float(pis[0]), tol=tol), hidden=True)


@check("test_em_two_history")
def _(t):
    x, _ = ml.datasets.make_marbles(500, 0.3, 0.8, 0.3, random_state=2)
    _history_case(t, x, 0.8, 0.3, 0.9, "em_two's history from pi_init = 0.9", "at pi_init = 0.9")
    r = t.rng
    p1, p2 = _factories(r, 0.3)
    x = _interior_bag(r, int(r.integers(300, 800)), float(r.uniform(0.2, 0.8)), p1, p2)
    pi_init = float(r.choice([r.uniform(0.02, 0.1), r.uniform(0.9, 0.98)]))
    _history_case(t, x, p1, p2, pi_init, "em_two's history from another start", "at pi_init", hidden=True)
    x, p1, p2, max_iter, pis, lls = _slow_start(r)
    t.case("em_two with a small max_iter and slow convergence", _unfinished_judge(max_iter, pis, lls),
           t.call("em_two", x, p1, p2, pi_init=0.05, max_iter=max_iter), hidden=True)
    _stopping_case(t, r)


# ------------------------------------------------------------------------------ closed_form_pi
@check("test_closed_form_pi")
def _(t):
    _close_case(t, "closed_form_pi for 6 red out of 10 (p1 = 0.8, p2 = 0.3)", 0.6,
                t.call("closed_form_pi", np.array([1] * 6 + [0] * 4), 0.8, 0.3))
    _close_case(t, "closed_form_pi when every marble is red (more red than factory 1 makes: clip to 1)", 1.0,
                t.call("closed_form_pi", np.ones(10), 0.8, 0.3))
    _close_case(t, "closed_form_pi for 1 red out of 4 (fewer red than factory 2 makes: clip to 0)", 0.0,
                t.call("closed_form_pi", np.array([0, 0, 0, 1]), 0.8, 0.3))
    r = t.rng
    for _ in range(2):
        p1, p2 = _factories(r, 0.3)
        x = _interior_bag(r, int(r.integers(2000, 4000)), float(r.uniform(0.2, 0.8)), p1, p2)
        expected = ml.em_two_components(x, p1, p2, tol=1e-14, max_iter=100_000).weights[0]
        _close_case(t, "closed_form_pi agrees with EM's answer", expected, t.call("closed_form_pi", x, p1, p2),
                    hidden=True, rtol=1e-4)
    # a bag outside the range the factories can explain: the estimate is clipped
    p1, p2 = float(r.uniform(0.5, 0.7)), float(r.uniform(0.2, 0.4))
    n = int(r.integers(20, 60))
    red = int(np.ceil(n * (p1 + 0.1)))
    x = r.permutation(np.r_[np.ones(min(red, n)), np.zeros(n - min(red, n))])
    _close_case(t, "closed_form_pi for more red marbles than either factory makes", 1.0,
                t.call("closed_form_pi", x, p1, p2), hidden=True)
