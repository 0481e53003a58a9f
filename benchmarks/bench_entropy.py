"""Entropy engine speed: GEMM pass with common random numbers vs two baselines, GEMM rate.

Usage: python benchmarks/bench_entropy.py [n d M T]   (default 50000 3072 2048 20; the issue's size)
Prints times and ratios; baselines are timed on a subset and scaled (stated in the output).
"""

import math
import sys
import time

import numpy as np

from regimes.engines import empirical_mixture

n, d, M, T = (int(x) for x in (sys.argv[1:5] if len(sys.argv) >= 5 else (50000, 3072, 2048, 20)))
rng = np.random.default_rng(0)
A = rng.standard_normal((n, d), dtype=np.float32)
ts = np.linspace(0.5, 4.0, T)
print(f"n={n} d={d} M={M} T={T} float32")

# machine float32 GEMM rate
P, Q = rng.standard_normal((M, d), dtype=np.float32), rng.standard_normal((4096, d), dtype=np.float32)
P @ Q.T
reps = 3
t0 = time.perf_counter()
for _ in range(reps):
    P @ Q.T
peak = reps * 2 * M * d * 4096 / (time.perf_counter() - t0)
print(f"machine float32 GEMM: {peak / 1e9:.1f} GFLOP/s")

t0 = time.perf_counter()
res = empirical_mixture(A, ts, samples=M, rng=1, store=False)
t_engine = time.perf_counter() - t0
gemm_flops = 2 * 2 * M * n * d
# GEMM part alone, same blocks
Ac = A - A.mean(0)
sel = Ac[:M].copy()
Xi = rng.standard_normal((M, d), dtype=np.float32)
rows = 4096
t0 = time.perf_counter()
for s in range(0, n, rows):
    B = Ac[s:s + rows]
    sel @ B.T
    Xi @ B.T
t_gemm = time.perf_counter() - t0
print(f"engine: {t_engine:.2f} s  (GEMM part {t_gemm:.2f} s at {gemm_flops / t_gemm / 1e9:.1f} GFLOP/s = "
      f"{gemm_flops / t_gemm / peak:.0%} of peak; whole engine {gemm_flops / t_engine / 1e9:.1f} GFLOP/s)")

# (a) recompute distances for every time: per time one GEMM x·a^μ (x changes with t) + LSE
k = 2
t0 = time.perf_counter()
for t in ts[:k]:
    x = (math.exp(-t) * sel + math.sqrt(-math.expm1(-2 * t)) * Xi).astype(np.float32)
    xsq = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    for s in range(0, n, rows):
        B = Ac[s:s + rows]
        E = (xsq[:, None] - 2 * math.exp(-t) * (x @ B.T) + math.exp(-2 * t) * np.einsum("ij,ij->i", B, B)[None])
        np.exp(-(E - E.min(1, keepdims=True)) / 2, out=E)
t_a = (time.perf_counter() - t0) * T / k
print(f"(a) distances recomputed per time: {t_a:.2f} s (timed {k} of {T} times, scaled) -> ratio {t_a / t_engine:.1f}x")

# (b) per-sample loop over the dataset (numpy vector ops, one sample and one time at a time)
ks = 4
t0 = time.perf_counter()
for i in range(ks):
    t = ts[i % T]
    x = math.exp(-t) * sel[i] + math.sqrt(-math.expm1(-2 * t)) * Xi[i]
    E = -((Ac - math.exp(-t) * x) ** 2).sum(1)
t_b = (time.perf_counter() - t0) * M * T / ks
print(f"(b) per-sample loop: {t_b:.1f} s (timed {ks} sample-times of {M * T}, scaled) -> ratio {t_b / t_engine:.0f}x")
fa = res.excess_entropy / res.alpha
print(f"f^e/alpha at t = {ts[0]:.2f}, {ts[-1]:.2f}: {fa[0]:.4f}, {fa[-1]:.4f}")
