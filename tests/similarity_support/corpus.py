"""A class of independent students built from the hand-written answer variants.

``load(assignment)`` gives every answer cell's variants; ``students(assignment, n, seed)`` picks one
variant per answer cell for each of ``n`` students so that any two students differ in at least half of
the answer cells (rounded up). The choice is a code with that minimum distance: a parity code
(the last cell's choice is the sum of the others' modulo q) when half the cells is at most two, a
Reed-Solomon code over the integers modulo a prime otherwise; the variants behind the code's symbols
and the order of the students are drawn from ``seed``.
"""

import importlib
import itertools
import math

import numpy as np

ASSIGNMENTS = ("01_sampling", "02_posteriors", "03_em_two", "04_em_n", "05_gmm_1d", "06_gmm_missing")


def load(assignment):
    """``{grade_id: [cell source, ...]}`` for ``assignment`` (e.g. ``"04_em_n"``), in the notebook's order."""
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"assignment should be one of {', '.join(ASSIGNMENTS)}; got {assignment!r}.")
    module = importlib.import_module(f".variants.a{assignment}", __package__)
    if module.ASSIGNMENT != assignment:
        raise ValueError(f"variants/a{assignment}.py declares ASSIGNMENT = {module.ASSIGNMENT!r}; fix the module.")
    return {grade_id: list(sources) for grade_id, sources in module.VARIANTS.items()}


def _largest_prime_at_most(q):
    return max(p for p in range(2, q + 1) if all(p % d for d in range(2, math.isqrt(p) + 1)))


def _codewords(n_cells, q):
    """Tuples over range(q) of length n_cells, any two differing in at least ceil(n_cells / 2) places."""
    distance = math.ceil(n_cells / 2)
    if n_cells == 1:
        return [(a,) for a in range(q)]
    if distance <= 2:
        # parity code: the last symbol is the sum of the others, so one change forces a second one
        return [free + (sum(free) % q,) for free in itertools.product(range(q), repeat=n_cells - 1)]
    # Reed-Solomon: polynomials of degree < n_cells - distance + 1 evaluated at n_cells points of Z_p;
    # two distinct ones agree in at most (degree bound - 1) points
    p = _largest_prime_at_most(q)
    if p < n_cells:
        return []
    k = n_cells - distance + 1
    return [
        tuple(sum(c * t**j for j, c in enumerate(coeffs)) % p for t in range(n_cells))
        for coeffs in itertools.product(range(p), repeat=k)
    ]


def capacity(assignment):
    """How many students ``students`` can compose for ``assignment``."""
    variants = load(assignment)
    return len(_codewords(len(variants), min(len(v) for v in variants.values())))


def students(assignment, n, seed):
    """``n`` students, each ``{grade_id: cell source}``, any two differing in at least half of the cells.

    Raises ValueError if ``n`` is larger than ``capacity(assignment)``.
    """
    variants = load(assignment)
    grade_ids = list(variants)
    q = min(len(v) for v in variants.values())
    words = _codewords(len(grade_ids), q)
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n should be a non-negative integer; got {n!r}.")
    if n > len(words):
        raise ValueError(
            f"n = {n} students is more than the {len(words)} that the variants of {assignment} allow "
            f"(any two must differ in at least half of its {len(grade_ids)} answer cells); "
            "write more variants or ask for fewer students."
        )
    rng = np.random.default_rng(seed)
    # which variant each symbol stands for, per cell (relabelling keeps the distances)
    symbol_to_variant = {g: rng.permutation(len(variants[g]))[:q] for g in grade_ids}
    chosen = rng.permutation(len(words))[:n]
    return [{g: variants[g][int(symbol_to_variant[g][words[i][j]])] for j, g in enumerate(grade_ids)} for i in chosen]
