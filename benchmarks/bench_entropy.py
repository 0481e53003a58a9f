"""Entropy engine speed: GEMM pass with common random numbers vs two baselines, GEMM rate.

Usage: python benchmarks/bench_entropy.py [n d M T]   (default 50000 3072 2048 20; the issue's size)

Prints: the machine's float32 GEMM rate (a bare ``P @ Q.T`` of the engine's shape); the engine's
wall time, its two GEMMs' flops (2·2·M·n·d) over that wall time as a rate and as a fraction of the
machine rate; the time spent inside the engine's GEMM step (``_gram``: the two products plus the
D/G assembly, timed in the real run on the real blocks) as a fraction of the wall time; the
precision the engine chose (``precision="auto"``) with the probe's measured log-weight error; and
two baselines timed on a subset and scaled (stated in the output).
"""

import math
import sys
import time

import numpy as np
from scipy.special import logsumexp

from regimes.engines import empirical_mixture
from regimes.engines import mixture as mx

n, d, M, T = (int(x) for x in (sys.argv[1:5] if len(sys.argv) >= 5 else (50000, 3072, 2048, 20)))
rng = np.random.default_rng(0)
A = rng.standard_normal((n, d), dtype=np.float32)
ts = np.linspace(0.5, 4.0, T)
print(f"n={n} d={d} M={M} T={T} float32")

# machine float32 GEMM rate, engine-shaped product (M × d) @ (d × 4096)
P, Q = rng.standard_normal((M, d), dtype=np.float32), rng.standard_normal((4096, d), dtype=np.float32)
P @ Q.T
reps = 3
t0 = time.perf_counter()
for _ in range(reps):
    P @ Q.T
peak = reps * 2 * M * d * 4096 / (time.perf_counter() - t0)
print(f"machine float32 GEMM: {peak / 1e9:.1f} GFLOP/s")
del P, Q

# the real engine, with its GEMM step (and the precision probe, separately) timed in place
timing = {"gram": 0.0, "probe": 0.0, "in_probe": False}
_gram, _probe = mx._gram, mx._Probe.error


def _timed_gram(*args):
    t = time.perf_counter()
    out = _gram(*args)
    if not timing["in_probe"]:
        timing["gram"] += time.perf_counter() - t
    return out


def _timed_probe(*args):
    timing["in_probe"] = True
    t = time.perf_counter()
    out = _probe(*args)
    timing["probe"] += time.perf_counter() - t
    timing["in_probe"] = False
    return out


mx._gram, mx._Probe.error = _timed_gram, _timed_probe
t0 = time.perf_counter()
res = empirical_mixture(A, ts, samples=M, rng=1, store=False)
t_engine = time.perf_counter() - t0
mx._gram, mx._Probe.error = _gram, _probe
gemm_flops = 2 * 2 * M * n * d
tg = timing["gram"]
print(f"engine: {t_engine:.2f} s; its two GEMMs ({gemm_flops / 1e9:.1f} GFLOP) over the whole wall time: "
      f"{gemm_flops / t_engine / 1e9:.1f} GFLOP/s = {gemm_flops / t_engine / peak:.0%} of the machine rate")
print(f"  GEMM step inside the engine (2 GEMMs + D/G assembly, real blocks): {tg:.2f} s = "
      f"{tg / t_engine:.0%} of the wall time, {gemm_flops / tg / 1e9:.1f} GFLOP/s = {gemm_flops / tg / peak:.0%} "
      f"of the machine rate")
rest = (t_engine - tg - timing["probe"]) / t_engine
print(f"  precision probe: {timing['probe']:.2f} s = {timing['probe'] / t_engine:.0%}; the rest ({rest:.0%}) is "
      f"the online log-sum-exp over {T} times and data handling")
print(f"  precision: {res.precision} (auto; probe's log-weight error {res.precision_error:.2e} nats, "
      f"tolerance {mx.PRECISION_TOLERANCE})")

Ac = A - A.mean(0)
sel = Ac[rng.integers(0, n, M)]
Xi = rng.standard_normal((M, d), dtype=np.float32)
rows = 4096

# (a) recompute distances for every time: per time one GEMM x·a^μ (x changes with t) + online LSE
k = min(2, T)
t0 = time.perf_counter()
for t in ts[:k]:
    D2 = -math.expm1(-2 * t)
    x = (math.exp(-t) * sel + math.sqrt(D2) * Xi).astype(np.float32)
    xsq = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    m = np.full(M, -np.inf)
    s1 = np.zeros(M)
    for s in range(0, n, rows):
        B = Ac[s:s + rows]
        E = (xsq[:, None] - 2 * math.exp(-t) * (x @ B.T) + math.exp(-2 * t) * np.einsum("ij,ij->i", B, B)[None])
        E *= -1.0 / (2 * D2)
        m_new = np.maximum(m, E.max(1))
        s1 = s1 * np.exp(m - m_new) + np.exp(E - m_new[:, None]).sum(1)
        m = m_new
t_a = (time.perf_counter() - t0) * T / k
print(f"(a) distances recomputed per time: {t_a:.2f} s (timed {k} of {T} times, scaled) -> ratio {t_a / t_engine:.1f}x")

# (b) per-sample loop: for one (sample, time), the distances of x to all n rows, then logsumexp
ks = 4
t0 = time.perf_counter()
for i in range(ks):
    t = ts[i % T]
    D2 = -math.expm1(-2 * t)
    x = math.exp(-t) * sel[i] + math.sqrt(D2) * Xi[i]
    diff = x - math.exp(-t) * Ac
    E = -np.einsum("ij,ij->i", diff, diff, dtype=np.float64) / (2 * D2)
    logsumexp(E)
t_b = (time.perf_counter() - t0) * M * T / ks
print(f"(b) per-sample loop: {t_b:.1f} s (timed {ks} sample-times of {M * T}, scaled) -> ratio {t_b / t_engine:.0f}x")
fa = res.excess_entropy / res.alpha
print(f"f^e/alpha at t = {ts[0]:.2f}, {ts[-1]:.2f}: {fa[0]:.4f}, {fa[-1]:.4f}")
