"""Buffers reused across blocks give the same bits as fresh arrays.

The passes over the data write each processed block into one buffer (``DataSource.blocks(reuse=True)``)
and the mixture engine writes its two GEMM products into the stored statistics' own columns or
into buffers reused across blocks. Oracle: the same computation with a fresh array per block (the
previous allocation pattern), compared bit for bit, with several blocks of unequal size.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from regimes.analysis import analyze
from regimes.data import DataSource, as_source, load_source
from regimes.engines import empirical_mixture
from regimes.engines import mixture as mixture_module
from regimes.report import to_jsonable


def _sources(tmp_path):
    g = np.random.default_rng(3)
    X = g.standard_normal((103, 12)) * 3.0 + 7.0
    path = tmp_path / "x.npy"
    np.save(path, X.astype(np.float32))
    img = g.integers(0, 256, (103, 12)).astype(np.uint8)
    return {
        "float64 centred": as_source(X),
        "float64 not centred": as_source(X, center=False),
        "float32": as_source(X.astype(np.float32)),
        "uint8 unit": as_source(img, scale="unit"),
        "uint8 symmetric, not centred": as_source(img, scale="symmetric", center=False),
        "npy file (pread)": load_source(str(path)),
    }


@pytest.mark.parametrize("rows", [10, 103, 500])
def test_reused_blocks_equal_fresh_blocks(tmp_path, rows):
    for name, src in _sources(tmp_path).items():
        fresh = [(s, e, B.copy()) for s, e, B in src.blocks(rows)]
        seen = []
        for s, e, B in src.blocks(rows, reuse=True):
            seen.append((s, e, B.copy(), B))
        assert [(s, e) for s, e, *_ in seen] == [(s, e) for s, e, _ in fresh], name
        for (_, _, a), (_, _, b, _) in zip(fresh, seen, strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b), name  # bit for bit (no NaN here)
        if len(seen) > 1:  # one buffer for the pass
            assert np.shares_memory(seen[0][3], seen[1][3]), name
        work = [B.copy() for _, _, B in src.working_blocks(rows)]
        work_reused = [B.copy() for _, _, B in src.working_blocks(rows, reuse=True)]
        assert all(np.array_equal(a, b) for a, b in zip(work, work_reused, strict=True)), name


def _fresh_blocks(monkeypatch):
    """Every pass with a fresh array per block (``reuse`` ignored), as before the buffers."""
    original = DataSource.blocks

    def blocks(self, rows=None, *, reuse=False):
        return original(self, rows)
    monkeypatch.setattr(DataSource, "blocks", blocks)


def _fresh_products(monkeypatch):
    """The engine's products as new arrays per block, as before they were written in place."""
    def products(self, B, s, Gs, Ds):
        return self.A0 @ B.T, self.Xi @ B.T, 0
    monkeypatch.setattr(mixture_module._Stream, "_products", products)


def test_whole_analysis_same_bits_with_fresh_blocks(monkeypatch):
    """analyze with labels (every pass: validation, covariance, projections, classes, hierarchy,
    pooled variance, engine) in blocks of 128 rows: the same JSON to the last bit."""
    monkeypatch.setattr(DataSource, "block_rows", lambda self, max_bytes=0: 128)
    g = np.random.default_rng(12)
    lab = g.integers(0, 3, 900)
    X = g.standard_normal((900, 16)) * np.array([1.0, 2.0, 0.5])[lab][:, None] + 4.0 * lab[:, None]
    kw = {"samples": 32, "seed": 0, "bootstrap": 20}
    new = to_jsonable(analyze(as_source(X, labels=lab), **kw).to_dict())
    with monkeypatch.context() as m:
        _fresh_blocks(m)
        _fresh_products(m)
        old = to_jsonable(analyze(as_source(X, labels=lab), **kw).to_dict())
    assert json.dumps(new) == json.dumps(old)  # floats printed to the last bit (repr)


@pytest.mark.parametrize("engine", ["numba", "numpy"])
@pytest.mark.parametrize("store,block_rows,dtype", [(True, 37, np.float64), (False, 37, np.float64),
                                                      (True, 50, np.float32), (False, 64, np.float32)])
def test_engine_products_in_place_same_bits(monkeypatch, engine, store, block_rows, dtype):
    """The numba engine with its products written into the stored G, D (float64) or into reused
    buffers (float32 products, or nothing stored): G, D and the curves equal those from fresh
    products bit for bit, blocks of unequal size included (300 = 8 × 37 + 4)."""
    if engine == "numba":
        pytest.importorskip("numba")
    g = np.random.default_rng(4)
    lab = g.integers(0, 3, 300)
    X = (g.standard_normal((300, 20)) + 1.5 * lab[:, None]).astype(dtype)
    t = np.geomspace(0.02, 4.0, 12)
    kw = {"samples": 48, "rng": 5, "labels": lab, "store": store, "block_rows": block_rows, "engine": engine}
    a = empirical_mixture(X, t, **kw)
    with monkeypatch.context() as m:
        _fresh_products(m)
        _fresh_blocks(m)
        b = empirical_mixture(X, t, **kw)
    for key in ("lse", "phi_c", "phi"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    if store:
        np.testing.assert_array_equal(a.G, b.G)
        np.testing.assert_array_equal(a.D, b.D)
    else:
        for key in ("lse", "phi_c", "phi"):
            np.testing.assert_array_equal(a.fine[key], b.fine[key])
