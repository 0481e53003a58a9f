"""Peak memory, and reads of the data, when analysing a memory-mapped .npy larger than the memory it may use.

Usage: python benchmarks/bench_memmap.py [GB d M] [--analyze]   (default 4 GB, d = 3072, M = 256)

Writes benchmarks/_data/big_<n>x<d>.npy (float32) once, in a separate process, then runs Λ
(Lanczos) and the mixture engine in another child process and reports that child's peak resident
memory as VmHWM from /proc/self/status. (Not ru_maxrss: Linux carries the parent's high-water mark
across fork + exec, so a parent that had just written the file through a memmap made every child
report ~the file size.) The parent never maps the file.

``--analyze``: the child runs the whole ``regimes.analyze`` instead (default options, the numba
engine when installed) and also prints how many times it read the file: the rows read through
``read_file_rows`` (every read of a pread source goes through it) divided by n.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

whole = "--analyze" in sys.argv
args = [a for a in sys.argv[1:] if a != "--analyze"]
gb, d, M = (float(args[0]), int(args[1]), int(args[2])) if len(args) >= 3 else (4.0, 3072, 256)
n = int(gb * 2**30 / (4 * d))
path = Path(__file__).parent / "_data" / f"big_{n}x{d}.npy"
path.parent.mkdir(exist_ok=True)

_HWM = """
def vm_hwm_gb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20  # kB -> GB
"""

if not path.exists():
    writer = _HWM + f"""
import numpy as np
mm = np.lib.format.open_memmap({str(path)!r}, mode="w+", dtype=np.float32, shape=({n}, {d}))
rng = np.random.default_rng(0)
for s in range(0, {n}, 8192):
    mm[s:s + 8192] = rng.standard_normal((min(8192, {n} - s), {d}), dtype=np.float32)
mm.flush()
print(f"wrote the file (writer's peak RSS {{vm_hwm_gb():.2f}} GB: the memmap's dirty pages, not the engines')")
"""
    subprocess.run([sys.executable, "-c", writer], check=True)
print(f"{path.name}: {os.path.getsize(path) / 2**30:.2f} GB, n={n} d={d}")
child = _HWM + f"""
import time, numpy as np
from regimes.data import load_source
from regimes.engines import top_eigenvalues, empirical_mixture
print(f"after imports: peak RSS {{vm_hwm_gb():.2f}} GB")
t0 = time.perf_counter()
src = load_source({str(path)!r})
t1 = time.perf_counter()
lam = top_eigenvalues(src, 1, rng=0).values[0]
t2 = time.perf_counter()
print(f"after load + Lambda: peak RSS {{vm_hwm_gb():.2f}} GB")
c = empirical_mixture(src, np.linspace(0.5, 4, 8), samples={M}, rng=0, memory_budget=512 * 2**20)
t3 = time.perf_counter()
print(f"load+validate {{t1-t0:.1f}} s, Lambda {{lam:.4f}} in {{t2-t1:.1f}} s, mixture engine {{t3-t2:.1f}} s "
      f"(precision {{c.precision}}, probe error {{c.precision_error:.1e}} nats)")
print(f"peak RSS (VmHWM of this process) {{vm_hwm_gb():.2f}} GB")
"""
analysis = _HWM + f"""
import time
import regimes.data.source as source
from regimes import analyze

real, rows = source.read_file_rows, [0]

def counted(path, offset, dtype, d, s, e, where):
    rows[0] += e - s
    return real(path, offset, dtype, d, s, e, where)

source.read_file_rows = counted
t0 = time.perf_counter()
r = analyze({str(path)!r}, engine="auto")
print(f"analyze: {{time.perf_counter() - t0:.1f}} s, data read {{rows[0] / {n}:.3f}} times "
      f"({{rows[0]}} rows, n = {n}); Lambda {{r.eigenvalue.value:.6g}}, "
      f"t_C {{r.t_C['commitment'].value:.6g}}, spectral {{r.t_C['spectral'].value:.6g}}")
print(f"peak RSS (VmHWM of this process) {{vm_hwm_gb():.2f}} GB")
"""
t0 = time.perf_counter()
subprocess.run([sys.executable, "-c", analysis if whole else child], check=True)
print(f"total {time.perf_counter() - t0:.1f} s")
