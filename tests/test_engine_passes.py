"""How many times the mixture engine reads the data: once, at any n (counted on the source)."""

import numpy as np
import pytest

from regimes.data.source import as_source
from regimes.engines import empirical_mixture
from regimes.engines.mixture import REFINE, refined_grid


class _Counting:
    """Wraps a DataSource; counts full passes of ``working_blocks``/``blocks`` (reads of every row)."""

    def __init__(self, src):
        self.src, self.rows_read = src, 0

    def install(self):
        real_w, real_b = self.src.working_blocks, self.src.blocks

        def working_blocks(rows=None, **kw):
            for s, e, B in real_w(rows, **kw):
                yield s, e, B

        def blocks(rows=None, **kw):
            for s, e, B in real_b(rows, **kw):
                self.rows_read += e - s
                yield s, e, B

        self.src.working_blocks, self.src.blocks = working_blocks, blocks
        return self

    @property
    def passes(self) -> float:
        return self.rows_read / self.src.n


@pytest.mark.parametrize("store", [True, False])
def test_engine_reads_the_data_once_including_crossings(store):
    g = np.random.default_rng(0)
    lab = g.integers(0, 2, 500)
    src = as_source(g.standard_normal((500, 40)) + lab[:, None], labels=lab)
    cnt = _Counting(src).install()
    c = empirical_mixture(src, np.geomspace(0.05, 4, 30), samples=128, rng=1, store=store, block_rows=97)
    assert cnt.passes == 1
    c.prefetch([("commitment", 0.5), ("excess_entropy", 0.1 * c.alpha), ("class_commitment", 0.7752)])
    for name, level in (("commitment", 0.5), ("excess_entropy", 0.1 * c.alpha), ("class_commitment", 0.7752)):
        est = c.crossing(name, level, bootstrap=100, rng=0)
        assert np.isfinite(est.value)
    assert cnt.passes == 1  # the crossings read nothing more
    assert c.stored == store and (c.fine is None) == store


def test_refined_grid_keeps_the_grid_bit_for_bit():
    t = np.geomspace(0.013, 7.1, 17)
    f = refined_grid(t, REFINE)
    assert f.size == 16 * REFINE + 1 and np.all(np.diff(f) > 0)
    np.testing.assert_array_equal(f[::REFINE], t)


def test_unstored_curves_equal_the_plain_grid_bit_for_bit():
    X = np.random.default_rng(2).standard_normal((300, 12))
    t = np.geomspace(0.1, 3, 9)
    a = empirical_mixture(X, t, samples=64, rng=0, store=False)
    b = empirical_mixture(X, t, samples=64, rng=0, store=True)
    np.testing.assert_array_equal(a.lse, b.lse)
    np.testing.assert_array_equal(a.phi_c, b.phi_c)


# the whole analysis' passes, the load's included: tests/test_three_reads.py
