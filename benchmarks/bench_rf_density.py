"""Time the random-features density on a 400-point grid with all bulk edges.

Compares the vectorised continuation + Newton solver of regimes.rmt with a per-point solver
(Levenberg–Marquardt on real and imaginary parts, its own ε continuation). The per-point solver is
timed on a subset of the grid and extrapolated (``--full`` runs the whole grid).

    .venv/bin/python benchmarks/bench_rf_density.py [--psi-p 8 --psi-n 2 --t 0.1] [--full]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from regimes.rmt import RandomFeatures
from regimes.rmt.random_features import _pointwise_reference_density


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--psi-p", type=float, default=8.0)
    ap.add_argument("--psi-n", type=float, default=2.0)
    ap.add_argument("--t", type=float, default=0.1)
    ap.add_argument("--points", type=int, default=400)
    ap.add_argument("--full", action="store_true", help="run the per-point solver on every point")
    a = ap.parse_args()

    best = np.inf
    for _ in range(3):
        rf = RandomFeatures(a.psi_p, a.psi_n, a.t)
        _ = rf.constants  # quadrature, not part of the solver timing
        t0 = time.perf_counter()
        bulks = rf.bulks  # edge search + masses
        lam = rf.density_grid(a.points)
        rho = rf.density(lam)
        best = min(best, time.perf_counter() - t0)
    stride = 1 if a.full else 10
    sub = np.arange(0, lam.size, stride)
    t0 = time.perf_counter()
    ref = _pointwise_reference_density(rf, lam[sub])
    t_pp = (time.perf_counter() - t0) * lam.size / sub.size
    # the per-point solver gets no edges: its grid time is a lower bound for the same job
    mask = ref > 1e-3
    rel = np.max(np.abs(rho[sub][mask] - ref[mask]) / ref[mask]) if mask.any() else float("nan")
    print(f"psi_p={a.psi_p:g} psi_n={a.psi_n:g} t={a.t:g} grid={a.points}")
    for key in ("slow", "satellite", "fast"):
        b = bulks[key]
        if b is not None:
            print(f"  {key:9s} edges [{b.edges[0]:.6g}, {b.edges[1]:.6g}] mass {b.mass:.6g}")
    print(f"vectorised (density + all edges + masses): {best:.3f} s")
    print(f"per-point LM ({'full grid' if a.full else f'{sub.size} points, extrapolated'}, "
          f"density only): {t_pp:.2f} s")
    print(f"speed-up: {t_pp / best:.0f}x; max relative difference where rho > 1e-3: {rel:.2e}")


if __name__ == "__main__":
    main()
