"""Regenerate the figures of the tour page (docs/tour.md) into docs/_static/.

Usage: python docs/make_figures.py      (about a minute on two cores)

The PNGs are committed so that the documentation builds offline without recomputing them; run
this script again after a change to the plotting code or to the numbers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
HERE = Path(__file__).resolve().parent
OUT = HERE / "_static"


def main() -> int:
    import matplotlib.pyplot as plt

    from regimes import GaussianMixture
    from regimes.analysis import analyze
    from regimes.models import example_mixture
    from regimes.phase import ntau_phase_diagram
    from regimes.plot import plot_curves
    from regimes.plot.phase import plot_phase_nd, plot_phase_np, plot_phase_ntau
    from regimes.plot.spectra import plot_rf_density
    from regimes.plot.timeline import plot_timeline, plot_timeline_compare
    from regimes.rmt import RandomFeatures

    OUT.mkdir(exist_ok=True)

    def save(fig, name):
        fig.savefig(OUT / name, dpi=90, bbox_inches="tight")
        plt.close(fig)
        print(f"wrote {OUT / name}")

    m = GaussianMixture(n=4000, d=1024, separation=1.0, variance=1.0)
    tS, tC = m.speciation_time(), m.collapse_time()
    save(plot_timeline(tS, tC, "linear"), "tour_timeline.png")
    save(plot_timeline(tS, tC, "cosine", axis="steps"), "tour_timeline_steps.png")
    save(plot_timeline_compare(tS, tC), "tour_timeline_compare.png")
    X, lab, _, _ = example_mixture(0, d=256, per_class=600)
    res = analyze(X, lab, samples=256, bootstrap=50, eigen_bootstrap=0)
    save(plot_curves(res), "tour_curves.png")
    # no dataset marked: this map is at σ² = 1 (a preset sits elsewhere in its own units)
    save(plot_phase_nd(points=121, separation=0.3), "tour_nd.png")
    save(plot_phase_np(psi_n_range=(0.1, 100), psi_p_range=(0.1, 100), points=121, d=100,
                       mark=(500, 2000, "a model: n = 500, p = 2000")),
         "tour_np.png")
    ntau = ntau_phase_diagram(points=121)  # what `regimes phase-diagram ntau --out` draws (7 window points)
    save(plot_phase_ntau(ntau, window=ntau.windows), "tour_ntau.png")
    save(plot_rf_density(RandomFeatures(8.0, 2.0, 0.1), d=100, rng=0), "tour_rf_density.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
