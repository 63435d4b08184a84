"""Cheats that work the same on every assignment, aimed at assignments 01, 02, 03, 05 and 06.

``tests/redteam/cheats.py`` attacks assignment 04 in depth (hostile processes, leaks, knowing the
tests, ...).  The mechanisms of most cheats do not depend on the assignment: an IPython hook, a
forged output, a redefined helper or a rigged return value fools a notebook's own test cells
whatever they test.  This module re-aims those at the other assignments, plus:

* rigged return values for every function the assignment asks for (each answer cell defines one
  function named like its ``grade_id``);
* running the answers of ``solutions/<assignment>/<assignment>.ipynb`` found on disk;
* delegation to the library where the assignment has a library counterpart (02: ``posterior``;
  03: ``em_two_components``, ``posterior``, ``m_step``; 06: the missing-value kernels), through a
  saved copy of the function's code (which the notebook's own ``own_work_only`` guard cannot
  switch off) and, failing that, its source read from disk.  (``mixture_logpdf`` and the
  distributions stay usable on purpose: assignment 03's log-likelihood may be written with them.)

A cheat's base is the untouched release (every answer a ``raise NotImplementedError()``, no
automatic point), or, for cheats that only change how answers are judged, the "wrong" base (the
model solution with every answer skewed: the functions run, the numbers are wrong).  A cheat must
earn no more than its base, cell by cell.  The test grades the same submissions with stock
nbgrader (no sandbox, no trusted checks) as a control: there the cheats marked ``fools_stock``
earn more than their base, which shows they are real cheats.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

from redteam.cheats import FIND_COURSE, SANDBOX_GUARD, by_name, frame_oracle
from redteam.harness import ROOT
from redteam.harness import A as IN_DEPTH

# every assignment of solutions/ but the one tests/redteam/cheats.py attacks in depth (04)
ASSIGNMENTS = tuple(sorted(p.name for p in (ROOT / "solutions").iterdir()
                           if (p / f"{p.name}.ipynb").is_file() and p.name != IN_DEPTH))

# Cheats of assignment 04 whose code names nothing of assignment 04 (or only in a harmless
# comparison): appended as they are to the first answer cell.
FROM_04 = ("hook_blank_later_cells", "hook_probe_to_pass", "hook_error_handlers", "hook_run_cell_patched",
           "hook_display_publisher_rewrites_errors", "output_fake_results_and_verdicts",
           "output_forged_probe_stolen_nonce", "output_extra_result_sets", "redefine_test_helpers",
           "redefine_builtins", "redefine_probe_plumbing")
# ...and the two that submit an extra file next to the notebook
FILES_FROM_04 = ("shadow_numpy", "shadow_ipykernel_launcher")


def _c(code: str) -> str:
    return textwrap.dedent(code).strip("\n") + "\n"


@dataclass(frozen=True)
class GenericCheat:
    name: str
    first: str = ""                             # appended to the first answer cell
    each: str = ""                              # appended to every answer cell ({fn}: its function)
    files: dict = field(default_factory=dict)   # extra files next to the notebook
    fools_stock: bool = False                   # earns points under stock nbgrader (the control)
    base: str = "release"                       # "release" or "wrong" (see WRONG_FIRST)


# The "wrong" base: the model solution with every function's answer skewed (floats times 1.1
# plus 0.1), so every function runs and returns something of the right shape, and the tests that
# compare numbers fail.  A cheat that only redefines how answers are compared shows on this base.
WRONG_FIRST = _c('''
    def _rt_skew(v):
        if isinstance(v, dict):
            return {k: _rt_skew(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(_rt_skew(x) for x in v)
        if isinstance(v, float) or isinstance(v, np.ndarray) and v.dtype.kind == "f":
            return v * 1.1 + 0.1
        return v
''')
WRONG_EACH = _c('''
    _rt_right_{fn} = {fn}

    def {fn}(*args, **kwargs):
        return _rt_skew(_rt_right_{fn}(*args, **kwargs))
''')

RIG_FRAME_INSPECTOR = frame_oracle(("expected", "want", "oracle", "exp", "expected_resp", "expected_ll", "truth")) + _c('''

    def _rt_rig(name):
        return lambda *args, **kwargs: _Oracle()
''')

RIG_EQ_ALWAYS_TRUE = _c('''
    class _RtYes(list):
        def __eq__(self, other):
            return True
        __ne__ = lambda self, other: False
        __lt__ = __le__ = __gt__ = __ge__ = lambda self, other: True
        def __float__(self):
            return 0.5

    def _rt_rig(name):
        return lambda *args, **kwargs: _RtYes([_RtYes(), _RtYes()])
''')

RIG_FLOAT_AND_ARRAY = _c('''
    class _RtAnyFloat(float):
        def __eq__(self, other):
            return True
        def __sub__(self, other):
            return _RtAnyFloat(0.0)
        __rsub__ = __sub__
        def __abs__(self):
            return _RtAnyFloat(0.0)

    class _RtAnyArray(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            return np.zeros(1)
        def __array_function__(self, func, types, args, kwargs):
            return True

    def _rt_rig(name):
        def rigged(*args, **kwargs):
            if name in ("p_red", "log_likelihood_two", "m_step_two", "closed_form_pi", "even_odds_prior",
                        "z_score", "observed_log_density", "first_decrease"):
                return _RtAnyFloat(0.5)
            return np.full(3, 0.5).view(_RtAnyArray)
        return rigged
''')

RUN_THE_SOLUTIONS = SANDBOX_GUARD + FIND_COURSE + _c('''
    def _rt_adopt():
        # find solutions/@A@/@A@.ipynb anywhere and run its answers
        for _p in _rt_find("solutions/@A@/@A@.ipynb") + _rt_find("*/solutions/@A@/@A@.ipynb"):
            try:
                for _code in _rt_solution_code(_p):
                    exec(_code, globals())
                print("using the solution found at", _p)
                return
            except Exception as _exc:
                print("could not use", _p, _exc)
''')

# A saved copy of a library function's code (made before any test cell runs, so the notebook's own
# guard, which swaps the code of the original, does not reach it), or its source read from disk.
LIBRARY_COPY = _c('''
    import importlib as _rt_importlib, os as _rt_os, sys as _rt_sys, types as _rt_types

    def _rt_lib(module, name):
        mod = _rt_importlib.import_module("mixlearn." + module)
        f = getattr(mod, name)
        copy = _rt_types.FunctionType(f.__code__, f.__globals__, name, f.__defaults__, f.__closure__)
        copy.__kwdefaults__ = f.__kwdefaults__
        def call(*args, **kwargs):
            try:
                return copy(*args, **kwargs)
            except Exception as first:
                src = _rt_source(module, name)
                if src is None:
                    raise first
                ns = {"__name__": "mixlearn." + module, "__package__": "mixlearn"}
                exec(compile(src, module + ".py", "exec"), ns)
                return ns[name](*args, **kwargs)
        return call

    def _rt_source(module, name):
        places = [_rt_os.path.join(_rt_os.path.dirname(_rt_importlib.import_module("mixlearn").__file__), module + ".py")]
        places += [_rt_os.path.join(p or ".", "mixlearn", module + ".py") for p in _rt_sys.path]
        for top in ("/work", "/root", "/home", "/tmp", "/opt", "/usr/local/lib"):
            for base, dirs, files in _rt_os.walk(top):
                if base.count("/") > 7:
                    dirs[:] = []
                if module + ".py" in files and _rt_os.path.basename(base) == "mixlearn":
                    places.append(_rt_os.path.join(base, module + ".py"))
        for p in places:
            try:
                text = open(p).read()
            except OSError:
                continue
            if f"def {name}(" in text and "switched off" not in text and "not available while grading" not in text:
                return text
        return None
''')

DELEGATE = {
    "02_posteriors": LIBRARY_COPY + _c('''
        _rt_posterior = _rt_lib("mixture", "posterior")

        def _rt_marble_posterior(x, pi, p1, p2):
            return _rt_posterior(np.atleast_1d(x), [pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)])[:, 0]

        def _rt_gaussian_posterior(x, weights, means, stds):
            return _rt_posterior(np.asarray(x, dtype=float), weights, [ml.Gaussian(m, s) for m, s in zip(means, stds)])
    '''),
    "03_em_two": LIBRARY_COPY + _c('''
        _rt_posterior = _rt_lib("mixture", "posterior")
        _rt_em = _rt_lib("em", "em_two_components")
        _rt_m_step = _rt_lib("em", "m_step")

        def _rt_e_step_two(x, pi, p1, p2):
            return _rt_posterior(np.asarray(x), [pi, 1 - pi], [ml.Bernoulli(p1), ml.Bernoulli(p2)])[:, 0]

        def _rt_m_step_two(r):
            return float(_rt_m_step(np.column_stack([r, 1 - np.asarray(r)]))[0])

        def _rt_em_two(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=10_000):
            r = _rt_em(np.asarray(x), p1, p2, pi_init=pi_init, tol=1e-14, max_iter=max_iter)
            return float(r.weights[0]), [float(v) for v in r.history["log_likelihood"]]

        def _rt_closed_form_pi(x, p1, p2):
            return float(_rt_em(np.asarray(x), p1, p2, tol=1e-15, max_iter=100_000).weights[0])
    '''),
    "06_gmm_missing": LIBRARY_COPY + _c('''
        _rt_marginals = _rt_lib("_gaussian_missing", "pattern_marginals")

        def _rt_split(x_row):
            m = np.isnan(np.asarray(x_row, dtype=float))
            return np.flatnonzero(~m), np.flatnonzero(m)

        def _rt_conditional_gaussian(mean, cov, x_row):
            x_row = np.asarray(x_row, dtype=float)
            obs, mis = _rt_split(x_row)
            _, m, c = _rt_marginals(x_row[obs][None, :], np.asarray(mean, float)[None], np.asarray(cov, float)[None],
                                    obs, mis)
            return m[0, 0], c[0]

        def _rt_observed_log_density(mean, cov, x_row):
            x_row = np.asarray(x_row, dtype=float)
            obs, mis = _rt_split(x_row)
            lp, _, _ = _rt_marginals(x_row[obs][None, :], np.asarray(mean, float)[None], np.asarray(cov, float)[None],
                                     obs, mis, conditional=False)
            return float(lp[0, 0])
    '''),
}


# The cheats aimed at every assignment in a default run: those that fool stock nbgrader (real
# cheats on these assignments) and one forged probe.  The other attacks on the trusted checks'
# plumbing do not depend on the assignment and run against 04 in test_redteam.py; here they
# run with MIXLEARN_REDTEAM_FULL=1, with the other variants.
CORE = ("hook_blank_later_cells", "hook_error_handlers", "hook_run_cell_patched", "output_forged_probe_stolen_nonce",
        "redefine_test_helpers", "shadow_numpy", "rig_frame_inspector", "rig_float_and_array", "fs_run_the_solutions",
        "delegate_library")
# Measured under stock nbgrader: these earn points there (on their base).  The others attack
# the trusted checks' own plumbing, which stock nbgrader does not have.
FOOLS_STOCK = ("hook_blank_later_cells", "hook_probe_to_pass", "hook_error_handlers", "hook_run_cell_patched",
               "rig_frame_inspector", "fs_run_the_solutions", "delegate_library", "redefine_test_helpers",
               "redefine_builtins", "shadow_numpy")
# Cheats that only change how answers are judged are submitted on the "wrong" base (functions
# that run and answer wrongly): on the release, whose functions raise, they could not show.
ON_WRONG_BASE = ("redefine_test_helpers", "redefine_builtins", "shadow_numpy")


def cheats_for(assignment: str, full: bool = True) -> list[GenericCheat]:
    """The generic cheats aimed at *assignment* (only those of CORE unless *full*)."""
    a4 = by_name()
    out = []
    for name in FROM_04:
        (code,) = a4[name].append.values()
        out.append(GenericCheat(name, first=code))
    for name in FILES_FROM_04:
        out.append(GenericCheat(name, files=dict(a4[name].files)))
    for name, rig in [("rig_frame_inspector", RIG_FRAME_INSPECTOR), ("rig_eq_always_true", RIG_EQ_ALWAYS_TRUE),
                      ("rig_float_and_array", RIG_FLOAT_AND_ARRAY)]:
        out.append(GenericCheat(name, first=rig, each="{fn} = _rt_rig({fn!r})\n"))
    out.append(GenericCheat("fs_run_the_solutions", first=RUN_THE_SOLUTIONS.replace("@A@", assignment),
                            each="_rt_adopt()\n"))
    if assignment in DELEGATE:
        out.append(GenericCheat("delegate_library", first=DELEGATE[assignment],
                                each="if '_rt_{fn}' in globals():\n    {fn} = _rt_{fn}\n"))
    # the frame inspector finds nothing to copy in 05's tests, which compare with values computed inline
    stock = set(FOOLS_STOCK) - ({"rig_frame_inspector"} if assignment == "05_gmm_1d" else set())
    return [GenericCheat(c.name, c.first, c.each, c.files, c.name in stock,
                         "wrong" if c.name in ON_WRONG_BASE else "release")
            for c in out if full or c.name in CORE]
