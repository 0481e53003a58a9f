"""U-turns against the mixture engine's φ_C(t) and φ(t) (the U-turn identity of arXiv 2402.18491)."""

from __future__ import annotations

import numpy as np
import pytest

from regimes import RegimesError
from regimes.engines import empirical_mixture
from regimes.uturn import uturn


@pytest.fixture(scope="module")
def two_classes():
    rng = np.random.default_rng(0)
    n, d = 60, 10
    lab = rng.integers(0, 2, n)
    A = rng.normal(size=(n, d)) + np.where(lab[:, None] == 1, 1.0, -1.0) * 3.0 / np.sqrt(d)
    times = np.array([0.05, 0.2, 0.5, 1.0])  # Regime III → fully mixed
    mc = empirical_mixture(A, times, samples=4000, rng=1, labels=lab)
    return A, lab, times, mc


@pytest.mark.parametrize("method,samples,steps", [("posterior", 2000, 2), ("sde", 600, 150)])
def test_uturn_matches_commitment_curves(two_classes, method, samples, steps):
    A, lab, times, mc = two_classes
    r = uturn(A, times, samples=samples, labels=lab, method=method, steps=steps, rng=2)
    for name, ests, ref, ref_se in (("same_point", r.same_point, mc.commitment, mc.commitment_se),
                                    ("same_class", r.same_class, mc.class_commitment, mc.class_commitment_se)):
        val = np.array([e.value for e in ests])
        se = np.array([e.se for e in ests])
        # binomial SE of the U-turn fraction (floored for fractions at 0 or 1) and the engine's SE
        z = np.abs(val - ref) / np.sqrt(np.maximum(se, 1 / samples) ** 2 + ref_se**2)
        assert np.all(z < 4.0), (name, val, ref, z)
    # the curve spans the regimes: committed at small t, mostly not at t = 1
    assert r.same_point[0].value > 0.95 and r.same_point[-1].value < 0.2


def test_ode_is_deterministic_and_not_the_identity(two_classes):
    A, lab, times, mc = two_classes
    r = uturn(A, [0.5], samples=600, method="ode", steps=100, rng=3)
    # the deterministic flow returns more often than φ_C where the weights are split
    assert r.same_point[0].value > mc.commitment[2] + 4 * r.same_point[0].se
    assert r.same_class is None


def test_result_and_json(two_classes):
    A, lab, times, _ = two_classes
    r = uturn(A, [0.1, 2.0], samples=20, labels=lab, method="posterior", examples=3, rng=0)
    d = r.to_dict()
    assert d["times"] == [0.1, 2.0]
    assert set(d["same_point"]) == {"value", "se", "ci"} and len(d["same_class"]["se"]) == 2
    assert r.noised.shape == (2, 3, A.shape[1]) and r.start.shape == (2, 20)
    assert np.array_equal(uturn(A, [0.1], samples=20, rng=4).end, uturn(A, [0.1], samples=20, rng=4).end)


def test_bad_inputs(two_classes):
    A, lab, _, _ = two_classes
    with pytest.raises(RegimesError, match="times"):
        uturn(A, [0.0, 1.0])
    with pytest.raises(RegimesError, match="method"):
        uturn(A, [1.0], method="euler")
    with pytest.raises(RegimesError, match="labels"):
        uturn(A, [1.0], labels=lab[:5])
    with pytest.raises(RegimesError, match="samples"):
        uturn(A, [1.0], samples=0)
