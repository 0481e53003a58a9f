"""The memorisation audit against brute force (scipy cdist) and a synthetic set with known copies."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.spatial.distance import cdist

from regimes import RegimesError, RegimesWarning
from regimes.data import as_source, load_source
from regimes.engines.score import sample_exact_score
from regimes.memorization import memorization_audit, nearest_training_points


def brute(X, A, k):
    C = cdist(np.asarray(X, float), np.asarray(A, float))
    o = np.argsort(C, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(C, o, 1), o


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_neighbours_against_cdist(dtype):
    rng = np.random.default_rng(0)
    A = (rng.normal(size=(300, 20)) + 10.0).astype(dtype)  # offset: cancellation if not handled
    X = (rng.normal(size=(70, 20)) + 10.0).astype(dtype)
    X[:10] = A[:10] + 1e-4  # near-copies
    D, I, redo = nearest_training_points(X, A, k=3, memory_budget=1 << 20)  # small budget: many blocks
    Db, Ib = brute(X, A, 3)
    assert np.array_equal(I, Ib)
    assert_allclose(D, Db, rtol=1e-12, atol=1e-12)


def test_ties_are_resolved_exactly():
    # equidistant training points: float32 cannot order them; the certificate sends rows to float64
    A = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.0 + 1e-9], [5.0, 5.0]] + [[9.0, 9.0 + i] for i in range(30)])
    X = np.array([[1.0, 0.0]])
    D, I, redo = nearest_training_points(X, A, k=2)
    Db, Ib = brute(X, A, 2)
    assert_allclose(D, Db, rtol=1e-14)
    assert set(I[0]) == set(Ib[0])
    assert redo == 1  # float32 cannot certify the order: the row went through the float64 pass


def test_memmap_train_and_centred_sources(tmp_path):
    rng = np.random.default_rng(1)
    A = rng.normal(size=(200, 12)).astype(np.float32) * 3 + 1
    X = rng.normal(size=(40, 12)).astype(np.float32) * 3 + 1
    np.save(tmp_path / "train.npy", A)
    src = load_source(tmp_path / "train.npy")  # memory-mapped, centred by its own mean
    gsrc = as_source(X)  # centred by *its* mean: the audit must undo both
    a = memorization_audit(gsrc, src, bootstrap=0)
    Db, Ib = brute(X, A, 2)
    assert np.array_equal(a.generated.nearest, Ib[:, 0]) and np.array_equal(a.generated.second, Ib[:, 1])
    # float32 sources are centred in float32 (by DataSource): rows carry ~1e-7 relative rounding
    assert_allclose(a.generated.d1, Db[:, 0], rtol=1e-6)


def test_known_fraction_of_copies_is_recovered_with_baseline():
    rng = np.random.default_rng(2)
    n, d, m, p = 800, 32, 400, 0.3
    A = rng.normal(size=(n, d))
    copy = rng.random(m) < p  # each sample is a near-copy with probability p: the truth is p
    X = rng.normal(size=(m, d))
    X[copy] = A[rng.integers(0, n, copy.sum())] + 0.05 * rng.normal(size=(copy.sum(), d))
    held = rng.normal(size=(300, d))
    a = memorization_audit(X, A, reference=held, bootstrap=2000, rng=3)
    f = a.f_mem
    assert f.ci[0] <= p <= f.ci[1]
    assert f.value == pytest.approx(copy.mean(), abs=1e-12)  # every copy flagged, nothing else
    assert a.reference.f_mem.value == 0.0  # the baseline: unseen real data are not copies
    d_ = a.to_dict()
    for key in ("f_mem", "threshold", "ratio_quantiles", "reference", "carlini", "n_generated", "n_train"):
        assert key in d_
    assert d_["n_generated"] == m and d_["n_train"] == n and d_["threshold"] == pytest.approx(1 / 3)
    assert set(d_["f_mem"]) >= {"value", "ci"}
    # ratios and the Carlini score against brute force
    Db, _ = brute(X, A, 50)
    assert_allclose(a.generated.ratio, Db[:, 0] / Db[:, 1], rtol=1e-10)
    assert_allclose(a.generated.carlini, Db[:, 0] / (0.5 * Db[:, :50].mean(axis=1)), rtol=1e-5)
    cols = a.generated.per_sample()
    assert list(cols) == ["index", "nearest", "second", "d1", "d2", "ratio", "carlini"]


def test_sampler_to_audit_end_to_end():
    rng = np.random.default_rng(4)
    A = rng.normal(size=(40, 16))
    S = sample_exact_score(A, 50, sampler="ddim", steps=200, rng=5)
    a = memorization_audit(S, A, reference=rng.normal(size=(50, 16)), bootstrap=200)
    assert a.f_mem.value == 1.0
    assert a.reference.f_mem.value < 0.1


def test_scale_mismatch_warns():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(50, 4))
    with pytest.warns(RegimesWarning, match="differ in location or scale"):
        a = memorization_audit(10 * rng.normal(size=(5, 4)), A, bootstrap=0)
    assert any("scale" in n for n in a.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        memorization_audit(rng.normal(size=(5, 4)), A, bootstrap=0)


@pytest.mark.parametrize("kwargs,gen,match", [
    ({}, np.zeros((3, 5)), "generated must have the training set's dimension d = 4"),
    ({}, np.zeros((0, 4)), "generated must have at least 1 row"),
    ({}, np.array([[0.0, np.nan, 0, 0]]), "generated must be finite"),
    ({"k": 1.0}, np.zeros((3, 4)), "k must be > 0 and < 1"),
    ({"k": 0.0}, np.zeros((3, 4)), "k must be > 0"),
    ({"carlini_k": 100}, np.zeros((3, 4)), "carlini_k"),
    ({"reference": np.zeros((2, 3))}, np.zeros((3, 4)), "reference must have"),
])
def test_bad_inputs(kwargs, gen, match):
    A = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(RegimesError, match=match):
        memorization_audit(gen, A, **kwargs)


def test_bad_train():
    with pytest.raises(RegimesError, match="at least 2 rows"):
        memorization_audit(np.zeros((3, 4)), np.zeros((1, 4)))
    with pytest.raises(RegimesError, match="finite"):
        memorization_audit(np.zeros((3, 2)), np.array([[0.0, 1.0], [np.nan, 0.0]]))


def test_copies_of_a_duplicated_training_image_are_memorised():
    """A training image stored twice: a near-copy of it has d1 ≈ d2 against its two copies, so the
    ratio test must take the second neighbour among the *other* training images (brute-force oracle)."""
    rng = np.random.default_rng(11)
    A = rng.normal(size=(600, 24))
    A[500:600] = A[:100]  # 100 images stored twice
    X = A[:100] + 1e-3 * rng.normal(size=(100, 24))
    a = memorization_audit(X, A, bootstrap=1)
    g = a.generated
    assert a.f_mem.value == 1.0 and g.duplicated_nearest == 100
    assert any("appears more than once" in n for n in a.notes)
    # oracle: distances to all distinct training rows, copies of the nearest removed
    Dall = cdist(X, A)
    for i in range(100):
        near = int(np.argmin(Dall[i]))
        others = ~np.all(A == A[near], axis=1)
        j = np.flatnonzero(others)[np.argmin(Dall[i, others])]
        assert np.allclose(g.d2[i], Dall[i, j], rtol=1e-12) and np.array_equal(A[g.second[i]], A[j])
        assert np.array_equal(A[g.nearest[i]], A[near])
    # exact copies of duplicated rows: d1 = 0, memorised, as before
    assert memorization_audit(A[:10], A, bootstrap=0).f_mem.value == 1.0
    # no duplicates: nothing changes and no note
    b = memorization_audit(X, A[:500], bootstrap=1)
    assert b.generated.duplicated_nearest == 0 and not any("more than once" in n for n in b.notes)


def test_f_mem_interval_is_clopper_pearson():
    """Against scipy's exact binomial interval, and its coverage by exact summation of binomial
    probabilities (the percentile bootstrap it replaces covered 63% at f = 0.001, n = 1000)."""
    from scipy.stats import binom, binomtest

    from regimes.memorization import exact_binomial_interval

    for x, n, conf in ((0, 1000, 0.95), (1, 1000, 0.95), (37, 200, 0.9), (200, 200, 0.99), (3, 7, 0.8)):
        want = binomtest(x, n).proportion_ci(confidence_level=conf, method="exact")
        assert_allclose(exact_binomial_interval(x, n, conf), (want.low, want.high), rtol=1e-10, atol=1e-15)
    n = 1000
    ci = [exact_binomial_interval(x, n, 0.95) for x in range(n + 1)]
    for p in (0.001, 0.003, 0.01, 0.3):
        cover = sum(binom.pmf(x, n, p) for x in range(n + 1) if ci[x][0] <= p <= ci[x][1])
        assert cover >= 0.95, (p, cover)


def test_units_mismatch_seen_through_the_mean_offset():
    """[0, 1] against [−1, 1] (or uint8 against [−1, 1]) moves the mean more than the RMS about
    the training mean shows; exact copies in other units must still warn."""
    rng = np.random.default_rng(12)
    A = np.clip(rng.normal(0.0, 0.5, size=(300, 32)), -1, 1)
    for G in ((A[:50] + 1) / 2, np.round((A[:50] + 1) * 127.5)):
        with pytest.warns(RegimesWarning, match="differ in location or scale"):
            memorization_audit(G, A, bootstrap=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same units: no warning
        memorization_audit(A[:50] + 0.01 * rng.normal(size=(50, 32)), A, bootstrap=0)


def test_an_image_stored_more_often_than_the_candidates_kept():
    """60 copies of one training image (more than the 50 candidates kept per sample): the nearest
    distinct training image is found in a pass over the whole set (brute-force oracle)."""
    rng = np.random.default_rng(13)
    A = rng.normal(size=(300, 10))
    A[200:260] = A[7]
    X = A[7] + 1e-3 * rng.normal(size=(5, 10))
    g = memorization_audit(X, A, bootstrap=0).generated
    D = cdist(X, A)
    D[:, np.all(A == A[7], axis=1)] = np.inf
    assert_allclose(g.d2, D.min(axis=1), rtol=1e-12)
    assert np.all(g.ratio < 1e-2) and g.duplicated_nearest == 5


def test_memory_stays_near_the_budget_for_many_generated_rows():
    """The K candidates of every sample were kept for the whole set ((m, K) float64 + int64: 80 MB at
    m = 1e5, K = 50, whatever the budget); now only per-sample results outlive a piece."""
    import tracemalloc

    rng = np.random.default_rng(14)
    A = rng.normal(size=(300, 4))
    X = rng.normal(size=(100_000, 4))
    tracemalloc.start()
    a = memorization_audit(X, A, bootstrap=0, memory_budget=1 << 20)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 25e6, peak
    # and the numbers are the brute-force ones on a slice
    D = cdist(X[:500], A)
    assert_allclose(a.generated.d1[:500], D.min(axis=1), rtol=1e-12)


def test_two_images_stored_more_often_than_the_candidates_kept():
    """Two training images stored 60 times each, samples near either and elsewhere in one piece:
    the rows whose candidates are all copies are searched beyond them together, each against its
    own nearest image (brute-force oracle, copies of each sample's nearest removed)."""
    rng = np.random.default_rng(21)
    A = rng.normal(size=(400, 12))
    A[100:160] = A[3]
    A[200:260] = A[9]
    X = np.concatenate([A[3] + 1e-3 * rng.normal(size=(4, 12)), rng.normal(size=(6, 12)),
                        A[9] + 1e-3 * rng.normal(size=(3, 12))])
    g = memorization_audit(X, A, bootstrap=0).generated
    D = cdist(X, A)
    nearest = D.argmin(axis=1)
    for i in range(X.shape[0]):
        Di = D[i].copy()
        Di[np.all(A == A[nearest[i]], axis=1)] = np.inf
        assert g.d2[i] == pytest.approx(Di.min(), rel=1e-12)
    assert g.duplicated_nearest == 7


def test_duplicated_nearest_in_the_json_of_the_generated_samples():
    """docs/memorization.md: `duplicated_nearest` says how many samples had a duplicated nearest
    training image — it was only in the reference's JSON."""
    rng = np.random.default_rng(31)
    A = rng.normal(size=(100, 6))
    A[50] = A[3]
    X = A[3] + 1e-3 * rng.normal(size=(4, 6))
    d = memorization_audit(X, A, bootstrap=0).to_dict()
    assert d["duplicated_nearest"] == 4
