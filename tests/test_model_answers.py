"""The numbers in the model answers of the written questions are the numbers the runs give.

A model answer is read by the instructor who grades against it, so a number it states is held to
the book's standard: recomputed here with mixlearn (the oracle the assignment's own tests use) and
compared with the text as written, through :func:`mixlearn.teaching.stated.check`.
"""

import re

import nbformat
import numpy as np
from exercise_support import ROOT, nbgrader_meta

import mixlearn as ml
from mixlearn.teaching.stated import check


def model_answer(assignment, grade_id):
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id]
    return cell.source


def em_against_closed_form(p1, p2):
    """The bag and the run of assignment 3's demo (question 1) or question 2, at the default tol."""
    x, _ = ml.datasets.make_marbles(1000, 0.6, p1, p2, random_state=7)
    run = ml.em_two_components(x, p1, p2, pi_init=0.5, tol=1e-10, max_iter=100_000)
    closed = float(np.clip((x.mean() - p2) / (p1 - p2), 0, 1))
    f1, f2 = np.where(x == 1, p1, 1 - p1), np.where(x == 1, p2, 1 - p2)
    mix = closed * f1 + (1 - closed) * f2
    info, rate = np.mean((f1 - f2) ** 2 / mix**2), np.mean(f1 * f2 / mix**2)
    return run, closed, np.sqrt(2 * 1e-10 / (info * (1 - rate**2)))


def test_question_1_states_the_gap_between_the_iterate_and_the_formula():
    text = model_answer("03_em_two", "answer_why_em")
    assert "up to its stopping tolerance" not in text  # the claim the gap of 1e-5 contradicts
    run, closed, bound = em_against_closed_form(0.8, 0.3)
    gap = abs(run.weights[0] - closed)
    assert 1e-10 < 1e-3 * gap and gap <= bound  # far above tol, below sqrt(2 tol / (i (1 - r^2)))
    assert round(run.weights[0], 4) == round(closed, 4)  # "agree to four decimals"
    check(re.search(r"about \$(\d\.\d) \\times 10\^\{-5\}\$", text).group(1) + "e-5", gap)
    run, closed, bound = em_against_closed_form(0.52, 0.48)
    check("0.8457", run.weights[0])
    check("0.85", closed)
    assert "$0.8457$" in text and "$0.85$" in text


def test_question_2_states_the_run_it_asks_for():
    text = model_answer("03_em_two", "answer_slow_convergence")
    run, closed, bound = em_against_closed_form(0.52, 0.48)
    check("4,300", run.n_iter, about=1.02)
    assert "4,300 iterations" in text
    check("0.004", closed - run.weights[0])
    assert "$0.8457$" in text and "$0.004$" in text
    fast, _, _ = em_against_closed_form(0.8, 0.3)
    check("30", fast.n_iter, about=1.1)
    assert "about 30" in text
