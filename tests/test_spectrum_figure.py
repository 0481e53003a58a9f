"""The random-features spectrum figure: one panel per bulk with its mass, narrow bulks resolved."""

import pytest

pytest.importorskip("matplotlib")


def _figure(psi_p, psi_n, t, d=100):
    from regimes.plot.spectra import plot_rf_density
    from regimes.rmt import RandomFeatures

    rf = RandomFeatures(psi_p, psi_n, t)
    fig = plot_rf_density(rf, d=d, rng=0)
    fig.canvas.draw()
    return rf, fig


# one panel per bulk with its mass, histogram areas against the masses and a sampled U, narrow slow bulks
# (1e-6 wide at t = 2): tests/test_plot_spectra_review_fixes.py


def test_wide_bulks_get_no_inset():
    _, fig = _figure(4.0, 16.0, 0.05)
    assert fig.axes[0].child_axes == []
