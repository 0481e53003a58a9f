"""One interface for analytic and data models, immutable parameter objects, result objects.

The analytic/empirical loop in the spirit of neural-tangents: every question the analytic
two-class mixture answers exactly is asked of a sample drawn from it, and the two must agree within
a tolerance set by the sample (finite d, finite n, Monte Carlo).
"""

import dataclasses
import math

import numpy as np
import pytest

from regimes import Dataset, GaussianData, GaussianMixture, RegimesError, RegimesModel
from regimes.estimate import Estimate


@pytest.fixture(scope="module")
def twins():
    ds = Dataset.example(7, d=64, per_class=400, samples=256)
    return ds.model, ds


def test_both_answer_the_same_questions(twins):
    model, ds = twins
    for obj in (model, ds):
        assert isinstance(obj, RegimesModel)
    # Λ: the sample eigenvalue of 800 points; the population value d m̃² + σ² = 65 (relative SD ≈ √(2/n))
    assert ds.eigenvalue == pytest.approx(model.eigenvalue, rel=4 * math.sqrt(2 / 800))
    assert ds.speciation_time() == pytest.approx(model.speciation_time(), abs=2 * math.sqrt(2 / 800))
    # f^e at a time between t_C and t_S: the d → ∞ REM value vs the finite-d Monte Carlo
    t = 1.5
    assert ds.excess_entropy(t) == pytest.approx(model.excess_entropy(t), abs=0.02)
    # φ(t) near t_S: Gauss–Hermite of the population score vs the empirical class curve
    t = model.speciation_time()
    assert ds.cloning_probability(t) == pytest.approx(model.cloning_probability(t), abs=0.03)
    # t_C: commitment crossing vs the d → ∞ formula (finite-d offset a few percent at d = 64)
    assert ds.collapse_time() == pytest.approx(model.collapse_time(), rel=0.15)
    assert [r["name"] for r in ds.regimes()] == [r["name"] for r in model.regimes()] == ["I", "II", "III"]
    assert ds.regime(1.5) == model.regime(1.5) == "II" and ds.regime(3.0) == model.regime(3.0) == "I"


def test_analytic_commitment_says_it_has_no_closed_form():
    with pytest.raises(RegimesError, match="no closed form"):
        GaussianMixture(n=100, d=10).commitment(1.0)
    # one Gaussian is one class: φ = 1
    assert GaussianData(n=100, d=10).cloning_probability(0.3) == 1.0
    np.testing.assert_array_equal(GaussianData(n=100, d=10).cloning_probability([0.1, 2.0]), [1.0, 1.0])


def test_parameter_objects_are_immutable_and_replace_gives_fresh_objects():
    m = GaussianMixture(n=4000, d=1024)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.d = 10
    m2 = m.replace(separation=2.0)
    assert m.separation == 1.0 and m2.separation == 2.0
    assert m2.norm_m == pytest.approx(math.sqrt(1024) * 2.0) and m.norm_m == pytest.approx(32.0)
    with pytest.raises(RegimesError, match="separation"):
        m.replace(separation=-1.0)
    g = GaussianData(n=100, d=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.variance = 2.0
    ds = Dataset(np.random.default_rng(0).standard_normal((50, 4)), samples=32)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.seed = 3
    ds2 = ds.replace(seed=3)
    assert (ds.seed, ds2.seed) == (0, 3) and ds2.eigenvalue == ds.eigenvalue
    with pytest.raises(RegimesError, match="unknown"):
        ds.replace(colour="red")


def test_sample_draws_the_model_and_example_carries_it():
    m = GaussianMixture(n=2000, d=8, separation=0.5, variance=2.0)
    X, lab = m.sample(3)
    assert X.dtype == np.float32 and X.shape == (2000, 8) and np.bincount(lab).tolist() == [1000, 1000]
    # class means ±m̃ and within-class variance σ², to sampling accuracy
    assert np.allclose(X[lab == 0].mean(0), 0.5, atol=5 * math.sqrt(2.0 / 1000))
    assert np.var(X[lab == 1] + 0.5, ddof=1) == pytest.approx(2.0, rel=0.05)
    with pytest.raises(RegimesError, match="even"):
        GaussianMixture(n=11, d=2).sample(0)
    ds = Dataset.example(0, d=4, per_class=10, samples=16)
    assert ds.model == GaussianMixture(n=20, d=4) and "built-in" in ds.source.name


def test_estimate_and_result_objects():
    e = Estimate(1.5, 0.1, (1.3, 1.7), definition="x", details={"bracket": [1, 2]})
    assert e.to_dict() == {"value": 1.5, "se": 0.1, "ci": [1.3, 1.7], "definition": "x", "bracket": [1, 2]}
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.value = 2.0
    with pytest.raises(TypeError):
        e.details["bracket"] = None
    assert e.replace(definition="y").definition == "y" and e.definition == "x"
    res = Dataset.example(1, d=8, per_class=40, samples=32).analyze(bootstrap=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.n = 3
    with pytest.raises(ValueError):
        res.curves.t[0] = 0.0  # read-only arrays
    assert res.reference is not None and res.reference.t_C == pytest.approx(GaussianMixture(80, 8).collapse_time())
