"""Data, Dataset, analyze and engines: inputs a fuzz review of the Python API found misread or
failing with raw tracebacks (T3, T16, T19, AW4, AW5, AW7, SN6, BM2).

Every refusal is a :class:`regimes.RegimesError` naming the parameter as typed (and the value).
Oracles for the numbers: mpmath for the smallest time's float64 bound, brute-force pairwise
distances, the analytic limits of the curves (t → 0: φ_C = 1, f^e = 0; t → ∞: φ_C = 1/n,
f^e = ln(n)/d) and numpy's own weighted covariance.
"""

from __future__ import annotations

import re
import warnings

import mpmath as mp
import numpy as np
import pytest

from regimes import Dataset, RegimesError
from regimes.analysis import analyze, class_level, default_times
from regimes.data import as_source, input_kind, load_labels, load_source
from regimes.data.source import scale_map
from regimes.dataset import load_dataset
from regimes.engines import covariance_spectrum, empirical_mixture, top_eigenvalues
from regimes.engines.mixture import MIN_TIME, check_memory_budget, min_time
from regimes.engines.score import reverse_step, sample_exact_score

T = [0.05, 0.2, 0.5, 1.0]


@pytest.fixture(scope="module")
def data():
    g = np.random.default_rng(3)
    y = np.repeat([0, 1], 30)
    X = g.standard_normal((60, 6)) + 2.0 * y[:, None]
    return X, y


def _refused(fn, *words):
    """``fn()`` raises RegimesError whose message holds every one of ``words``."""
    with pytest.raises(RegimesError) as exc:
        fn()
    msg = str(exc.value)
    for w in words:
        assert w in msg, (w, msg)
    return msg


# -- T3: sizes bounded before numpy fails -------------------------------------------------------------
@pytest.mark.parametrize("value", [1e308, 10**400, 2**26 + 1])
def test_samples_are_bounded(data, value):
    X, _ = data
    _refused(lambda: Dataset(X, samples=value), "samples must be", "<= 67108864")
    _refused(lambda: empirical_mixture(X, T, samples=value), "samples must be", "<= 67108864")


@pytest.mark.parametrize("value", [1e308, 10**400, 100_001])
def test_bootstrap_is_bounded(data, value):
    X, _ = data
    _refused(lambda: top_eigenvalues(X, 2, bootstrap=value), "bootstrap must be", "<= 100000")
    _refused(lambda: Dataset(X).top_eigenvalues(bootstrap=value), "bootstrap must be", "<= 100000")


@pytest.mark.parametrize("value", [1e308, 10**400, 2**62])
def test_memory_budget_is_bounded(data, value):
    X, _ = data
    for fn in (lambda: Dataset(X, memory_budget=value), lambda: empirical_mixture(X, T, memory_budget=value),
               lambda: analyze(X, memory_budget=value)):
        _refused(fn, "memory_budget must be >= 1048576 and <= 1125899906842624")
    assert check_memory_budget(1 << 30) == 1 << 30  # the default always passes
    _refused(lambda: Dataset(X, memory_budget=1000), "memory_budget must be >= 1048576", "1000")


def test_samples_that_cannot_fit_are_refused_before_drawing(data):
    X, _ = data
    wide = np.random.default_rng(0).standard_normal((4, 200_000)).astype(np.float32)
    # 2^26 samples × 200 000 features: ~100 TB of Monte Carlo arrays
    _refused(lambda: empirical_mixture(wide, T, samples=2**26), "samples=67108864 needs about", "use a smaller samples")
    _refused(lambda: sample_exact_score(wide, 2**26), "n_samples=67108864 needs about")


# -- AW4: flags are True/False only ---------------------------------------------------------------------
@pytest.mark.parametrize("value", ["no", None, 2, float("nan"), [True]])
def test_flags_refuse_non_booleans(data, tmp_path, value):
    X, _ = data
    path = tmp_path / "x.npy"
    np.save(path, X)
    shown = repr(value)
    _refused(lambda: Dataset(X, center=value), "center must be True or False", shown)
    _refused(lambda: analyze(X, center=value), "center must be True or False", shown)
    _refused(lambda: as_source(X, center=value), "center must be True or False", shown)
    _refused(lambda: load_dataset(str(path), center=value), "center must be True or False", shown)
    _refused(lambda: load_dataset(str(path), grayscale=value), "grayscale must be True or False", shown)
    _refused(lambda: load_dataset(str(path), color=value), "color must be True or False", shown)
    ds = Dataset(X, samples=16)
    _refused(lambda: ds.excess_entropy(0.3, return_se=value), "return_se must be True or False", shown)
    _refused(lambda: ds.commitment(0.3, return_se=value), "return_se must be True or False", shown)
    if value is not None:  # store=None: the default (decided by the budget)
        _refused(lambda: empirical_mixture(X, T, samples=16, store=value), "store must be True or False", shown)
    _refused(lambda: covariance_spectrum(X, return_vectors=value), "return_vectors must be True or False", shown)
    _refused(lambda: reverse_step(None, X[:1], 0.5, 0.1, stochastic=value), "stochastic must be True or False")
    _refused(lambda: sample_exact_score(X, 2, return_trajectory=value), "return_trajectory must be True or False")


def test_flags_keep_their_meaning(data):
    X, _ = data
    assert Dataset(X, center=np.False_).source.center is False
    ds = Dataset(X, samples=16)
    v, se = ds.commitment(0.3, return_se=True)
    assert ds.commitment(0.3) == v and se > 0
    _refused(lambda: Dataset(ds.source, center="no"), "center must be True or False")


# -- AW5: parameters checked on entry, under their own names ----------------------------------------------
@pytest.mark.parametrize("value", ["bogus", "", 5, float("nan"), ["leading"], "LEADING"])
def test_timestep_spacing_checked_without_sampler_steps(data, value):
    X, _ = data
    for kw in ({}, {"sampler_steps": 50}):
        msg = _refused(lambda kw=kw: analyze(X, timestep_spacing=value, **kw), "timestep_spacing must be one of",
                       "leading, trailing, linspace", repr(value))
        assert not msg.startswith("spacing")


def test_sampler_steps_named_as_typed(data):
    X, _ = data
    _refused(lambda: analyze(X, sampler_steps=float("nan")), "sampler_steps must be an integer", "nan")
    _refused(lambda: analyze(X, sampler_steps=0), "sampler_steps must be >= 1", "0")
    _refused(lambda: analyze(X, sampler_steps=5000), "sampler_steps must be <= the schedule's 1000", "5000")
    _refused(lambda: analyze(X, steps=10**400), "steps must be", "401 digits")


@pytest.mark.parametrize("value, words", [(float("nan"), ("tol must be finite", "nan")),
                                          ("abc", ("tol must be a real number", "'abc'")),
                                          (-1e-3, ("tol must be >= 0", "-0.001")),
                                          (2.0, ("tol must be >= 0 and < 1", "2.0")),
                                          (True, ("tol must be a real number", "True"))])
def test_top_eigenvalues_tol_checked_on_every_path(data, value, words):
    X, _ = data
    for method in ("dense", "lanczos", "auto"):
        _refused(lambda m=method: top_eigenvalues(X, 2, tol=value, method=m), *words)


@pytest.mark.parametrize("value, words", [(float("nan"), ("max_d must be an integer", "nan")),
                                          ("abc", ("max_d must be an integer", "'abc'")),
                                          (None, ("max_d must be an integer", "None")),
                                          (0, ("max_d must be >= 1", "0"))])
def test_covariance_spectrum_max_d(data, value, words):
    X, _ = data
    _refused(lambda: covariance_spectrum(X, max_d=value), *words)


def test_other_engine_options_checked_on_entry(data):
    X, _ = data
    _refused(lambda: top_eigenvalues(X, 2, block_rows=0), "block_rows must be >= 1", "0")
    _refused(lambda: empirical_mixture(X, T, block_rows=-1), "block_rows must be >= 1", "-1")
    _refused(lambda: empirical_mixture(X, T, progress="yes"), "progress must be a callable", "'yes'")
    _refused(lambda: analyze(X, precision="float16"), "precision must be", "'float16'")
    _refused(lambda: analyze(X, engine="gpu"), "engine must be", "'gpu'")
    _refused(lambda: analyze(X, times=[0.1, "a"]), "times must be real numbers")


def test_dataset_analyze_unknown_argument(data):
    X, _ = data
    ds = Dataset(X, samples=16)
    _refused(lambda: ds.analyze(bogus=1), "Dataset.analyze: unknown argument(s) bogus", "allowed:", "timestep_spacing")
    _refused(lambda: ds.analyze(data=X), "unknown argument(s) data", "come from the Dataset")


# -- T16: default_times ---------------------------------------------------------------------------------
@pytest.mark.parametrize("num, words", [(-1, ("num must be >= 2", "-1")), (True, ("num must be an integer", "True")),
                                        (1.5, ("num must be an integer", "1.5")),
                                        (10**400, ("num must be", "401 digits")), ("5", ("num must be an integer",))])
def test_default_times_num(num, words):
    _refused(lambda: default_times([0.1, 1.0], num=num), *words)


@pytest.mark.parametrize("refs, words", [("abc", ("t_refs must be a sequence", "'abc'")),
                                         (None, ("t_refs must be a sequence", "None")),
                                         (0.3, ("t_refs must be a sequence", "0.3")),
                                         (np.ones((2, 2)), ("t_refs must be a sequence",)),
                                         ({"a": 1}, ("t_refs must be a sequence",)),
                                         ([0.1, "x"], ("t_refs must be a real number", "'x'")),
                                         ([0.1, 1 + 2j], ("t_refs must be a real number",)),
                                         ([10**400], ("t_refs must be a real number representable",)),
                                         ([1e308], ("t_refs must be reference times < 8.9e307", "1e+308"))])
def test_default_times_refs(refs, words):
    _refused(lambda: default_times(refs), *words)


def test_default_times_skips_missing_estimates_and_stays_above_the_smallest_time():
    grid = default_times([None, float("nan"), float("inf"), -1.0, 0.3])
    assert grid[0] < 0.3 < grid[-1]
    tiny = default_times([1e-320])  # a reference far below the engine's range: the grid starts at MIN_TIME
    assert tiny[0] == MIN_TIME and np.all(np.diff(tiny) > 0)
    assert default_times([1e-320], t_min=1e-200)[0] == 1e-200


# -- T19: one raw exception each -------------------------------------------------------------------------
@pytest.mark.parametrize("value", [None, 5, 1.5, ["a.npy"]])
def test_path_type_checked(value):
    _refused(lambda: load_labels(value), "path must be a labels file", repr(value))
    _refused(lambda: input_kind(value), "path must be a file or folder path", repr(value))


def test_load_dataset_none_names_path():
    msg = _refused(lambda: load_dataset(None), "path must be a data file or folder", "got None")
    assert "<array>" not in msg
    _refused(lambda: load_source(None), "path must be")
    _refused(lambda: Dataset(None), "data must be an array of rows", "got None")


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_scale_huge_integer(data, value):
    X, _ = data
    _refused(lambda: scale_map(value), "scale must be a real number representable as a float64", "401 digits")
    _refused(lambda: analyze(X, scale=value), "scale must be", "401 digits")
    _refused(lambda: as_source(X, scale=value), "scale must be")


def test_scale_other_values(data):
    _refused(lambda: scale_map(float("nan")), "scale must be one of none, unit, symmetric or a finite number > 0")
    _refused(lambda: scale_map(["unit"]), "scale must be one of", "['unit']")
    assert scale_map(np.float32(0.5)) == (0.5, 0.0)


@pytest.mark.parametrize("weights, words", [
    (np.ones(3), ("weights must have one entry per row (60)", "(3,)")),
    (np.ones((60, 1)), ("weights must be a 1-D array", "(60, 1)")),
    (np.r_[-1.0, np.ones(59)], ("weights must be >= 0", "-1.0")),
    (np.r_[np.nan, np.ones(59)], ("weights must be finite", "nan")),
    (np.r_[np.inf, np.ones(59)], ("weights must be finite", "inf")),
    (np.zeros(60), ("weights must sum to more than 1", "all zero")),
    (np.full(60, 1 / 60), ("weights must sum to more than 1", "sum of 1")),
    ("abc", ("weights must be real numbers",)),
    (np.full(60, 1e307), ("weights: their sum overflows",)),
])
def test_covariance_weights(data, weights, words):
    X, _ = data
    _refused(lambda: covariance_spectrum(X, weights=weights), *words)


def test_covariance_weights_as_counts_match_numpy(data):
    """Integer row counts: numpy's frequency-weighted covariance (normalised by Σw − 1) is the oracle."""
    X, _ = data
    w = np.random.default_rng(1).multinomial(60, np.full(60, 1 / 60))
    ref = np.linalg.eigvalsh(np.cov(X, rowvar=False, fweights=w))[::-1]
    np.testing.assert_allclose(covariance_spectrum(X, weights=w), ref, rtol=1e-10)


# -- AW7: the engine's labels pass a source's checks -----------------------------------------------------
@pytest.mark.parametrize("labels, words", [
    ("nan", ("labels: float labels must be finite integers",)),
    ("half", ("labels: float labels must be finite integers",)),
    ("none", ("labels: labels have missing values",)),
    ("complex", ("labels: labels must be integers or strings",)),
    ("short", ("labels must have one entry per row (60)", "(59,)")),
    ("2d", ("labels: labels must be a 1-D array",)),
])
def test_engine_labels_checked_as_a_source_checks_them(data, labels, words):
    X, y = data
    lab = {"nan": np.where(y == 0, 0.0, np.nan), "half": y + 0.5, "none": np.array([None] * 60, object),
           "complex": y + 0j, "short": y[:-1], "2d": y[:, None]}[labels]
    _refused(lambda: empirical_mixture(X, T, samples=16, labels=lab), *words)
    if labels != "short":  # as_source: the same check, prefixed with the data's name
        _refused(lambda: as_source(X, lab), "<array>: " + words[0].removeprefix("labels: "))


def test_engine_labels_in_any_form_give_the_same_classes(data):
    X, y = data
    ref = empirical_mixture(X, T, samples=16, labels=y).class_commitment
    names = np.where(y == 0, "cat", "dog")
    for lab in (y.astype(float), names, list(names), y + 7):
        np.testing.assert_array_equal(empirical_mixture(X, T, samples=16, labels=lab).class_commitment, ref)
    np.testing.assert_array_equal(empirical_mixture(as_source(X, y), T, samples=16).class_commitment, ref)


# -- SN6 / BM2: tiny times blamed on the time, not the data -------------------------------------------------
@pytest.mark.parametrize("t", [1e-320, 5e-324, 1e-310, 9.9e-301])
def test_tiny_times_refused_naming_the_time(data, t):
    X, _ = data
    ds = Dataset(X, samples=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way to the refusal
        for fn, name in ((lambda: ds.curves([t, 0.1]), "times"), (lambda: empirical_mixture(X, [t]), "times"),
                         (lambda: ds.commitment(t), "t"), (lambda: ds.excess_entropy([t, 0.1]), "t"),
                         (lambda: analyze(X, times=[t, 0.1]), "times")):
            msg = _refused(fn, f"{name} must be >= 1e-300", repr(t), "Δ_t")
            assert "rescale the data" not in msg
    _refused(lambda: ds.commitment(0.0), "t must be > 0")


def test_smallest_time_matches_the_cli_and_float64():
    """MIN_TIME is the CLI's T_MIN; at it ½v² = 1/(2 expm1(2t)) is far inside float64 (mpmath)."""
    from regimes_cli._options import T_MIN

    assert MIN_TIME == T_MIN
    half_v2 = 1 / (2 * mp.expm1(2 * mp.mpf(MIN_TIME)))
    assert half_v2 * mp.mpf("3e8") < mp.mpf(np.finfo(np.float64).max)
    # … and what happened below it: under ~1.4e-309 ½v² itself leaves float64 (½v²·0 = NaN)
    assert 1 / (2 * mp.expm1(2 * mp.mpf("1.3e-309"))) > mp.mpf(np.finfo(np.float64).max)
    assert 1 / (2 * mp.expm1(2 * mp.mpf("1.5e-309"))) < mp.mpf(np.finfo(np.float64).max)


def test_curves_at_the_smallest_and_largest_times_are_their_limits(data):
    """At t = MIN_TIME every weight but the start point's is 0 (φ_C = 1, f^e = 0); at t = 400, past
    expm1(2t)'s overflow, the weights are uniform (φ_C = 1/n, f^e = ln(n)/d) — without warnings."""
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = empirical_mixture(X, [MIN_TIME, 400.0], samples=32, labels=y)
        ds = Dataset(X, y, samples=32)
        assert ds.commitment(MIN_TIME) == 1.0 and ds.cloning_probability(MIN_TIME) == 1.0
    assert c.commitment[0] == 1.0 and c.excess_entropy[0] == 0.0
    assert c.commitment[1] == pytest.approx(1 / 60, rel=1e-12)
    assert c.excess_entropy[1] == pytest.approx(np.log(60) / 6, rel=1e-12)
    assert c.class_commitment[1] == pytest.approx(0.5, rel=1e-12)


def test_smallest_time_rises_for_data_with_huge_distances(data):
    """Squared distances D up to 4 max|x − x̄|² (brute force) must stay finite once divided by
    2 expm1(2t) at the floor (mpmath); just above it the curves are their t → 0 limit."""
    X, _ = data
    big = X * 1e6
    floor = min_time(big)
    d2 = ((big[:, None, :] - big[None, :, :]) ** 2).sum(-1)
    xc = big - big.mean(0)
    assert d2.max() <= 4 * (xc**2).sum(1).max()
    assert mp.mpf(4 * (xc**2).sum(1).max()) / (2 * mp.expm1(2 * mp.mpf(floor))) < mp.mpf(np.finfo(np.float64).max)
    assert floor > MIN_TIME and min_time(X) == MIN_TIME
    msg = _refused(lambda: empirical_mixture(big, [MIN_TIME, 0.1]), "times must be >=", "squared distances",
                   repr(MIN_TIME))
    assert re.search(r">= \d\.\d\de-29\d", msg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = empirical_mixture(big, [floor * 1.01, 0.1], samples=16)
        assert c.commitment[0] == 1.0
        _refused(lambda: c.evaluate([MIN_TIME]), "t must be >=")
        assert np.all(c.evaluate([floor * 1.01])["phi_c"] == 1.0)


# -- others found on the way ----------------------------------------------------------------------------
def test_as_source_name_and_class_level():
    X = np.random.default_rng(0).standard_normal((5, 2))
    _refused(lambda: as_source(X, name=float("nan")), "name must be a string", "nan")
    _refused(lambda: class_level(10**400), "classes must be", "401 digits")
    assert class_level(2) == pytest.approx(0.7752)


def test_exact_score_at_a_tiny_time_is_refused_not_infinite():
    """The score (x − e^{−t}x̂)/Δ_t ≈ (x − x̂)/(2t) exceeds float64 at t = 1e-320 (mpmath oracle)."""
    from regimes.engines.score import EmpiricalScore

    X = np.random.default_rng(0).standard_normal((30, 4))
    es = EmpiricalScore(X)
    x = X[:1] + 0.1
    xh = es.mean(x, 1e-320)
    assert mp.mpf(float(np.abs(x - xh).max())) / (-mp.expm1(-2 * mp.mpf("1e-320"))) > mp.mpf(np.finfo(float).max)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _refused(lambda: es.score(x, 1e-320), "t = 1e-320 is too small for the score")
        assert np.all(np.isfinite(es.score(x, 1e-300)))


def test_dataset_example_unknown_argument():
    _refused(lambda: Dataset.example(d=8, per_class=10, bogus=1), "Dataset.example: unknown argument(s) bogus",
             "samples, memory_budget")
    assert Dataset.example(d=8, per_class=10, samples=16).samples == 16
