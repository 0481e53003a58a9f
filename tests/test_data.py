"""Loading data: formats, units, labels and the catalogue of bad inputs."""

import numpy as np
import pytest

import regimes
from regimes import RegimesError
from regimes.data import as_source, load_source


def test_npy_is_memmapped_and_streamed(tmp_path):
    X = np.random.default_rng(0).standard_normal((50, 3, 4)).astype(np.float32)
    p = tmp_path / "x.npy"
    np.save(p, X)
    src = load_source(str(p))
    assert src.is_memmap and (src.n, src.d) == (50, 12)
    flat = X.reshape(50, 12).astype(np.float64)
    np.testing.assert_allclose(src.mean, flat.mean(0), rtol=1e-12)
    np.testing.assert_allclose(src.block(10, 20), (flat - flat.mean(0))[10:20], atol=1e-6)
    np.testing.assert_allclose(src.take([3, 3, 1]), (flat - flat.mean(0))[[3, 3, 1]], atol=1e-6)
    assert src.total_variance == pytest.approx(np.trace(np.cov(flat.T)), rel=1e-6)


def test_npz_key_and_labels_file(tmp_path):
    X = np.arange(20.0).reshape(10, 2)
    np.savez(tmp_path / "a.npz", x=X, y=X * 2)
    np.save(tmp_path / "lab.npy", np.array(["b", "a"] * 5))
    ds = regimes.load_dataset(tmp_path / "a.npz", key="y", labels=str(tmp_path / "lab.npy"))
    assert ds.n == 10 and ds.source.class_names == ["a", "b"]
    np.testing.assert_array_equal(ds.labels, [1, 0] * 5)
    np.testing.assert_allclose(ds.source.mean, (X * 2).mean(0))


def test_scales_8bit():
    X = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    u = as_source(X, scale="unit", center=False).to_array()
    s = as_source(X, scale="symmetric", center=False).to_array()
    np.testing.assert_allclose(u, [[0, 1], [1, 0]])
    np.testing.assert_allclose(s, [[-1, 1], [1, -1]])
    assert "[-1, 1]" in as_source(X, scale="symmetric").units


def test_image_folder_with_classes(tmp_path):
    from PIL import Image

    for cls, val in (("cat", 10), ("dog", 200)):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(np.full((4, 5, 3), val + i, dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    ds = regimes.load_dataset(tmp_path, scale="unit", grayscale=True, size=(2, 2))
    assert (ds.n, ds.d) == (6, 4)
    assert ds.source.class_names == ["cat", "dog"]
    np.testing.assert_array_equal(ds.labels, [0, 0, 0, 1, 1, 1])


def _write(tmp_path, name, arr):
    p = tmp_path / name
    np.save(p, arr)
    return p


@pytest.mark.parametrize("case,match", [
    ("nan", "finite"),
    ("inf", "finite"),
    ("one_row", "at least 2 rows"),
    ("strings", "dtype"),
    ("truncated", "truncated"),
    ("garbage", "not a numeric array"),
    ("missing", "does not exist"),
    ("suffix", "unsupported"),
    ("label_count", "labels for"),
    ("scale_range", "8-bit"),
    ("npz_many", "choose one"),
])
def test_bad_data_catalogue(tmp_path, case, match):
    good = np.random.default_rng(0).standard_normal((6, 3))
    kw = {}
    if case == "nan":
        bad = good.copy(); bad[2, 1] = np.nan; p = _write(tmp_path, "d.npy", bad)  # noqa: E702
    elif case == "inf":
        bad = good.copy(); bad[0, 0] = np.inf; p = _write(tmp_path, "d.npy", bad)  # noqa: E702
    elif case == "one_row":
        p = _write(tmp_path, "d.npy", good[:1])
    elif case == "strings":
        p = _write(tmp_path, "d.npy", np.array([["a", "b"], ["c", "d"]]))
    elif case == "truncated":
        p = _write(tmp_path, "d.npy", good)
        p.write_bytes(p.read_bytes()[:-20])
    elif case == "garbage":
        p = tmp_path / "d.npy"
        p.write_bytes(b"not a numpy file at all")
    elif case == "missing":
        p = tmp_path / "nope.npy"
    elif case == "suffix":
        p = tmp_path / "d.csv"
        p.write_text("1,2\n")
    elif case == "label_count":
        p = _write(tmp_path, "d.npy", good)
        kw["labels"] = np.arange(5)
    elif case == "scale_range":
        p = _write(tmp_path, "d.npy", good)
        kw["scale"] = "unit"
    elif case == "npz_many":
        p = tmp_path / "d.npz"
        np.savez(p, a=good, b=good)
    with pytest.raises(RegimesError, match=match) as ei:
        load_source(str(p), **kw)
    assert p.name in str(ei.value) or case == "label_count"


def test_ragged_and_bad_arrays():
    with pytest.raises(RegimesError, match="rectangular|numeric"):
        as_source([[1.0, 2.0], [3.0]])
    with pytest.raises(RegimesError, match="scale"):
        as_source(np.ones((3, 2)), scale="bogus")
    with pytest.raises(RegimesError, match="dtype"):
        as_source(np.ones((3, 2), dtype=complex))


@pytest.mark.parametrize("case,match", [
    ("identical", "zero variance: all 5 rows are identical"),
    ("object_npy", "not a numeric array"),
    ("random_bytes", "not a numeric array"),
    ("ragged_npz", "rows are ragged or not numbers"),
])
def test_degenerate_data_messages(tmp_path, case, match):
    if case == "identical":
        p = _write(tmp_path, "d.npy", np.tile([1.0, 2.0, 3.0], (5, 1)))
    elif case == "object_npy":
        p = tmp_path / "d.npy"
        np.save(p, np.array([[1, 2], [3]], dtype=object), allow_pickle=True)
    elif case == "random_bytes":
        p = tmp_path / "d.npy"
        p.write_bytes(np.random.default_rng(0).bytes(300))
    else:
        p = tmp_path / "d.npz"
        np.savez(p, x=np.array([[1, 2], [3]], dtype=object))
    with pytest.raises(RegimesError, match=match) as ei:
        load_source(str(p))
    msg = str(ei.value)
    assert p.name in msg and "pickle" not in msg


def test_text_labels(tmp_path):
    from regimes.data import load_labels

    p = tmp_path / "lab.txt"
    p.write_text("1\n1.0\n2\n\n2.0\n# comment\n0\n")
    lab = load_labels(p)
    assert lab.dtype.kind == "i"
    np.testing.assert_array_equal(lab, [1, 1, 2, 2, 0])
    src = load_source(np.random.default_rng(0).standard_normal((5, 2)), labels=str(p))
    assert src.class_names == ["0", "1", "2"] and src.n_classes == 3
    p.write_text("cat\n1\ngolden retriever\n1.0\n")
    np.testing.assert_array_equal(load_labels(p), ["cat", "1", "golden retriever", "1.0"])
    p.write_text("1.5\n2\n")  # not integral: kept as strings
    assert load_labels(p).dtype.kind == "U"


def test_empty_labels_file_no_warning(tmp_path):
    import warnings

    from regimes.data import load_labels

    p = tmp_path / "empty.txt"
    p.write_text("")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RegimesError, match="empty.txt.*is empty"):
            load_labels(p)


def test_image_folder_with_top_level_images_and_subfolders(tmp_path):
    from PIL import Image

    def img(path, val):
        Image.fromarray(np.full((3, 3), val, dtype=np.uint8)).save(path)

    (tmp_path / "cat").mkdir()
    for i in range(2):
        img(tmp_path / "cat" / f"{i}.png", 10 + i)
        img(tmp_path / f"top{i}.png", 50 + i)
    with pytest.raises(RegimesError, match="top level.*cat"):
        load_source(str(tmp_path))
    # a subfolder without images (e.g. checkpoints) does not make the top-level images classes
    other = tmp_path.parent / (tmp_path.name + "_b")
    (other / ".ipynb_checkpoints").mkdir(parents=True)
    for i in range(3):
        img(other / f"{i}.png", 20 * i)
    src = load_source(str(other))
    assert src.n == 3 and src.labels is None


def test_validation_pass_reports_progress(tmp_path):
    # loading reads the rows once (the row norms come with the first later pass)
    p = _write(tmp_path, "d.npy", np.random.default_rng(0).standard_normal((30, 4)))
    seen = []
    load_source(str(p), progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 30) and seen[-1] == (30, 30)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:], strict=False))


def test_identical_rows_and_underflowing_variance_are_told_apart():
    from regimes import RegimesError
    from regimes.data import as_source

    # identical rows whose mean is not exact in binary: still "identical", not a tiny variance
    for X in (np.tile([0.1, 0.7, 1 / 3], (1001, 1)), np.tile([0.1, 0.7, 1 / 3], (1001, 1)).astype(np.float32)):
        with pytest.raises(RegimesError, match="identical"):
            as_source(X)
    # distinct rows whose squared deviations underflow float64: a scale problem, said so
    with pytest.raises(RegimesError, match="too small"):
        as_source(1e-200 * np.random.default_rng(0).standard_normal((50, 4)))
    # small but representable: fine (tr C/d = 1e-300 within float64's range)
    src = as_source(1e-150 * np.random.default_rng(0).standard_normal((500, 40)))
    assert src.total_variance / 40 == pytest.approx(1e-300, rel=0.1)


def test_file_rows_are_read_whole_when_pread_returns_less(tmp_path, monkeypatch):
    """One pread returns at most ~2 GiB on Linux: the reader continues until the rows are complete
    (simulated here with reads capped at 1000 bytes), and a short file is still 'truncated'."""
    import os

    from regimes.data.rows import read_file_rows

    X = np.random.default_rng(0).standard_normal((50, 7))
    p = tmp_path / "x.bin"
    p.write_bytes(b"\0" * 16 + X.tobytes())
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, off: real(fd, min(n, 1000), off))
    np.testing.assert_array_equal(read_file_rows(str(p), 16, X.dtype, 7, 3, 45, "x"), X[3:45])
    with pytest.raises(RegimesError, match="x: file is truncated"):
        read_file_rows(str(p), 16, X.dtype, 7, 40, 60, "x")


def test_query_rows_accept_one_row_and_a_collapsed_set():
    from regimes.data import query_rows

    one, same = np.ones((1, 3)), np.ones((4, 3))
    for X, match in ((one, "need at least 2 rows"), (same, "zero variance")):
        with pytest.raises(RegimesError, match=match):
            as_source(X)
        with query_rows():
            src = as_source(X)
        assert src.total_variance == 0.0 and np.array_equal(src.mean, [1.0, 1.0, 1.0])
    with query_rows(), pytest.raises(RegimesError, match="must be finite|not finite|nan"):
        as_source(np.array([[np.nan, 1.0]]))
