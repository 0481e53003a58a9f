"""Top covariance eigenvalue: Lanczos on the implicit operator vs forming C + eigh.

Usage: python benchmarks/bench_eigen.py [n d]   (default 50000 3072)
"""

import sys
import time

import numpy as np

from regimes.engines import top_eigenvalues

n, d = (int(x) for x in (sys.argv[1:3] if len(sys.argv) >= 3 else (50000, 3072)))
rng = np.random.default_rng(0)
A = rng.standard_normal((n, d), dtype=np.float32)
A[:, 0] *= 3.0  # a clear top eigenvalue (≈ 9)
print(f"n={n} d={d} float32")
t0 = time.perf_counter()
r = top_eigenvalues(A, 1, rng=0)
t_l = time.perf_counter() - t0
t0 = time.perf_counter()
Ac = A - A.mean(0)
C = (Ac.T @ Ac) / (n - 1)
lam = np.linalg.eigh(C)[0][-1]
t_f = time.perf_counter() - t0
print(f"Lanczos: {t_l:.2f} s ({r.matvecs} matvecs), Λ = {r.values[0]:.6f}")
print(f"form C + eigh: {t_f:.2f} s, Λ = {lam:.6f}; relative difference {abs(lam - r.values[0]) / lam:.1e}")
print(f"ratio {t_f / t_l:.1f}x")
