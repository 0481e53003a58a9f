"""Readers of HDF5, zarr, safetensors, Parquet/Arrow, Hugging Face folders, tensors and batch iterables:
the same Λ and the same analysis numbers as the ``.npy`` of the same data."""

import numpy as np
import pytest

import regimes
from regimes import RegimesError
from regimes.data import load_source

N, SHAPE = 240, (2, 3, 4)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((N, *SHAPE)).astype(np.float32)
    X[: N // 2] += 0.8  # two classes
    lab = np.array(["cat", "dog"])[(np.arange(N) >= N // 2).astype(int)]
    return X, lab


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    X, lab = data
    p = tmp_path_factory.mktemp("npy") / "x.npy"
    np.save(p, X)
    return _numbers(str(p), None, lab)


def _numbers(path, key, lab):
    src = load_source(path, key=key, labels=lab)
    ds = regimes.Dataset(src, samples=64)
    r = regimes.analyze(src, samples=64, bootstrap=20, steps=100)
    return {"lambda": ds.eigenvalue, "mean": src.mean.copy(), "tv": src.total_variance, "n": src.n, "d": src.d,
            "t_S": r.t_S.value, "t_C": r.headline_t_C, "curve": np.array(r.curves.commitment),
            "classes": src.class_names}


def _same(got, ref):
    assert (got["n"], got["d"], got["classes"]) == (ref["n"], ref["d"], ref["classes"])
    np.testing.assert_allclose(got["mean"], ref["mean"], rtol=0, atol=1e-12)
    for k in ("lambda", "tv", "t_S", "t_C"):
        assert got[k] == pytest.approx(ref[k], rel=1e-12, abs=1e-12), k
    np.testing.assert_allclose(got["curve"], ref["curve"], rtol=1e-12, atol=1e-12)


def test_hdf5(data, reference, tmp_path):
    h5py = pytest.importorskip("h5py")
    X, lab = data
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("train/images", data=X, chunks=(16, *SHAPE))
        f.create_dataset("other", data=np.zeros(3))
    _same(_numbers(str(tmp_path / "x.h5"), "train/images", lab), reference)
    with pytest.raises(RegimesError, match="choose one with key"):
        load_source(tmp_path / "x.h5")
    with h5py.File(tmp_path / "flat.h5", "w") as f:
        f.create_dataset("x", data=X.reshape(N, -1))
    src = load_source(tmp_path / "flat.h5")  # the only dataset; 2-D too is read by row slices (RowView)
    assert type(src.raw).__name__ == "RowView" and type(src.raw.base).__name__ == "Dataset"
    assert src.total_variance == pytest.approx(reference["tv"], rel=1e-12)


def test_zarr_folder_and_zip(data, reference, tmp_path):
    zarr = pytest.importorskip("zarr")
    X, lab = data
    z = zarr.open_array(str(tmp_path / "x.zarr"), mode="w", shape=X.shape, chunks=(32, *SHAPE), dtype=X.dtype)
    z[:] = X
    _same(_numbers(str(tmp_path / "x.zarr"), None, lab), reference)
    g = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    g.create_array("latents", shape=X.shape, chunks=(50, *SHAPE), dtype=X.dtype)[:] = X
    _same(_numbers(str(tmp_path / "g.zarr"), "latents", lab), reference)
    store = zarr.storage.ZipStore(str(tmp_path / "x.zip"), mode="w")
    zz = zarr.create_array(store=store, shape=X.shape, chunks=(64, *SHAPE), dtype=X.dtype)
    zz[:] = X
    store.close()
    _same(_numbers(str(tmp_path / "x.zip"), None, lab), reference)


def test_safetensors(data, reference, tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    X, lab = data
    st.save_file({"latents": X, "scale": np.ones(2, np.float32)}, str(tmp_path / "x.safetensors"))
    _same(_numbers(str(tmp_path / "x.safetensors"), "latents", lab), reference)
    src = load_source(tmp_path / "x.safetensors", key="latents")
    assert src.is_memmap  # read with pread, like a .npy
    with pytest.raises(RegimesError, match="choose one with key"):
        load_source(tmp_path / "x.safetensors")


def _arrow_table(X, lab):
    pa = pytest.importorskip("pyarrow")
    flat = pa.array(X.reshape(-1))
    col = pa.FixedSizeListArray.from_arrays(pa.FixedSizeListArray.from_arrays(flat, 4), 6)
    return pa.table({"pixels": col, "label": pa.array(lab), "ragged": pa.array([[1.0]] * N)})


def test_parquet_and_arrow(data, reference, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    X, lab = data
    t = _arrow_table(X, lab)
    pq.write_table(t, tmp_path / "x.parquet", row_group_size=50)
    _same(_numbers(str(tmp_path / "x.parquet"), "pixels", t.column("label")), reference)
    with pa.OSFile(str(tmp_path / "x.arrow"), "wb") as sink, pa.ipc.new_file(sink, t.schema) as w:
        for b in t.to_batches(max_chunksize=70):
            w.write_batch(b)
    _same(_numbers(str(tmp_path / "x.arrow"), "pixels", lab), reference)
    # a list column whose rows all have the same length, and a fixed-shape tensor column
    lists = pa.table({"x": pa.array(list(X.reshape(N, -1)), type=pa.list_(pa.float32()))})
    pq.write_table(lists, tmp_path / "l.parquet")
    _same(_numbers(str(tmp_path / "l.parquet"), None, lab), reference)
    tensor = pa.FixedShapeTensorArray.from_numpy_ndarray(np.ascontiguousarray(X))
    pq.write_table(pa.table({"x": tensor}), tmp_path / "t.parquet")
    _same(_numbers(str(tmp_path / "t.parquet"), "x", lab), reference)
    with pytest.raises(RegimesError, match="choose one with key"):
        load_source(tmp_path / "x.parquet")


def test_hugging_face_saved_dataset(data, reference, tmp_path):
    pa = pytest.importorskip("pyarrow")
    X, lab = data
    t = _arrow_table(X, lab)
    folder = tmp_path / "hf"
    folder.mkdir()
    (folder / "state.json").write_text('{"_data_files": []}')
    (folder / "dataset_info.json").write_text("{}")
    for i, part in enumerate((t.slice(0, 100), t.slice(100))):  # two shards, stream format
        with pa.OSFile(str(folder / f"data-0000{i}-of-00002.arrow"), "wb") as sink, \
                pa.ipc.new_stream(sink, part.schema) as w:
            w.write_table(part)
    _same(_numbers(str(folder), "pixels", t.column("label").to_pylist()), reference)


class _Tensor:
    """A torch-like tensor: ``__dlpack__``, ``shape``, slicing (no ``__array__``)."""

    def __init__(self, a):
        self.a, self.shape, self.reads = a, a.shape, 0

    def __dlpack__(self, **kw):
        return self.a.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self.a.__dlpack_device__()

    def __getitem__(self, i):
        self.reads += 1
        return _Tensor(self.a[i])


def test_dlpack_tensor_and_batches(data, reference):
    X, lab = data
    t = _Tensor(X)
    _same(_numbers(t, None, lab), reference)
    assert t.reads > 0  # read block by block, not converted whole
    batches = (X[i:i + 32] for i in range(0, N, 32))
    _same(_numbers(batches, None, lab), reference)

    class Loader:  # a DataLoader yields (x, y) pairs, again at every iteration
        def __iter__(self):
            return ((X[i:i + 50], lab[i:i + 50]) for i in range(0, N, 50))

    _same(_numbers(Loader(), None, None), reference)
    dicts = ({"pixel_values": X[i:i + 64]} for i in range(0, N, 64))
    _same(_numbers(dicts, "pixel_values", lab), reference)
    ds = regimes.Dataset(iter([X[:100], X[100:]]))
    assert ds.eigenvalue == pytest.approx(reference["lambda"], rel=1e-12)


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".pkl"])
def test_pickles_are_rejected(tmp_path, suffix):
    p = tmp_path / f"model{suffix}"
    p.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(RegimesError, match=r"never opened.*np.save\('x.npy'") as e:
        load_source(p)
    assert "\n" not in str(e.value)


def test_string_labels_from_pandas_and_arrow():
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    X = np.random.default_rng(0).standard_normal((6, 3))
    want = ["a", "b"]
    for lab in (pd.Series(list("abbaab")), pd.Series(list("abbaab"), dtype="string"),
                pd.Series(list("abbaab"), dtype="category"), pa.array(list("abbaab")),
                pa.chunked_array([list("abb"), list("aab")]), np.array(list("abbaab"), dtype=object),
                tuple("abbaab")):
        src = load_source(X, labels=lab)
        assert src.class_names == want and list(src.labels) == [0, 1, 1, 0, 0, 1]
    with pytest.raises(RegimesError, match="missing"):
        load_source(X, labels=pd.Series(["a", None, "b", "a", "b", "a"]))


def test_parquet_and_arrow_edge_cases(tmp_path):
    """Rows of different widths across row groups or record batches, an empty row group in the
    middle, and a file without rows: clear errors, or the right rows."""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    schema = pa.schema([("x", pa.list_(pa.float64()))])
    with pq.ParquetWriter(tmp_path / "ragged.parquet", schema) as w:
        w.write_table(pa.table({"x": [[1.0, 2.0], [3.0, 4.0]]}, schema=schema))
        w.write_table(pa.table({"x": [[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]]}, schema=schema))
    with pytest.raises(RegimesError, match="rows of different lengths"):
        load_source(tmp_path / "ragged.parquet").total_variance  # noqa: B018
    with pa.OSFile(str(tmp_path / "ragged.arrow"), "wb") as sink, pa.ipc.new_file(sink, schema) as w:
        w.write_table(pa.table({"x": [[1.0, 2.0], [3.0, 4.0]]}, schema=schema))
        w.write_table(pa.table({"x": [[1.0, 2.0, 3.0]]}, schema=schema))
    with pytest.raises(RegimesError, match="rows of different lengths"):
        load_source(tmp_path / "ragged.arrow")
    rows = [[float(i), float(i) ** 2] for i in range(6)]
    with pq.ParquetWriter(tmp_path / "gap.parquet", schema) as w:
        w.write_table(pa.table({"x": rows[:3]}, schema=schema))
        w.write_table(pa.table({"x": []}, schema=schema))  # an empty row group in the middle
        w.write_table(pa.table({"x": rows[3:]}, schema=schema))
    assert pq.ParquetFile(tmp_path / "gap.parquet").metadata.num_row_groups == 3
    src = load_source(tmp_path / "gap.parquet", center=False)
    assert (src.n, src.d) == (6, 2)
    np.testing.assert_array_equal(src.block(0, 6), np.array(rows))
    np.testing.assert_array_equal(src.block(2, 4), np.array(rows[2:4]))
    pq.write_table(pa.table({"x": []}, schema=schema), tmp_path / "empty.parquet")
    with pytest.raises(RegimesError, match="no rows"):
        load_source(tmp_path / "empty.parquet")


def test_batches_must_share_a_dtype_without_loss():
    """Later batches are cast to the first one's dtype only when no value can change: 300 must
    not become 44 in int8, nor 1e300 become inf in float32."""
    ok = load_source(iter([np.zeros((3, 2), np.float32), np.ones((3, 2), np.uint8)]))
    assert ok.n == 6
    for first, later in ((np.zeros((3, 2), np.int8), np.full((3, 2), 300, np.int64)),
                         (np.zeros((3, 2), np.float32), np.full((3, 2), 1e300))):
        with pytest.raises(RegimesError, match=r"batch 1 has dtype .* without loss; give all batches one dtype"):
            load_source(iter([first, later]))


def test_pandas_objects_and_sequences_are_arrays_not_batches():
    pd = pytest.importorskip("pandas")
    s = pd.Series(np.arange(10.0) ** 2)
    src = load_source(s)
    assert (src.n, src.d) == (10, 1) and src.total_variance == pytest.approx(np.var(s.to_numpy(), ddof=1))
    df = pd.DataFrame({"a": np.arange(5.0), "b": np.arange(5.0) * 2})
    assert (load_source(df).n, load_source(df).d) == (5, 2)
    r = load_source(range(10))  # a sequence of numbers: one feature, not a stream of scalar batches
    assert (r.n, r.d) == (10, 1) and r.total_variance == pytest.approx(np.var(np.arange(10), ddof=1))


def test_options_that_do_not_apply_are_errors_not_ignored(tmp_path):
    X = np.random.default_rng(2).standard_normal((20, 4))
    for kw, match in (({"key": "x"}, r"key='x' applies to .* not to an in-memory array"),
                      ({"size": 8}, r"size=8 applies only to a folder of images, not to an in-memory array"),
                      ({"grayscale": True, "color": True}, r"grayscale=True, color=True apply only")):
        with pytest.raises(RegimesError, match=match):
            load_source(X, **kw)
    np.save(tmp_path / "a.npy", X[:10])
    np.save(tmp_path / "b.npy", X[10:])
    with pytest.raises(RegimesError, match="not to shards"):
        load_source(str(tmp_path / "*.npy"), key="x")
    zarr = pytest.importorskip("zarr")
    zarr.save_array(str(tmp_path / "x.zarr"), X)
    with pytest.raises(RegimesError, match="size=8 applies only to a folder of images"):
        load_source(tmp_path / "x.zarr", size=8)
    with pytest.raises(RegimesError, match="grayscale=True applies only"):
        load_source(tmp_path / "a.npy", grayscale=True)
    assert load_source(iter([X[:10], X[10:]])).n == 20  # batches: no key needed for array batches


def test_a_label_count_mismatch_reads_the_same_for_arrays_files_and_batches(tmp_path):
    X = np.random.default_rng(4).standard_normal((6, 3))
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "lab.npy", np.arange(5))
    for data, labels, where in ((X, np.arange(5), "<array>"), (str(tmp_path / "x.npy"), np.arange(5), "x.npy"),
                                (iter([X[:3], X[3:]]), np.arange(5), "<batches>"),
                                (str(tmp_path / "x.npy"), str(tmp_path / "lab.npy"), "x.npy")):
        with pytest.raises(RegimesError, match=rf"labels.*: 5 labels for 6 rows of .*{where}"):
            load_source(data, labels=labels)
