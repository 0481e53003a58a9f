"""The Dask path (regimes.distributed): the passes as tasks on a LocalCluster of 2 workers give the
in-process numbers up to the order of floating-point summation."""

import numpy as np
import pytest

pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask.array as da  # noqa: E402

from regimes import RegimesError  # noqa: E402
from regimes.analysis import analyze  # noqa: E402
from regimes.data import as_source, load_source  # noqa: E402
from regimes.distributed import LOOPBACK, cluster, dask_rows, parse_cluster  # noqa: E402
from regimes.engines.covariance import top_eigenvalues  # noqa: E402
from regimes.engines.mixture import empirical_mixture  # noqa: E402


@pytest.fixture(scope="module")
def client():
    # worker threads in this process (inproc transport): no network needed
    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=LOOPBACK,
                                  worker_dashboard_address=LOOPBACK)
    c = distributed.Client(lc, set_as_default=False)
    yield c
    c.close()
    lc.close()


def _data(n=1200, d=48, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[: n // 2, :3] += 2.5
    return X, np.repeat([0, 1], [n // 2, n - n // 2])


def _rel(a, b):
    """Largest difference relative to the array's scale (its largest |value|)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a)))


def test_analyze_on_cluster_matches_in_process(client, monkeypatch):
    import regimes.engines.covariance as cov

    X, lab = _data()
    kw = dict(samples=64, bootstrap=20, seed=3, memory_budget=1 << 21)  # statistics not stored: refined grid
    a = analyze(X, lab, **kw)
    used = []
    real = cov.cluster_gram
    monkeypatch.setattr(cov, "cluster_gram", lambda *args, **kw: used.append(1) or real(*args, **kw))
    b = analyze(da.from_array(X, chunks=(300, 48)), lab, cluster=client, **kw)
    assert used  # analyze(cluster=...) runs its passes on the cluster (it once ignored the option)
    assert _rel(a.eigenvalue.value, b.eigenvalue.value) < 1e-10
    for k in ("excess_entropy", "commitment", "class_commitment"):
        assert _rel(getattr(a.curves, k), getattr(b.curves, k)) < 1e-10, k
    for k, est in a.t_C.items():
        assert abs(est.value - b.t_C[k].value) <= 1e-8 * abs(est.value), k
    assert abs(a.t_S_class.value - b.t_S_class.value) <= 1e-8 * abs(a.t_S_class.value)


def test_mixture_pass_merges_exactly(client):
    X, lab = _data(n=900, d=16, seed=1)
    t = np.geomspace(0.05, 3.0, 9)
    ref = empirical_mixture(X, t, samples=48, rng=5, labels=lab, block_rows=100, store=True)
    src = as_source(X)
    for store in (True, False):
        with cluster(client):
            got = empirical_mixture(src, t, samples=48, rng=5, labels=lab, block_rows=100, store=store)
        assert _rel(ref.lse, got.lse) < 1e-12
        assert _rel(ref.phi_c, got.phi_c) < 1e-12
        assert _rel(ref.phi, got.phi) < 1e-12
        if store:
            assert np.array_equal(ref.G, got.G) and np.array_equal(ref.D, got.D)


def test_block_krylov_products_on_cluster(client):
    X, _ = _data(n=600, d=40, seed=2)
    ref = top_eigenvalues(X, k=3, method="block", tol=1e-10, rng=1, bootstrap=10)
    with cluster(client):
        got = top_eigenvalues(da.from_array(X, chunks=(128, 40)), k=3, method="block", tol=1e-10, rng=1, bootstrap=10)
        dense = top_eigenvalues(X, k=3, method="dense", rng=1)
    assert _rel(ref.values, got.values) < 1e-10
    assert _rel(ref.replicates, got.replicates) < 1e-8
    assert _rel(ref.values, dense.values) < 1e-9


def test_npy_shards_validation_on_cluster(client, tmp_path):
    X, _ = _data(n=700, d=12, seed=4)
    X32 = (X * 10).astype(np.float32)
    for i, (s, e) in enumerate([(0, 250), (250, 500), (500, 700)]):
        np.save(tmp_path / f"part-{i}.npy", X32[s:e].reshape(e - s, 3, 4))
    ref = as_source(X32, scale=0.5)
    with cluster(client):
        src = load_source(str(tmp_path / "part-*.npy"), scale=0.5)
    assert (src.n, src.d) == (700, 12)
    assert _rel(ref.mean, src.mean) < 1e-12
    assert _rel(ref.total_variance, src.total_variance) < 1e-12
    assert _rel(ref.centred_sq_norms, src.centred_sq_norms) < 1e-12
    X32[612, 5] = np.nan
    np.save(tmp_path / "part-2.npy", X32[500:700].reshape(200, 3, 4))
    with cluster(client), pytest.raises(RegimesError, match="at row 612, feature 5"):
        load_source(sorted(tmp_path.glob("part-*.npy")))


def test_file_backed_sources_read_on_workers(client, tmp_path):
    X, _ = _data(n=500, d=10, seed=5)
    np.save(tmp_path / "x.npy", X)
    ref = covariance(as_source(X))
    with cluster(client):
        got = covariance(load_source(tmp_path / "x.npy"))
    assert _rel(ref, got) < 1e-10
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f["data"] = X
    with cluster(client):
        src = load_source(tmp_path / "x.h5")
        graph = dict(dask_rows(src, 100).__dask_graph__())
        got = covariance(src)
    assert _rel(ref, got) < 1e-10
    # a 2-D dataset too is read by path on the workers, block by block (not loaded by the client)
    assert any("read_hdf5_rows" in str(v) for v in graph.values())


def covariance(src):
    from regimes.engines.covariance import covariance_spectrum

    return covariance_spectrum(src)


def test_cluster_specs():
    assert parse_cluster("local") == ("local", 2)
    assert parse_cluster("local:3") == ("local", 3)
    assert parse_cluster("tcp://scheduler:8786") == ("address", "tcp://scheduler:8786")
    for bad in ("local:0", "local:x", "", 3):
        with pytest.raises(RegimesError):
            parse_cluster(bad)
    with cluster(None) as c:
        assert c is None


def test_worker_processes_as_on_a_real_cluster(tmp_path):
    """Workers in separate processes (what a real cluster has): the tasks, the file-backed source
    (read by path on the workers) and the engine states must travel by pickling; the numbers are
    the in-process ones up to summation order."""
    X, lab = _data(n=600, d=12, seed=7)
    np.save(tmp_path / "x.npy", X)
    kw = dict(samples=32, bootstrap=10, seed=2, memory_budget=1 << 21)
    ref = analyze(X, lab, **kw)
    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=LOOPBACK,
                                  worker_dashboard_address=LOOPBACK, host="127.0.0.1")
    try:
        with distributed.Client(lc, set_as_default=False) as c:
            got = analyze(str(tmp_path / "x.npy"), lab, cluster=c, **kw)
            assert len(c.scheduler_info()["workers"]) == 2
    finally:
        lc.close()
    assert _rel(ref.eigenvalue.value, got.eigenvalue.value) < 1e-10
    assert _rel(ref.curves.commitment, got.curves.commitment) < 1e-10
    assert abs(ref.t_C["commitment"].value - got.t_C["commitment"].value) <= 1e-8 * ref.t_C["commitment"].value


def _listening_addresses() -> set[str]:
    """Local ``address:port`` (hex, as in /proc/net/tcp*) of the TCP sockets this process listens on."""
    import os

    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            mine.add(link[8:-1])
    out = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in mine:  # LISTEN, owned by this process
                    out.add(cols[1])
    return out


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/net/tcp"), reason="Linux /proc only")
def test_local_cluster_listens_on_loopback_only():
    before = _listening_addresses()
    with cluster("local:1") as c:
        assert c.submit(sum, [1, 2]).result() == 3
        new = _listening_addresses() - before
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    assert new and {a.split(":")[0] for a in new} <= loopback, new


def test_in_memory_data_is_sent_once_not_inside_every_graph(client):
    """A 13 MB in-memory array (and the engine's sample matrices) reach the workers by scatter, once
    per cluster context: no "large graph" warning from distributed, the same numbers."""
    import warnings

    X = np.random.default_rng(9).standard_normal((4000, 400))
    ref = covariance(as_source(X))
    src = as_source(X)
    with warnings.catch_warnings():
        # only distributed's "Sending large graph" warning is the failure: a slow disk under load
        # can make it warn about its scratch directory, which is not what this test is about
        warnings.filterwarnings("error", message=".*large graph.*")
        with cluster(client):
            got = covariance(src)
            again = covariance(src)  # the second pass reuses the scattered chunks
            c = empirical_mixture(src, [0.5, 2.0], samples=1200, rng=1, block_rows=1000, store=False)
    assert _rel(ref, got) < 1e-10 and _rel(ref, again) < 1e-10
    c0 = empirical_mixture(X, [0.5, 2.0], samples=1200, rng=1, block_rows=1000, store=False)
    assert _rel(c0.lse, c.lse) < 1e-10


def test_an_unknown_address_scheme_is_a_clear_error():
    with pytest.raises(RegimesError, match=r"cluster 'foo://bar:1': cannot connect"):
        with cluster("foo://bar:1"):
            pass


def test_in_memory_data_is_scattered_once_for_every_chunk_size(client):
    """Passes with other row chunks re-cut the scattered data on the workers (rechunk) instead of
    sending it again: one scatter per cluster context, the same numbers."""
    X = np.random.default_rng(10).standard_normal((3000, 40))
    src = as_source(X)
    ref = empirical_mixture(X, [0.5, 2.0], samples=200, rng=1, block_rows=700, store=False)
    calls = []
    real = client.scatter

    def counting(data, *a, **k):
        if isinstance(data, list):  # the data's row chunks (task arguments are scattered one by one)
            calls.append(sum(x.shape[0] for x in data))
        return real(data, *a, **k)

    client.scatter = counting
    try:
        with cluster(client):
            covariance(src)
            got = empirical_mixture(src, [0.5, 2.0], samples=200, rng=1, block_rows=700, store=False)
    finally:
        del client.scatter
    assert calls == [3000]
    assert _rel(ref.lse, got.lse) < 1e-10


def test_row_projections_are_reduced_on_the_workers(client, monkeypatch):
    """The spectral proxy's per-row influences are computed where the rows are: what travels to the
    client is two numbers per row, not the n × d projections; same values as in process."""
    import functools

    import regimes.distributed as dist
    from regimes.analysis import _influences
    from regimes.engines.covariance import covariance_spectrum, row_projections

    X, lab = _data(n=900, d=40, seed=2)
    src = as_source(X)
    lam, V, mu = covariance_spectrum(src, return_vectors=True)
    wk = np.linspace(1.0, 2.0, src.d)
    red = functools.partial(_influences, wk=wk)
    # oracle: the products written out in float64 numpy
    Z = (X - X.mean(axis=0)) @ V
    want_psi, want_z1 = (Z * Z) @ wk, Z[:, 0] ** 2
    sizes = []
    real = dist.map_chunks

    def spy(*a, **k):
        out = real(*a, **k)
        if k.get("merge") is None:  # not the validation's merged statistics
            sizes.append([(e - s, sum(np.asarray(x).size for x in r)) for s, e, r in out])
        return out

    monkeypatch.setattr(dist, "map_chunks", spy)
    with cluster(client):
        got = list(row_projections(da.from_array(X, chunks=(300, 40)), V, mu, reduce=red))
    # the last call is the projections': 2 numbers per row of each chunk, not rows × d
    assert sum(r for r, _ in sizes[-1]) == 900 and all(size == 2 * r for r, size in sizes[-1])
    psi = np.concatenate([r[0] for _, _, r in got])
    z1 = np.concatenate([r[1] for _, _, r in got])
    assert _rel(want_psi, psi) < 1e-12 and _rel(want_z1, z1) < 1e-12
    here = list(row_projections(src, V, mu, reduce=red))
    assert _rel(np.concatenate([r[0] for _, _, r in here]), psi) < 1e-12


def test_spectral_interval_on_cluster_matches_in_process(client):
    X, lab = _data(n=1000, d=30, seed=4)
    kw = dict(samples=32, bootstrap=10, seed=1)
    a = analyze(X, lab, **kw)
    b = analyze(da.from_array(X, chunks=(250, 30)), lab, cluster=client, **kw)
    sa, sb = a.t_C["spectral"], b.t_C["spectral"]
    assert np.isfinite(sa.ci).all()
    assert np.allclose(sa.ci, sb.ci, rtol=1e-9, atol=0) and abs(sa.se - sb.se) <= 1e-9 * sa.se


def test_auto_eigen_method_on_a_cluster_takes_few_passes(client, monkeypatch):
    """On a cluster every pass is a round of tasks: ``method="auto"`` forms the Gram sum in one
    pass (d <= 4096) instead of one Dask computation per Lanczos product; same eigenvalues."""
    import regimes.distributed as dist

    X, _ = _data(n=800, d=30, seed=6)
    ref = top_eigenvalues(X, k=3, method="lanczos", tol=1e-12, rng=1)
    ev = np.linalg.eigvalsh(np.cov(X, rowvar=False))[::-1][:3]  # oracle: numpy's dense covariance
    calls = []
    real = dist.map_chunks

    def spy(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(dist, "map_chunks", spy)
    src = None
    with cluster(client):
        src = as_source(X)  # in memory: scattered to the workers, each pass a round of tasks
        before = len(calls)
        got = top_eigenvalues(src, k=3, rng=1)
    assert len(calls) - before <= 2, len(calls) - before  # one Gram pass (+ one for a bootstrap)
    assert _rel(ev, got.values) < 1e-12 and _rel(ref.values, got.values) < 1e-10


def test_dense_eigenvalues_on_cluster_for_tiny_data(client):
    # the dense path on a cluster divided by the working scale squared, which overflows for data
    # below ~1e-154: it returned zero eigenvalues, without an error
    X = np.random.default_rng(2).standard_normal((300, 20))
    X[:, 0] *= 3
    Xc = X - X.mean(axis=0)
    want = np.linalg.eigvalsh(Xc.T @ Xc / 299)[::-1][:2]
    f = 1e-156
    with cluster(client):
        got = top_eigenvalues(X * f, k=2, method="dense").values / f / f
    np.testing.assert_allclose(got, want, rtol=1e-4)  # subnormal products: ~1e-5 of their digits left
