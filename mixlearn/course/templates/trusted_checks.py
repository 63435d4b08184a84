"""Trusted checks of assignment ASSIGNMENT.

This file is never released and never reaches a student's kernel.  For every autograder test cell
of the assignment's notebook it says which of the student's functions to call, on which inputs, and
how to judge what comes back.  The calls run in the student's sandboxed kernel; everything written
here (the expected values, the judges) runs in the grader's process, with the real mixlearn.

To start, replace the example below (the check of a function ``mixture_pmf``) by one ``@check`` per
autograder test cell.  The guide: ``mixlearn-course guide`` (mixlearn/course/templates/GUIDE.md).
"""

import numpy as np

import mixlearn as ml
from mixlearn.course.checks import as_array, check, expect, expect_close

# Library functions emptied in the student edition while THIS assignment is graded, because it asks
# the students to write them: "<file under mixlearn/>:<function>", e.g. ("mixture.py:sample_mixture",)
# for an assignment about sampling.  EM (e_step, m_step, em_*), posterior and the estimators are always
# switched off; numpy and scipy always work.
SWITCHED_OFF = ()


# ---------------------------------------------------------- one @check per autograder test cell
def _pmf_oracle(x, weights, rates):
    """The right answer, from mixlearn's own functions (they run here, never in the sandbox)."""
    return np.exp(ml.mixture_logpdf(x, weights, [ml.Poisson(r) for r in rates]))


def _pmf_case(t, x, weights, rates, what, hidden=False):
    expected = _pmf_oracle(x, weights, rates)   # computed here, before any student code runs

    def judge(got):   # the student's result as plain data; an AssertionError fails the case
        got = as_array(got, what, expected.shape)   # form first: a wrong shape reads as a sentence
        expect(np.all(got >= 0), f"{what}: a probability cannot be negative.")
        expect_close(got, expected, what)           # "... should be [..], but it is [..]."

    t.case(what, judge, t.call("mixture_pmf", x, weights, rates), hidden=hidden)


@check("test_mixture_pmf")   # the grade_id of the autograder test cell
def _(t):
    # visible cases: what the notebook's own test cell asserts (their messages may quote values)
    _pmf_case(t, np.array([0, 1, 4]), [0.5, 0.5], [1.0, 3.0], "mixture_pmf([0, 1, 4], [0.5, 0.5], [1.0, 3.0])")
    _pmf_case(t, np.array([2, 0]), [1.0], [2.0], "mixture_pmf with a single component")
    # hidden cases: inputs drawn from t.rng (the grader's seed for this student and this cell).
    # The student sees only "Hidden check failed (<label>)", so the label is fixed text.
    r = t.rng
    for _ in range(3):
        k = int(r.integers(2, 5))
        _pmf_case(t, r.integers(0, 20, int(r.integers(5, 30))), r.dirichlet(np.ones(k)), r.uniform(0.5, 10.0, k),
                  "mixture_pmf on random counts and components", hidden=True)
