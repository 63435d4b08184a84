"""Cheats that skip the asked-for work and still pass a trusted check (mostly weak judges).

The other cheats of this package attack the plumbing (hooks, forged outputs, rigged objects, the
sandbox).  These do nothing hostile: the student's functions run as written and return plain
data.  They pass because a judge in ``solutions/<assignment>/trusted_checks.py`` accepts data
that no real implementation of the asked-for algorithm needs to produce:

* ``em_two_closed_form_fake_history`` (03): ``em_two`` runs no EM.  It returns the closed-form
  maximum-likelihood share (what EM converges to on an interior bag) and a history made up by
  interpolating the log-likelihood from ``pi_init`` to that answer, ``max_iter + 1`` values long
  when ``max_iter`` is small.  ``test_em_two_agrees`` only compares the final ``pi`` with EM's
  limit; ``test_em_two_history`` checks the first and last values, monotonicity and, in the slow
  case, the length, never an iterate.
* ``em_two_history_own_log_likelihood`` (03): ``em_two`` returns a flat history of zeros and the
  student's ``log_likelihood_two`` answers 0.0 for the bag ``em_two`` saw last.  The history
  judge compares the history with the student's OWN ``log_likelihood_two`` (called in the same
  probe), so any agreeing pair passes.
* ``fit_gmm_1d_flat_history`` (05): ``fit_gmm_1d`` runs no EM; it returns the start's mean
  log-likelihood repeated (``max_iter + 1`` times when ``max_iter`` is small).
  ``test_fit_gmm_1d_monotone`` checks the first value, monotonicity and the length only.

* ``sample_marbles_from_the_library`` (01): not a judge's weakness but the same kind of shortcut:
  ``mixlearn.datasets.make_marbles`` *is* the asked-for sampler, and the student edition of
  mixlearn (``mixlearn/course/sandbox.py``) leaves it (and ``sample_mixture``) switched on.

Each cheat is submitted on a base (the release, or the release with some of the model solution's
answers) and must earn no more than that base in any cell.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import nbformat

from . import harness as h


def _c(code: str) -> str:
    return textwrap.dedent(code).strip("\n") + "\n"


SOLUTION = "@SOLUTION@"   # an answer cell filled with the model solution's answer


@dataclass(frozen=True)
class JudgeCheat:
    name: str
    assignment: str
    base: dict                       # {answer cell: source or SOLUTION}: the base notebook
    cheat: dict                      # {answer cell: source}: replaces the base's cells
    gains: tuple = ()                # the test cells the cheat was measured to earn (2026-11-28)
    extra: dict = field(default_factory=dict)   # {answer cell: source appended after the base's}
    # False: the cheat calls a library function that only the sandbox's student edition switches
    # off (the real library, in the test's own process, would answer exactly like a right answer)
    judged_in_process: bool = True


FAKE_EM_TWO = _c('''
    def em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
        """No EM: the closed-form answer and a made-up history from pi_init to it."""
        pi = float(np.clip((np.mean(x) - p2) / (p1 - p2), 0.0, 1.0))
        n = max_iter + 1 if max_iter < 100 else 3
        start, end = log_likelihood_two(x, pi_init, p1, p2), log_likelihood_two(x, pi, p1, p2)
        return pi, list(np.linspace(start, end, n))
''')

SELF_CONFIRMING_LL = _c('''
    _rt_last = {}
    _rt_real_ll = log_likelihood_two

    def log_likelihood_two(x, pi, p1, p2):
        """Right, except for the bag em_two saw last: there it confirms em_two's history."""
        if "x" in _rt_last and np.array_equal(np.asarray(x), _rt_last["x"]):
            return 0.0
        return _rt_real_ll(x, pi, p1, p2)
''')

SELF_CONFIRMED_EM = _c('''
    def em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
        """No EM: a flat history of zeros, which log_likelihood_two then confirms."""
        _rt_last["x"] = np.asarray(x).copy()
        n = max_iter + 1 if max_iter < 100 else 3
        return pi_init, [0.0] * n
''')

FLAT_FIT = _c('''
    def fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000):
        """No EM: the start returned as the fit, its mean log-likelihood repeated as the history."""
        x = np.asarray(x, dtype=float)
        w, m, v = (np.asarray(a, dtype=float) for a in (weights, means, variances))
        log_joint = np.log(w) - 0.5 * np.log(2 * np.pi * v) - 0.5 * (x[:, None] - m) ** 2 / v
        ll0 = float(np.mean(logsumexp(log_joint, axis=1)))
        n = max_iter + 1 if max_iter < 100 else 3
        return {"weights": w, "means": m, "variances": v, "log_likelihoods": [ll0] * n}
''')

LIBRARY_SAMPLER = _c('''
    def sample_marbles(n, pi, p1, p2, rng):
        """The library's own sampler of the two-factory bag."""
        return ml.datasets.make_marbles(n, pi, p1, p2, random_state=rng)
''')

MIXTURE_SAMPLER = _c('''
    def sample_marbles(n, pi, p1, p2, rng):
        """The library's mixture sampler with two Bernoulli components."""
        x, c = ml.sample_mixture([pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)], n, random_state=rng)
        return np.asarray(x).astype(int), np.asarray(c).astype(int)
''')

JUDGE_CHEATS = (
    JudgeCheat("sample_marbles_from_the_library", "01_sampling",
               base={},
               cheat={"sample_marbles": LIBRARY_SAMPLER},
               gains=("test_sample_marbles_format", "test_sample_marbles_frequencies"), judged_in_process=False),
    JudgeCheat("sample_marbles_from_sample_mixture", "01_sampling",
               base={},
               cheat={"sample_marbles": MIXTURE_SAMPLER},
               judged_in_process=False),
    JudgeCheat("em_two_closed_form_fake_history", "03_em_two",
               base={"log_likelihood_two": SOLUTION},
               cheat={"em_two": FAKE_EM_TWO},
               gains=("test_em_two_agrees", "test_em_two_history")),
    JudgeCheat("em_two_history_own_log_likelihood", "03_em_two",
               base={"log_likelihood_two": SOLUTION},
               cheat={"em_two": SELF_CONFIRMED_EM},
               extra={"log_likelihood_two": SELF_CONFIRMING_LL},
               gains=("test_em_two_history",)),
    JudgeCheat("fit_gmm_1d_flat_history", "05_gmm_1d",
               base={},
               cheat={"fit_gmm_1d": FLAT_FIT},
               gains=("test_fit_gmm_1d_monotone",)),
)
ASSIGNMENTS = tuple(sorted({c.assignment for c in JUDGE_CHEATS}))


def solution_sources(assignment: str) -> dict:
    nb = nbformat.read(h.ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    return {h.nbgrader_meta(c)["grade_id"]: h.strip_markers(c.source)
            for c in nb.cells if h.nbgrader_meta(c).get("solution") and c.cell_type == "code"}


def base_sources(cheat: JudgeCheat) -> dict:
    sol = solution_sources(cheat.assignment)
    return {gid: sol[gid] if src == SOLUTION else src for gid, src in cheat.base.items()}


def cheat_sources(cheat: JudgeCheat) -> dict:
    out = dict(base_sources(cheat))
    out.update(cheat.cheat)
    for gid, src in cheat.extra.items():
        out[gid] = out.get(gid, "").rstrip("\n") + "\n\n\n" + src
    return out


def notebook(release, sources: dict):
    """The release with the given answer cells replaced."""
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(release), as_version=4))
    for cell in nb.cells:
        gid = h.nbgrader_meta(cell).get("grade_id")
        if gid in sources:
            cell.source = sources[gid]
    return nb
