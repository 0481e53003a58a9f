"""The random-features spectrum figure: mass notes above the data, narrow bulks resolved."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")


def _figure(psi_p, psi_n, t, d=100):
    from regimes.plot.spectra import plot_rf_density
    from regimes.rmt import RandomFeatures

    rf = RandomFeatures(psi_p, psi_n, t)
    fig = plot_rf_density(rf, d=d, rng=0)
    fig.canvas.draw()
    return rf, fig


@pytest.mark.parametrize("psi_p, psi_n, t", [(8.0, 2.0, 0.5), (2.0, 0.5, 0.1), (4.0, 16.0, 0.05)])
def test_mass_notes_sit_above_every_bar_and_the_curve(psi_p, psi_n, t):
    _, fig = _figure(psi_p, psi_n, t)
    ax = fig.axes[0]
    data_top = max(max(np.max(line.get_ydata()) for line in ax.get_lines() if len(line.get_ydata()) > 2),
                   max(p.get_path().vertices[:, 1].max() for p in ax.patches))
    y_top_display = ax.transData.transform((1.0, data_top))[1]
    notes = [t for t in ax.texts if "mass" in t.get_text()]
    assert notes
    for note in notes:
        assert note.get_window_extent().y0 > y_top_display  # the whole box is above the data


def test_narrow_slow_bulk_gets_a_linear_inset_whose_histogram_matches_the_bulk():
    rf, fig = _figure(32.0, 4.0, 1.0)
    lo, hi = rf.bulks["slow"].edges
    ax = fig.axes[0]
    (inset,) = [a for a in ax.child_axes]
    (step,) = inset.patches
    # the histogram's area in the inset is the sampled fraction of eigenvalues in the bulk, and
    # that is the bulk's mass up to finite-d fluctuations (p = 3200 eigenvalues)
    verts = step.get_path().vertices
    xs, ys = verts[:, 0], verts[:, 1]
    area = np.sum(np.diff(xs) * ys[:-1])
    assert area == pytest.approx(rf.bulks["slow"].mass, rel=0.05)
    # and the self-consistent density integrates to the same mass over the inset's x range
    x = np.linspace(lo, hi, 20001)
    dens = rf.density(x)
    assert np.trapezoid(dens, x) == pytest.approx(rf.bulks["slow"].mass, rel=0.02)


def test_wide_bulks_get_no_inset():
    _, fig = _figure(4.0, 16.0, 0.05)
    assert fig.axes[0].child_axes == []
