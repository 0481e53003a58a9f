"""The one labelled pass of per-class sums (regimes.engines.covariance.class_grams) and what it serves:
the covariance spectrum, the class covariances, the class hierarchy's means and the pooled
within-class variance of ``analyze`` — each checked against the path that reads the data itself
(a second algorithm) or against numpy on the whole array."""

import math

import numpy as np
import pytest

from regimes._errors import RegimesError
from regimes.analysis import analyze
from regimes.class_speciation import class_speciation_from_data
from regimes.data import as_source
from regimes.engines.covariance import class_grams, covariance_spectrum
from regimes.hierarchy import class_hierarchy


def _data(n=3000, d=40, K=3, seed=0, dtype=np.float64, offset=0.0, runs=False):
    g = np.random.default_rng(seed)
    lab = np.sort(g.integers(0, K, n)) if runs else g.integers(0, K, n)
    X = g.standard_normal((n, d)) * 2.0 ** lab[:, None] + 2.0 * np.eye(K, d)[lab] + offset
    return X.astype(dtype), lab


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("runs", [True, False])
def test_class_sums_match_numpy_on_the_whole_array(center, runs):
    X, lab = _data(offset=50.0, runs=runs)
    src = as_source(X, labels=lab, center=center)
    gr = class_grams(src)
    for c in range(3):
        Y = X[lab == c].astype(np.float64)
        n, s, S = gr.group(c)
        m = s / n + gr.shift
        np.testing.assert_allclose(m, Y.mean(axis=0) - (X.mean(axis=0) if center else 0.0), rtol=0, atol=1e-12)
        C = (S - n * np.outer(s / n, s / n)) / (n - 1)
        np.testing.assert_allclose(C, np.cov(Y, rowvar=False), rtol=0, atol=1e-11)
    np.testing.assert_allclose(gr.means(), np.stack([X[lab == c].mean(axis=0) for c in range(3)])
                               - (X.mean(axis=0) if center else 0.0), rtol=0, atol=1e-12)


def test_a_subset_of_classes_holds_only_those():
    X, lab = _data()
    src = as_source(X, labels=lab)
    gr = class_grams(src, [2, 0])
    assert gr.classes == (2, 0) and gr.counts.tolist() == [int((lab == 2).sum()), int((lab == 0).sum())]
    n, s, _ = gr.group(0)
    np.testing.assert_array_equal(s, class_grams(src).group(0)[1])
    with pytest.raises(ValueError):
        gr.group(1)


@pytest.mark.parametrize("center", [True, False])
def test_covariance_spectrum_from_the_class_sums_equals_the_direct_pass(center):
    X, lab = _data(offset=50.0)
    src = as_source(X, labels=lab, center=center)
    a, Va, ma = covariance_spectrum(src, return_vectors=True)
    b, Vb, mb = covariance_spectrum(src, return_vectors=True, grams=class_grams(src))
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12 * a[0])
    np.testing.assert_allclose(np.abs(np.sum(Va[:, :3] * Vb[:, :3], axis=0)), 1.0, atol=1e-10)
    np.testing.assert_allclose(mb, ma, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b, np.sort(np.linalg.eigvalsh(np.cov(X, rowvar=False)))[::-1], rtol=1e-10,
                               atol=1e-10 * a[0])


def test_covariance_spectrum_refuses_partial_class_sums_and_weights():
    X, lab = _data()
    src = as_source(X, labels=lab)
    with pytest.raises(RegimesError, match="every class"):
        covariance_spectrum(src, grams=class_grams(src, [0, 1]))
    with pytest.raises(RegimesError, match="every class"):
        covariance_spectrum(src, grams=class_grams(src), weights=np.ones(src.n))


@pytest.mark.parametrize("pairs", ["auto", "rest", [("0", "2")]])
def test_class_speciation_from_the_class_sums_equals_its_own_pass(pairs):
    X, lab = _data(K=2 if pairs == "auto" else 3)
    src = as_source(X, labels=lab)
    a = class_speciation_from_data(src, pairs=pairs, include_means=True)
    b = class_speciation_from_data(src, pairs=pairs, include_means=True, grams=class_grams(src))
    _rows_close(a.rows, b.rows, 1e-11)


def _rows_close(ra, rb, rel):
    assert sum(r["t_S"] is not None for r in ra) >= min(2, len(ra))  # numbers compared, not only nulls
    for x, y in zip(ra, rb, strict=True):
        assert x.keys() == y.keys()
        for k, v in x.items():
            if isinstance(v, float):
                assert y[k] == pytest.approx(v, rel=rel, abs=1e-13), k
            else:
                assert y[k] == v, k


def test_class_speciation_with_one_class_per_pass_equals_one_pass():
    # memory_mb so small that each pass holds one class: "rest" sums the classes pass after pass
    X, lab = _data(d=30, K=3)
    src = as_source(X, labels=lab)
    a = class_speciation_from_data(src, pairs="rest")
    b = class_speciation_from_data(src, pairs="rest", memory_mb=2 * 30 * 30 * 8 / 2**20)
    _rows_close(a.rows, b.rows, 1e-12)


def test_class_hierarchy_from_the_class_sums_equals_its_own_pass_bit_for_bit():
    # a centred float64 source: the class sums are those of the hierarchy's own pass, bit for bit
    X, lab = _data(K=4, offset=3.0)
    src = as_source(X, labels=lab)
    a = class_hierarchy(src)
    b = class_hierarchy(src, grams=class_grams(src))
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.separations_sq, b.separations_sq)


def test_the_class_sums_must_be_those_of_the_data():
    X, lab = _data()
    src = as_source(X, labels=lab)
    other = as_source(X[:-5], labels=lab[:-5])
    with pytest.raises(RegimesError, match="grams"):
        class_hierarchy(src, grams=class_grams(other))
    with pytest.raises(RegimesError, match="grams"):
        class_speciation_from_data(src, grams=class_grams(src, [0, 1]))
    with pytest.raises(RegimesError, match="labels"):
        class_grams(as_source(X))


def _summary(r):
    cs = r.class_speciation.rows
    return {"lambda": r.eigenvalue.value, "lambda_ci": r.eigenvalue.ci, "spectral": r.t_C["spectral"].value,
            "spectral_ci": r.t_C["spectral"].ci, "gaussian": r.t_C["gaussian"].value,
            "gaussian_ci": r.t_C["gaussian"].ci, "variance": r.t_C["gaussian"].details["variance"],
            "t_S_cov": [row["t_S"] for row in cs], "F2": [row["frobenius_sq"] for row in cs],
            "hier": r.class_hierarchy.times[np.triu_indices(3, 1)]}


@pytest.mark.parametrize("center", [True, False])
def test_analysis_with_the_class_sums_equals_the_analysis_without(center):
    # a quarter of memory_budget below K·d²·8 bytes (3 × 400² × 8 = 3.84 MB > 3 MiB / 4) takes the old passes: the
    # same numbers up to the order of summation (the Monte Carlo t_C is not compared: the budget
    # also changes the engine's blocks)
    X, lab = _data(n=1500, d=400, K=3, offset=5.0)
    src = as_source(X, labels=lab, center=center)
    a = _summary(analyze(src, samples=32, bootstrap=30))
    b = _summary(analyze(src, samples=32, bootstrap=30, memory_budget=3 << 20))
    assert np.isfinite(np.asarray(a["t_S_cov"], dtype=float)).sum() >= 2
    for k in a:
        np.testing.assert_allclose(np.asarray(a[k], dtype=float), np.asarray(b[k], dtype=float), rtol=1e-10,
                                   err_msg=k)
    # the pooled within-class variance itself, against numpy
    pooled = sum(((X[lab == c] - X[lab == c].mean(axis=0)) ** 2).sum() for c in range(3)) / (1500 - 3) / 400
    assert a["variance"] == pytest.approx(pooled, rel=1e-12)


def test_float32_data_keep_their_covariance_bit_for_bit():
    # float32 data: Λ from the float32 covariance pass with or without the class sums
    X, lab = _data(n=1500, d=400, K=3, dtype=np.float32)
    src = as_source(X, labels=lab)
    a = analyze(src, samples=32, bootstrap=30)
    b = analyze(src, samples=32, bootstrap=30, memory_budget=3 << 20)
    assert a.eigenvalue.value == b.eigenvalue.value and a.t_C["spectral"].value == b.t_C["spectral"].value
    _rows_close(a.class_speciation.rows, b.class_speciation.rows, 1e-12)


def test_float32_uncentred_data_are_shifted_in_float64():
    # a float32 source in [0, 2] that is not centred: the rows are shifted by the mean in float64, so
    # the class covariances keep float64 accuracy (~1e-14 here; the shift in float32 rounds the rows
    # below half the mean and left ~5e-9)
    g = np.random.default_rng(0)
    lab = g.integers(0, 2, 3000)
    X = (g.uniform(0.0, 1.0, (3000, 20)) * (1 + lab[:, None])).astype(np.float32)
    src = as_source(X, labels=lab, center=False)
    gr = class_grams(src)
    for c in range(2):
        n, s, S = gr.group(c)
        C = (S - n * np.outer(s / n, s / n)) / (n - 1)
        want = np.cov(X[lab == c].astype(np.float64), rowvar=False)
        np.testing.assert_allclose(C, want, rtol=0, atol=1e-12 * np.abs(want).max())
    np.testing.assert_allclose(gr.means(), [X[lab == c].astype(np.float64).mean(axis=0) for c in range(2)],
                               rtol=1e-13)


def test_covariances_whose_squares_overflow_are_a_clear_error_and_a_note():
    # data ~1e45: covariances ~1e90, their squares beyond float64 in the comparison's noise terms
    X, lab = _data(n=600, d=12, K=3)
    src = as_source(X * 1e45, labels=lab)
    with pytest.raises(RegimesError, match="rescale the data by a constant"):
        class_speciation_from_data(src)
    r = analyze(src, samples=16, bootstrap=20)
    assert r.class_speciation is None and r.class_hierarchy is not None
    assert any(x.startswith("t_S_covariance not computed") and "rescale the data" in x for x in r.notes)


@pytest.mark.parametrize("bad, msg", [([-1], ">= 0"), ([0, 0], "distinct"), ([1.7], "integer"), ([5], "<= 2"),
                                      ("01", "list of class indices"), (3, "list of class indices"),
                                      (np.array(1), "list of class indices"), ([], "at least one"),
                                      ([True], r"classes\[0\] must be an integer")])
def test_class_grams_refuses_bad_class_lists(bad, msg):
    X, lab = _data(n=60, d=3)
    with pytest.raises(RegimesError, match=msg):
        class_grams(as_source(X, labels=lab), bad)


@pytest.mark.parametrize("scale", [1e-80, 1e36, 1e80])
def test_covariances_beyond_the_comparable_scale_are_refused_at_both_ends(scale):
    # below ~1e-70 the squares underflowed to "identical classes"; above ~1e35 they overflowed to a
    # bracketing failure (or a bare OverflowError)
    X, lab = _data(n=600, d=12, K=3)
    with pytest.raises(RegimesError, match="outside"):
        class_speciation_from_data(as_source(X * scale, labels=lab))


def test_within_the_comparable_scale_the_comparison_follows_the_scaling_law():
    # ‖C1 − C2‖²_F scales as c⁴, so the large-t time ¼ ln(excess/8) shifts by exactly ln c
    X, lab = _data(n=600, d=12, K=2)
    a = class_speciation_from_data(as_source(X, labels=lab)).rows[0]
    b = class_speciation_from_data(as_source(X * 1e30, labels=lab)).rows[0]
    assert b["frobenius_sq"] == pytest.approx(a["frobenius_sq"] * 1e120, rel=1e-12)
    assert b["t_S_asymptotic"] == pytest.approx(a["t_S_asymptotic"] + math.log(1e30), rel=1e-12)
    assert b["t_S"] is not None and b["detectable"] == a["detectable"]


def test_the_shared_pass_about_the_class_means_gives_the_same_bits():
    # class_scatter: the hierarchy's own pass, with each row's |x − m_c|² kept for the pooled variance
    from regimes.analysis import _pooled_sq_norms
    from regimes.hierarchy import class_scatter

    X, lab = _data(K=4, offset=3.0)
    src = as_source(X, labels=lab)
    gr = class_grams(src)
    sc = class_scatter(src, gr)
    np.testing.assert_array_equal(sc.row_sq, _pooled_sq_norms(src, gr.means()))
    want = np.array([((X[lab == c] - X[lab == c].mean(axis=0)) ** 2).sum(axis=1) for c in range(4)],
                    dtype=object)
    for c in range(4):
        np.testing.assert_allclose(sc.row_sq[lab == c], want[c], rtol=1e-12)
    a, b = class_hierarchy(src, grams=gr), class_hierarchy(src, grams=gr, scatter=sc)
    np.testing.assert_array_equal(a.times, b.times)
    np.testing.assert_array_equal(a.noise_threshold_sq, b.noise_threshold_sq)
    with pytest.raises(RegimesError, match="scatter"):
        class_hierarchy(as_source(X[:-5], labels=lab[:-5]), scatter=sc)
