"""Peak memory of analysing a memory-mapped .npy larger than the memory it may use.

Usage: python benchmarks/bench_memmap.py [GB d M]   (default 4 GB, d = 3072, M = 256)
Writes benchmarks/_data/big.npy (float32) once, then runs Λ (Lanczos) and the mixture engine in a
child process and reports its peak resident memory (ru_maxrss).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

gb, d, M = (float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) >= 4 else (4.0, 3072, 256)
n = int(gb * 2**30 / (4 * d))
path = Path(__file__).parent / "_data" / f"big_{n}x{d}.npy"
path.parent.mkdir(exist_ok=True)
if not path.exists():
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    rng = np.random.default_rng(0)
    for s in range(0, n, 8192):
        mm[s:s + 8192] = rng.standard_normal((min(8192, n - s), d), dtype=np.float32)
    mm.flush()
    del mm
print(f"{path.name}: {os.path.getsize(path) / 2**30:.2f} GB, n={n} d={d}")
child = f"""
import resource, time, numpy as np
from regimes.data import _load_source
from regimes.engines import top_eigenvalues, empirical_mixture
t0 = time.perf_counter()
src = _load_source({str(path)!r})
t1 = time.perf_counter()
lam = top_eigenvalues(src, 1, rng=0).values[0]
t2 = time.perf_counter()
c = empirical_mixture(src, np.linspace(0.5, 4, 8), samples={M}, rng=0, memory_budget=512 * 2**20)
t3 = time.perf_counter()
print(f"load+validate {{t1-t0:.1f}} s, Lambda {{lam:.4f}} in {{t2-t1:.1f}} s, mixture engine {{t3-t2:.1f}} s")
print(f"peak RSS {{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f}} GB")
"""
t0 = time.perf_counter()
subprocess.run([sys.executable, "-c", child], check=True)
print(f"total {time.perf_counter() - t0:.1f} s")
