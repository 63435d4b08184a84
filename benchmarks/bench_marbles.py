"""Weights-only EM on marbles: (value, count) pairs against a per-sample implementation.

The weights depend on the data only through the distinct values and their counts, so
``em_n_components`` counts once and then iterates on two numbers. The per-sample
implementation is the textbook loop (``e_step``/``m_step`` over every marble). Both run
the same number of iterations from the same start, in one process, one BLAS thread.

    python benchmarks/bench_marbles.py [--n-large 100000000]
"""

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from mixlearn import Bernoulli, e_step, em_n_components, m_step
from mixlearn.datasets import make_marbles
from mixlearn.em import _count_values

COMPONENTS = [Bernoulli(0.8), Bernoulli(0.3)]


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def per_sample_em(x, n_iter):
    w = np.array([0.5, 0.5])
    for _ in range(n_iter):
        resp, _ = e_step(x, w, COMPONENTS)
        w = m_step(resp)
    return w


def marbles(n, seed=0):
    out = np.empty(n, dtype=np.uint8)
    step = 10_000_000
    for i, start in enumerate(range(0, n, step)):
        out[start : start + step] = make_marbles(min(step, n - start), 0.6, 0.8, 0.3, random_state=seed + i)[0]
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-compare", type=int, default=1_000_000, help="size for the side-by-side comparison")
    parser.add_argument("--n-large", type=int, default=100_000_000, help="size for the counting path alone")
    args = parser.parse_args()
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = marbles(args.n_compare)
        res, t_count = timed(em_n_components, x, COMPONENTS, tol=1e-12)
        w_ref, t_sample = timed(per_sample_em, x, res.n_iter)
        assert np.allclose(res.weights, w_ref, rtol=1e-9), (res.weights, w_ref)
        print(f"N = {args.n_compare:,} marbles, {res.n_iter} iterations, same answer ({res.weights[0]:.6f}):")
        print(f"  per-sample EM: {t_sample:.3f} s ({t_sample / res.n_iter * 1e3:.2f} ms/iteration)")
        print(f"  counted EM   : {t_count:.4f} s in total   -> {t_sample / t_count:,.0f}x faster")

        big = marbles(args.n_large)
        _, t_pass = timed(_count_values, big)
        res_big, t_total = timed(em_n_components, big, COMPONENTS, tol=1e-12)
        # the cost of one iteration, free of the counting pass: a long and a short run on 2 values
        small = big[:1000]
        _, t_long = timed(em_n_components, small, COMPONENTS, tol=0, max_iter=2001)
        _, t_short = timed(em_n_components, small, COMPONENTS, tol=0, max_iter=1)
        t_iter = (t_long - t_short) / 2000
        print(f"N = {args.n_large:,} marbles: counting pass {t_pass:.2f} s, then {res_big.n_iter} iterations at "
              f"{t_iter * 1e6:.0f} us each (total {t_total:.2f} s, pi = {res_big.weights[0]:.5f})")


if __name__ == "__main__":
    main()
