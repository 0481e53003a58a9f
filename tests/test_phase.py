"""(n, d) phase-diagram data against independent root finding and the asymptotic criterion."""

import math

import mpmath as mp
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import brentq

import regimes as R
from regimes import RegimesError
from regimes.phase import alpha_for_collapse_time, n_star, nd_phase_diagram


@pytest.mark.parametrize("t, var", [(0.05, 1.0), (0.5, 1.0), (2.0, 0.3), (4.0, 7.0)])
def test_alpha_for_collapse_time_inverts_collapse_time(t, var):
    # oracle: 50-digit bisection (in ln α) of ½ log1p(σ²/expm1(2α)) = t, which decreases in α
    with mp.workdps(50):
        lo, hi = mp.mpf(-60), mp.mpf(5)
        for _ in range(200):
            mid = (lo + hi) / 2
            if mp.log1p(var / mp.expm1(2 * mp.exp(mid))) / 2 > t:
                lo = mid
            else:
                hi = mid
        ref = mp.exp((lo + hi) / 2)
    assert_allclose(alpha_for_collapse_time(t, var), float(ref), rtol=1e-13)


def test_n_star_solves_collapse_time_equals_target():
    for d in (10.0, 50.0, 200.0):
        # independent: brentq on ln n of collapse_time(n, d) - target
        ln_n = brentq(lambda x: R.collapse_time(math.exp(x), d) - 0.5, math.log(2), 700, xtol=1e-14)
        assert_allclose(math.log(n_star(d, 0.5)), ln_n, rtol=1e-10)


def test_regime_II_boundary_approaches_asymptotic_criterion():
    # SPEC §3: t_C < t_S iff, asymptotically, σ² < 2 m̃² ln n  ⇒ boundary n = exp(σ²/(2 m̃²))
    sep, var = 0.3, 1.0
    pdg = nd_phase_diagram(d_range=(1e5, 1e6), n_range=(20, 2000), points=400, separation=sep, variance=var)
    exists = np.isfinite(pdg.regime_II_width[:, -1])
    n_boundary = pdg.n[np.argmax(exists)]
    assert abs(math.log(n_boundary) - var / (2 * sep**2)) < 0.05


def test_grid_contents():
    pdg = nd_phase_diagram(points=7, eigenvalue=16.72)
    assert pdg.t_C.shape == (7, 7)
    assert_allclose(pdg.t_C[3, 4], R.collapse_time(pdg.n[3], pdg.d[4]), rtol=1e-15)
    assert_allclose(pdg.t_S, 0.5 * math.log(16.72), rtol=1e-15)
    d = pdg.to_dict()
    assert {"d", "n", "t_C", "t_S", "regime_II_width", "log10_n_star"} <= d.keys()


@pytest.mark.parametrize("kw, match", [
    (dict(points=1), "points must be >= 2"),
    (dict(d_range=(10, 5)), "d_range must be increasing"),
    (dict(n_range=(1, 5)), "n_range"),
    (dict(separation=1.0, eigenvalue=3.0), "at most one"),
    (dict(target=0.0), "target must be > 0"),
])
def test_bad_input(kw, match):
    with pytest.raises(RegimesError, match=match):
        nd_phase_diagram(**kw)


def test_figure_builds_without_saving():
    from regimes.plot.phase import plot_phase_nd

    fig = plot_phase_nd(points=20, separation=0.3)
    assert len(fig.axes) == 4  # two panels + two colourbars
    labels = [ax.get_xlabel() for ax in fig.axes[:2]]
    assert labels == ["dimension d", "dimension d"]
