"""v_t² without cancellation at large t, and a clear error where it underflows."""

from __future__ import annotations

import math

import mpmath as mpm
import numpy as np
import pytest

from regimes import RegimesError
from regimes.rmt import RandomFeatures


@pytest.mark.parametrize("t", [0.1, 1.0, 3.0, 6.0, 10.0])
def test_erf_v_t2_against_arcsine_kernel_in_mpmath(t):
    # oracle: Williams' closed form E[erf(X)erf(X')] = (2/π) asin(2c/(1 + 2Γ²)) at 60 digits
    # (v_t² ~ e^{−6t} is the difference of two O(e^{−2t}) numbers there)
    mpm.mp.dps = 60
    T = mpm.mpf(t)
    cov = mpm.e ** (-2 * T)
    G2 = cov + (1 - cov)
    k1 = 2 / mpm.sqrt(mpm.pi) / mpm.sqrt(1 + 2 * G2)
    v2 = 2 / mpm.pi * mpm.asin(2 * cov / (1 + 2 * G2)) - k1**2 * cov
    c = RandomFeatures(2.0, 1.0, t, "erf").constants
    assert c.v_t2 == pytest.approx(float(v2), rel=1e-8)
    assert c.s_t2 + c.v_t2 == pytest.approx(c.mu_star2, abs=1e-12)


# tanh, σ_x² = 1: v_t² = E_u[(E_v tanh(e^{−t}u + √Δ_t v) − κ_1 e^{−t}u)²] by nested mpmath
# quadrature at 30 digits (100 s each, so stored here; script in the commit message)
TANH_V2 = {1.0: "0.0000547942731441215259189009629855", 6.0: "5.11074373254398385906652623843e-18"}


@pytest.mark.parametrize("t", sorted(TANH_V2))
def test_tanh_v_t2_against_mpmath(t):
    c = RandomFeatures(2.0, 1.0, t).constants
    assert c.v_t2 == pytest.approx(float(TANH_V2[t]), rel=1e-8)


@pytest.mark.parametrize("act", ["tanh", "relu", "erf"])
def test_tau_mem_monotone_and_finite_in_t(act):
    ts = np.geomspace(1.0, 60, 60)  # (τ_mem ∝ 1/(Δ_t v_t²) decreases for small t)
    tm = np.array([RandomFeatures(4.0, 2.0, t, act).tau_mem for t in ts])
    assert np.all(np.isfinite(tm)) and np.all(np.diff(np.log(tm)) > 0)
    # v_t² decays like e^{−2mt} (m = 3 for odd σ, 2 for ReLU): log-slope settles there
    v2 = np.array([RandomFeatures(4.0, 2.0, t, act).constants.v_t2 for t in (20.0, 30.0)])
    slope = -math.log(v2[1] / v2[0]) / 10.0
    assert slope == pytest.approx(4.0 if act == "relu" else 6.0, rel=1e-6)


@pytest.mark.parametrize("t", [120.0, 800.0, 1e6])
def test_too_large_t_is_a_clear_error(t):
    with pytest.raises(RegimesError, match=r"t = .* too large.*allowed: 0 < t"):
        _ = RandomFeatures(4.0, 2.0, t).constants


def test_timescales_cli_large_t_exit_2(capsys):
    from regimes_cli.main import main

    rc = main(["timescales", "--n", "100", "--d", "10", "--p", "20", "--t", "800"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("regimes: error: --t = 800") and err.count("\n") == 1


def test_callable_with_a_kink_warns_or_takes_kinks():
    import warnings

    from regimes import RegimesWarning

    relu = lambda x: np.maximum(x, 0.0)  # noqa: E731
    with pytest.warns(RegimesWarning, match="kinks="):
        _ = RandomFeatures(2.0, 1.0, 0.3, relu).constants
    ref = RandomFeatures(2.0, 1.0, 0.3, "relu").constants
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = RandomFeatures(2.0, 1.0, 0.3, relu, kinks=[0.0]).constants
        _ = RandomFeatures(2.0, 1.0, 0.3, lambda x: np.tanh(x) + 0.1 * x**2).constants
    assert c.mu0 == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-13)  # E relu(z), Γ_t = 1
    assert c.s_t2 == pytest.approx(ref.s_t2, abs=1e-12)
    with pytest.raises(RegimesError, match="kinks"):
        RandomFeatures(2.0, 1.0, 0.3, "tanh", kinks=[0.0])


def test_relu_summary_says_constants_are_centred():
    res = RandomFeatures(4.0, 2.0, 0.3, "relu").summary()
    assert any("centred" in n for n in res["notes"])
    # tanh is odd (μ_0 = 0): no such note (other notes, e.g. a merged satellite, may be there)
    assert not any("centred" in n for n in RandomFeatures(4.0, 2.0, 0.3).summary().get("notes", []))
