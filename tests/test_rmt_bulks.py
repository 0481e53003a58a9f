"""Bulks of the random-features U: classification by position, narrow bulks at large t and small
ψ_p, mass conservation and leading-order masses — against U sampled independently from the Gaussian
equivalent of [WM] (arXiv 2505.17638)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from regimes import RegimesError, RegimesWarning
from regimes.rmt import RandomFeatures


def _sample_eigs(psi_p, psi_n, t, d, seed, reps=1):
    """Eigenvalues of U = GGᵀ/n + b_t²WWᵀ/d + s_t²I_p, G = e^{−t}a_t WX/√d + v_t Ω (the
    Gaussian equivalent of [WM], Σ = I), written here from the formula (not via the
    implementation's sampler); only the four constants are taken from the implementation (they
    are tested against oracles elsewhere)."""
    c = RandomFeatures(psi_p, psi_n, t).constants
    rng = np.random.default_rng(seed)
    p, n = round(psi_p * d), round(psi_n * d)
    out = []
    for _ in range(reps):
        W = rng.standard_normal((p, d))
        X = rng.standard_normal((d, n))
        Om = rng.standard_normal((p, n))
        G = math.exp(-t) * c.a_t * (W @ X) / math.sqrt(d) + math.sqrt(c.v_t2) * Om
        U = G @ G.T / n + c.b_t**2 * (W @ W.T) / d + c.s_t2 * np.eye(p)
        out.append(np.linalg.eigvalsh(U))
    return np.concatenate(out), c


def _check_bulk(ev, bulk, total, below=None, above=None, rel_width=0.06, mass_tol=0.02):
    """Sampled eigenvalues between the gap midpoints to the neighbouring bulks vs the solver's
    edges (to rel_width × the width) and mass (eigenvalue count / p)."""
    lo, hi = bulk.edges
    w = hi - lo
    a = lo - 0.25 * w if below is None else 0.5 * (below.edges[1] + lo)
    b = hi + 0.25 * w if above is None else 0.5 * (hi + above.edges[0])
    sel = ev[(ev > a) & (ev < b)]
    assert sel.size > 0
    assert abs(sel.min() - lo) < rel_width * w and abs(sel.max() - hi) < rel_width * w
    assert sel.size / total == pytest.approx(bulk.mass, abs=mass_tol)


@pytest.mark.parametrize("psi_n", [1.5, 2.0, 3.0])
def test_satellite_heavier_than_rho1_is_still_the_satellite(psi_n):
    # ψ_p = 10, t = 0.02: satellite d/p = 0.1, ρ_1 (n − d)/p (= 0.05 at ψ_n = 1.5, the case
    # that was reported as the slow bulk)
    rf = RandomFeatures(10.0, psi_n, 0.02)
    b = rf.bulks
    assert b["slow"] and b["satellite"] and b["fast"] and not b["other"]
    assert b["satellite"].edges[1] < b["slow"].edges[0] < b["slow"].edges[1] < b["fast"].edges[0]
    assert b["slow"].mass == pytest.approx((psi_n - 1) / 10, abs=1e-6)
    assert b["satellite"].mass == pytest.approx(0.1, abs=1e-6)
    assert b["slow"].leading_mass == pytest.approx((psi_n - 1) / 10)
    assert b["satellite"].leading_mass == pytest.approx(0.1)
    ev, c = _sample_eigs(10.0, psi_n, 0.02, 160, seed=1)
    ev = ev[np.abs(ev - c.s_t2) > 1e-9]  # atom
    # the satellite's upper edge has a long thin tail: its top eigenvalue at d = 160 is ~7 % of
    # the width below the edge (1.9 % at d = 300, checked once), hence 10 %
    total = ev.size / (1 - b["atom"]["mass"])
    _check_bulk(ev, b["satellite"], total, None, b["slow"], rel_width=0.1)
    _check_bulk(ev, b["slow"], total, b["satellite"], b["fast"], rel_width=0.1)


@pytest.mark.parametrize("t", [1.5, 2.0, 3.0])
def test_narrow_slow_bulk_at_large_t_against_sampled_U(t):
    # slow-bulk width ~v_t² ∝ e^{−6t}: was missed (t ≥ 2) or given mass 0.625 (t = 1.5)
    rf = RandomFeatures(4.0, 2.0, t)
    b = rf.bulks
    assert b["slow"].mass == pytest.approx(0.5, abs=1e-6)
    assert b["fast"].mass == pytest.approx(0.25, abs=1e-6)
    assert b["atom"]["mass"] + b["continuous_mass"] == pytest.approx(1.0, abs=1e-6)
    ev, c = _sample_eigs(4.0, 2.0, t, 150, seed=2)
    s2 = c.s_t2
    lo, hi = b["slow"].edges
    # compare offsets from s_t² (the bulk is ~1e-8 wide at t = 3)
    off = ev - s2
    sel = off[(off > 0.5 * (lo - s2)) & (off < 1.5 * (hi - s2))]
    w = hi - lo
    assert abs(sel.min() - (lo - s2)) < 0.08 * w and abs(sel.max() - (hi - s2)) < 0.08 * w
    assert sel.size / ev.size == pytest.approx(0.5, abs=0.01)


def test_tiny_psi_p_fast_bulk_found():
    # p ≪ d: one narrow bulk of mass 1 near μ*² + Γ²κ_1² (was a zero-width piece of mass 2e-24)
    rf = RandomFeatures(1e-6, 1.0, 0.1)
    b = rf.bulks
    flo, fhi = rf.leading_order["fast"]["edges"]
    assert b["fast"].mass == pytest.approx(1.0, abs=1e-4)
    assert b["fast"].edges[0] < 0.5 * (flo + fhi) < b["fast"].edges[1]
    assert b["slow"] is None and not b["other"]


@pytest.mark.parametrize("pp, pn", [(4.0, 2.0), (2.0, 1.0), (10.0, 2.0), (1.5, 3.0)])
def test_mass_conservation_over_t(pp, pn):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegimesWarning)
        for t in (0.01, 0.3, 1.5, 3.0):
            b = RandomFeatures(pp, pn, t).bulks
            atom = b["atom"]["mass"] if b["atom"] else 0.0
            assert atom + b["continuous_mass"] == pytest.approx(1.0, abs=1e-4), t
            assert abs(b["mass_defect"]) < 1e-4


def test_unresolvable_slow_bulk_is_an_error_not_a_wrong_answer():
    with pytest.raises(RegimesError, match=r"t = 5.0.*double precision.*allowed|t = 5.0.*needs"):
        _ = RandomFeatures(4.0, 2.0, 5.0).bulks
    assert RandomFeatures(4.0, 2.0, 5.0).tau_mem > 0  # timescales still available


@pytest.mark.parametrize("pp, pn, t", [(1.5, 3.0, 0.5), (2.5, 2.0, 0.1), (10.0, 2.0, 0.02)])
def test_leading_order_mass_below_fast_bulk_against_counts(pp, pn, t):
    rf = RandomFeatures(pp, pn, t)
    lead = rf.leading_order
    below = (lead["slow"]["mass"] or 0) + (lead["satellite"]["mass"] or 0)
    assert below == pytest.approx(min(pn, pp - 1) / pp)
    ev, _ = _sample_eigs(pp, pn, t, 120, seed=3)
    fast_lo = rf.bulks["fast"].edges[0]
    atom = lead["atom"]["mass"]
    s2 = rf.constants.s_t2
    cnt = np.mean((ev < 0.9 * fast_lo) & (np.abs(ev - s2) > 1e-9))
    assert cnt == pytest.approx(below, abs=0.01)
    assert np.mean(np.abs(ev - s2) <= 1e-9) == pytest.approx(atom, abs=0.01)
    if pp == 1.5:  # was min(1, ψ_n/ψ_p) = 1
        assert lead["slow"]["mass"] == pytest.approx(1 / 3)
    assert RandomFeatures(0.5, 2.0, 0.1).leading_order["slow"]["mass"] is None


def test_spectrum_cli_reports_the_true_slow_bulk(capsys):
    import json

    from regimes_cli.main import main

    assert main(["spectrum", "--psi-p", "10", "--psi-n", "1.5", "--t", "0.02", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["slow_bulk"]["edges"] == pytest.approx([0.0878, 0.2204], rel=2e-3)
    assert res["slow_bulk"]["mass"] == pytest.approx(0.05, abs=1e-6)
    assert res["satellite"]["mass"] == pytest.approx(0.1, abs=1e-6)
    assert main(["spectrum", "--psi-p", "2", "--psi-n", "1", "--t", "3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["slow_bulk"]["mass"] + res["fast_bulk"]["mass"] == pytest.approx(1.0, abs=1e-4)


def test_positional_names_warn_when_the_masses_say_otherwise():
    """Named by position; with n < d the top piece holds ~n/p eigenvalues, not the d of the fast
    bulk (mass 5e-5 against 0.5 at ψ_n = 1e-4): a warning says the names may not be the physical
    bulks. Oracle for the masses: the leading-order counts d/p and (n − d)/p or n/p."""
    import warnings

    import pytest

    from regimes import RegimesWarning
    from regimes.rmt import RandomFeatures

    with pytest.warns(RegimesWarning, match="named by position"):
        b = RandomFeatures(2.0, 1e-4, 0.5).bulks
    assert b["fast"].mass == pytest.approx(1e-4 / 2.0, rel=1e-2)  # the n-piece: n/p
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegimesWarning)
        assert RandomFeatures(30.0, 10.0, 0.3).bulks["fast"] is not None  # ψ_p ≫ ψ_n ≫ 1: no warning
