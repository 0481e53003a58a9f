"""Speed of the analysis against its GEMM bound, and of Λ at large d (issue 13).

Usage: python benchmarks/bench_speed.py [n d M] [--eigen n d] [--analyze-numpy] [--no-numpy] [--no-eigen]
       [--memory-mb MB] [--repeat N]
   default: n = 20000, d = 1024, M = 1024 (default time grid); Λ at n = 20000, d = 8192;
   the whole analysis with the numpy engine only with --analyze-numpy (minutes); --no-numpy skips
   the numpy engine (large sizes), --no-eigen the Λ benchmark; --memory-mb the engine's budget
   (default 1024: above n·M·16 bytes ≈ 512 MB the statistics are not stored and the one pass
   evaluates the grid refined 8 times); --repeat N runs each measurement N times and prints the
   median ratio (the host is shared: single ratios move by ~10%).

Prints ratios against baselines timed in the same run (the machine is shared: absolute times
are noisy, ratios less so):
* the 2-GEMM time: ``A0 @ Xᵀ`` and ``Ξ @ Xᵀ`` over all rows, in the engine's arithmetic, timed
  right before and right after each measurement (best of two each; the ratio uses the smaller);
* the mixture engine (numpy and numba log-sum-exp) and the whole ``analyze`` (numba engine);
* Λ: block Krylov (the analysis' method: k = 8, tol 1e-7) against scipy ``eigsh`` on a
  ``LinearOperator`` with the same matvec at the same tolerance.
"""

import sys
import time

import numpy as np


def timed(f):
    t = time.perf_counter()
    out = f()
    return time.perf_counter() - t, out


def engine_bench(n, d, M, budget=None):
    from regimes.analysis import analyze, default_times
    from regimes.data import as_source
    from regimes.engines import empirical_mixture

    g = np.random.default_rng(0)
    lab = np.repeat([0, 1], n // 2)
    X = g.standard_normal((n, d)) + np.where(lab[:, None] == 0, 1.0, -1.0) / np.sqrt(d) * 30
    A0, Xi = X[g.integers(0, n, M)], g.standard_normal((M, d))

    def gemms():  # the baseline, best of two, timed right before and right after each measurement
        return min(timed(lambda: (A0 @ X.T, Xi @ X.T))[0] for _ in range(2))

    def ratio(what, f):
        ratios = []
        for _ in range(REPEAT):
            b0 = gemms()
            t, out = timed(f)
            b1 = gemms()
            base = min(b0, b1)
            ratios.append(t / base)
            print(f"  {what:18s} {t:7.2f} s  = {t / base:5.2f} x GEMM (2 GEMMs {b0:.2f} s before, {b1:.2f} s after)")
        if REPEAT > 1:
            print(f"  {what:18s} median {np.median(ratios):.2f} x, range {min(ratios):.2f}–{max(ratios):.2f} x "
                  f"over {REPEAT} runs")
        return out

    tt = default_times([0.3, 2.0])
    # outside the timing: numba's compilation (or cache load) and the analysis' imports
    analyze(X[:400], lab[:400], samples=16, bootstrap=4, engine="numba")
    kw = {} if budget is None else {"memory_budget": budget}
    print(f"n = {n}, d = {d}, M = {M}, T = {tt.size}, memory budget {budget or 'default'}")
    src = as_source(X, labels=lab)  # validated once, outside the timing: the engine is one pass over it
    src.total_variance  # noqa: B018 - its row norms too (else read by the first timed run: the engine's min_time)
    for eng in ("numba",) if "--no-numpy" in sys.argv else ("numpy", "numba"):
        c = ratio(f"engine ({eng})", lambda eng=eng: empirical_mixture(src, tt, samples=M, engine=eng, **kw))
        print("    " + ("statistics stored" if c.stored else f"not stored: {c.fine['t'].size} times (refined grid)"))
    for eng in ("numpy", "numba") if "--analyze-numpy" in sys.argv else ("numba",):
        ratio(f"analyze ({eng})", lambda eng=eng: analyze(X, lab, samples=M, engine=eng, **kw))


def eigen_bench(n, d):
    from scipy.sparse.linalg import LinearOperator, eigsh

    from regimes.data.source import as_source
    from regimes.engines.covariance import top_eigenvalues

    g = np.random.default_rng(1)
    X = g.standard_normal((n, d), dtype=np.float32)
    X[:, :4] *= np.array([6.0, 4.0, 3.0, 2.5], dtype=np.float32)
    src = as_source(X)
    t_b, rb = timed(lambda: top_eigenvalues(src, k=8, method="block", tol=1e-7, rng=0))
    mu = X.mean(axis=0, dtype=np.float64)
    count = [0]

    def matvec(v):  # implicitly centred covariance, float32 GEMVs summed in float64
        count[0] += 1
        v = np.asarray(v, dtype=np.float64).ravel()
        y = (X @ v.astype(np.float32)).astype(np.float64) - mu @ v
        return ((y.astype(np.float32) @ X).astype(np.float64) - y.sum() * mu) / (n - 1)

    lin = LinearOperator((d, d), matvec=matvec, dtype=np.float64)
    v0 = np.random.default_rng(0).standard_normal(d)
    t_e, (vals, _) = timed(lambda: eigsh(lin, k=8, which="LA", v0=v0, tol=1e-7))
    vals = np.sort(vals)[::-1]
    print(f"Λ at n = {n}, d = {d} (float32): block Krylov {t_b:.2f} s ({rb.matvecs} products), "
          f"eigsh/LinearOperator {t_e:.2f} s ({count[0]} products): ratio {t_b / t_e:.2f}; "
          f"max |Δλ|/λ1 = {np.max(np.abs(rb.values - vals)) / vals[0]:.1e}")


#: runs of each measurement (``--repeat N``): the median ratio is printed too
REPEAT = 1

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a not in ("--analyze-numpy", "--no-numpy", "--no-eigen")]
    if "--repeat" in args:
        i = args.index("--repeat")
        REPEAT = max(1, int(args[i + 1]))
        del args[i:i + 2]
    budget = None
    if "--memory-mb" in args:
        i = args.index("--memory-mb")
        budget = int(args[i + 1]) << 20
        del args[i:i + 2]
    if "--eigen" in args:
        i = args.index("--eigen")
        eigen_bench(int(args[i + 1]), int(args[i + 2]))
        args = args[:i]
        if not args:
            sys.exit(0)
    elif "--no-eigen" not in sys.argv:
        eigen_bench(20000, 8192)
    if len(args) >= 3:
        engine_bench(int(args[0]), int(args[1]), int(args[2]), budget)
    elif not args:
        engine_bench(20000, 1024, 1024, budget)
