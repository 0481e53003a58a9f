"""The Dataset model answers the GaussianData/GaussianMixture questions by estimation."""

import math

import numpy as np
import pytest

from regimes import Dataset, GaussianMixture, RegimesError


@pytest.fixture(scope="module")
def mixture():
    g = np.random.default_rng(11)
    nc, d = 300, 48
    lab = np.repeat([0, 1], nc)
    X = g.standard_normal((2 * nc, d)) + np.where(lab[:, None] == 0, 1.0, -1.0)
    return X, lab, GaussianMixture(2 * nc, d, 1, 1)


def test_eigenvalue_and_speciation_time(mixture):
    X, lab, _ = mixture
    ds = Dataset(X, lab, samples=128)
    lam = np.linalg.eigvalsh(np.cov(X.T))[-1]
    assert ds.eigenvalue == pytest.approx(lam, rel=1e-10)
    assert ds.speciation_time() == pytest.approx(0.5 * math.log(lam), rel=1e-10)
    assert ds.alpha == pytest.approx(math.log(600) / 48)


def test_curves_with_standard_errors_against_theory(mixture):
    X, lab, model = mixture
    ds = Dataset(X, lab, samples=512, seed=3)
    t = np.array([1.5, 2.0, 2.6])
    phi, se = ds.cloning_probability(t, return_se=True)
    assert np.all(np.abs(phi - model.cloning_probability(t)) <= 4 * se + 0.006)
    # same seed → same samples: a single-time call agrees with the vector call (to summation order)
    assert ds.commitment(2.0) == pytest.approx(ds.commitment(np.array([1.5, 2.0, 2.6]))[1], rel=1e-13)


def test_regimes_and_collapse_time(mixture):
    X, lab, model = mixture
    ds = Dataset(X, lab, samples=256, seed=0)
    tc = ds.collapse_time()
    assert abs(tc - model.collapse_time()) < 0.25  # finite-d offset at d = 48 (docs/analyze.md)
    names = [r["name"] for r in ds.regimes()]
    assert names == ["I", "II", "III"]
    assert ds.regime(0.1) == "III" and ds.regime(10.0) == "I"
    assert ds.collapse_time("gaussian") == pytest.approx(model.collapse_time(), abs=0.03)


def test_errors():
    ds = Dataset(np.random.default_rng(0).standard_normal((20, 3)), samples=16)
    with pytest.raises(RegimesError, match="labels"):
        ds.cloning_probability(1.0)
    with pytest.raises(RegimesError, match="method"):
        ds.collapse_time("magic")


def test_commitment_at_collapse_time_is_one_half(mixture):
    # analyze and Dataset.curves draw the same Monte Carlo samples: φ_C(t_C) = ½ to the Brent
    # tolerance, not to Monte Carlo precision (it was 0.465 with two seed derivations)
    X, lab, _ = mixture
    for seed in (0, 4):
        ds = Dataset(X, lab, samples=128, seed=seed)
        tc = ds.collapse_time()
        assert ds.commitment(tc) == pytest.approx(0.5, abs=1e-7)
        ts = ds.analyze(bootstrap=0).t_S_class.value
        assert ds.cloning_probability(ts) == pytest.approx(0.7752, abs=1e-7)


def test_analyze_caches_only_the_default_grid(mixture):
    X, lab, _ = mixture
    ds = Dataset(X[:100], lab[:100], samples=32)
    ds.analyze(times=[0.5, 1.0, 2.0], bootstrap=0)
    assert ds.last_analysis is None
    res = ds.analyze(bootstrap=0)
    assert ds.last_analysis is res and ds.collapse_time() == res.t_C["commitment"].value
