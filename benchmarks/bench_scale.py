"""EM at scale: chunked EM on data larger than memory, online EM, and a Dask cluster's second worker.

Four measurements, D = 10 and K = 5 throughout (data drawn from a known 5-component mixture):

(a) a float64 array on disk (a ``.npy`` file opened with ``numpy.load(mmap_mode="r")``, 3 GB by
    default) fitted by ``GaussianMixture.fit`` chunk by chunk, in a child process whose peak
    resident memory (``ru_maxrss``) is reported; the per-chunk cost (seconds per 10^6 rows per
    iteration) comes from the iterations' callbacks. On a subset that fits in memory, the chunked
    fit is compared with the in-memory fit from the same start (iterations, log-likelihood);
(b) time per iteration of the chunked path (a Dask array of the same in-memory data) against the
    in-memory path, both from the same start and on one core (Dask's synchronous scheduler, one
    BLAS thread; the local threaded scheduler's time on two cores is shown too); the median
    interval between the callbacks, one per iteration;
(c) ``partial_fit`` over a stream of 10^7 rows in batches of 10^4 against batch EM on the same
    rows: wall time and held-out log-likelihood per sample;
(d) a ``dask.distributed`` LocalCluster (processes, one thread each) with 2 workers against 1:
    time per iteration of the chunked fit of data stored as ``.npy`` chunks (``da.to_npy_stack``).

    python benchmarks/bench_scale.py [--quick] [--gb 3] [--only a,b,c,d] [--workdir DIR]

``--quick`` runs every measurement on small sizes (seconds); the default sizes are those above.
The data files go to ``--workdir`` (default: a temporary directory, removed afterwards).
Prints Markdown tables and the arithmetic for 10^10 rows.
"""

import os

# One BLAS thread per process or task: Dask's threads (or the cluster's workers) are the
# parallelism, and the in-memory path is timed on one core as well (see (b)).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mixlearn import GaussianMixture  # noqa: E402
from mixlearn.exceptions import ConvergenceWarning  # noqa: E402

D, K = 10, 5


def truth(seed=0):
    rng = np.random.default_rng(seed)
    weights = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    means = rng.normal(scale=3.0, size=(K, D))
    factors = rng.normal(scale=0.3, size=(K, D, D)) + np.eye(D)
    return weights, means, factors


def draw(n, rng, seed=0):
    weights, means, factors = truth(seed)
    labels = rng.choice(K, size=n, p=weights)
    noise = rng.standard_normal((n, D))
    return means[labels] + np.einsum("nd,nde->ne", noise, factors[labels])


class Timer:
    """Callback recording the time of every EM iteration."""

    def __init__(self):
        self.times = [time.perf_counter()]

    def __call__(self, model, iteration):
        self.times.append(time.perf_counter())

    def per_iteration(self):
        return float(np.median(np.diff(self.times[1:]))) if len(self.times) > 2 else float("nan")


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kwargs)


def write_npy(path, n, seed=0, block=1_000_000):
    """Write ``n`` rows of the mixture to ``path`` block by block (the array is never in memory)."""
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, D))
    rng = np.random.default_rng(seed)
    for start in range(0, n, block):
        stop = min(start + block, n)
        mm[start:stop] = draw(stop - start, rng)
    mm.flush()
    del mm


def peak_rss_mb():
    """Peak resident memory of this process (VmHWM: the high-water mark of its own address space).

    Not ``ru_maxrss``: Linux carries that over from the parent's address space through fork and
    exec, so a child started by a parent that had the data file mapped would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- (a) ------------------------------------------------------------------------------------------
def child_a(path, iters):
    """Run in a child process: the chunked fit of the memmap; report peak RSS and timings."""
    X = np.load(path, mmap_mode="r")
    timer = Timer()
    start = time.perf_counter()
    gm = quiet(GaussianMixture(K, random_state=0, max_iter=iters, tol=0.0, callback=timer).fit, X)
    total = time.perf_counter() - start
    peak_mb = peak_rss_mb()
    json.dump(
        {
            "rows": X.shape[0],
            "iters": gm.n_iter_,
            "total_s": total,
            "per_iter_s": timer.per_iteration(),
            "peak_rss_mb": peak_mb,
            "final_ll": gm.lower_bound_,
        },
        sys.stdout,
    )


def run_a(workdir, gigabytes, quick):
    n = int(gigabytes * 1e9 / (8 * D))
    path = Path(workdir) / "big.npy"
    t0 = time.perf_counter()
    write_npy(path, n)
    write_s = time.perf_counter() - t0
    iters = 2 if quick else 4
    out = subprocess.run(
        [sys.executable, __file__, "--child-a", str(path), "--iters", str(iters)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    res = json.loads(out.stdout)
    res["file_gb"] = path.stat().st_size / 1e9
    res["write_s"] = write_s
    # the same fit on a subset that fits in memory: chunked against in-memory, same start
    import dask.array as da

    sub = np.array(np.load(path, mmap_mode="r")[: min(n, 200_000 if quick else 1_000_000)])
    params = dict(random_state=0, tol=1e-6, max_iter=300)
    memory = quiet(GaussianMixture(K, **params).fit, sub)
    chunked = quiet(GaussianMixture(K, init_sample_size=len(sub), **params).fit, da.from_array(sub, chunks=(100_000, D)))
    res["subset_rows"] = len(sub)
    res["subset_iters"] = (memory.n_iter_, chunked.n_iter_)
    res["subset_rel_diff"] = float(
        np.max(np.abs(memory.history_["log_likelihood"] - chunked.history_["log_likelihood"]))
        / abs(memory.history_["log_likelihood"][-1])
    )
    path.unlink()
    return res


# -- (b) ------------------------------------------------------------------------------------------
def run_b(quick):
    import dask
    import dask.array as da

    n = 200_000 if quick else 2_000_000
    X = draw(n, np.random.default_rng(1))
    out = {"rows": n}
    runs = [
        ("in-memory", X, "synchronous"),
        ("chunked, 1 thread", da.from_array(X, chunks=(125_000, D)), "synchronous"),
        ("chunked, 2 threads", da.from_array(X, chunks=(125_000, D)), "threads"),
    ]
    for name, data, scheduler in runs:
        timer = Timer()
        gm = GaussianMixture(K, random_state=0, max_iter=10, tol=0.0, callback=timer, init_sample_size=n)
        with dask.config.set(scheduler=scheduler):
            quiet(gm.fit, data)
        out[name] = timer.per_iteration()
        out[name + " ll"] = gm.lower_bound_
    out["ratio"] = out["chunked, 1 thread"] / out["in-memory"]
    return out


# -- (c) ------------------------------------------------------------------------------------------
def run_c(quick):
    n_rows = 1_000_000 if quick else 10_000_000
    batch = 10_000
    rng = np.random.default_rng(2)
    X = draw(n_rows, rng)
    held_out = draw(200_000, np.random.default_rng(3))
    weights, means, factors = truth()
    covariances = factors.transpose(0, 2, 1) @ factors
    online = GaussianMixture(K, random_state=0)
    start = time.perf_counter()
    for lo in range(0, n_rows, batch):
        online.partial_fit(X[lo : lo + batch])
    online_s = time.perf_counter() - start
    start = time.perf_counter()
    batch_em = quiet(GaussianMixture(K, random_state=0, tol=1e-4, max_iter=500).fit, X)
    batch_s = time.perf_counter() - start
    truth_model = GaussianMixture(K).fit(held_out[:1000])  # then replace its parameters by the truth
    truth_model.weights_, truth_model.means_, truth_model.covariances_ = weights, means, covariances
    truth_model.precisions_cholesky_ = np.stack([np.linalg.inv(np.linalg.cholesky(c)).T for c in covariances])
    return {
        "rows": n_rows,
        "batch": batch,
        "online_s": online_s,
        "batch_s": batch_s,
        "batch_iters": batch_em.n_iter_,
        "online_ll": online.score(held_out),
        "batch_ll": batch_em.score(held_out),
        "truth_ll": truth_model.score(held_out),
    }


# -- (d) ------------------------------------------------------------------------------------------
def run_d(workdir, quick):
    import dask.array as da
    from distributed import Client, LocalCluster

    n = 400_000 if quick else 4_000_000
    stack = Path(workdir) / "stack"
    da.to_npy_stack(stack, da.from_array(draw(n, np.random.default_rng(4)), chunks=(100_000, D)))
    out = {"rows": n}
    for workers in (1, 2):
        with (
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
            Client(cluster),
        ):
            timer = Timer()
            quiet(GaussianMixture(K, random_state=0, max_iter=8, tol=0.0, callback=timer).fit, da.from_npy_stack(stack))
            out[workers] = timer.per_iteration()
    out["speedup"] = out[1] / out[2]
    shutil.rmtree(stack)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: every measurement in seconds")
    parser.add_argument("--gb", type=float, default=None, help="size of the on-disk array of (a), in GB (default 3)")
    parser.add_argument("--only", default="a,b,c,d", help="comma-separated subset of a,b,c,d")
    parser.add_argument("--workdir", default=None, help="where the data files go (default: a temporary directory)")
    parser.add_argument("--child-a", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--iters", type=int, default=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_a:
        child_a(args.child_a, args.iters)
        return
    gigabytes = args.gb if args.gb is not None else (0.08 if args.quick else 3.0)
    parts = set(args.only.split(","))
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench_scale_")
    print(f"# bench_scale ({'quick' if args.quick else 'full'}), {os.cpu_count()} cores, numpy {np.__version__}\n")
    try:
        if "a" in parts:
            a = run_a(workdir, gigabytes, args.quick)
            per_million = a["per_iter_s"] / (a["rows"] / 1e6)
            print("## (a) on disk, chunk by chunk\n")
            print(
                "| file | rows | peak RSS | s/iteration | s per 10^6 rows per iteration "
                "| subset: iterations (memory, chunked) | rel. diff |"
            )
            print("|---|---|---|---|---|---|---|")
            print(
                f"| {a['file_gb']:.2f} GB | {a['rows']:,} | {a['peak_rss_mb']:.0f} MB | {a['per_iter_s']:.2f} | "
                f"{per_million:.3f} | {a['subset_rows']:,} rows: {a['subset_iters']} | {a['subset_rel_diff']:.1e} |\n"
            )
            rows = 1e10
            for machines, cores in [(1, 2), (10, 16), (100, 16)]:
                seconds = rows / 1e6 * per_million * 2 / (machines * cores)  # measured on 2 cores
                print(
                    f"- 10^10 rows on {machines} machine(s) x {cores} cores: {per_million:.3f} s x 10^4 x 2 / "
                    f"{machines * cores} = {seconds:,.0f} s per iteration (compute only; reading "
                    f"{rows * D * 8 / 1e9 / machines:,.0f} GB per machine per iteration adds its disk time)"
                )
            print()
        if "b" in parts:
            b = run_b(args.quick)
            print("## (b) chunked against in-memory, data that fits\n")
            print(
                "| rows | in-memory s/iteration | chunked, 1 thread | ratio | chunked, 2 threads "
                "| final log-lik (memory, chunked) |"
            )
            print("|---|---|---|---|---|---|")
            print(
                f"| {b['rows']:,} | {b['in-memory']:.3f} | {b['chunked, 1 thread']:.3f} | {b['ratio']:.2f}x | "
                f"{b['chunked, 2 threads']:.3f} | {b['in-memory ll']:.6f}, {b['chunked, 1 thread ll']:.6f} |\n"
            )
        if "c" in parts:
            c = run_c(args.quick)
            print("## (c) online EM (partial_fit) against batch EM\n")
            print("| rows | batch | online time | batch EM time (iterations) | held-out ll/sample: online | batch EM | truth |")
            print("|---|---|---|---|---|---|---|")
            print(
                f"| {c['rows']:,} | {c['batch']:,} | {c['online_s']:.1f} s | {c['batch_s']:.1f} s ({c['batch_iters']}) | "
                f"{c['online_ll']:.4f} | {c['batch_ll']:.4f} | {c['truth_ll']:.4f} |\n"
            )
            gap = (c["batch_ll"] - c["online_ll"]) / abs(c["batch_ll"])
            print(f"online/batch time {c['online_s'] / c['batch_s']:.2f}; relative log-lik gap {gap:.2e}\n")
        if "d" in parts:
            d = run_d(workdir, args.quick)
            print("## (d) dask.distributed LocalCluster\n")
            print("| rows | 1 worker s/iteration | 2 workers s/iteration | speed-up |")
            print("|---|---|---|---|")
            print(f"| {d['rows']:,} | {d[1]:.3f} | {d[2]:.3f} | {d['speedup']:.2f}x |\n")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
