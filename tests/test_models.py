"""Analytic models: validation, regimes, the collapse-after-speciation criterion."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

import regimes as R
from regimes import RegimesError


def test_gaussian_data_matches_functions_and_is_frozen():
    g = R.GaussianData(n=20000, d=1024)
    assert_allclose(g.collapse_time(), 1.977547, atol=5e-7)  # SPEC §3 reference
    assert g.alpha == pytest.approx(math.log(20000) / 1024, rel=1e-15)
    with pytest.raises(AttributeError):
        g.n = 3


def test_mixture_numbers():
    m = R.GaussianMixture(n=4000, d=1024, separation=1.0, variance=1.0)
    assert m.eigenvalue == 1025.0
    assert_allclose(m.speciation_time(), 0.5 * math.log(1025.0), rtol=1e-15)
    # t_S ≈ ½ ln d + ln m̃ (SPEC §2)
    assert abs(m.speciation_time() - 0.5 * math.log(1024)) < 1e-3


@pytest.mark.parametrize("sep, var, n, after", [(1.0, 1.0, 1e4, True), (0.2, 4.0, 1e3, False),
                                                  (0.5, 0.1, 100, True), (0.1, 2.0, 1e6, False)])
def test_collapse_after_speciation_asymptotic_criterion(sep, var, n, after):
    # SPEC §3: t_C < t_S iff, asymptotically, σ² < 2 m̃² ln n
    assert (var < 2 * sep**2 * math.log(n)) == after
    m = R.GaussianMixture(n=n, d=1e9, separation=sep, variance=var)
    assert m.collapse_after_speciation() == after


def test_regimes_partition_time_axis():
    m = R.GaussianMixture(n=4000, d=1024)
    t_S, t_C = m.speciation_time(), m.collapse_time()
    assert 0 < t_C < t_S
    labels = m.regime([0.5 * t_C, 0.5 * (t_C + t_S), 2 * t_S])
    assert list(labels) == ["III", "II", "I"]
    regs = m.regimes()
    assert [r["name"] for r in regs] == ["I", "II", "III"]
    assert regs[1]["t_min"] == t_C and regs[1]["t_max"] == t_S and math.isinf(regs[0]["t_max"])
    # no Regime II when collapse precedes speciation
    g = R.GaussianData(n=100, d=1000, variance=2.0)
    assert g.collapse_time() > g.speciation_time()
    assert [r["name"] for r in g.regimes()] == ["I", "III"]
    assert g.regime(0.5 * (g.collapse_time() + g.speciation_time())) == "III"


def test_no_speciation_model():
    g = R.GaussianData(n=100, d=10, variance=0.5)
    assert not g.has_speciation
    assert [r["name"] for r in g.regimes()] == ["I", "III"]


def test_schedule_steps():
    loc = R.schedule_steps(3.1, 2.0, "scaled-linear", 1000)
    assert loc["step_S"] is None and "before the first sampling step" in loc["notes"][0]
    sch = R.get_schedule("scaled-linear")
    assert sch.times[loc["step_C"]] >= 2.0 > sch.times[loc["step_C"] - 1]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: R.GaussianData(n=1, d=3), "n must be >= 2"),
        (lambda: R.GaussianData(n=10, d=0), "d must be >= 1"),
        (lambda: R.GaussianData(n=10, d=3, variance=-1), "variance must be > 0"),
        (lambda: R.GaussianMixture(n=10, d=3, separation=0), "separation must be > 0"),
        (lambda: R.GaussianMixture(n=10, d=np.inf), "d must be finite"),
    ],
)
def test_validation(make, match):
    with pytest.raises(RegimesError, match=match):
        make()
