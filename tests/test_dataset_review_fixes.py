"""Dataset / load_dataset: the findings of a review (/tmp/r1) — the cached analysis behind
collapse_time, the model interface on structureless data, model= checks, messages."""

import math
import warnings

import numpy as np
import pytest

from regimes import Dataset, GaussianData, GaussianMixture, RegimesError, RegimesWarning, load_dataset


@pytest.fixture(scope="module")
def shifted():
    """The reviewer's reproducer: n = 800, d = 32, two classes shifted by ±0.6 per coordinate."""
    rng = np.random.default_rng(2)
    lab = rng.integers(0, 2, 800)
    X = rng.normal(size=(800, 32)) + (2 * lab[:, None] - 1) * 0.6
    return X, lab


@pytest.fixture(scope="module")
def isotropic():
    """Structureless data: N(0, 4 I_10), 4000 rows (Λ = 4.24 > 1 but at the noise edge)."""
    return 2 * np.random.default_rng(3).normal(size=(4000, 10))


def _no_warning(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegimesWarning)
        return fn()


# -- F1: collapse_time reads only an analysis run with the Dataset's own settings -----------------------
def test_collapse_time_ignores_an_analysis_with_other_settings(shifted):
    X, lab = shifted
    ds = Dataset(X, lab, samples=256, seed=4)
    other = ds.analyze(bootstrap=0, eigen_bootstrap=0, samples=32, seed=9)
    assert other.samples == 32 and ds.last_analysis is None  # returned, not kept
    tc = ds.collapse_time()
    # the documented invariant: φ_C(t_C) = ½ up to the root-finding tolerance (it was 0.433)
    assert ds.commitment(tc) == pytest.approx(0.5, abs=1e-7)
    assert (ds.last_analysis.samples, ds.last_analysis.seed) == (256, 4)
    assert tc == Dataset(X, lab, samples=256, seed=4).collapse_time()  # as on a fresh Dataset


@pytest.mark.parametrize("options", [{"precision": "float32"}, {"engine": "numba"}, {"memory_budget": 2**21},
                                     {"times": [0.3, 0.6, 1.2]}, {"seed": 1}, {"samples": 64}])
def test_runs_with_other_numbers_are_not_kept(shifted, options):
    X, lab = shifted
    ds = Dataset(X[:200], lab[:200], samples=32)
    if options.get("engine") == "numba":
        pytest.importorskip("numba")
    ds.analyze(bootstrap=0, **options)
    assert ds.last_analysis is None


def test_the_dataset_own_run_is_kept_whatever_its_intervals(shifted):
    X, lab = shifted
    ds = Dataset(X[:200], lab[:200], samples=32, seed=2)
    res = ds.analyze(bootstrap=3, schedule="cosine", seed=2, samples=32, precision="auto")  # same numbers
    assert ds.last_analysis is res
    assert ds.collapse_time("entropy") == res.t_C["entropy"].value


def test_collapse_time_runs_without_intervals_as_documented(shifted):
    # F5: the docstring no longer promises intervals; the cached run has bootstrap = 0
    X, lab = shifted
    ds = Dataset(X[:200], lab[:200], samples=32)
    ds.collapse_time()
    assert ds.last_analysis.bootstrap == 0 and math.isnan(ds.last_analysis.t_C["commitment"].ci[0])
    assert "with intervals" not in Dataset.collapse_time.__doc__


# -- F2: the model interface on data whose Λ is not detectable above the noise edge ----------------------
def test_model_interface_warns_when_lambda_is_at_the_noise_edge(isotropic):
    ds = Dataset(isotropic, samples=64)
    lam = np.linalg.eigvalsh(np.cov(isotropic.T))[-1]
    assert lam > 1.0
    # the Marchenko–Pastur edge of N(0, 4 I): 4 (1 + √(d/(n − 1)))², σ̂² estimated from the spectrum
    edge = 4 * (1 + math.sqrt(10 / 3999)) ** 2
    floor = ds.noise_floor
    assert floor.edge == pytest.approx(edge, rel=0.03) and not floor.detectable
    with pytest.warns(RegimesWarning, match="not detectable above the finite-sample noise edge"):
        ts = ds.speciation_time()
    assert ts == pytest.approx(0.5 * math.log(lam), rel=1e-10)  # still the bare ½ ln Λ, as documented
    with pytest.warns(RegimesWarning, match="has_speciation: Λ = 4.24"):
        assert ds.has_speciation
    with pytest.warns(RegimesWarning, match="no Regime II"):
        names = [r["name"] for r in ds.regimes()]
    assert names == ["I", "II", "III"]
    with pytest.warns(RegimesWarning, match="Dataset.regime:"):
        assert ds.regime(0.5) == "II"
    # the analysis on the same Dataset: no speciation, regimes I and III, the same verdict and edge
    res = ds.analyze(bootstrap=0)
    assert math.isnan(res.t_S.value) and [r["name"] for r in res.regimes] == ["I", "III"]
    assert res.eigenvalue.details["detectable"] is False
    assert res.eigenvalue.details["noise_edge"] == pytest.approx(floor.edge, rel=1e-9)


def test_no_regime_two_no_regimes_warning():
    # N(0, 4 I_100), 200 rows: ½ ln Λ exists (warned) but t_C > t_S, so the regimes hold no Regime II
    X = 2 * np.random.default_rng(0).normal(size=(200, 100))
    ds = Dataset(X, samples=32)
    with pytest.warns(RegimesWarning, match="speciation_time"):
        ds.speciation_time()
    names = _no_warning(lambda: [r["name"] for r in ds.regimes()])
    assert names == ["I", "III"]


def test_detectable_structure_gives_no_warning(shifted):
    X, lab = shifted
    ds = Dataset(X, lab, samples=64)
    assert ds.noise_floor.detectable
    lam = np.linalg.eigvalsh(np.cov(X.T))[-1]
    assert _no_warning(ds.speciation_time) == pytest.approx(0.5 * math.log(lam), rel=1e-10)
    assert _no_warning(lambda: ds.has_speciation)
    assert [r["name"] for r in _no_warning(ds.regimes)] == ["I", "II", "III"]


def test_noise_floor_is_none_for_too_few_features():
    ds = Dataset(np.random.default_rng(0).normal(size=(100, 3)) * 3, samples=16)
    assert ds.noise_floor is None
    _no_warning(ds.speciation_time)


# -- F3/F4: model= ------------------------------------------------------------------------------------------
def test_model_must_be_a_gaussian_mixture_of_the_data_sizes():
    rng = np.random.default_rng(0)
    X, lab = rng.normal(size=(300, 8)), np.repeat([0, 1], 150)
    for bad in (GaussianData(n=300, d=8), Dataset(X)):
        with pytest.raises(RegimesError, match=f"model must be a GaussianMixture.*got {type(bad).__name__}"):
            Dataset(X, lab, model=bad)
    with pytest.raises(RegimesError, match="model=GaussianMixture.*its d = 1024 is not the data's d = 8"):
        Dataset(X, lab, model=GaussianMixture(n=300, d=1024))
    with pytest.raises(RegimesError, match=r"its n = 4000 is not the data's n = 300.*model.replace\(n=300\)"):
        Dataset(X, lab, model=GaussianMixture(n=4000, d=8))
    ref = Dataset(X, lab, samples=32, model=GaussianMixture(n=4000, d=8).replace(n=300)).analyze(bootstrap=0).reference
    # the closed form t_C = ½ log1p(σ²/expm1(2α)), α = ln n / d, at the data's n = 300 and d = 8
    assert ref.t_C == pytest.approx(0.5 * math.log1p(1.0 / math.expm1(2 * math.log(300) / 8)), rel=1e-12)
    assert ref.eigenvalue == pytest.approx(8 * 1.0 + 1.0) and "n=300, d=8" in ref.model


def test_replace_with_other_data_checks_the_model():
    ds = Dataset.example(0, d=4, per_class=10, samples=16)
    with pytest.raises(RegimesError, match="its n = 20 is not the data's n = 30"):
        ds.replace(data=np.random.default_rng(0).normal(size=(30, 4)))


# -- F6: samples below the analysis' bound ------------------------------------------------------------------
def test_small_samples_say_why_the_analysis_refuses():
    ds = Dataset(np.random.default_rng(0).normal(size=(60, 5)), samples=8)
    assert 0 < ds.commitment(0.5) < 1  # the curves take samples >= 2
    for name, call in (("collapse_time", ds.collapse_time), ("regimes", ds.regimes),
                       ("regime", lambda: ds.regime(0.3))):
        with pytest.raises(RegimesError, match=rf"Dataset\(samples=8\): {name} runs the analysis, which needs "
                                               "samples >= 16"):
            call()
    with pytest.raises(RegimesError, match=r"Dataset\(samples=8\): analyze needs samples >= 16"):
        ds.analyze(bootstrap=0)
    assert ds.analyze(bootstrap=0, samples=16).samples == 16  # an explicit samples= is the analysis' own


# -- F7: the (X, labels) pair ------------------------------------------------------------------------------
def test_sample_pair_hint_and_documented_call():
    m = GaussianMixture(n=400, d=6)
    with pytest.raises(RegimesError, match=r"got a tuple of 2.*Dataset\(\*model.sample\(seed\)\)"):
        Dataset(m.sample(0))
    assert "Dataset(*model.sample(seed))" in GaussianMixture.commitment.__doc__
    X, lab = m.sample(0)
    assert Dataset(*m.sample(0), samples=16).commitment(0.4) == Dataset(X, lab, samples=16).commitment(0.4)
    assert Dataset(((1.0, 2.0), (3.0, 5.0), (0.0, 1.0))).n == 3  # a tuple of rows is still data


# -- F8: replace on a loaded source --------------------------------------------------------------------------
def test_replace_names_what_is_fixed_at_loading(tmp_path):
    U = np.random.default_rng(7).integers(0, 256, (60, 6)).astype(np.uint8)
    np.save(tmp_path / "u8.npy", U)
    ds = load_dataset(tmp_path / "u8.npy", scale="symmetric", samples=16)
    with pytest.raises(RegimesError, match=r"Dataset.replace\(scale='unit'\).*scale='symmetric'.*load_dataset"):
        ds.replace(scale="unit")
    with pytest.raises(RegimesError, match=r"Dataset.replace\(center=False\).*load_dataset"):
        ds.replace(center=False)
    with pytest.raises(RegimesError, match=r"Dataset.replace\(labels=...\).*load_dataset\(path, labels=...\)"):
        ds.replace(labels=np.arange(60) % 2)
    assert ds.replace(scale="symmetric", seed=3).seed == 3  # the same units: allowed
    # scale "symmetric" maps x to x/127.5 − 1: Λ = Λ_raw / 127.5²
    lam = np.linalg.eigvalsh(np.cov(U.T.astype(float)))[-1] / 127.5**2
    assert ds.replace(seed=1).eigenvalue == pytest.approx(lam, rel=1e-5)
    ex = Dataset.example(0, d=4, per_class=10, samples=16)
    with pytest.raises(RegimesError, match="Dataset.replace.*fixed"):
        ex.replace(center=False)
    # array data: labels=None drops the labels (as the docstring says)
    arr = Dataset(U.astype(float), np.arange(60) % 2, samples=16)
    assert arr.labels is not None and arr.replace(labels=None).labels is None


# -- F10: option handling -----------------------------------------------------------------------------------
def test_load_dataset_unknown_keyword_and_analyze_key():
    X = np.random.default_rng(0).normal(size=(40, 4))
    with pytest.raises(RegimesError, match="load_dataset: unknown argument.*foo.*allowed:.*samples, seed, "
                                           "memory_budget, model"):
        load_dataset(X, foo=1)
    ds = load_dataset(X, samples=16, seed=2)
    assert (ds.samples, ds.seed) == (16, 2)
    with pytest.raises(RegimesError, match="Dataset.analyze: key='x': the data are already loaded"):
        ds.analyze(key="x")


# -- F11: top_eigenvalues draws from SeedSequence([seed, 1]) ---------------------------------------------
def test_top_eigenvalues_do_not_reuse_the_data_stream():
    ds = Dataset.example(5, d=8, per_class=50, samples=16)
    X = ds.source.to_array().astype(float)
    lam = np.linalg.eigvalsh(np.cov(X.T))[::-1]
    np.testing.assert_allclose(ds.top_eigenvalues(3).values, lam[:3], rtol=1e-5)  # float32 data
    # the documented stream: SeedSequence([seed, 1]), not seed itself (which drew the data)
    from regimes.engines import top_eigenvalues

    mine = ds.top_eigenvalues(1, bootstrap=50).replicates
    doc = top_eigenvalues(ds.source, 1, rng=np.random.default_rng(np.random.SeedSequence([5, 1])),
                          bootstrap=50).replicates
    data_stream = top_eigenvalues(ds.source, 1, rng=5, bootstrap=50).replicates
    np.testing.assert_array_equal(mine, doc)
    assert not np.array_equal(mine, data_stream)


def test_constructor_on_a_loaded_source_names_this_api():
    """Dataset(source, scale=/center=) refuses other units in the Dataset API's words (it named
    load_source/as_source, which this user did not call); the same units pass."""
    import regimes
    from regimes import RegimesError

    ds = regimes.Dataset.example(d=8, per_class=20)
    for kw in ({"scale": "unit"}, {"center": False}):
        with pytest.raises(RegimesError, match=r"load_dataset\(path, \.\.\.\), or Dataset of the array") as exc:
            regimes.Dataset(ds.source, **kw)
        assert "load_source" not in str(exc.value)
    assert regimes.Dataset(ds.source, scale="none", center=True).n == ds.n
