"""Grade notebooks with the trusted checks without nbgrader: one subprocess per assignment.

What real grading does (``mixlearn.course.trusted.TrustedExecute``), minus the kernel and the
bubblewrap sandbox: the student's cells run in a process that sees the *student edition* of
mixlearn (EM switched off, scikit-learn hidden), every autograder test cell is replaced by the
probe of its check's visible calls, the probes of the hidden calls run after the last cell, and
the probes' outputs come back here, where
``CheckContext.read_results`` and ``judge`` turn them into verdicts with the real library.

All runs of an assignment (the solution for several seeds, the release stubs, every kept
mistake) go to one subprocess (``probe_worker.py``), each in a fresh namespace, so the many
mistake fixtures are checked in a few seconds. ``tests/test_exercises_nbgrader.py`` confirms on
one mistake per assignment that real ``nbgrader autograde`` gives the same score.
"""

import json
import os
import secrets
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from exercise_support import ROOT, SUPPORT, grade_points, is_solution_code_cell, is_test_cell, load_solution, nbgrader_meta
from mixlearn.course.checks import load_checks, prepare
from mixlearn.course.sandbox import student_edition

WORKER = SUPPORT / "probe_worker.py"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def checks_path(assignment):
    return ROOT / "solutions" / assignment / "trusted_checks.py"


def load_assignment_checks(assignment):
    return load_checks(str(checks_path(assignment)))


@dataclass
class Run:
    """One notebook to grade: the solution with some cells replaced, judged with one seed."""

    name: str
    seed: int
    replace: dict = field(default_factory=dict)


@dataclass
class Graded:
    """The trusted verdicts of one run: ``{grade_id: Verdict}`` and the score they give."""

    verdicts: dict
    points: dict
    cell_errors: dict = field(default_factory=dict)  # {cell: "ename: evalue"} of the other code cells

    @property
    def score(self):
        return sum(self.points[g] for g, v in self.verdicts.items() if v.passed)

    @property
    def full(self):
        return sum(self.points.values())

    def failed(self):
        return {g: v.messages for g, v in self.verdicts.items() if not v.passed}


def stub_replacements(assignment):
    """The release's answers: every solution code cell is the stub that raises."""
    nb = load_solution(assignment)
    return {nbgrader_meta(c)["grade_id"]: STUB for c in nb.cells if is_solution_code_cell(c)}


def grade_runs(assignment, runs, cell_timeout=20, timeout=900):
    """``{run name: Graded}`` for the runs of one assignment, all in one subprocess."""
    nb = load_solution(assignment)
    checks = load_assignment_checks(assignment)
    cells = [{"id": nbgrader_meta(c).get("grade_id") or c.get("id"), "test": bool(is_test_cell(c)), "source": c.source}
             for c in nb.cells if c.cell_type == "code"]
    tests = [c["id"] for c in cells if c["test"]]
    contexts = {}
    job_runs = []
    for run in runs:
        unknown = set(run.replace) - {c["id"] for c in cells}
        if unknown:
            raise KeyError(f"no cells with grade_id {sorted(unknown)} in {assignment}")
        probes, hidden_probes = {}, []
        for gid in tests:
            ctx = prepare(checks, gid, run.seed)
            nonce, hidden_nonce = secrets.token_hex(16), secrets.token_hex(16)
            contexts[run.name, gid] = (ctx, nonce, hidden_nonce)
            probes[gid] = ctx.probe_source(nonce)
            if ctx.calls_of(hidden=True):
                hidden_probes.append((gid, ctx.probe_source(hidden_nonce, hidden=True)))
        job_runs.append({"name": run.name, "replace": dict(run.replace), "probes": probes,
                         "hidden_probes": hidden_probes})
    edition = student_edition()
    with tempfile.TemporaryDirectory(prefix="mixlearn-probes-") as tmp:
        job, result = os.path.join(tmp, "job.json"), os.path.join(tmp, "result.json")
        with open(job, "w") as fh:
            json.dump({"edition": edition, "cells": cells, "runs": job_runs, "cell_timeout": cell_timeout}, fh)
        workdir = os.path.join(tmp, "work")
        os.mkdir(workdir)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env.update(PYTHONPATH=os.path.dirname(edition), MPLBACKEND="Agg", HOME=workdir, PYTHONDONTWRITEBYTECODE="1")
        proc = subprocess.run([sys.executable, str(WORKER), job, result], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"probe worker failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
        with open(result) as fh:
            outputs = json.load(fh)
    points = grade_points(nb)
    graded = {}
    for run in runs:
        verdicts = {}
        for gid in tests:
            ctx, nonce, hidden_nonce = contexts[run.name, gid]
            result = outputs[run.name]
            problem = ctx.read_results(result["outputs"][gid], nonce)
            if problem is None and ctx.calls_of(hidden=True):
                problem = ctx.read_results(result["hidden_outputs"].get(gid, []), hidden_nonce, hidden=True)
            verdicts[gid] = ctx.judge(problem)
        errors = {g: f"{e['ename']}: {e['evalue']}" for g, e in outputs[run.name]["errors"].items()}
        graded[run.name] = Graded(verdicts, points, errors)
    return graded

