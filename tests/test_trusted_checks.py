"""The trusted checks of the graded exercises (``solutions/<assignment>/trusted_checks.py``) and the
data path between a probe and the grader (``mixlearn.course.checks``).

* every autograder test cell of every assignment has a check;
* hidden cases get new inputs from every grader seed, but their labels (which reach the
  student's feedback) stay the same, so they cannot carry a value drawn from the seed;
  visible cases repeat the notebook's visible tests, the same for every seed;
* ``decode_result`` accepts plain data only and reports anything else as ``CallFailed``;
* a probe run in a plain Python namespace returns arrays, tuples and floats bit for bit.
"""

import base64
import builtins
import json

import numpy as np
import pytest
from exercise_support import ASSIGNMENTS, grade_points, load_solution
from exercise_support.trusted_grading import load_assignment_checks

import mixlearn as ml
from mixlearn.course.checks import (
    MIME,
    CallFailed,
    CheckContext,
    Dist,
    Opaque,
    Rng,
    _encode_input,
    decode_result,
    prepare,
)

SEEDS = (11, 2**62 + 5)


def _cells(assignment):
    return sorted(grade_points(load_solution(assignment)))


def _inputs(call):
    """A comparable text of a call's inputs (arrays by their bytes)."""
    return json.dumps(call.spec(), sort_keys=True)


ALL_CELLS = [(a, g) for a in ASSIGNMENTS for g in _cells(a)]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_autograder_test_cell_has_a_check(assignment):
    checks = load_assignment_checks(assignment)
    assert set(checks) == set(_cells(assignment))


@pytest.mark.parametrize(("assignment", "grade_id"), ALL_CELLS, ids=[f"{a}-{g}" for a, g in ALL_CELLS])
def test_hidden_inputs_change_with_the_seed_but_labels_do_not(assignment, grade_id):
    checks = load_assignment_checks(assignment)
    one, two = (prepare(checks, grade_id, seed) for seed in SEEDS)
    again = prepare(checks, grade_id, SEEDS[0])
    assert [c.label for c in one.cases] == [c.label for c in two.cases], "labels must not depend on the seed"
    assert [c.hidden for c in one.cases] == [c.hidden for c in two.cases]
    visible = [c for c in one.cases if not c.hidden]
    hidden = [(a, b) for a, b in zip(one.cases, two.cases, strict=True) if a.hidden]
    assert visible, "every check repeats the notebook's visible tests"
    assert hidden, "every check has hidden cases"
    for case, other in zip(one.cases, two.cases, strict=True):
        same = [_inputs(c) for c in case.calls] == [_inputs(c) for c in other.calls]
        if case.hidden:
            assert not same, f"hidden case {case.label!r} has the same inputs for two seeds"
        else:
            assert same, f"visible case {case.label!r} should not depend on the seed"
    # a regrade with the recorded seed asks exactly the same questions
    assert [_inputs(c) for c in one.calls] == [_inputs(c) for c in again.calls]
    for case in one.cases:
        if case.hidden:
            assert case.label and len(case.label) < 120


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_labels_quote_no_drawn_value(assignment):
    """Besides being equal across seeds, no hidden label contains a number of the hidden inputs."""
    checks = load_assignment_checks(assignment)
    for grade_id in _cells(assignment):
        ctx = prepare(checks, grade_id, SEEDS[1])
        for case in ctx.cases:
            if not case.hidden:
                continue
            numbers = [v for call in case.calls for v in list(call.args) + list(call.kwargs.values())
                       if isinstance(v, float) and v not in (0.0, 1.0)]
            for v in numbers:
                assert f"{v:.3g}" not in case.label, (case.label, v)


# ----------------------------------------------------------------------------- decode_result
def _nd(dtype, shape, raw):
    return {"nd": [dtype, shape, base64.b64encode(raw).decode()]}


def _nested(depth):
    value = 1.5
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("data", [
    _nd("|O", [1], b"\0" * 8),                  # object arrays would unpickle
    _nd("<f16", [1], b"\0" * 16),
    _nd(">f8", [1], b"\0" * 8),                 # only the listed little-endian dtypes
    _nd("<U1", [1], b"\0" * 4),
    _nd("<f8", [3], b"\0" * 16),                # shape and bytes disagree
    _nd("<f8", [2, 2], b"\0" * 24),
    _nd("<f8", [-1], b"\0" * 8),                # negative extent
    _nd("<f8", [1.0], b"\0" * 8),               # non-integer extent
    _nd("<f8", [1] * 9, b"\0" * 8),             # too many dimensions
    _nd("<f8", "3", b"\0" * 24),
    {"nd": ["<f8", [1]]},
    {"pickle": "gASVAAAAAAAAAAA="},             # unknown tag
    {"float": 1.5},                             # floats travel as text
    {"seq": "abc"},
    {"a": 1, "b": 2},                           # a dict that is no tagged value
    {},
    {"error": ["ValueError", "the student's function raised"]},
    _nested(20),
], ids=lambda d: json.dumps(d)[:40])
def test_decode_result_rejects_what_is_not_plain_data(data):
    with pytest.raises(CallFailed):
        decode_result(data)


def test_decode_result_rejects_invalid_base64():
    with pytest.raises(CallFailed):
        decode_result({"nd": ["<f8", [1], "not base64!"]})


@pytest.mark.parametrize("data", [{"nd": ["<f8", [1], "not base64!"]}, {"nd": ["|O", [1], "AAAAAAAAAAA="]},
                                  _nested(40), {"tuple": [1]}, [{"float": "1"}, {"pickle": ""}]],
                         ids=["base64", "object", "nested", "tag", "inner"])
def test_malformed_results_fail_the_call_when_read(data):
    ctx = CheckContext("test_read", np.random.default_rng(0))
    call = ctx.call("f")
    out = {"output_type": "display_data", "data": {MIME: {"nonce": "n" * 32, "results": [data]}}}
    assert ctx.read_results([out], "n" * 32) is None
    assert isinstance(call.outcome, CallFailed)
    verdict = ctx.judge()
    assert verdict.passed  # no case uses the call here; a case that does fails:
    ctx.case("uses f", lambda got: None, call)
    assert not ctx.judge().passed


def test_decode_result_reads_plain_data():
    assert decode_result({"seq": [1, {"float": "2.5"}, None, True, "x"]}) == (1, 2.5, None, True, "x")
    assert decode_result({"dict": [["a", {"float": "-0.0"}]]}) == {"a": 0.0}
    assert isinstance(decode_result({"object": "Generator"}), Opaque)
    a = decode_result(_nd("<i8", [2, 2], np.arange(4, dtype="<i8").tobytes()))
    assert a.dtype == np.int64 and a.tolist() == [[0, 1], [2, 3]] and a.flags.writeable
    assert decode_result(_nested(10)) == _nested(10)


# ------------------------------------------------------------------------------- the probe
def _run_probe(ctx, namespace, monkeypatch):
    """Execute the probe source as a kernel would run the cell; return its display outputs."""
    import IPython.display

    shown = []

    def display(*objs, raw=False, **kwargs):
        shown.extend({"output_type": "display_data", "data": obj} for obj in objs)

    monkeypatch.setattr(IPython.display, "display", display)
    nonce = "n" * 32
    namespace.setdefault("__builtins__", builtins)
    exec(compile(ctx.probe_source(nonce), "<probe>", "exec"), namespace)
    assert "__mixlearn_probe" not in namespace, "the probe cleans up after itself"
    # the outputs travel as JSON between the kernel and the grader
    outputs = json.loads(json.dumps(shown))
    return ctx.read_results(outputs, nonce)


def _same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_probe_round_trips_values_exactly(monkeypatch):
    rng = np.random.default_rng(5)
    floats = np.concatenate([rng.normal(size=7) * 10.0 ** rng.integers(-300, 300, 7),
                             [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, np.finfo(float).max, 0.1]])
    matrix = rng.random((3, 4))
    counts = rng.integers(-(2**40), 2**40, 6)
    small = rng.integers(0, 2, 9)
    flags = rng.random(5) > 0.5
    scalars = (0.1 + 0.2, -0.0, 1e-310, float("inf"), 2**53 + 1, True, None, "text")
    namespace = {"echo": lambda *args: args, "one": lambda v: v}
    ctx = CheckContext("test_round_trip", np.random.default_rng(0))
    calls = [ctx.call("one", floats), ctx.call("one", matrix), ctx.call("one", counts), ctx.call("one", small),
             ctx.call("one", flags), ctx.call("echo", *scalars), ctx.call("one", matrix.T),
             ctx.call("one", {"w": floats[:3], "n": 3}), ctx.call("one", [1.5, (2, 3.25)]),
             ctx.call("one", np.float32(0.1)), ctx.call("one", np.int64(-7))]
    assert _run_probe(ctx, namespace, monkeypatch) is None
    got = [c.outcome for c in calls]
    assert _same_bits(got[0], floats) and np.isnan(got[0][11]) and np.signbit(got[0][8])
    assert _same_bits(got[1], matrix)
    assert _same_bits(got[2], counts)
    assert got[3].tolist() == small.tolist() and got[3].dtype.kind in "iu"
    assert got[4].dtype == bool and got[4].tolist() == flags.tolist()
    assert isinstance(got[5], tuple) and len(got[5]) == len(scalars)
    for mine, theirs in zip(got[5], scalars, strict=True):
        assert type(mine) is type(theirs) and (mine == theirs or mine is theirs)
    assert np.signbit(got[5][1]) and got[5][2] == 1e-310
    assert np.array_equal(got[6], matrix.T) and got[6].dtype == np.float64
    assert set(got[7]) == {"w", "n"} and _same_bits(got[7]["w"], floats[:3]) and got[7]["n"] == 3
    assert got[8] == (1.5, (2, 3.25))
    assert got[9] == float(np.float32(0.1)) and got[10] == -7


def test_probe_builds_rng_and_distributions_and_reports_errors(monkeypatch):
    def first_draws(rng):
        return rng.random(4)

    def logpdf(dist, x):
        return dist.logpdf(x)

    def broken(x):
        raise ValueError("no luck")

    namespace = {"first_draws": first_draws, "logpdf": logpdf, "broken": broken,
                 "returns_object": lambda: object()}
    x = np.array([0, 1, 4])
    ctx = CheckContext("test_inputs", np.random.default_rng(0))
    calls = [ctx.call("first_draws", Rng(42)), ctx.call("logpdf", Dist("Poisson", 3.0), x),
             ctx.call("logpdf", Dist("Categorical", [0.2, 0.3, 0.1, 0.1, 0.3]), x), ctx.call("broken", 1),
             ctx.call("missing"), ctx.call("returns_object")]
    assert _run_probe(ctx, namespace, monkeypatch) is None
    assert _same_bits(calls[0].outcome, np.random.default_rng(42).random(4))
    assert _same_bits(calls[1].outcome, ml.Poisson(3.0).logpdf(x))
    assert _same_bits(calls[2].outcome, ml.Categorical([0.2, 0.3, 0.1, 0.1, 0.3]).logpdf(x))
    assert isinstance(calls[3].outcome, CallFailed) and "ValueError: no luck" in str(calls[3].outcome)
    assert isinstance(calls[4].outcome, CallFailed) and "NameError" in str(calls[4].outcome)
    assert calls[5].outcome == Opaque("object")


def test_results_with_another_nonce_or_twice_are_not_accepted(monkeypatch):
    ctx = CheckContext("test_nonce", np.random.default_rng(0))
    ctx.call("one", 1.0)
    forged = {"output_type": "display_data", "data": {MIME: {"nonce": "guess", "results": [{"float": "1.0"}]}}}
    assert ctx.read_results([forged], "n" * 32) == "no results came back from the notebook's kernel"
    real = {"output_type": "display_data", "data": {MIME: {"nonce": "n" * 32, "results": [{"float": "1.0"}]}}}
    assert ctx.read_results([real, real], "n" * 32) == "the notebook's kernel sent more than one set of results"
    short = {"output_type": "display_data", "data": {MIME: {"nonce": "n" * 32, "results": []}}}
    assert ctx.read_results([short], "n" * 32) == "the results from the notebook's kernel are incomplete"


def test_inputs_are_encoded_as_plain_data():
    assert _encode_input(np.float64(0.1)) == {"float": "0.1"}
    assert _encode_input((1, [2.5])) == {"tuple": [1, [{"float": "2.5"}]]}
    with pytest.raises(TypeError, match="plain data"):
        _encode_input(object())
