"""Regression tests of issue 14 beyond the bad-input corpus: atomic reports, resource estimates,
intervals that contain their estimate, deterministic figures, image folders."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest


def _npy(tmp_path, scale=1.0, n=60, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    x[: n // 2] += 2.0
    np.save(tmp_path / "x.npy", x * scale)
    return tmp_path / "x.npy"


FAST = ("-M", "64", "--bootstrap", "40")


def test_report_is_atomic(tmp_path, run_cli, monkeypatch):
    from regimes_cli import _output

    data = _npy(tmp_path)
    out = tmp_path / "rep"
    rc, _, err = run_cli("analyze", data, *FAST, "--out", out, "--json")
    assert rc == 0, err
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "report.json" in before and "timeline.png" in before

    def boom(fig, path, dpi=150):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(_output, "save_figure", boom)
    rc, _, err = run_cli("analyze", data, *FAST, "--seed", "1", "--out", out, "--json")
    assert rc != 0
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before  # the old report, whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rep.")]  # no temporary left


def test_report_keeps_other_files_and_drops_stale_ones(tmp_path, run_cli):
    data = _npy(tmp_path)
    out = tmp_path / "rep"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "hierarchy.png").write_bytes(b"stale")
    rc, _, err = run_cli("analyze", data, *FAST, "--out", out, "--json")
    assert rc == 0, err
    assert (out / "notes.txt").read_text() == "mine"
    assert not (out / "hierarchy.png").exists()
    assert json.loads((out / "report.json").read_text())["n"] == 60


def test_report_never_follows_symlinks(tmp_path, run_cli):
    data = _npy(tmp_path)
    out = tmp_path / "rep"
    out.mkdir()
    victim = tmp_path / "victim.json"
    victim.write_text("keep")
    (out / "report.json").symlink_to(victim)
    rc, _, err = run_cli("analyze", data, *FAST, "--out", out, "--json")
    assert rc == 0, err
    assert victim.read_text() == "keep"
    assert not (out / "report.json").is_symlink()


def test_out_checked_before_work(tmp_path, run_cli, monkeypatch):
    import regimes.analysis

    def never(*a, **k):
        raise AssertionError("analysis ran before --out was checked")

    monkeypatch.setattr(regimes.analysis, "analyze", never)
    (tmp_path / "f").write_text("")
    rc, _, err = run_cli("analyze", _npy(tmp_path), "--out", tmp_path / "f" / "sub")
    assert rc == 2 and "--out" in err


def test_image_size_refused_before_reading(tmp_path, run_cli, monkeypatch):
    from PIL import Image

    import regimes.data.readers as readers

    for i in range(20):
        Image.fromarray(np.full((4, 4, 3), i, np.uint8)).save(tmp_path / f"{i}.png")

    def never(*a, **k):
        raise AssertionError("an image was read")

    monkeypatch.setattr(readers, "_read_image", never)
    rc, out, err = run_cli("analyze", tmp_path, "--size", "100000")
    assert rc == 2 and "--size" in err and "32768" in err
    rc, out, err = run_cli("analyze", tmp_path, "--size", "30000")  # 20 × 30000² × 3: hundreds of GB
    assert rc == 2, err
    assert "--size" in err and "needs about" in err and "memory" in err
    assert len(err.strip().splitlines()) == 1


def test_dangling_symlink_in_image_folder(tmp_path, run_cli):
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((4, 4, 3), i, np.uint8)).save(tmp_path / f"{i}.png")
    (tmp_path / "9.png").symlink_to(tmp_path / "gone.png")
    rc, _, err = run_cli("analyze", tmp_path)
    assert rc == 2 and "9.png" in err and "symlink" in err


def test_decompression_bomb_refused_without_warning(tmp_path, recwarn):
    from PIL import Image

    import regimes
    from regimes.data import load_source

    for i in range(2):
        Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / f"{i}.png")
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 3000  # 4096 pixels: a "bomb" (warning zone, below 2× the limit)
    try:
        with pytest.raises(regimes.RegimesError, match="0.png"):
            load_source(tmp_path)
    finally:
        Image.MAX_IMAGE_PIXELS = old
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


@pytest.mark.parametrize("scale", [1e-30, 1e-4, 1.0, 1e4, 1e30])
def test_intervals_contain_their_estimate(tmp_path, scale):
    from regimes.analysis import analyze

    res = analyze(_npy(tmp_path, scale, n=80, d=6), samples=64, bootstrap=40, seed=0)
    d = res.to_dict()
    ests = {"t_S": d["t_S"], "eigenvalue": d["eigenvalue"], **{f"t_C {k}": v for k, v in d["t_C"].items()}}
    for name, e in ests.items():
        v, ci = e["value"], e["ci"]
        if v is None or ci is None or any(c is None or not math.isfinite(c) for c in ci) \
                or not math.isfinite(v):
            continue
        assert ci[0] <= v <= ci[1], (scale, name, v, ci)


def test_svg_and_pdf_are_deterministic(tmp_path, run_cli):
    for suffix in ("svg", "pdf"):
        blobs = []
        for i in range(2):
            path = tmp_path / f"t{i}.{suffix}"
            rc, _, err = run_cli("timeline", "--n", "1000", "--d", "100", "-L", "4", "--out", path)
            assert rc == 0, err
            blobs.append(path.read_bytes())
        assert blobs[0] == blobs[1], suffix
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_step_beyond_int64_names_the_flag(run_cli, recwarn):
    rc, _, err = run_cli("schedule", "-k", str(10**30))
    assert rc == 2 and "--step" in err and "-9223372036854775808" not in err
    assert len(err.strip().splitlines()) == 1
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_library_bounds_and_types():
    import regimes
    from regimes import symbolic
    from regimes.rmt import MarchenkoPastur

    mp = MarchenkoPastur(0.5)
    with pytest.raises(regimes.RegimesError, match="x"):
        mp.pdf(math.nan)
    assert mp.pdf(math.inf) == 0.0
    assert mp.rvs(size=(2, 3), rng=0).shape == (2, 3)
    with pytest.raises(regimes.RegimesError, match="n must be >= 2"):  # the library's own rule
        symbolic.lambdify("collapse_time")(-5, 10, 1)
    assert symbolic.lambdify("collapse_time")(100.0, 10.0, 1.0) == pytest.approx(regimes.collapse_time(100, 10))
    with pytest.raises(regimes.RegimesError, match="separation"):
        regimes.GaussianMixture(n=100, d=1e308, separation=1e308)


def test_memory_budget_does_not_change_bits(tmp_path):
    """The memory budget changes the Monte Carlo t_C only at the 1e-4 relative level (documented in
    --memory-mb's help and docs/performance.md): the engine's blocks sum in another order."""
    from regimes.analysis import analyze

    data = _npy(tmp_path, n=200, d=8)
    a = analyze(data, samples=256, bootstrap=0, seed=0, memory_budget=2**30).to_dict()
    b = analyze(data, samples=256, bootstrap=0, seed=0, memory_budget=2**20).to_dict()
    va, vb = a["t_C"]["commitment"]["value"], b["t_C"]["commitment"]["value"]
    assert va == pytest.approx(vb, rel=1e-4)


def test_size_options_refused_before_the_data_pass(tmp_path, run_cli, monkeypatch):
    import regimes.data

    def never(*a, **k):
        raise AssertionError("the data were loaded")

    monkeypatch.setattr(regimes.data, "load_source", never)
    for args, flag in ((("-M", str(10**30)), "--samples"), (("--bootstrap", str(10**30)), "--bootstrap"),
                       (("--times=1,,2",), "--times"), (("--subsample", "0"), "--subsample"),
                       (("-M", str(2**26)), "--samples")):
        rc, _, err = run_cli("analyze", _npy(tmp_path), *args)
        assert rc == 2 and flag in err and len(err.strip().splitlines()) == 1, (args, err)


def test_tiny_t_C_intervals_scale_with_the_data(tmp_path):
    """Data in small units (×1e-4): t_C ∝ scale², and so must its interval (no floor near 1e-7)."""
    from regimes.analysis import analyze

    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 16))
    x[:100] += 1.0
    ref = analyze(x, samples=128, bootstrap=60, seed=0).to_dict()["t_C"]
    small = analyze(x * 1e-4, samples=128, bootstrap=60, seed=0).to_dict()["t_C"]
    for k in ("commitment", "entropy"):
        v, ci = small[k]["value"], small[k]["ci"]
        assert ci[0] <= v <= ci[1]
        assert ci[1] / v == pytest.approx(ref[k]["ci"][1] / ref[k]["value"], rel=0.05), k
        assert ci[0] / v == pytest.approx(ref[k]["ci"][0] / ref[k]["value"], rel=0.05), k


def test_integer_bounds_are_printed_in_full():
    """A limit the user has to type back is printed as an integer (67108864), not 6.71089e+07."""
    from regimes import RegimesError
    from regimes._validate import MAX_SAMPLES, check_int, check_real

    with pytest.raises(RegimesError, match=rf"samples must be >= 16 and <= {MAX_SAMPLES}, got 5$"):
        check_int("samples", 5, ge=16, le=MAX_SAMPLES)
    with pytest.raises(RegimesError, match=r"x must be > 0.5 and <= 2, got 5.0$"):
        check_real("x", 5.0, gt=0.5, le=2.0)
