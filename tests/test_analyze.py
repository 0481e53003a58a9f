"""The analyze pipeline on a small two-class mixture where the theory is exact."""

import math

import numpy as np
import pytest

from regimes.analysis import analyze, default_dataset
from regimes.models import GaussianMixture


@pytest.fixture(scope="module")
def small():
    X, lab, model = default_dataset(4, d=64, per_class=300)
    res = analyze(X, lab, samples=256, seed=1, bootstrap=60, eigen_bootstrap=10)
    return X, lab, model, res


def test_estimates_against_theory(small):
    X, lab, model, r = small
    d = r.to_dict()
    assert (d["n"], d["d"]) == (600, 64)
    assert d["alpha"] == pytest.approx(math.log(600) / 64)
    assert d["eigenvalue"]["value"] == pytest.approx(np.linalg.eigvalsh(np.cov(X.astype(float).T))[-1], rel=1e-5)
    # t_S: the sample eigenvalue of a 600-point sample (Λ = 65): within 3% of ½ ln 65
    assert d["t_S"]["value"] == pytest.approx(model.speciation_time(), abs=0.03)
    # φ = 0.7752 crossing vs the Gauss–Hermite φ of the model crossing 0.7752 (SE-sized tolerance)
    from scipy.optimize import brentq

    t_th = brentq(lambda t: model.cloning_probability(t) - 0.7752, 0.5, 5)
    ts = d["t_S_class"]
    assert abs(ts["value"] - t_th) < 4 * ts["se"] + 0.01
    assert ts["ci"][0] < ts["value"] < ts["ci"][1]
    # Gaussian formula with the pooled within-class variance ≈ the model's t_C
    assert d["t_C"]["gaussian"]["value"] == pytest.approx(model.collapse_time(), abs=0.02)
    for k in ("commitment", "entropy", "spectral", "gaussian"):
        e = d["t_C"][k]
        assert e["ci"][0] <= e["value"] <= e["ci"][1], k


def test_regimes_and_steps(small):
    *_, r = small
    d = r.to_dict()
    assert [g["name"] for g in d["regimes"]] == ["I", "II", "III"]
    from regimes import step_at_time

    assert d["schedule"]["step_S"] == step_at_time("linear", d["t_S"]["value"], beyond="none")
    assert d["schedule"]["step_C"] == step_at_time("linear", d["t_C"]["commitment"]["value"], beyond="none")


def test_same_seed_same_result():
    X, lab, _ = default_dataset(0, d=16, per_class=60)
    a = analyze(X, lab, samples=32, seed=3, bootstrap=20, eigen_bootstrap=3).to_dict()
    b = analyze(X, lab, samples=32, seed=3, bootstrap=20, eigen_bootstrap=3).to_dict()
    assert a["t_C"] == b["t_C"] and a["t_S_class"] == b["t_S_class"] and a["t_S"] == b["t_S"]
    np.testing.assert_array_equal(a["curves"]["commitment"], b["curves"]["commitment"])


def test_default_dataset_generation():
    X, lab, model = default_dataset(0, d=32, per_class=500)
    assert isinstance(model, GaussianMixture) and X.dtype == np.float32
    # class means ±m̃ per coordinate, within-class variance σ² = 1 (sampling tolerance 5 SE)
    m0 = X[lab == 0].mean(0)
    assert np.all(np.abs(m0 - 1.0) < 5 / math.sqrt(500))
    assert X[lab == 0].var() == pytest.approx(1.0, abs=5 * math.sqrt(2 / (500 * 32)))
