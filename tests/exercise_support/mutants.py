"""Mechanical mutants of the model solutions: one small slip at one place of one answer.

``mutants(assignment)`` parses every answer cell of ``solutions/<a>/<a>.ipynb`` (the code cells
with nbgrader ``solution: true``) with :mod:`ast`, applies *one* operator at *one* site inside
the ``### BEGIN SOLUTION`` / ``### END SOLUTION`` region (what a student writes; the signature and
docstring are given and never mutated), and returns the whole cell as ``ast.unparse`` writes it:
a replacement cell source without the markers, like the kept mistakes in ``mistakes/``.

The operators, in the order they are tried at every node (``OPERATORS``):

``binop``         ``a + b`` <-> ``a - b``, ``a * b`` <-> ``a / b`` (sign slip, wrong operation)
``normaliser``    ``a / b`` -> ``a`` (the normaliser dropped)
``compare``       a comparison negated (``<`` -> ``>=``, ``==`` -> ``!=``, ``is`` -> ``is not``) or
                  reversed (``<`` -> ``>``).  Boundary shifts (``<`` -> ``<=``) are *not* made: on
                  the floating-point data these functions see, they change the result only when
                  both sides are exactly equal, so they would mostly be equivalent mutants.
``constant``      integer (or integral float) constant off by one: ``0`` -> ``1``, ``1`` -> ``0``
                  or ``2``, ``n`` -> ``n - 1`` or ``n + 1``, ``-1`` -> ``0`` or ``-2``;
                  ``True`` <-> ``False``
``axis``          ``axis=0`` <-> ``axis=1``, ``axis=-1`` -> ``axis=0``
``index``         ``[0]`` <-> ``[1]``, ``[-1]`` -> ``[0]``, ``[-2]`` -> ``[-1]``, ``[1:]`` ->
                  ``[:]``, ``[:-1]`` -> ``[:]``, ``[:, None]`` -> ``[None, :]``, and an index
                  name replaced by another name used as an index in the same function
                  (``mean[mis]`` -> ``mean[obs]``)
``swap_args``     two neighbouring positional arguments of a call swapped, unless one is a
                  literal (``np.where(c, p1, p2)`` -> ``np.where(c, p2, p1)``)
``sum_mean``      ``.sum(`` <-> ``.mean(`` (methods and ``np.sum``/``np.mean``)
``logsumexp``     ``logsumexp(a, ...)`` -> ``np.max(a, ...)`` or the naive
                  ``np.log(np.sum(np.exp(a), ...))`` (no log-sum-exp)
``drop_call``     ``np.log``/``np.log1p``/``np.exp``/``np.sqrt``/``np.abs`` dropped around its
                  argument
``transpose``     ``.T`` removed
``return_initial`` a returned name that a loop updates replaced by its value before the loop
                  (``return pi, lls`` -> the ``pi`` the loop started from)
``drop_append``   an ``.append(...)`` statement removed (a history missing its updates)
``empty_list``    ``h = [first]`` -> ``h = []`` (a history missing its start)
``unary``         a unary ``-``, ``~`` or ``not`` removed; a ``-`` added to a returned value

Every site of every operator is enumerated in a fixed order (``ast.walk`` of a fresh parse);
mutants that do not compile or whose code equals the solution's (after ``ast.unparse``, e.g.
swapping two equal arguments) are dropped, and so are duplicates of an earlier mutant. From
the rest, ``sample`` picks a fixed number per assignment with ``random.Random(0)``, spread over
the answer cells first (in turns) and over the operators within a cell (in turns).

What is counted (``tests/test_mutation_kill_rate.py``): every sampled mutant, graded by the
trusted checks with one grader seed; it is *killed* if it scores less than full marks (a crash
or time-out counts only through the points it loses). No mutant is dropped after grading: a
surviving mutant, equivalent or not, counts against the kill rate.
"""

import ast
import copy
import random
from collections import defaultdict
from dataclasses import dataclass

from exercise_support import is_solution_code_cell, load_solution, nbgrader_meta

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
SAMPLE = 25  # mutants per assignment


@dataclass(frozen=True)
class Mutant:
    assignment: str
    cell: str  # grade_id of the answer cell
    operator: str
    line: int  # line and column of the site in the solution cell's source (1-based, 0-based)
    column: int
    before: str
    after: str
    source: str  # the whole replacement cell

    @property
    def label(self):
        before, after = _difference(self.before, self.after)
        return f"{self.cell}@{self.line}:{self.column} {self.operator}: {before} -> {after}"

    def __str__(self):
        return f"{self.assignment}/{self.label}"


@dataclass
class _Edit:
    before: str
    after: str
    apply: object  # callable that changes the tree in place


def _difference(before, after, width=40):
    """The two texts, shortened to the part that differs (with a few characters around it)."""
    if len(before) <= width and len(after) <= width:
        return before, after
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while end < min(len(before), len(after)) - start and before[-1 - end] == after[-1 - end]:
        end += 1
    start, end = max(0, start - 12), max(0, end - 12)

    def cut(text):
        middle = text[start: len(text) - end]
        return ("..." if start else "") + middle + ("..." if end else "")

    return cut(before), cut(after)


def answer_cells(assignment):
    """[(grade_id, source)] of the answer cells of the model solution, in notebook order."""
    return [(nbgrader_meta(c)["grade_id"], c.source) for c in load_solution(assignment).cells if is_solution_code_cell(c)]


def _region(source):
    """First and last line (1-based, exclusive) of the solution region of a cell."""
    lines = source.splitlines()
    begin = next(i for i, line in enumerate(lines, 1) if BEGIN in line)
    end = next(i for i, line in enumerate(lines, 1) if END in line)
    return begin, end


# --------------------------------------------------------------------------------- tree helpers
def _parents(tree):
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _replace(parents, old, new):
    """Put ``new`` where ``old`` is in its parent (``new=None`` removes a statement)."""
    parent = parents[old]
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
            return
        if isinstance(value, list):
            for i, item in enumerate(value):
                if item is old:
                    if new is None:
                        del value[i]
                        if not value:
                            value.append(ast.Pass())
                    else:
                        value[i] = new
                    return
    raise LookupError("node not found in its parent")


def _insert_before(parents, stmt, new):
    """Insert the statement ``new`` just before ``stmt`` in the block that holds it."""
    for value in ast.iter_fields(parents[stmt]):
        block = value[1]
        if isinstance(block, list) and any(item is stmt for item in block):
            block.insert(next(i for i, item in enumerate(block) if item is stmt), new)
            return
    raise LookupError("statement not found in its parent")


def _swap(parents, node, new):
    """An edit that puts ``new`` in place of ``node``."""
    return _Edit(ast.unparse(node), ast.unparse(new), lambda: _replace(parents, node, new))


def _set(node, **changes):
    """A copy of ``node`` with some fields changed."""
    new = copy.deepcopy(node)
    for name, value in changes.items():
        setattr(new, name, value)
    return new


def _int_value(node):
    """The value of an integer literal ``n`` or ``-n`` (not a bool), else None."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_value(node.operand)
        return None if inner is None else -inner
    return None


def _literal(value):
    return ast.Constant(value) if value >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-value))


def _np(name):
    return ast.Attribute(ast.Name("np", ast.Load()), name, ast.Load())


def _function(node, parents):
    while node in parents and not isinstance(node, (ast.FunctionDef, ast.Lambda)):
        node = parents[node]
    return node if isinstance(node, ast.FunctionDef) else None


def _call_name(call):
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


# ------------------------------------------------------------------------------------ operators
_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_NEGATE = {ast.Lt: ast.GtE, ast.LtE: ast.Gt, ast.Gt: ast.LtE, ast.GtE: ast.Lt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
           ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_REVERSE = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}
_INDEX = {0: [1], 1: [0], -1: [0], -2: [-1]}
_AXIS = {0: [1], 1: [0], -1: [0]}
_DROPPABLE = {"log", "log1p", "exp", "sqrt", "abs"}


def op_binop(node, parents):
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOP:
        yield _swap(parents, node, _set(node, op=_BINOP[type(node.op)]()))


def op_normaliser(node, parents):
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        yield _swap(parents, node, copy.deepcopy(node.left))


def op_compare(node, parents):
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        op = type(node.ops[0])
        for table in (_NEGATE, _REVERSE):
            if op in table:
                yield _swap(parents, node, _set(node, ops=[table[op]()]))


def _is_axis_or_index(node, parents):
    parent = parents.get(node)
    if isinstance(parent, ast.UnaryOp):
        parent = parents.get(parent)
    return (isinstance(parent, ast.keyword) and parent.arg == "axis") or (
        isinstance(parent, ast.Subscript) and parent.slice in (node, parents.get(node)))


def op_constant(node, parents):
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        yield _swap(parents, node, ast.Constant(not node.value))
        return
    if isinstance(parents.get(node), ast.UnaryOp) and isinstance(parents[node].op, ast.USub):
        return  # -n is mutated as a whole
    value = _int_value(node)
    is_float = isinstance(node, ast.Constant) and type(node.value) is float and node.value.is_integer()
    if is_float:
        value = int(node.value)
    if value is None or _is_axis_or_index(node, parents):
        return
    for new in (value - 1, value + 1) if value not in (0, 1) else ((1,) if value == 0 else (0, 2)):
        yield _swap(parents, node, ast.Constant(float(new)) if is_float else _literal(new))


def op_axis(node, parents):
    if isinstance(node, ast.keyword) and node.arg == "axis" and _int_value(node.value) in _AXIS:
        for new in _AXIS[_int_value(node.value)]:
            yield _swap(parents, node.value, _literal(new))


def op_index(node, parents):
    if not isinstance(node, ast.Subscript):
        return
    index = node.slice
    value = _int_value(index)
    if value in _INDEX:
        for new in _INDEX[value]:
            yield _swap(parents, index, _literal(new))
    elif isinstance(index, ast.Slice) and index.step is None:
        if _int_value(index.lower) == 1 and index.upper is None:
            yield _swap(parents, index, _set(index, lower=None))
        if index.lower is None and _int_value(index.upper) == -1:
            yield _swap(parents, index, _set(index, upper=None))
    elif isinstance(index, ast.Tuple) and len(index.elts) == 2:
        reversed_ = _set(index, elts=[copy.deepcopy(e) for e in reversed(index.elts)])
        if ast.unparse(reversed_) != ast.unparse(index):
            yield _swap(parents, index, reversed_)
    elif isinstance(index, ast.Name):
        function = _function(node, parents)
        names = sorted({n.slice.id for n in ast.walk(function) if isinstance(n, ast.Subscript)
                        and isinstance(n.slice, ast.Name)} - {index.id}) if function else []
        for name in names:
            yield _swap(parents, index, ast.Name(name, ast.Load()))


def _is_literal(node):
    return isinstance(node, ast.Constant) or (isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant))


def op_swap_args(node, parents):
    if isinstance(node, ast.Call) and not any(isinstance(a, ast.Starred) for a in node.args):
        for i in range(len(node.args) - 1):
            pair = node.args[i : i + 2]
            if ast.unparse(pair[0]) != ast.unparse(pair[1]) and not any(_is_literal(a) for a in pair):
                args = [copy.deepcopy(a) for a in node.args]
                args[i], args[i + 1] = args[i + 1], args[i]
                yield _swap(parents, node, _set(node, args=args))


def op_sum_mean(node, parents):
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("sum", "mean"):
        other = {"sum": "mean", "mean": "sum"}[node.func.attr]
        yield _swap(parents, node, _set(node, func=_set(node.func, attr=other)))


def op_logsumexp(node, parents):
    if isinstance(node, ast.Call) and _call_name(node) == "logsumexp" and node.args:
        args, keywords = copy.deepcopy(node.args), copy.deepcopy(node.keywords)
        yield _swap(parents, node, ast.Call(_np("max"), args, keywords))
        exp = ast.Call(_np("exp"), [copy.deepcopy(node.args[0])], [])
        naive = ast.Call(_np("log"), [ast.Call(_np("sum"), [exp, *copy.deepcopy(node.args[1:])],
                                               copy.deepcopy(node.keywords))], [])
        yield _swap(parents, node, naive)


def op_drop_call(node, parents):
    if (isinstance(node, ast.Call) and _call_name(node) in _DROPPABLE and len(node.args) == 1 and not node.keywords
            and (isinstance(node.func, ast.Name) or ast.unparse(node.func.value) == "np")):
        yield _swap(parents, node, copy.deepcopy(node.args[0]))


def op_transpose(node, parents):
    if isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
        yield _swap(parents, node, copy.deepcopy(node.value))


def _returned_names(ret):
    value = ret.value
    if isinstance(value, ast.Name):
        return [value]
    if isinstance(value, ast.Tuple):
        return [e for e in value.elts if isinstance(e, ast.Name)]
    if isinstance(value, ast.Dict):
        return [v for v in value.values if isinstance(v, ast.Name)]
    return []


def _assigned(node, name):
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) for n in ast.walk(node))


def op_return_initial(node, parents):
    if not isinstance(node, ast.Return) or node.value is None:
        return
    function = _function(node, parents)
    if function is None:
        return
    params = {a.arg for a in function.args.args + function.args.kwonlyargs}
    for name in _returned_names(node):
        for loop in (n for n in ast.walk(function) if isinstance(n, (ast.For, ast.While))):
            if not any(_assigned(stmt, name.id) for stmt in loop.body):
                continue
            before_loop = [s for s in function.body if s.end_lineno < loop.lineno]
            if name.id not in params and not any(_assigned(s, name.id) for s in before_loop):
                continue
            initial = f"{name.id}_before_loop"

            def apply(loop=loop, name=name, initial=initial):
                _insert_before(parents, loop, ast.Assign([ast.Name(initial, ast.Store())], ast.Name(name.id, ast.Load())))
                _replace(parents, name, ast.Name(initial, ast.Load()))

            yield _Edit(f"return {name.id} (updated)", f"return {name.id} as before the loop", apply)


def op_drop_append(node, parents):
    if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "append"):
        yield _Edit(ast.unparse(node), "(removed)", lambda: _replace(parents, node, None))


def op_empty_list(node, parents):
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.List) and node.value.elts:
        yield _swap(parents, node.value, ast.List([], ast.Load()))


def op_unary(node, parents):
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Invert, ast.Not)):
        yield _swap(parents, node, copy.deepcopy(node.operand))
    if not isinstance(node, ast.Return) or node.value is None:
        return
    for value in node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]:
        if not (isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub)):
            yield _swap(parents, value, ast.UnaryOp(ast.USub(), copy.deepcopy(value)))


OPERATORS = {name[3:]: fn for name, fn in list(globals().items()) if name.startswith("op_")}


# ----------------------------------------------------------------------------------- enumeration
def _in_region(node, region):
    begin, end = region
    return hasattr(node, "lineno") and begin < node.lineno and node.end_lineno < end


def _sites(source, region):
    """[(node index in ast.walk order, operator, edit index)] of every possible mutation."""
    tree = ast.parse(source)
    parents = _parents(tree)
    found = []
    for index, node in enumerate(ast.walk(tree)):
        if not _in_region(node, region):
            continue
        for name, operator in OPERATORS.items():
            found += [(index, name, k) for k, _ in enumerate(operator(node, parents))]
    return found


def _mutate(source, site):
    """(node, edit, new source) of one site, applied to a fresh parse of ``source``."""
    index, name, k = site
    tree = ast.parse(source)
    parents = _parents(tree)
    node = list(ast.walk(tree))[index]
    edit = list(OPERATORS[name](node, parents))[k]
    edit.apply()
    return node, edit, ast.unparse(ast.fix_missing_locations(tree))


def all_mutants(assignment):
    """Every distinct mutant of the assignment's answer cells that compiles, in a fixed order."""
    found, seen = [], set()
    for cell, source in answer_cells(assignment):
        original = ast.unparse(ast.parse(source))
        seen.add((cell, original))
        for site in _sites(source, _region(source)):
            node, edit, mutated = _mutate(source, site)
            if (cell, mutated) in seen:
                continue
            seen.add((cell, mutated))
            try:
                compile(mutated, f"<mutant of {cell}>", "exec")
            except SyntaxError:
                continue
            found.append(Mutant(assignment, cell, site[1], node.lineno, node.col_offset, edit.before, edit.after, mutated))
    return found


def sample(found, size=SAMPLE, seed=0):
    """``size`` mutants spread over the cells (in turns) and, within a cell, over the operators (in turns)."""
    rng = random.Random(seed)
    per_cell = defaultdict(lambda: defaultdict(list))
    for mutant in found:
        per_cell[mutant.cell][mutant.operator].append(mutant)
    queues = []
    for cell in per_cell:  # dicts keep the notebook's order
        groups = [per_cell[cell][op] for op in sorted(per_cell[cell])]
        for group in groups:
            rng.shuffle(group)
        rng.shuffle(groups)
        queue = []
        while any(groups):
            queue += [group.pop(0) for group in groups if group]
        queues.append(queue)
    chosen = []
    while len(chosen) < size and any(queues):
        chosen += [queue.pop(0) for queue in queues if queue][: size - len(chosen)]
    return chosen


def mutants(assignment, size=SAMPLE):
    """The sampled mutants of one assignment (deterministic)."""
    return sample(all_mutants(assignment), size)


def unparsed_solution(assignment):
    """{grade_id: the answer cell as ``ast.unparse`` writes it}: a control that must keep full marks."""
    return {cell: ast.unparse(ast.parse(source)) for cell, source in answer_cells(assignment)}

