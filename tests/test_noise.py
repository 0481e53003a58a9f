"""The finite-sample noise floor of Λ against sampled covariance matrices with planted spikes.

Oracles: the spiked-covariance closed forms (Baik–Ben Arous–Péché 2005, Paul 2007) at the
reference numbers below, and simulation — numpy's eigvalsh on sampled data whose population
spike is known.
"""

import json
import math

import numpy as np
import pytest

from regimes.analysis import analyze
from regimes.noise import (
    bbp_threshold,
    debiased_spike,
    noise_edge,
    noise_floor,
    noise_level,
    spiked_eigenvalue,
)


def test_reference_numbers():
    # σ² = 1, n − 1 = 2000, d = 512 (γ = 0.256): edge (1 + √γ)² = 2.2679, BBP threshold 1 + √γ = 1.506,
    # a spike ℓ = 4 shows as ℓ(1 + γ/(ℓ − 1)) = 4 + 4·0.256/3 = 4.34133
    assert noise_edge(1.0, 2001, 512) == pytest.approx(2.2679, abs=1e-4)
    assert bbp_threshold(1.0, 2001, 512) == pytest.approx(1.506, abs=1e-3)
    assert spiked_eigenvalue(4.0, 1.0, 2001, 512) == pytest.approx(4.0 + 4.0 * 0.256 / 3.0, rel=1e-12)
    # below the threshold the top eigenvalue sticks to the edge
    assert spiked_eigenvalue(1.2, 1.0, 2001, 512) == noise_edge(1.0, 2001, 512)


@pytest.mark.parametrize("ell", [1.6, 4.0, 30.0])
@pytest.mark.parametrize("n,d", [(101, 5), (401, 100), (201, 800)])
def test_debiasing_inverts_the_spike_map(ell, n, d):
    s2 = 1.3
    if ell * s2 <= bbp_threshold(s2, n, d):
        assert math.isnan(debiased_spike(spiked_eigenvalue(ell * s2, s2, n, d), s2, n, d))
    else:
        assert debiased_spike(spiked_eigenvalue(ell * s2, s2, n, d), s2, n, d) == pytest.approx(ell * s2, rel=1e-12)


def _sample(n, d, ell, sigma2, seed):
    g = np.random.default_rng(seed)
    X = g.standard_normal((n, d)) * math.sqrt(sigma2)
    X[:, 0] *= math.sqrt(ell / sigma2)  # population covariance σ²I + (ℓ − σ²) e1e1ᵀ
    return np.linalg.eigvalsh(np.cov(X.T))[::-1]


@pytest.mark.parametrize("gamma", [0.05, 0.25, 1.0, 4.0])
def test_planted_spikes_above_and_below_the_threshold(gamma):
    n = 400
    d = int(gamma * n)
    s2 = 2.0
    thr = s2 * (1 + math.sqrt(d / (n - 1)))
    # pure noise and a spike well below the BBP threshold: not detectable; σ̂² recovers σ²
    for ell, seed in ((s2, 1), (0.7 * thr, 2)):
        lam = _sample(n, d, ell, s2, seed)
        fl = noise_floor(lam[0], n, d, spectrum=lam)
        assert not fl.detectable, (gamma, ell, fl)
        assert fl.sigma2 == pytest.approx(s2, rel=0.05)
        assert lam[0] == pytest.approx(fl.edge, rel=0.1)
    # a spike well above it: detectable, and the debiased spike recovers ℓ (fluctuations
    # sd ≈ ℓ√(2/n) ≈ 7%; the raw eigenvalue is biased up by γσ²ℓ/(ℓ − σ²))
    ell = 4 * thr
    lam = _sample(n, d, ell, s2, 3)
    fl = noise_floor(lam[0], n, d, spectrum=lam)
    assert fl.detectable and fl.n_above_edge == 1
    assert fl.population == pytest.approx(ell, rel=0.25)
    # on average over samples the debiased spike removes the upward bias of the raw eigenvalue
    raw, deb = [], []
    for seed in range(10, 18):
        lam = _sample(n, d, ell, s2, seed)
        raw.append(lam[0])
        deb.append(noise_floor(lam[0], n, d, spectrum=lam).population)
    assert abs(np.mean(deb) - ell) < 3 * np.std(deb) / math.sqrt(8) + 0.02 * ell
    assert np.mean(raw) - ell > 0.5 * (spiked_eigenvalue(ell, s2, n, d) - ell)


def test_bulk_mean_fallback_with_only_the_top_eigenvalues():
    n, d, s2 = 400, 200, 1.0
    lam = _sample(n, d, 20.0, s2, 4)
    fl = noise_floor(lam[0], n, d, spectrum=lam[:8], total_variance=lam.sum())
    assert fl.sigma2 == pytest.approx(s2, rel=0.05) and fl.detectable and "mean of the bulk" in fl.method
    assert noise_level(lam, n, d) == pytest.approx(s2, rel=0.05)


def test_analyze_on_isotropic_noise_reports_no_detectable_speciation(run_cli, tmp_path):
    # N(0, I), n = 2000, d = 512: Λ ≈ (1 + √γ)² = 2.27, what sampling noise alone produces
    X = np.random.default_rng(0).standard_normal((2000, 512)).astype(np.float32)
    r = analyze(X, samples=64, seed=0, bootstrap=20)
    assert r.eigenvalue.details["detectable"] is False
    assert r.eigenvalue.value == pytest.approx(r.eigenvalue.details["noise_edge"], rel=0.03)
    assert math.isnan(r.t_S.value) and any("not distinguishable" in x for x in r.notes)
    assert [g["name"] for g in r.regimes] == ["I", "III"]
    assert any("no Regime II" in x for x in r.notes)
    np.save(tmp_path / "x.npy", X)
    rc, out, err = run_cli("analyze", tmp_path / "x.npy", "--samples", "32", "--bootstrap", "10", "--json")
    assert rc == 0 and "non-finite" not in err, err
    body = json.loads(out)
    assert body["eigenvalue"]["detectable"] is False and body["t_S"]["value"] is None
    assert body["eigenvalue"]["population"]["value"] is None
    # with one planted class direction the same data are detectable and t_S is reported
    Y = X.copy()
    Y[:, 0] *= 3.0
    r = analyze(Y, samples=64, seed=0, bootstrap=20)
    assert r.eigenvalue.details["detectable"] is True
    assert r.t_S.value == pytest.approx(0.5 * math.log(r.eigenvalue.value))
    assert r.t_S_population.value == pytest.approx(0.5 * math.log(9.0), abs=0.1)


@pytest.mark.parametrize("n, d, const", [(300, 50, 30), (300, 50, 10), (120, 200, 60), (400, 4400, 200)])
def test_constant_features_do_not_enter_the_noise_floor(n, d, const):
    """Constant columns add exact zero eigenvalues: counted in γ and the median they made pure noise
    look like structure (52% false alarms with 10 of 50 columns constant) or stopped the analysis
    (σ̂² = 0). Oracle: the same analysis with those columns removed. The last case is on the
    block-Krylov path (d > 4096 with and without the constant columns: top eigenvalues and the
    trace, no full spectrum)."""
    import warnings

    from regimes.analysis import analyze

    rng = np.random.default_rng(7)
    X = rng.normal(size=(n, d))
    X[:, d - const:] = 2.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = analyze(X, samples=16, bootstrap=10, seed=1)
        b = analyze(X[:, :d - const], samples=16, bootstrap=10, seed=1)
    da, db = a.eigenvalue.details, b.eigenvalue.details
    for key in ("noise_level", "noise_edge", "tw_statistic", "detectable"):
        assert da[key] == pytest.approx(db[key], rel=1e-9), key
    assert any(f"{const} of the {d} features are constant" in x for x in a.notes)


def test_a_partial_spectrum_is_not_taken_for_the_whole():
    """The median of the top 10 of 500 eigenvalues is not the noise level (σ̂² = 3.3 for σ² = 1)."""
    from regimes import RegimesError
    from regimes.noise import noise_floor, noise_level

    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 500))
    lam = np.linalg.eigvalsh(np.cov(X, rowvar=False))[::-1]
    with pytest.raises(RegimesError, match="fewer than the min"):
        noise_floor(lam[0], 1000, 500, spectrum=lam[:10])
    with pytest.raises(RegimesError, match="fewer than the min"):
        noise_level(lam[:10], 1000, 500)
    assert noise_level(lam, 1000, 500) == pytest.approx(1.0, rel=0.02)  # the whole spectrum: σ² = 1
    tv = noise_floor(lam[0], 1000, 500, spectrum=lam[:10], total_variance=lam.sum())
    assert tv.sigma2 == pytest.approx(1.0, rel=0.02)


def test_two_classes_with_the_same_mean_do_not_stop_the_analysis():
    from regimes.analysis import analyze

    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 12))
    lab = np.repeat([0, 1, 2], 100)
    X[lab == 2] += 3.0
    X[lab == 1] = X[lab == 0]  # class 1 repeats class 0's rows: exactly the same mean
    r = analyze(X, lab, samples=16, bootstrap=10)
    assert r.class_hierarchy is None and any("class_hierarchy not computed" in x for x in r.notes)
    assert any("the rest is a mixture" in x for x in r.notes)
