"""Time of the memorisation audit against the bare float32 GEMM of the same sizes.

Usage: python benchmarks/bench_memorization.py [m n d]   (default 10000 50000 3072)

TRAIN (n × d float32, 5% of the generated samples are near-copies of it) is written once to
benchmarks/_data/ and audited as a memory-mapped .npy, streamed in blocks. Printed: the time of
loading (the DataSource's validation pass), of the audit itself, and of the bare GEMM
``generated @ train.T`` in float32 over the same rows measured in the same run, and their ratio.
"""

import sys
import time
from pathlib import Path

import numpy as np

from regimes.data import load_source
from regimes.memorization import memorization_audit

m, n, d = (int(x) for x in sys.argv[1:4]) if len(sys.argv) >= 4 else (10_000, 50_000, 3072)
path = Path(__file__).parent / "_data" / f"mem_train_{n}x{d}.npy"
path.parent.mkdir(exist_ok=True)
if not path.exists():
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    rng = np.random.default_rng(0)
    for s in range(0, n, 4096):
        mm[s:s + 4096] = rng.standard_normal((min(4096, n - s), d), dtype=np.float32)
    mm.flush()
    del mm
train_mm = np.load(path, mmap_mode="r")
rng = np.random.default_rng(1)  # not the training set's stream: fresh samples must not be its rows
G = rng.standard_normal((m, d), dtype=np.float32)
copies = rng.random(m) < 0.05
G[copies] = train_mm[np.sort(rng.integers(0, n, copies.sum()))] + 0.01 * rng.standard_normal(
    (copies.sum(), d), dtype=np.float32)

t0 = time.perf_counter()
src = load_source(path, center=False)
t_load = time.perf_counter() - t0

t0 = time.perf_counter()
audit = memorization_audit(G, src, bootstrap=1000)
t_audit = time.perf_counter() - t0

# the bare GEMM: the same products, the training set in memory in blocks of 8192 rows
T = np.ascontiguousarray(train_mm)
t0 = time.perf_counter()
for s in range(0, n, 8192):
    G @ T[s:s + 8192].T
t_gemm = time.perf_counter() - t0

print(f"generated {m} × train {n} × d {d} (float32), true near-copy fraction {copies.mean():.4f}")
print(f"f_mem = {audit.f_mem.value:.4f} {audit.f_mem.ci}, rows re-computed in float64: "
      f"{audit.generated.recomputed}")
print(f"load (validation pass) {t_load:.2f} s")
print(f"audit                  {t_audit:.2f} s")
print(f"bare float32 GEMM      {t_gemm:.2f} s")
print(f"audit / GEMM           {t_audit / t_gemm:.2f}")
