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
