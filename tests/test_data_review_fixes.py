"""Readers and loaders: inputs that were misread, silently ignored or refused (a review's findings).

Oracles: the values written to the files themselves, and the same data read another way.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from regimes import RegimesError
from regimes.analysis import analyze
from regimes.data import as_source, load_labels, load_source


def _png_folder(tmp_path, arrays, mode):
    Image = pytest.importorskip("PIL.Image")
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, a in enumerate(arrays):
        im = Image.fromarray(a)  # the mode follows the dtype: L (uint8), I;16 (uint16), F (float32)
        assert im.mode == mode
        im.save(folder / f"{i}.{'tif' if mode == 'F' else 'png'}")
    return folder


@pytest.mark.parametrize("mode, dtype, top", [("I;16", np.uint16, 4095), ("F", np.float32, 2.0)])
def test_deep_images_are_refused_not_clipped(tmp_path, mode, dtype, top):
    """16-bit PNGs (0–4095) were read as min(x, 255) and float TIFFs truncated to integers."""
    g = np.random.default_rng(0)
    arrays = [(g.uniform(0, top, (4, 4))).astype(dtype) for _ in range(3)]
    folder = _png_folder(tmp_path, arrays, mode)
    with pytest.raises(RegimesError, match="more than 8 bits per channel"):
        load_source(str(folder))


def test_eight_bit_folder_still_reads_its_values(tmp_path):
    g = np.random.default_rng(1)
    arrays = [g.integers(0, 256, (4, 4), dtype=np.uint8) for _ in range(3)]
    src = load_source(str(_png_folder(tmp_path, arrays, "L")), center=False)
    np.testing.assert_array_equal(src.to_array(), np.stack(arrays).reshape(3, -1).astype(src.dtype))


def test_labels_with_a_byte_order_mark(tmp_path):
    """Excel's "CSV UTF-8" starts with a BOM: it made '\\ufeff0' a class of its own."""
    p = tmp_path / "lab.csv"
    p.write_bytes("0\n1\n0\n1\n".encode("utf-8-sig"))
    np.testing.assert_array_equal(load_labels(p), [0, 1, 0, 1])


def test_quoted_csv_labels_may_hold_commas(tmp_path):
    """The CLI's own --csv writes "tench, Tinca tinca" quoted; reading it back was refused."""
    p = tmp_path / "lab.csv"
    p.write_text('"tench, Tinca tinca"\ngoldfish\n"tench, Tinca tinca"\n"say ""hi"""\n', encoding="utf-8")
    assert load_labels(p).tolist() == ["tench, Tinca tinca", "goldfish", "tench, Tinca tinca", 'say "hi"']
    p.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(RegimesError, match="line 1 has 2 columns"):
        load_labels(p)


def test_byte_string_labels_get_their_text_as_names(tmp_path):
    X = np.random.default_rng(2).normal(size=(6, 3))
    for labels in (np.array([b"cat", b"dog"] * 3), [b"cat", b"dog"] * 3):
        src = as_source(X, labels=labels)
        assert list(src.class_names) == ["cat", "dog"]
    np.save(tmp_path / "lab.npy", np.array([b"cat", b"dog"] * 3))
    assert list(load_source(X, labels=load_labels(tmp_path / "lab.npy")).class_names) == ["cat", "dog"]


def test_upper_case_suffixes(tmp_path):
    X = np.random.default_rng(3).normal(size=(10, 4))
    np.save(tmp_path / "x.npy", X)
    (tmp_path / "x.npy").rename(tmp_path / "SMALL.NPY")
    np.savez(tmp_path / "A.npz", x=X)
    (tmp_path / "A.npz").rename(tmp_path / "A.NPZ")
    (tmp_path / "L.TXT").write_text("\n".join(["0", "1"] * 5))
    for name in ("SMALL.NPY", "A.NPZ"):
        src = load_source(str(tmp_path / name), labels=load_labels(tmp_path / "L.TXT"), center=False)
        np.testing.assert_array_equal(src.to_array(), X)


def test_zarr_array_in_a_sub_group(tmp_path):
    zarr = pytest.importorskip("zarr")
    X = np.random.default_rng(4).normal(size=(12, 5))
    g = zarr.open_group(str(tmp_path / "s.zarr"), mode="w")
    g.create_group("train").create_array("images", data=X)
    np.testing.assert_array_equal(load_source(str(tmp_path / "s.zarr"), center=False).to_array(), X)  # the only one
    np.testing.assert_array_equal(load_source(str(tmp_path / "s.zarr"), key="train/images", center=False).to_array(), X)
    g.create_array("other", data=X[:, :2])
    with pytest.raises(RegimesError, match=r"holds 2 arrays \(other, train/images\)"):
        load_source(str(tmp_path / "s.zarr"))


def test_compressed_feather_checked_against_memory(tmp_path, monkeypatch):
    """A compressed Feather file is decompressed whole: refused when that does not fit; an
    uncompressed one is memory-mapped and allocates nothing."""
    pa = pytest.importorskip("pyarrow")
    feather = pytest.importorskip("pyarrow.feather")
    from regimes.data import formats

    X = np.random.default_rng(5).normal(size=(2000, 8))
    t = pa.table({"x": pa.FixedSizeListArray.from_arrays(pa.array(X.ravel()), 8)})
    feather.write_feather(t, tmp_path / "c.feather", compression="lz4")
    feather.write_feather(t, tmp_path / "u.feather", compression="uncompressed")
    monkeypatch.setattr(formats, "available_memory_bytes", lambda: 1000)
    with pytest.raises(RegimesError, match="decompressed whole into memory"):
        load_source(str(tmp_path / "c.feather"))
    np.testing.assert_array_equal(load_source(str(tmp_path / "u.feather"), center=False).to_array(), X)


def test_shard_glob_in_natural_order(tmp_path):
    """part-10 came before part-2: labels in shard order were silently misaligned."""
    pytest.importorskip("dask")
    parts = [np.full((2, 3), float(i)) for i in range(12)]
    for i, a in enumerate(parts):
        np.save(tmp_path / f"part-{i}.npy", a)
    src = load_source(str(tmp_path / "part-*.npy"), center=False)
    np.testing.assert_array_equal(src.to_array(), np.concatenate(parts))


def test_loaded_sources_do_not_silently_drop_units_or_labels(tmp_path):
    from regimes import Dataset

    X = np.random.default_rng(6).integers(0, 256, (40, 6)).astype(np.uint8)
    src = as_source(X)
    with pytest.raises(RegimesError, match="labels: the data are already loaded"):
        analyze(src, labels=np.arange(40) % 2, samples=16, bootstrap=2)
    with pytest.raises(RegimesError, match="scale='unit'.*already loaded with scale='none'"):
        analyze(src, scale="unit", samples=16, bootstrap=2)
    with pytest.raises(RegimesError, match="already loaded"):
        as_source(src, scale="unit")
    with pytest.raises(RegimesError, match="center=False"):
        Dataset(src, center=False)
    unit = as_source(X, scale="unit", center=False)
    ds = Dataset(unit)
    assert (ds.scale, ds.center) == ("unit", False) and "[0, 1]" in ds.source.units
    np.save(tmp_path / "x.npy", X)
    assert Dataset(str(tmp_path / "x.npy"), scale="unit").source.scale == "unit"  # paths load
    with pytest.raises(RegimesError, match="is a path; read it with regimes.data.load_source"):
        as_source(str(tmp_path / "x.npy"))


def test_binary_uint8_with_unit_scale_has_a_note():
    X = np.random.default_rng(7).integers(0, 2, (300, 20)).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = analyze(as_source(X, scale="unit"), samples=16, bootstrap=4)
    assert any("binary pixels" in x for x in r.notes)


def test_cli_reader_options_for_memorization_and_uturn(run_cli, tmp_path):
    """`--key` (and the image options) exist for these commands, as their errors said."""
    g = np.random.default_rng(8)
    np.savez(tmp_path / "tr.npz", a=g.normal(size=(200, 16)), b=np.zeros(3))
    np.save(tmp_path / "gen.npy", g.normal(size=(20, 16)))
    rc, out, err = run_cli("memorization", tmp_path / "gen.npy", tmp_path / "tr.npz", "--bootstrap", "0", "--json")
    assert rc == 2 and "choose one with --key" in err
    rc, out, err = run_cli("memorization", tmp_path / "gen.npy", tmp_path / "tr.npz", "--key", "a", "--bootstrap",
                           "0", "--json")
    assert rc == 0, err
    assert json.loads(out)["train"].endswith("tr.npz")
    rc, out, err = run_cli("memorization", tmp_path / "gen.npy", tmp_path / "tr.npz", "--key", "a", "--size", "8")
    assert rc == 2 and "--size applies to folders of images" in err and len(err.strip().splitlines()) == 1
    rc, out, err = run_cli("uturn", tmp_path / "tr.npz", "--key", "a", "--times", "0.5", "--samples", "8", "--json")
    assert rc == 0, err
    rc, out, err = run_cli("memorization", tmp_path / "gen.npy", tmp_path / "tr.npz", "--key", "a", "--scale", "unit")
    assert rc == 2 and "--scale unit expects 8-bit" in err and "scale='unit'" not in err


def test_a_file_that_is_not_a_zip_is_not_called_an_object_array(tmp_path):
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(RegimesError, match="not a .npz archive"):
        load_source(str(tmp_path / "bad.npz"))


# -- the data-loading layer and the Dask path (a second review's findings) ------------------------------------
def _offset_data(n=400, d=8, seed=0):
    """Two classes 1e7 away from the origin: float32 keeps only ~1 unit of a value near 1e7, so data
    processed in float32 lose most of their spread (the total variance is then off by per cents)."""
    rng = np.random.default_rng(seed)
    x = 1e7 + rng.standard_normal((n, d))
    x[:, 0] += np.where(rng.integers(0, 2, n) == 1, 3.0, -3.0)
    return x


def _same_source(a, b):
    """Bit for bit the same processed rows, statistics and Λ."""
    from regimes.engines.covariance import top_eigenvalues

    assert b.dtype == a.dtype == np.float64
    assert np.array_equal(a.to_array(), b.to_array())
    assert np.array_equal(a.mean, b.mean)
    assert a.total_variance == b.total_variance
    assert np.array_equal(a.centred_sq_norms, b.centred_sq_norms)
    assert np.array_equal(top_eigenvalues(a, 2, method="dense").values, top_eigenvalues(b, 2, method="dense").values)


def test_float64_in_either_byte_order_and_long_double_are_processed_in_float64(tmp_path):
    """'>f8' (a .npy from a big-endian machine, an HDF5 dataset, an in-memory array) and long double
    were processed in float32: Λ off by 0.5 %, tr C by 4 % on these data."""
    x = _offset_data()
    # the oracle: numpy in float64 (tr C and the top eigenvalue of the covariance)
    tv = float(np.sum(np.var(x, axis=0, ddof=1)))
    lam = float(np.linalg.eigvalsh(np.cov(x.T))[-1])
    np.save(tmp_path / "le.npy", x)
    np.save(tmp_path / "be.npy", x.astype(">f8"))
    native = as_source(x)
    assert abs(native.total_variance - tv) <= 1e-9 * tv
    from regimes.engines.covariance import top_eigenvalues

    assert abs(top_eigenvalues(native, 1, method="dense").values[0] - lam) <= 1e-9 * lam
    others = [load_source(tmp_path / "be.npy"), as_source(x.astype(">f8")), as_source(x.astype(np.longdouble))]
    assert not others[0].raw.dtype.isnative
    for src in others:
        _same_source(native, src)
    _same_source(load_source(tmp_path / "le.npy"), others[0])


def test_big_endian_hdf5_float64(tmp_path):
    h5py = pytest.importorskip("h5py")
    x = _offset_data(seed=1)
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("x", data=x.astype(">f8"))
    src = load_source(tmp_path / "x.h5")
    with h5py.File(tmp_path / "x.h5", "r") as f:
        assert f["x"].dtype == np.dtype(">f8")
    _same_source(as_source(x), src)


def test_processed_dtype_by_kind_and_width():
    """8- and 16-bit integers, float16 and float32 stay float32 (exact there); wider integers and
    every float64 or long double are float64."""
    x = np.arange(12).reshape(6, 2) % 5
    for dt in ("u1", "i1", "u2", "<i2", ">i2", "f2", "<f4", ">f4"):
        assert as_source(x.astype(dt)).dtype == np.float32, dt
    for dt in ("<i4", "u4", "<i8", ">i8", "u8", "<f8", ">f8", np.longdouble):
        assert as_source(x.astype(dt)).dtype == np.float64, dt


def test_wide_integers_keep_their_precision():
    """int64 values of ~1e8 with a spread of 1e4 (above 2²⁴: float32 rounds them to multiples of 8)."""
    rng = np.random.default_rng(3)
    x = rng.integers(10**8, 10**8 + 10**4, size=(300, 5), dtype=np.int64)
    src = as_source(x)
    xf = x.astype(np.float64)  # exact: |x| < 2**53
    c = xf - xf.mean(axis=0)
    assert np.allclose(src.to_array(), c, rtol=0, atol=1e-7)
    tv = float(np.sum(c * c) / (len(x) - 1))
    assert abs(src.total_variance - tv) <= 1e-12 * tv
    assert np.allclose(src.centred_sq_norms, np.sum(c * c, axis=1), rtol=1e-12, atol=0)


def test_empty_shard_is_refused_naming_it(tmp_path):
    pytest.importorskip("dask.array")
    np.save(tmp_path / "p-1.npy", np.random.default_rng(0).random((50, 4), dtype=np.float32))
    np.save(tmp_path / "p-2.npy", np.zeros((0, 4), np.float32))
    empty = str(tmp_path / "p-2.npy")
    for path in (str(tmp_path / "p-*.npy"), [str(tmp_path / "p-1.npy"), empty], [empty]):
        with pytest.raises(RegimesError, match=r"p-2\.npy: empty shard \(0 rows"):
            load_source(path)


def test_dask_array_of_unknown_chunk_sizes():
    da = pytest.importorskip("dask.array")
    x = da.from_array(np.random.default_rng(1).random((60, 4)), chunks=20)
    y = x[x[:, 0] > 0.5]
    assert np.isnan(y.shape[0])
    with pytest.raises(RegimesError, match=r"unknown chunk sizes \(shape \(nan, 4\)\); call x\.compute_chunk_sizes"):
        as_source(y)
    with pytest.raises(RegimesError, match="compute_chunk_sizes"):
        analyze(y, samples=16, bootstrap=0)
    y.compute_chunk_sizes()
    assert as_source(y).n == int(np.sum(x[:, 0].compute() > 0.5))


def _three_shards(tmp_path, bad=None):
    rng = np.random.default_rng(4)
    parts = [rng.standard_normal((50, 4)).astype(np.float32) for _ in range(3)]
    if bad is not None:
        parts[2][49, 2] = bad
    for i, p in enumerate(parts):
        np.save(tmp_path / f"q-{i + 1}.npy", p)
    return [str(tmp_path / f"q-{i + 1}.npy") for i in range(3)]


@pytest.mark.parametrize("on_cluster", [False, True])
def test_shard_errors_name_the_shard(tmp_path, on_cluster):
    """Row 149 of three 50-row shards is row 49 of the third."""
    pytest.importorskip("dask.array")
    paths = _three_shards(tmp_path, np.nan)
    last = paths[2]
    want = rf"at row 149, feature 2 \(row 49 of {last}\)"
    if on_cluster:
        pytest.importorskip("distributed")
        from regimes.distributed import cluster

        with cluster("local:1"), pytest.raises(RegimesError, match=want):
            load_source(paths)
    else:
        with pytest.raises(RegimesError, match=r"^3 \.npy shards: data must be finite, got nan " + want):
            load_source(paths)
        with pytest.raises(RegimesError, match=want):
            load_source(str(tmp_path / "q-*.npy"))
    np.save(tmp_path / "c.npy", np.ones((5, 4), np.complex64))
    with pytest.raises(RegimesError, match=rf"^{tmp_path / 'c.npy'}: data must have an integer or real dtype, "
                                           "got complex64"):
        load_source([paths[0], str(tmp_path / "c.npy")])


def test_a_bool_shard_is_refused_as_a_bool_file(tmp_path):
    pytest.importorskip("dask.array")
    paths = _three_shards(tmp_path)
    b = tmp_path / "b.npy"
    np.save(b, np.random.default_rng(5).random((50, 4)) > 0.5)
    with pytest.raises(RegimesError) as alone:
        load_source(b)
    with pytest.raises(RegimesError) as listed:
        load_source([paths[0], str(b)])
    assert str(alone.value) == str(listed.value) == f"{b}: data must have an integer or real dtype, got bool"


def test_a_list_of_files_must_be_npy_shards(tmp_path):
    pytest.importorskip("dask.array")
    paths = _three_shards(tmp_path)
    with pytest.raises(RegimesError, match=r"a list of data files must be \.npy shards; got 'a\.npz'"):
        load_source([paths[0], "a.npz"])
    with pytest.raises(RegimesError, match=r"a list of data files must be \.npy shards; got 'a\.h5'"):
        load_source(["a.h5", "b.h5"])
    ref = np.concatenate([np.load(p) for p in paths])
    upper = tmp_path / "Q-2.NPY"
    np.save(tmp_path / "tmp.npy", ref[50:100])
    (tmp_path / "tmp.npy").rename(upper)
    got = load_source([paths[0], upper, paths[2]])
    assert np.array_equal(got.to_array(), as_source(ref).to_array())
    from pathlib import Path

    by_path = load_source(Path(tmp_path) / "q-*.npy")
    assert by_path.n == 150 and np.array_equal(by_path.to_array(), as_source(ref).to_array())
