"""The fused (numba) log-sum-exp kernel against the numpy path: curves and crossings to 1e-12."""

import numpy as np
import pytest

from regimes import RegimesError
from regimes.engines import empirical_mixture
from regimes.engines._lse import LSEState, resolve_engine

numba = pytest.importorskip("numba")


def _rel(a, b, floor=1e-300):
    """Largest |a − b| / max(|b|, floor)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor)))


#: L = ln Σ e^E is ~1e-16 where one weight dominates (small t): compared on the scale of a nat
FLOOR = {"lse": 1.0, "phi_c": 1e-300, "phi": 1e-300}


def _data(seed=4, n=300, d=20):
    g = np.random.default_rng(seed)
    lab = g.integers(0, 3, n)
    X = g.standard_normal((n, d)) + 1.5 * lab[:, None]
    return X, lab


@pytest.mark.parametrize("store,block_rows", [(True, None), (False, 37), (True, 64)])
def test_numba_curves_and_crossings_match_numpy(store, block_rows):
    X, lab = _data()
    t = np.geomspace(0.02, 4.0, 24)
    kw = {"samples": 96, "rng": 5, "labels": lab, "store": store, "block_rows": block_rows}
    a = empirical_mixture(X, t, engine="numpy", **kw)
    b = empirical_mixture(X, t, engine="numba", **kw)
    assert b.engine == "numba" and a.engine == "numpy"
    for key in ("lse", "phi_c", "phi"):
        assert _rel(getattr(b, key), getattr(a, key), FLOOR[key]) < 1e-12
    for curve in ("excess_entropy", "commitment", "class_commitment"):
        assert _rel(getattr(b, curve), getattr(a, curve), 1e-300 if curve != "excess_entropy" else 1e-3) < 1e-12
    for name, level in (("commitment", 0.5), ("excess_entropy", 0.1 * a.alpha), ("class_commitment", 0.7)):
        ca = a.crossing(name, level, bootstrap=50, rng=2)
        cb = b.crossing(name, level, bootstrap=50, rng=2)
        assert _rel(cb.value, ca.value) < 1e-12
        assert _rel(cb.ci, ca.ci) < 1e-12


def test_numba_is_reproducible_run_to_run():
    X, lab = _data(7)
    t = np.geomspace(0.05, 3.0, 16)
    a = empirical_mixture(X, t, samples=64, rng=1, labels=lab, engine="numba")
    b = empirical_mixture(X, t, samples=64, rng=1, labels=lab, engine="numba")
    for key in ("lse", "phi_c", "phi"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))


def test_numba_thread_count_does_not_change_bits():
    g = np.random.default_rng(3)
    G, D = g.standard_normal((40, 500)) * 4, g.uniform(1, 30, (40, 500))
    vs = np.linspace(0.2, 3.0, 9)
    out = []
    for k in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(k)
        st = LSEState(40, vs.size, 0, False, "numba")
        st.update(G, D, vs, None)
        out.append(st.finish())
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for x, y in zip(out[0][:2], out[1][:2], strict=True):
        np.testing.assert_array_equal(x, y)


def test_numba_float32_fast_exp_close_to_numpy():
    X, lab = _data(8)
    X = X.astype(np.float32)
    t = np.geomspace(0.1, 3.0, 12)
    a = empirical_mixture(X, t, samples=64, rng=1, labels=lab, precision="float32", engine="numpy")
    b = empirical_mixture(X, t, samples=64, rng=1, labels=lab, precision="float32", engine="numba")
    for key in ("lse", "phi_c", "phi"):  # float32 exponentials: ~1e-7 per weight
        assert _rel(getattr(b, key), getattr(a, key), FLOOR[key]) < 1e-5


def test_extreme_log_weights():
    # huge distances (log-weights far below −708, flushed to zero) and sparse one-hot blocks
    g = np.random.default_rng(0)
    G, D = g.standard_normal((8, 300)), g.uniform(0, 5e4, (8, 300))
    D[:, 0] = 0.0
    vs = np.array([0.05, 1.0, 30.0])
    ref = LSEState(8, 3, 0, False, "numpy")
    ref.update(G, D, vs, None)
    st = LSEState(8, 3, 0, False, "numba")
    st.update(G, D, vs, None)
    for x, y, f in zip(st.finish()[:2], ref.finish()[:2], (1.0, 1e-300), strict=True):
        assert _rel(x, y, f) < 1e-12


def test_engine_argument():
    assert resolve_engine("auto") == "numba"
    assert resolve_engine("numpy") == "numpy"
    with pytest.raises(RegimesError, match="engine"):
        resolve_engine("cuda")


@pytest.mark.parametrize("dtype,units", [(np.float64, 1.0), (np.float32, 1.0), (np.float64, 3000.0),
                                         (np.float32, 1e-3)])
def test_fused_assembly_stores_the_same_bits(dtype, units):
    """The fused pass assembles (G, D) from the raw products itself: bit for bit numpy's ``_gram``
    (also with the power-of-two working scale of data in large or small units), over several blocks."""
    X, lab = _data(11, n=500, d=24)
    X = (X * units).astype(dtype)
    t = np.geomspace(0.05, 3.0, 10)
    kw = {"samples": 40, "rng": 3, "labels": lab, "store": True, "block_rows": 128}
    a = empirical_mixture(X, t, engine="numpy", **kw)
    b = empirical_mixture(X, t, engine="numba", **kw)
    assert a.precision == b.precision
    np.testing.assert_array_equal(b.G, a.G)
    np.testing.assert_array_equal(b.D, a.D)
    tol = 1e-12 if a.precision == "float64" else 1e-5
    for key in ("lse", "phi_c", "phi"):
        assert _rel(getattr(b, key), getattr(a, key), FLOOR[key]) < tol


def _both(G, D, vs, codes=None, blocks=(None,)):
    """(numba, numpy) finished states over the column blocks ``blocks`` (cut points)."""
    out = []
    C = 0 if codes is None else int(codes.max()) + 1
    cuts = [0, *[c for c in blocks if c is not None], G.shape[1]]
    for engine in ("numba", "numpy"):
        st = LSEState(G.shape[0], vs.size, C, False, engine)
        for s, e in zip(cuts[:-1], cuts[1:], strict=True):
            oh = None if codes is None else np.eye(C)[codes[s:e]]
            st.update(G[:, s:e], D[:, s:e], vs, oh)
        out.append(st.finish())
    return out


def test_reference_far_above_the_weights_is_redone():
    # no μ = μ0 column: every log-weight is far below the kernel's first reference (0)
    g = np.random.default_rng(5)
    G, D = g.standard_normal((6, 700)), g.uniform(900.0, 1100.0, (6, 700))
    vs = np.array([0.5, 1.0, 2.0])  # E ≈ −250, −500, −2000
    (L1, p1, _), (L0, p0, _) = _both(G, D, vs, blocks=(300,))
    assert _rel(L1, L0) < 1e-12 and _rel(p1, p0) < 1e-12


def test_weights_far_above_the_reference_are_redone():
    # log-weights up to ~+600 nats (x much closer to other points than to its own): weights > 1e100
    g = np.random.default_rng(6)
    G, D = g.uniform(100.0, 300.0, (5, 400)), g.uniform(0.1, 1.0, (5, 400))
    G[:, 7], D[:, 7] = 0.0, 0.0
    vs = np.array([0.3, 1.0, 3.0])
    codes = g.integers(0, 4, 400)
    (L1, p1, f1), (L0, p0, f0) = _both(G, D, vs, codes, blocks=(150, 151))
    assert _rel(L1, L0) < 1e-12 and _rel(p1, p0) < 1e-12 and _rel(f1, f0) < 1e-12


def test_tiny_first_block_then_the_dominant_one():
    # block 1: weights ~e^-300 of the reference; block 2 holds the μ = μ0 term (E = 0)
    g = np.random.default_rng(7)
    G, D = g.standard_normal((4, 600)), g.uniform(1.0, 2.0, (4, 600))
    D[:, :300] += 600.0
    G[:, 450], D[:, 450] = 0.0, 0.0
    vs = np.array([1.0])
    codes = np.repeat([0, 1, 2], 200)  # sorted: no gather
    (L1, p1, f1), (L0, p0, f0) = _both(G, D, vs, codes, blocks=(300,))
    assert _rel(L1, L0, 1.0) < 1e-12 and _rel(p1, p0) < 1e-12 and _rel(f1, f0) < 1e-12


def test_skipped_chunks_are_negligible():
    """Chunks of columns whose every log-weight lies below −(60 + ln n) — the μ = μ0 term, E = 0, is
    in every sum — are skipped: the same statistics as without skipping; a floor inside the
    relevant range would change them (so the skipping is live)."""
    from regimes.engines._lse import negligible_below

    X, lab = _data(12, n=3000, d=30)
    t = np.array([0.004, 0.01, 0.05, 0.3, 2.0])  # small t: most columns far below the μ0 term
    c = empirical_mixture(X, t, samples=24, rng=1, labels=lab, store=True, engine="numpy")
    codes = c.classes.codes

    def run(floor):
        st = LSEState(24, t.size, c.classes.C, False, "numba", floor)
        st.update(c.G, c.D, 1.0 / np.sqrt(np.expm1(2.0 * t)), np.eye(c.classes.C)[codes])
        return st.finish()

    ref, skip, wrong = run(-np.inf), run(negligible_below(3000)), run(-1.0)
    for x, y, f in zip(skip, ref, (1.0, 1e-300, 1e-300), strict=True):
        assert _rel(x, y, f) < 1e-15
    assert _rel(wrong[0][:, -1], ref[0][:, -1], 1.0) > 1e-3
    # and the engine's own pass (which sets the floor) against the numpy path
    b = empirical_mixture(X, t, samples=24, rng=1, labels=lab, store=True, engine="numba")
    for key in ("lse", "phi_c", "phi"):
        assert _rel(getattr(b, key), getattr(c, key), FLOOR[key]) < 1e-12


def test_concurrent_callers_get_the_numbers_of_one_caller():
    """Dask's worker threads may call the fused kernel at once: the calls are serialised (numba's
    workqueue layer would abort the process), each result the same as alone."""
    import threading

    X, lab = _data(8)
    t = np.geomspace(0.05, 3.0, 12)
    ref = empirical_mixture(X, t, samples=48, rng=2, labels=lab, engine="numba")
    out = [None] * 4

    def run(k):
        out[k] = empirical_mixture(X, t, samples=48, rng=2, labels=lab, engine="numba")

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for c in out:
        np.testing.assert_array_equal(c.lse, ref.lse)
        np.testing.assert_array_equal(c.phi, ref.phi)


def test_stored_reevaluation_takes_class_codes_not_a_one_hot(monkeypatch):
    """Re-evaluating stored statistics with the fused kernel hands it the class codes: no n × C
    one-hot matrix is built only to take its argmax (the same numbers as the numpy path's)."""
    from regimes.engines._lse import ClassCodes, from_stored

    g = np.random.default_rng(0)
    X, lab = g.standard_normal((400, 6)), g.integers(0, 50, 400)
    t = np.array([0.2, 0.6, 1.5])
    c = empirical_mixture(X, t, samples=16, rng=1, labels=lab, store=True, engine="numba")
    vs = 1.0 / np.sqrt(np.expm1(2.0 * t))
    want = from_stored(c.G, c.D, vs, c.classes, engine="numpy")

    def no_onehot(self, s, e):
        raise AssertionError("one-hot built")

    monkeypatch.setattr(ClassCodes, "block", no_onehot)
    got = from_stored(c.G, c.D, vs, c.classes, engine="numba")
    for a, b in zip(want, got, strict=True):
        assert _rel(a, b) < 1e-12
