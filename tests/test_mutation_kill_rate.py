"""Wrong code loses points: mechanical mutants of the model solutions against the trusted checks.

For every assignment, ``exercise_support.mutants`` makes one small slip at one place of one
answer cell (sign and index slips, axis swaps, a dropped normaliser, no log-sum-exp, a history
missing its start or its updates, the value before the loop returned instead of the update, ...;
the operators are listed in that module) and picks a fixed sample of them. All of an
assignment's mutants go through one ``grade_runs`` call (one subprocess, the student edition of
mixlearn, grader seed ``SEED``), as the kept mistakes do in test_exercises_static.py.

A mutant is *killed* when it scores less than full marks. Every sampled mutant counts, including
one that happens to be equivalent to the solution; the requirement is at least ``MIN_MUTANTS``
mutants per assignment and a kill rate of at least ``MIN_KILL_RATE``. Each test prints a line
``<assignment>: k/n mutants killed (r %) [...]; survivors: <cell>@<line>:<col> <operator>: ...``
(shown on the terminal without ``-s``; on a failure the assertion message repeats it). The
control run, the solution's cells as ``ast.unparse`` writes them, must keep full marks, so that
it is the mutation, not the rewriting, that costs the points.

Equivalent mutants seen so far (they survive and count against the rate): ``abs`` dropped in
the stopping rule of an EM loop (EM never lowers the log-likelihood, so the change is never
negative beyond rounding), the constant term ``-0.5 * log(2 pi)`` of ``gaussian_posterior``
changed (the same for every component, it cancels when the responsibilities are normalised),
``range(2)`` -> ``range(3)`` in ``red_fraction_by_factory`` (there is no factory 3). The
stopping rules themselves are judged: each EM loop's history check has a hidden case with a tol
between two successive changes of the log-likelihood.
"""

import ast

import pytest
from exercise_support import ASSIGNMENTS, is_solution_code_cell, load_solution, nbgrader_meta
from exercise_support.mutants import BEGIN, END, OPERATORS, mutants, unparsed_solution
from exercise_support.trusted_grading import Run, grade_runs

SEED = 3  # the grader seed the kept mistakes are judged with
MIN_MUTANTS = 10
MIN_KILL_RATE = 0.90


def _signatures(source):
    return {f.name: ast.dump(f.args) for f in ast.parse(source).body if isinstance(f, ast.FunctionDef)}


def _only_errors(graded):
    """True if every lost point comes from a call that raised (a crash), none from a judged value."""
    messages = [m for ms in graded.failed().values() for m in ms]
    return bool(messages) and all("` raised " in m for m in messages)


def report(assignment, chosen, results):
    killed = [m for m, g in zip(chosen, results, strict=True) if g.score < g.full]
    crashed = sum(_only_errors(g) for g in results if g.score < g.full)
    survivors = [m for m, g in zip(chosen, results, strict=True) if g.score >= g.full]
    rate = len(killed) / len(chosen) if chosen else 0.0
    line = (f"{assignment}: {len(killed)}/{len(chosen)} mutants killed ({100 * rate:.0f} %) "
            f"[{crashed} of them only by raising]; survivors: "
            + (", ".join(m.label for m in survivors) if survivors else "none"))
    return rate, line


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_mutants_are_deterministic_and_spread_over_the_answers(assignment):
    chosen = mutants(assignment)
    assert [m.source for m in chosen] == [m.source for m in mutants(assignment)], "the sample must not change between runs"
    assert len(chosen) >= MIN_MUTANTS
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in load_solution(assignment).cells if is_solution_code_cell(c)}
    assert {m.cell for m in chosen} == set(answers), "every answer cell gets mutants"
    assert len({m.operator for m in chosen}) >= 5 and {m.operator for m in chosen} <= set(OPERATORS)
    solution = unparsed_solution(assignment)
    for mutant in chosen:
        assert mutant.source != solution[mutant.cell]
        assert BEGIN not in mutant.source and END not in mutant.source
        # the signatures (what the notebook gives) are the solution's
        assert _signatures(mutant.source) == _signatures(answers[mutant.cell]), mutant.label
    assert len({m.label for m in chosen}) == len(chosen), "labels name one site each"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_mutants_of_the_solution_lose_points(assignment, capsys):
    chosen = mutants(assignment)
    runs = [Run("control", SEED, unparsed_solution(assignment))]
    runs += [Run(f"mutant {i}: {m.label}", SEED, {m.cell: m.source}) for i, m in enumerate(chosen)]
    graded = grade_runs(assignment, runs)
    control = graded["control"]
    assert control.score == control.full, ("the unparsed solution must keep full marks", control.failed())
    rate, line = report(assignment, chosen, [graded[r.name] for r in runs[1:]])
    with capsys.disabled():
        print(f"\n{line}")
    assert len(chosen) >= MIN_MUTANTS, line
    assert rate >= MIN_KILL_RATE, line
