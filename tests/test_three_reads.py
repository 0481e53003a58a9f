"""The whole analysis reads the data three times: the load, the covariance pass, the engine's pass.

Loading reads the rows once (range, mean, and tr C to within rounding about the first row); the
exact centred row norms ride on the next full pass over the blocks; the rows' projections for the
spectral proxy's and Λ's bootstraps ride on the mixture engine's pass (``on_block``). Every value
is checked bit for bit against the pass it replaces.
"""

import numpy as np
import pytest

import regimes.data.source as source_module
from regimes import RegimesError
from regimes.data import load_source
from regimes.data.source import as_source, query_rows
from regimes.engines import empirical_mixture, top_eigenvalues
from regimes.engines.covariance import ProjectionRider, covariance_spectrum, row_projections


@pytest.fixture
def raw_reads(monkeypatch):
    """Rows read from the raw data (every pass, the load's included), counted per source."""
    real = source_module.DataSource._raw_rows
    counts = {"rows": 0}

    def counted(self, start, stop):
        counts["rows"] += stop - start
        return real(self, start, stop)

    monkeypatch.setattr(source_module.DataSource, "_raw_rows", counted)
    return counts


def _passes(rows, n, partial=1100):
    """Whole passes among ``rows`` reads: besides them, the first row (the load), the engine's
    sampled rows and its precision probe (at most 1024 rows) are read on their own."""
    full, rest = divmod(rows, n)
    assert rest <= partial, (full, rest)
    return full


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loading_reads_the_rows_once(raw_reads, dtype):
    X = np.random.default_rng(0).standard_normal((3000, 20)).astype(dtype)
    src = as_source(X)
    assert raw_reads["rows"] == 3000 + 1  # the first row, then every row once
    assert src.working_scale > 0  # known without another pass
    assert raw_reads["rows"] == 3001


@pytest.mark.parametrize("budget", [1 << 30, 3 << 20])  # statistics stored / not stored (refined grid)
def test_analysis_reads_the_data_three_times_in_all(raw_reads, budget):
    from regimes.analysis import analyze

    X = np.random.default_rng(0).standard_normal((2000, 64))
    analyze(as_source(X), samples=64, bootstrap=20, memory_budget=budget)
    assert _passes(raw_reads["rows"], 2000) == 3


@pytest.mark.parametrize("dtype, passes", [(np.float64, 4), (np.float32, 5)])
def test_labelled_analysis_reads_the_data_four_times_in_all(raw_reads, dtype, passes):
    # the load, the per-class sums, the rows about their class means, the engine; float32 data
    # keep their own float32 covariance pass
    from regimes.analysis import analyze

    g = np.random.default_rng(1)
    lab = g.integers(0, 2, 2000)
    X = (g.standard_normal((2000, 64)) + lab[:, None]).astype(dtype)
    analyze(as_source(X, labels=lab), samples=64, bootstrap=20)
    assert _passes(raw_reads["rows"], 2000) == passes


def test_labelled_analysis_beyond_the_class_sums_budget_reads_the_data_eight_times(raw_reads):
    # K·d²·8 bytes (2 × 500² × 8 = 4 MB) above a quarter of memory_budget (3 MiB): the load, the
    # covariance, the engine (3) + the pooled within-class variance (2) + the class covariances (1)
    # + the hierarchy (2); at n = 1000 the engine's precision probe (its first 1024 rows) reads
    # every row once more
    from regimes.analysis import analyze

    g = np.random.default_rng(1)
    lab = g.integers(0, 2, 1000)
    analyze(as_source(g.standard_normal((1000, 500)) + lab[:, None], labels=lab), samples=64, bootstrap=20,
            memory_budget=3 << 20)
    assert _passes(raw_reads["rows"], 1000, partial=100) == 8 + 1


def _sources():
    g = np.random.default_rng(5)
    X = g.standard_normal((1500, 33)) * 2.5 + 40.0
    yield as_source(X)
    yield as_source(X.astype(np.float32))
    yield as_source(X.astype(np.float32), center=False)
    yield as_source(g.integers(0, 256, (700, 48)).astype(np.uint8), scale="symmetric")
    yield as_source(X, scale=0.18215, center=False)


@pytest.mark.parametrize("k", range(5))
@pytest.mark.parametrize("rows", [None, 1, 7, 640, 5000])
def test_row_norms_from_a_pass_over_the_blocks_equal_their_own_pass_bit_for_bit(k, rows):
    alone = list(_sources())[k]
    want_sq, want_tv = alone.centred_sq_norms.copy(), alone.total_variance  # a pass of their own
    src = list(_sources())[k]
    for _ in src.blocks(rows, reuse=rows == 7):
        pass
    assert src.total_variance == want_tv
    np.testing.assert_array_equal(src.centred_sq_norms, want_sq)
    # and against numpy on the processed rows, in float64 (the source's mean comes from the raw
    # values in float64, not from the float32 processed rows: ~1e-7 apart for float32)
    x = src.row_map(centred=False)(src.raw).astype(np.float64)
    rtol = 1e-9 if src.dtype == np.float64 else 1e-6
    np.testing.assert_allclose(src.centred_sq_norms, ((x - x.mean(axis=0)) ** 2).sum(axis=1), rtol=rtol)


def test_row_norms_come_from_the_working_blocks_and_an_unfinished_pass_keeps_nothing(raw_reads):
    X = np.random.default_rng(6).standard_normal((900, 10))
    src = as_source(X)
    it = src.working_blocks(100)
    next(it)
    it.close()  # a consumer that stopped early: no row norms from it
    start = raw_reads["rows"]
    tv = src.total_variance  # their own pass
    assert raw_reads["rows"] - start == 900
    src2 = as_source(X)
    for _ in src2.working_blocks(100):
        pass
    start = raw_reads["rows"]
    assert src2.total_variance == tv and raw_reads["rows"] == start  # nothing more read


def test_the_load_pass_trace_is_exact_up_to_rounding():
    g = np.random.default_rng(7)
    X = g.standard_normal((4000, 50)) * np.linspace(0.1, 3, 50) + 1e3  # a large offset: no cancellation about x0
    src = as_source(X)
    est = src.spread_estimate()
    assert est == pytest.approx(X.var(axis=0, ddof=1).sum(), rel=1e-9)
    assert est == pytest.approx(src.total_variance, rel=1e-9)


def test_an_overflowing_load_sum_falls_back_to_the_exact_trace(raw_reads):
    # Σ|x − x0|² about the first row (4a²) overflows float64 where Σ|x − x̄|² (2a²) does not
    src = as_source(np.array([[8e153], [-8e153]]))
    start = raw_reads["rows"]
    assert src.spread_estimate() == src.total_variance == 2 * 8e153**2  # from a pass of its own
    assert raw_reads["rows"] - start == 2
    assert src.working_scale == 2.0**-512


def test_the_load_estimate_keeps_its_digits_with_the_first_row_the_farthest():
    # x0 is a row, so n|x̄ − x0|² <= n(n − 1) tr C: the difference loses at most log10(n) digits
    X = np.random.default_rng(8).standard_normal((5000, 6))
    X[0] = 300.0
    src = as_source(X)
    assert src.spread_estimate() == pytest.approx(X.var(axis=0, ddof=1).sum(), rel=1e-9)


def test_the_working_scale_is_the_power_of_two_of_the_exact_trace():
    for scale in (1e-30, 1e-3, 1.0, 7e4, 1e40):
        X = np.random.default_rng(9).standard_normal((800, 16)) * scale
        src = as_source(X)
        e = -round(0.5 * np.log2(X.var(axis=0, ddof=1).sum() / 16))
        assert abs(np.log2(src.working_scale) - e) <= 1  # a rounding boundary may fall either side
        assert np.log2(src.working_scale) == round(np.log2(src.working_scale))


def test_load_errors_on_zero_or_underflowing_variance(tmp_path):
    with pytest.raises(RegimesError, match="zero variance: all 4 rows are identical"):
        as_source(np.ones((4, 3)))
    with pytest.raises(RegimesError, match="values too small for float64 arithmetic"):
        as_source(np.array([[1e-170, 0.0], [2e-170, 0.0], [0.0, 0.0]]))
    # squared deviations that round to 0 where the load's sum about the first row does not: the
    # exact check runs at load, as it always did (a .npy file, whose later passes would not ask
    # for the row norms)
    tiny = np.array([[0.0, 0.0], [2e-162, 0.0], [1e-162, 0.0]])
    np.save(tmp_path / "tiny.npy", tiny)
    with pytest.raises(RegimesError, match="values too small for float64 arithmetic"):
        load_source(str(tmp_path / "tiny.npy"))
    doubled = as_source(tiny, scale=2.0)  # squares of 4e-162 round to subnormals > 0: a (meaningless) variance
    assert doubled.total_variance == 5e-324 and top_eigenvalues(doubled).values[0] == 5e-324  # no overflow
    # near the limit but representable: loaded, and the covariance operator does not overflow
    src = as_source(np.array([[0.0, 0.0], [2e-154, 0.0], [1e-154, 0.0]]))
    assert src.total_variance == pytest.approx(1e-308, rel=1e-12)
    assert top_eigenvalues(src).values[0] == pytest.approx(1e-308, rel=1e-6)
    with query_rows():
        q = as_source(np.ones((4, 3)))  # query rows may all be one point
    assert q.total_variance == 0.0 and np.all(q.centred_sq_norms == 0)


def test_on_block_sees_every_working_row_once_in_order_and_only_in_the_first_pass():
    X = np.random.default_rng(10).standard_normal((700, 12)) + 3.0
    src = as_source(X, center=False)
    seen = []

    def on_block(s, e, B):
        seen.append((s, e, B.copy()))

    c = empirical_mixture(src, np.geomspace(0.05, 3, 9), samples=32, rng=0, store=False, block_rows=97,
                          on_block=on_block)
    assert [s for s, _, _ in seen] == list(range(0, 700, 97)) and seen[-1][1] == 700
    np.testing.assert_array_equal(np.concatenate([B for _, _, B in seen]), src.working(src.block(0, 700)))
    c.prefetch([("commitment", 0.5)])  # the crossings' own pass (statistics not stored): not seen
    assert len(seen) == 8
    # the curves do not depend on the rider
    d = empirical_mixture(src, np.geomspace(0.05, 3, 9), samples=32, rng=0, store=False, block_rows=97)
    np.testing.assert_array_equal(c.lse, d.lse)
    with pytest.raises(RegimesError, match="on_block must be a callable on_block"):
        empirical_mixture(src, [1.0], samples=8, on_block=3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_projections_riding_on_any_blocks_equal_their_own_pass_bit_for_bit(dtype, monkeypatch):
    # BLAS picks its kernels by shape, so a row's products depend (in the last bits) on the rows
    # beside it: the rider regroups the rows into row_projections' own blocks
    monkeypatch.setattr(source_module.DataSource, "block_rows", lambda self, max_bytes=None: min(self.n, 100))
    g = np.random.default_rng(11)
    X = (g.standard_normal((1234, 40)) @ g.standard_normal((40, 40))).astype(dtype)
    src = as_source(X)
    assert src.block_rows() == 100
    lam, V, mu = covariance_spectrum(src, return_vectors=True)
    want = np.concatenate([Z for _, _, Z in row_projections(src, V, mu)])
    np.testing.assert_allclose(want, (X.astype(np.float64) - X.astype(np.float64).mean(axis=0)) @ V,
                               atol=(1e-9 if dtype == np.float64 else 1e-3) * np.sqrt(lam[0]))
    for rows in (1, 7, 100, 150, 256, 1234):
        got, starts = np.full_like(want, np.nan), []

        def sink(s, e, Z, got=got, starts=starts):
            got[s:e] = Z
            starts.append(s)

        rider = ProjectionRider(src, V, mu, None, sink)
        for s, e, B in src.working_blocks(rows, reuse=True):
            rider(s, e, B)
        np.testing.assert_array_equal(got, want)
        assert starts == list(range(0, 1234, 100)) and rider.rows == 1234
    with pytest.raises(RegimesError, match="rows must come in order"):
        ProjectionRider(src, V, mu, None, sink)(5, 10, X[5:10])
    # with ``reduce`` the products go into buffers reused across blocks: the same bits as fresh arrays
    reduced = np.concatenate([Z for _, _, Z in row_projections(src, V, mu, reduce=np.copy)])
    np.testing.assert_array_equal(reduced, want)


def test_analysis_intervals_do_not_depend_on_the_engine_blocks(monkeypatch):
    # the projections ride on the engine's blocks, whose size follows the memory budget: 3000 rows
    # (one block) at 1 GiB, ~330 at 1 MiB with M = 1024 — against row_projections' own 3000
    import regimes.engines.covariance as covariance
    from regimes.analysis import analyze

    seen, real = [], covariance.ProjectionRider.__call__

    def spy(self, s, e, blk):
        seen[-1].add(e - s)
        return real(self, s, e, blk)

    monkeypatch.setattr(covariance.ProjectionRider, "__call__", spy)
    X = np.random.default_rng(12).standard_normal((3000, 48)) * np.linspace(0.5, 2.0, 48)
    runs = []
    for budget in (1 << 30, 1 << 20):
        seen.append(set())
        runs.append(analyze(X, samples=1024, bootstrap=30, memory_budget=budget))
    assert seen[0] == {3000} and max(seen[1]) < 400  # the rider regrouped the small blocks
    a, b = runs
    for k in ("spectral", "gaussian"):
        assert a.t_C[k].ci == b.t_C[k].ci and a.t_C[k].se == b.t_C[k].se, k
    assert a.eigenvalue.ci == b.eigenvalue.ci and a.eigenvalue.se == b.eigenvalue.se


def test_the_cli_on_a_file_reads_it_three_times(raw_reads, run_cli, tmp_path):
    import json

    X = np.random.default_rng(13).standard_normal((3000, 40)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    rc, out, err = run_cli("analyze", tmp_path / "x.npy", "--samples", "32", "--bootstrap", "10", "--json")
    assert rc == 0, err
    assert json.loads(out)["n"] == 3000
    assert _passes(raw_reads["rows"], 3000) == 3


@pytest.mark.parametrize("factor", [1e150, 1e-151, 1e-156])  # 1e-156: scale² overflowed, C was 0
def test_data_beyond_the_analysis_range_are_refused_before_the_engine(monkeypatch, factor):
    # the intervals are drawn after the engine's pass, but the range check of the spectral proxy's
    # caveat (Marchenko–Pastur in float64) still runs before it, as it did before the change
    import regimes.analysis as analysis

    ran = []
    real = analysis.empirical_mixture
    monkeypatch.setattr(analysis, "empirical_mixture", lambda *a, **k: ran.append(1) or real(*a, **k))
    X = np.random.default_rng(14).standard_normal((300, 12)) * factor
    with pytest.raises(RegimesError, match=r"per-feature variance tr C/d = .* outside \[1e-100, 1e100\]"):
        analysis.analyze(X, samples=32, bootstrap=10)
    assert ran == []


@pytest.mark.parametrize("factor", [1e-156, 1e52])
def test_beyond_the_range_above_the_dense_limit_too(monkeypatch, factor):
    # d > 4096: no Marchenko–Pastur caveat, but the same range is refused before the block Krylov
    # (at 1e-156 its products lost their digits in subnormal numbers: Λ 20 times off, reported)
    import regimes.analysis as analysis

    ran = []
    monkeypatch.setattr(analysis, "top_eigenvalues", lambda *a, **k: ran.append(1))
    X = np.random.default_rng(15).standard_normal((40, 4200)) * factor
    with pytest.raises(RegimesError, match=r"per-feature variance tr C/d ≈ .* outside \[1e-100, 1e100\]"):
        analysis.analyze(X, samples=16, bootstrap=5)
    assert ran == []
