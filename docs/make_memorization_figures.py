"""Regenerate the figures of the page "Is my model memorising?" (docs/memorization.md).

Usage: python docs/make_memorization_figures.py      (a few seconds)

A toy image set (16×16 grey images of two blob classes plus noise) stands in for a training set;
"generated" samples are a mixture of draws from the exact empirical score (copies by
construction) and fresh draws from the data distribution (what a generalising model gives).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
OUT = Path(__file__).resolve().parent / "_static"


def toy_images(rng, n, H=16):
    import numpy as np

    yy, xx = np.mgrid[:H, :H]
    base = np.stack([np.exp(-((xx - 5) ** 2 + (yy - 5) ** 2) / 8), np.exp(-((xx - 10) ** 2 + (yy - 10) ** 2) / 8)])
    lab = rng.integers(0, 2, n)
    return (base[lab] + 0.3 * rng.standard_normal((n, H, H))).reshape(n, -1), lab


def main() -> int:
    import matplotlib.pyplot as plt
    import numpy as np

    from regimes.engines.score import sample_exact_score
    from regimes.memorization import memorization_audit
    from regimes.plot.memorization import plot_closest_pairs, plot_ratio_histogram, plot_uturn
    from regimes.uturn import uturn

    rng = np.random.default_rng(0)
    A, lab = toy_images(rng, 300)
    held, _ = toy_images(rng, 200)
    fresh, _ = toy_images(rng, 140)
    copies = sample_exact_score(A, 60, sampler="ddim", steps=200, rng=1)
    G = np.concatenate([copies, fresh])
    audit = memorization_audit(G, A, reference=held, rng=2)
    print(f"f_mem = {audit.f_mem.value:.3f} {audit.f_mem.ci}; baseline {audit.reference.f_mem.value:.3f}")
    OUT.mkdir(exist_ok=True)
    for name, fig in (("memorization_ratio.png", plot_ratio_histogram(audit)),
                      ("memorization_pairs.png", plot_closest_pairs(audit, G, A, (16, 16), n_pairs=6))):
        fig.savefig(OUT / name, dpi=110)
        plt.close(fig)
    from regimes.analysis import analyze

    an = analyze(A, lab, samples=512, seed=0, bootstrap=50)  # t_S and t_C of the toy set
    t_S, t_C = an.t_S.value, an.headline_t_C
    print(f"t_S = {t_S:.3f}, t_C = {t_C:.3f}")
    res = uturn(A, [0.2 * t_C, 0.7 * t_C, 0.5 * (t_C + t_S), 1.5 * t_S], samples=200, labels=lab, rng=3)
    print("same point", [round(e.value, 3) for e in res.same_point])
    print("same class", [round(e.value, 3) for e in res.same_class])
    fig = plot_uturn(res, A, (16, 16), t_C=t_C, t_S=t_S, labels=lab)
    fig.savefig(OUT / "memorization_uturn.png", dpi=110)
    plt.close(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main())
