"""The Dask path (``analyze(..., cluster=...)``) against the in-process path on the same machine.

Prints the wall time of the whole analysis in process and on a LocalCluster of 2 worker threads
(``processes=False``: the loopback-free setting the tests use), their ratio (target of issue 13:
<= 1.5), the time of the cluster's start-up (paid once per ``--cluster`` run), and the largest
differences of the results (summation order only).

    python benchmarks/bench_dask.py [--n 20000] [--d 1024] [--samples 1024] [--workers 2] [--numba]
        [--dask-array]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    X[: n // 2, :8] += 2.0
    return X, np.repeat([0, 1], [n // 2, n - n // 2])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--d", type=int, default=1024)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--numba", action="store_true", help="the fused log-sum-exp kernel in both paths")
    ap.add_argument("--dask-array", action="store_true",
                    help="pass the data as dask.array.from_array(X) (its chunks embedded in the task graphs) "
                         "instead of the numpy array, which the analysis scatters to the workers once")
    args = ap.parse_args(argv)

    import dask.array as da
    import distributed

    from regimes.analysis import analyze

    X, lab = _data(args.n, args.d)
    kw = dict(samples=args.samples, bootstrap=args.bootstrap, seed=0, engine="numba" if args.numba else "numpy")
    analyze(X[:2000], lab[:2000], samples=32, bootstrap=10, engine=kw["engine"])  # warm-up (numba compile)

    t0 = time.perf_counter()
    a = analyze(X, lab, **kw)
    t_in = time.perf_counter() - t0

    t0 = time.perf_counter()
    lc = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=False,
                                  dashboard_address=None)
    client = distributed.Client(lc, set_as_default=False)
    t_start = time.perf_counter() - t0
    try:
        arr = X if not args.dask_array else da.from_array(X, chunks=(max(1, (32 * 2**20) // (4 * args.d)), args.d))
        t0 = time.perf_counter()
        b = analyze(arr, lab, cluster=client, **kw)
        t_dask = time.perf_counter() - t0
    finally:
        client.close()
        lc.close()

    diff_lam = abs(a.eigenvalue.value - b.eigenvalue.value) / abs(a.eigenvalue.value)
    diff_curve = max(float(np.max(np.abs(getattr(a.curves, k) - getattr(b.curves, k))))
                     / float(np.max(np.abs(getattr(a.curves, k)))) for k in ("excess_entropy", "commitment"))
    diff_tc = max(abs(a.t_C[k].value - b.t_C[k].value) / abs(a.t_C[k].value) for k in a.t_C)
    print(f"n = {args.n}, d = {args.d}, M = {args.samples}, float32, 2 classes, engine {kw['engine']}")
    print(f"in-process analyze          {t_in:8.2f} s")
    print(f"Dask, {args.workers} local workers       {t_dask:8.2f} s   ratio {t_dask / t_in:.2f} (target <= 1.5)")
    print(f"cluster start-up            {t_start:8.2f} s   ratio with it {(t_dask + t_start) / t_in:.2f}")
    print(f"differences: Λ {diff_lam:.1e}, curves {diff_curve:.1e} (of their scale), t_C {diff_tc:.1e}")


if __name__ == "__main__":
    main()
