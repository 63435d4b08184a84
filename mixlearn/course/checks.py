"""Trusted checks: the student's process computes, the grader's process judges.

A course keeps one *checks module* per assignment (``<source>/<assignment>/trusted_checks.py``)
that says, for every autograder test cell, which of the student's functions to call on which
inputs and how to judge what comes back::

    from mixlearn.course.checks import check, expect_close

    @check("test_p_red")
    def _(t):
        t.case("p_red(0.6, 0.8, 0.3)", lambda got: expect_close(got, 0.6, "p_red(0.6, 0.8, 0.3)"),
               t.call("p_red", 0.6, 0.8, 0.3))
        for _ in range(3):                      # hidden: inputs drawn from the grader's seed
            pi, p1, p2 = t.rng.random(3)
            t.case("p_red on random inputs", lambda got, e=pi * p1 + (1 - pi) * p2: expect_close(got, e, "p_red"),
                   t.call("p_red", pi, p1, p2), hidden=True)

At grading time the calls are turned into a *probe*: Python source that runs in the student's
kernel in place of the test cell, calls the student's functions on the inputs and returns
the results as plain data (numbers, strings, arrays as raw bytes; never a pickled object).
The judges then run here, in the grader's process, with the real library.  Whatever the
student's process does (hooks, patched helpers, rigged objects) can only change what it
reports, never how that report is judged, and it never sees an expected value.

Inputs that are objects are described by data and built inside the student's process:
:class:`Rng` (a ``numpy.random.Generator``), :class:`Dist` (a mixlearn distribution) and
:class:`Range` (a ``range``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIME = "application/vnd.mixlearn.probe+json"
MAX_RESULT_BYTES = 256 * 1024 ** 2
_DTYPES = {"|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f4", "<f8"}
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,80}$")


# ------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Rng:
    """``numpy.random.default_rng(seed)``, made in the student's process."""

    seed: int


@dataclass(frozen=True)
class Dist:
    """A mixlearn distribution, e.g. ``Dist("Poisson", 3.0)``; ``.build()`` makes the real one here."""

    family: str
    args: tuple = ()

    def __init__(self, family, *args):
        if family not in ("Bernoulli", "Binomial", "Categorical", "Gaussian", "Poisson"):
            raise ValueError(f"unknown distribution family {family!r}")
        object.__setattr__(self, "family", family)
        object.__setattr__(self, "args", tuple(args))

    def build(self):
        import mixlearn.distributions as d

        return getattr(d, self.family)(*self.args)


@dataclass(frozen=True)
class Range:
    """``range(*args)``, made in the student's process (an iterable that is not a list)."""

    args: tuple

    def __init__(self, *args):
        object.__setattr__(self, "args", tuple(int(a) for a in args))


def build(value):
    """The grader-side object an input describes (Dist -> distribution, Rng -> Generator)."""
    if isinstance(value, Dist):
        return value.build()
    if isinstance(value, Rng):
        return np.random.default_rng(value.seed)
    if isinstance(value, Range):
        return range(*value.args)
    if isinstance(value, (list, tuple)):
        return type(value)(build(v) for v in value)
    return value


def _encode_input(v):
    if isinstance(v, Rng):
        return {"rng": int(v.seed)}
    if isinstance(v, Dist):
        return {"dist": [v.family, [_encode_input(a) for a in v.args]]}
    if isinstance(v, Range):
        return {"range": list(v.args)}
    if isinstance(v, np.ndarray):
        a = np.ascontiguousarray(v)
        if a.dtype.str not in _DTYPES:
            a = a.astype(float)
        return {"nd": [a.dtype.str, list(a.shape), base64.b64encode(a.tobytes()).decode()]}
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return {"float": repr(float(v))}
    if isinstance(v, str) or v is None:
        return v
    if isinstance(v, tuple):
        return {"tuple": [_encode_input(x) for x in v]}
    if isinstance(v, list):
        return [_encode_input(x) for x in v]
    if isinstance(v, dict):
        return {"dict": [[str(k), _encode_input(x)] for k, x in v.items()]}
    raise TypeError(f"a check input must be plain data, an array, Rng or Dist, not {type(v).__name__}")


# ------------------------------------------------------------------------- results
class CallFailed(Exception):
    """The student's function raised (or returned something that cannot be read)."""


PENDING = object()   # a call whose result has not come back


@dataclass
class Call:
    function: str
    args: tuple
    kwargs: dict
    index: int
    outcome: Any = PENDING  # decoded result, or CallFailed
    hidden: bool = False  # used by a hidden case: runs only after every student cell has run

    def spec(self):
        return {"f": self.function, "a": [_encode_input(a) for a in self.args],
                "k": [[k, _encode_input(v)] for k, v in self.kwargs.items()]}


def decode_result(obj, depth=0):
    """Turn the plain data a probe returned into Python values; reject anything else."""
    if depth > 12:
        raise CallFailed("the result is nested too deeply")
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, list):
        return [decode_result(x, depth + 1) for x in obj]
    if isinstance(obj, dict) and len(obj) == 1:
        (tag, val), = obj.items()
        if tag == "float" and isinstance(val, str):
            return float(val)
        if tag == "seq" and isinstance(val, list):
            return tuple(decode_result(x, depth + 1) for x in val)
        if tag == "dict" and isinstance(val, list):
            return {str(k): decode_result(x, depth + 1) for k, x in val}
        if tag == "nd" and isinstance(val, list) and len(val) == 3:
            dtype, shape, data = val
            if dtype not in _DTYPES or not isinstance(shape, list) or len(shape) > 8 \
                    or not all(isinstance(s, int) and s >= 0 for s in shape):
                raise CallFailed("the result is not a plain numeric array")
            try:
                raw = base64.b64decode(data, validate=True)
            except (ValueError, TypeError):  # binascii.Error is a ValueError
                raise CallFailed("the result's array data are not valid base64") from None
            count = int(np.prod(shape, dtype=np.int64)) if shape else 1
            if count * np.dtype(dtype).itemsize != len(raw):
                raise CallFailed("the result's array data do not match its shape")
            return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        if tag == "object" and isinstance(val, str):
            return Opaque(val[:80])
        if tag == "error" and isinstance(val, list) and len(val) == 2:
            raise CallFailed(f"{str(val[0])[:80]}: {str(val[1])[:300]}")
    raise CallFailed("the result is not plain data")


@dataclass(frozen=True)
class Opaque:
    """A returned object that is neither a number, a string, a sequence nor an array."""

    type_name: str


# ------------------------------------------------------------------------- checks
@dataclass
class Case:
    label: str
    judge: Callable
    calls: tuple
    hidden: bool


@dataclass
class Verdict:
    """The trusted verdict of one test cell."""

    grade_id: str
    passed: bool
    messages: list = field(default_factory=list)   # one line per failed case (feedback-safe)
    cases: int = 0


class CheckContext:
    """What a check function gets: ``call`` (a student call), ``case`` (one judgement), ``rng``."""

    def __init__(self, grade_id: str, rng: np.random.Generator):
        self.grade_id = grade_id
        self.rng = rng
        self.calls: list[Call] = []
        self.cases: list[Case] = []

    def call(self, function: str, *args, **kwargs) -> Call:
        if not _NAME_RE.match(function):
            raise ValueError(f"not a function name: {function!r}")
        c = Call(function, args, kwargs, len(self.calls))
        self.calls.append(c)
        return c

    def case(self, label: str, judge: Callable, *calls: Call, hidden: bool = False) -> None:
        self.cases.append(Case(label, judge, calls, hidden))

    # -- the probes ---------------------------------------------------------------
    # Visible calls run in place of the test cell; hidden calls run in a probe of their own after
    # the notebook's last cell.  So no student cell, and no visible call whose result a message may
    # quote, ever runs in a kernel that has seen a hidden input.
    def _mark_hidden(self) -> None:
        for case in self.cases:
            if case.hidden:
                for call in case.calls:
                    call.hidden = True

    def calls_of(self, hidden: bool) -> list[Call]:
        self._mark_hidden()
        return [c for c in self.calls if c.hidden == hidden]

    def probe_source(self, nonce: str, hidden: bool = False) -> str:
        payload = json.dumps({"nonce": nonce, "calls": [c.spec() for c in self.calls_of(hidden)]})
        what = "hidden checks" if hidden else "trusted check"
        return (PROBE_TEMPLATE.replace("@@PAYLOAD@@", repr(payload))
                .replace("@@GRADE_ID@@", f"{self.grade_id} ({what})"))

    def read_results(self, outputs, nonce: str, hidden: bool = False) -> str | None:
        """Store the outcome of each (visible or hidden) call from its probe's outputs; return a
        problem or None."""
        calls = self.calls_of(hidden)
        found = []
        for out in outputs:
            data = out.get("data", {}) if out.get("output_type") in ("display_data", "execute_result") else {}
            blob = data.get(MIME)
            if blob is None:
                continue
            if isinstance(blob, str):
                if len(blob) > MAX_RESULT_BYTES:
                    return "the results were too large"
                try:
                    blob = json.loads(blob)
                except ValueError:
                    continue
            if isinstance(blob, dict) and blob.get("nonce") == nonce:
                found.append(blob)
        if not found:
            return None if not calls else "no results came back from the notebook's kernel"
        if len(found) > 1:
            return "the notebook's kernel sent more than one set of results"
        results = found[0].get("results")
        if not isinstance(results, list) or len(results) != len(calls):
            return "the results from the notebook's kernel are incomplete"
        for call, res in zip(calls, results, strict=True):
            try:
                call.outcome = decode_result(res)
            except CallFailed as exc:
                call.outcome = exc
            except Exception:  # malformed data of any kind
                call.outcome = CallFailed("the result could not be read")
        return None

    def judge(self, problem: str | None = None) -> Verdict:
        v = Verdict(self.grade_id, passed=True, cases=len(self.cases))
        if problem is not None:
            v.passed = False
            v.messages.append(f"The check could not run: {problem}.")
            return v
        for case in self.cases:
            msg = _judge_case(case)
            if msg is not None:
                v.passed = False
                v.messages.append(msg)
        return v


def _judge_case(case: Case) -> str | None:
    # a case that uses a hidden call is reported like a hidden case: its label, nothing the
    # student's process produced (which could carry hidden inputs out)
    quiet = case.hidden or any(call.hidden for call in case.calls)
    values = []
    for call in case.calls:
        if call.outcome is PENDING:
            return f"{case.label}: no result came back for `{call.function}`."
        if isinstance(call.outcome, CallFailed):
            if quiet:
                return f"Hidden check failed ({case.label}): `{call.function}` raised an error."
            return f"{case.label}: `{call.function}` raised {call.outcome}"
        values.append(call.outcome)
    try:
        case.judge(*values)
    except AssertionError as exc:
        if quiet:
            return f"Hidden check failed ({case.label})."
        return str(exc) or f"{case.label}: wrong result."
    except Exception as exc:  # the student's values broke the judge: a wrong answer
        if quiet:
            return f"Hidden check failed ({case.label}): the result has the wrong form."
        return f"{case.label}: the result has the wrong form ({type(exc).__name__})."
    return None


# ------------------------------------------------------------------------- registry
REGISTRY_ATTR = "TRUSTED_CHECKS"


def check(grade_id: str):
    """Register a check function for the autograder test cell *grade_id* (in a checks module)."""

    def register(func):
        registry = func.__globals__.setdefault(REGISTRY_ATTR, {})
        if grade_id in registry:
            raise ValueError(f"two checks for {grade_id!r}")
        registry[grade_id] = func
        return func

    return register


def load_checks(path: str) -> dict:
    """``{grade_id: check function}`` from a checks module file."""
    import importlib.util
    import os

    if not os.path.exists(path):
        raise FileNotFoundError(path)
    name = "mixlearn_trusted_checks_" + re.sub(r"\W", "_", os.path.abspath(path))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(getattr(module, REGISTRY_ATTR, {}))


def switched_off_in(path: str) -> tuple[str, ...]:
    """The ``SWITCHED_OFF`` tuple of a checks module file: library functions (``"<file under
    mixlearn/>:<function>"``) to empty in the student edition while that assignment is graded,
    because the assignment asks the student to write them.  Read without running the module."""
    import ast

    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "SWITCHED_OFF" for t in node.targets):
            value = ast.literal_eval(node.value)
            if not (isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value)):
                raise ValueError(f"{path}: SWITCHED_OFF should be a tuple of strings such as "
                                 "'datasets/__init__.py:make_marbles'")
            return tuple(value)
    return ()


def seed_for(seed: int, grade_id: str) -> np.random.Generator:
    """The hidden-input generator of one test cell: the grader's seed and the cell's name."""
    key = [int(b) for b in grade_id.encode()]
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=key))


def prepare(checks: dict, grade_id: str, seed: int) -> CheckContext:
    ctx = CheckContext(grade_id, seed_for(seed, grade_id))
    checks[grade_id](ctx)
    return ctx


# ------------------------------------------------------------------------- judging helpers
def _short(a):
    return np.array2string(np.asarray(a), precision=6, threshold=12, edgeitems=3)


def as_array(actual, what, expected_shape=None) -> np.ndarray:
    """A float array from a student's value, or an AssertionError saying what is wrong."""
    if isinstance(actual, (str, Opaque, dict)) or actual is None:
        raise AssertionError(f"{what} should be numbers, but it is {_describe(actual)}.")
    try:
        a = np.asarray(actual, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be numbers, but it is {_describe(actual)}.") from None
    if expected_shape is not None and a.shape != tuple(expected_shape):
        raise AssertionError(f"{what} should have shape {tuple(expected_shape)}, but it has shape {a.shape}.")
    return a


def _describe(v):
    if isinstance(v, Opaque):
        return f"an object of type {v.type_name}"
    if v is None:
        return "None"
    return f"{type(v).__name__} {str(v)[:60]!r}"


def tol_between(changes, rng, first=3, last=8, margin=1.5):
    """For a case on an EM loop's stopping rule: ``(stop, tol)`` with *stop* drawn from *rng* in
    ``first..last`` and *tol* between the change of the log-likelihood at iteration *stop* (the
    first below tol) and the smallest earlier change (their geometric mean; the two at least
    *margin* apart and the smaller above 1e-10, so that rounding cannot decide where a correct loop
    stops), or None when *changes* (``|diff|`` of the log-likelihoods) offer no such pair: draw
    another path."""
    stop = int(rng.integers(first, last + 1))
    above, below = float(np.min(changes[: stop - 1])), float(changes[stop - 1])
    if below > 1e-10 and above > margin * below:
        return stop, float(np.sqrt(above * below))
    return None


def expect_close(actual, expected, what, rtol=1e-6, atol=1e-9):
    """Fail with a sentence saying what was expected unless *actual* equals *expected* up to rounding."""
    expected = np.asarray(expected, dtype=float)
    actual = as_array(actual, what, expected.shape)
    if not np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True):
        with np.errstate(invalid="ignore"):
            # the gap is worth quoting only when the mismatch is in finite values (not nan/inf placement)
            same_pattern = np.array_equal(np.isfinite(actual), np.isfinite(expected))
            both = np.isfinite(actual) & np.isfinite(expected)
            gap = np.max(np.abs(actual - expected)[both]) if same_pattern and both.any() else np.nan
        raise AssertionError(f"{what} should be {_short(expected)}, but it is {_short(actual)}"
                             + (f" (off by up to {gap:.3g})." if np.isfinite(gap) and gap > 0 else "."))


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def as_tuple(value, n, message) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise AssertionError(message)
    return tuple(value)


# ------------------------------------------------------------------------- the probe
# Runs in the student's kernel in place of a test cell.  Only the standard library and numpy;
# it defines one function, calls it and deletes it again.
PROBE_TEMPLATE = r'''# trusted check @@GRADE_ID@@: the grader calls your functions here and judges the results itself
def __mixlearn_probe(payload):
    import base64, json
    import numpy
    spec = json.loads(payload)
    user = globals()

    def dec(v):
        if isinstance(v, list):
            return [dec(x) for x in v]
        if isinstance(v, dict):
            (tag, val), = v.items()
            if tag == "float":
                return float(val)
            if tag == "tuple":
                return tuple(dec(x) for x in val)
            if tag == "dict":
                return {k: dec(x) for k, x in val}
            if tag == "nd":
                return numpy.frombuffer(base64.b64decode(val[2]), dtype=val[0]).reshape(val[1]).copy()
            if tag == "rng":
                return numpy.random.default_rng(val)
            if tag == "range":
                return range(*val)
            if tag == "dist":
                import mixlearn.distributions
                return getattr(mixlearn.distributions, val[0])(*[dec(a) for a in val[1]])
        return v

    def enc(v, depth=0):
        if depth > 10:
            raise ValueError("nested too deeply")
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, numpy.bool_):
            return bool(v)
        if isinstance(v, (int, numpy.integer)) and not isinstance(v, bool):
            return int(v)
        if isinstance(v, (float, numpy.floating)):
            return {"float": repr(float(v))}
        if isinstance(v, (tuple, list)):
            return {"seq": [enc(x, depth + 1) for x in v]}
        if isinstance(v, dict):
            return {"dict": [[str(k), enc(x, depth + 1)] for k, x in v.items()]}
        a = numpy.asarray(v)
        if a.dtype.kind in "biuf":
            if a.dtype.kind in "iu" and a.size and a.min() >= 0 and a.max() <= 255:
                a = a.astype(numpy.uint8)
            elif a.dtype.kind == "f":
                a = a.astype("<f8")
            elif a.dtype.kind in "iu":
                a = a.astype("<i8")
            a = numpy.ascontiguousarray(a)
            return {"nd": [a.dtype.str, list(a.shape), base64.b64encode(a.tobytes()).decode()]}
        return {"object": type(v).__name__}

    results = []
    for call in spec["calls"]:
        if call["f"] not in user:
            results.append({"error": ["NameError", "name %r is not defined: run the cell that defines it" % call["f"]]})
            continue
        try:
            f = user[call["f"]]
            out = f(*dec(call["a"]), **{k: dec(v) for k, v in call["k"]})
            results.append(enc(out))
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            results.append({"error": [type(exc).__name__, str(exc)[:300]]})
    from IPython.display import display
    display({"application/vnd.mixlearn.probe+json": {"nonce": spec["nonce"], "results": results}}, raw=True)


__mixlearn_probe(@@PAYLOAD@@)
del __mixlearn_probe
'''
