"""Measure the four t_C estimators against the simulated backward dynamics (docs/which_tc.md).

Usage: python docs/make_which_tc.py   (needs scikit-learn for the digits; about 5 minutes on two cores)

For each dataset: ``regimes analyze`` (commitment, entropy, spectral, gaussian estimates with their
intervals) and :func:`regimes.uturn.simulated_collapse_time` — U-turns with the reverse SDE and the
exact empirical score, whose same-point fraction crosses ½ at the collapse of the dynamics. Prints
a Markdown table and writes docs/_static/which_tc.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "_static"
NAMES = ("commitment", "entropy", "spectral", "gaussian")


def datasets():
    g = np.random.default_rng(0)
    yield "N(0, I), n = 500, d = 64", g.standard_normal((500, 64)), None
    lab = np.repeat([0, 1], 250)
    yield "two-class mixture (m̃ = 1), n = 500, d = 64", g.standard_normal((500, 64)) + np.where(
        lab[:, None] == 0, 1.0, -1.0), lab
    from sklearn.datasets import load_digits

    dig = load_digits()
    # pixel values 0..16 mapped to [-1, 1] (x/8 − 1; the offset is removed by centring)
    yield "scikit-learn digits in [−1, 1], n = 1797, d = 64", dig.data / 8.0, dig.target


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from regimes.analysis import analyze
    from regimes.uturn import simulated_collapse_time

    rows, results = [], []
    for name, X, lab in datasets():
        r = analyze(X, lab, samples=1024, bootstrap=100, seed=0)
        c = r.t_C["commitment"]
        sim = simulated_collapse_time(X, np.linspace(0.75 * c.value, 1.3 * c.value, 15), samples=800, rng=1)
        results.append((name, r, sim))
        cells = [f"{r.t_C[k].value:.3f} [{r.t_C[k].ci[0]:.3f}, {r.t_C[k].ci[1]:.3f}]" for k in NAMES]
        causes = "; ".join(r.diagnostics.causes) or "—"
        rows.append(f"| {name} | {sim.value:.3f} [{sim.ci[0]:.3f}, {sim.ci[1]:.3f}] | " + " | ".join(cells)
                    + f" | {causes} |")
    print("| data | simulated dynamics | " + " | ".join(NAMES) + " | diagnostics: likely causes |")
    print("|---" * 7 + "|")
    print("\n".join(rows))

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.4), sharey=False)
    for ax, (name, r, sim) in zip(axes, results, strict=True):
        ax.axhspan(sim.ci[0], sim.ci[1], color="0.85", label="simulated dynamics (95%)")
        ax.axhline(sim.value, color="0.3", lw=1)
        for i, k in enumerate(NAMES):
            e = r.t_C[k]
            lo, hi = e.ci if np.isfinite(e.ci[0]) else (e.value, e.value)
            ax.errorbar(i, e.value, yerr=[[e.value - lo], [hi - e.value]], fmt="o", capsize=3,
                        color=("C2" if k == "commitment" else "C0"))
        ax.set_xticks(range(len(NAMES)), ["$\\varphi_C = 1/2$", "$f^e/\\alpha = 0.1$", "spectral", "Gaussian"],
                      fontsize=8)
        ax.set_title(name, fontsize=8)
        ax.set_ylabel("$t_C$ (OU time)")
    axes[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(OUT / "which_tc.png", dpi=110)
    print(f"wrote {OUT / 'which_tc.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
