"""`regimes analyze` through the in-process entry point: JSON contract, report files, bad inputs."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from regimes.models import example_mixture

    d = tmp_path_factory.mktemp("data")
    X, lab, _, _ = example_mixture(2, d=32, per_class=150)
    np.save(d / "x.npy", X)
    np.save(d / "lab.npy", lab)
    np.save(d / "lab_short.npy", lab[:-1])
    bad = X.copy()
    bad[3, 4] = np.nan
    np.save(d / "nan.npy", bad)
    np.save(d / "same.npy", np.ones((6, 3)))
    np.savez(d / "ragged.npz", x=np.array([[1, 2], [3]], dtype=object))
    (d / "empty.txt").write_text("")
    return d


def _common():
    return ["--samples", "64", "--bootstrap", "20"]


def test_json_contract(run_cli, files):
    rc, out, err = run_cli("analyze", files / "x.npy", "--labels", files / "lab.npy", *_common(), "--json")
    assert rc == 0, err
    d = json.loads(out)
    for k in ("n", "d", "alpha", "eigenvalue", "t_S", "t_C", "curves", "regimes", "t_S_class"):
        assert k in d
    assert set(d["t_C"]) == {"commitment", "entropy", "spectral", "gaussian"}
    for e in d["t_C"].values():
        assert set(e) >= {"value", "ci"}
    assert set(d["curves"]) >= {"t", "excess_entropy", "excess_entropy_se", "commitment", "class_commitment"}
    assert (d["n"], d["d"]) == (300, 32)
    # independent check of Λ and α
    X = np.load(files / "x.npy").astype(float)
    assert d["eigenvalue"]["value"] == pytest.approx(np.linalg.eigvalsh(np.cov(X.T))[-1], rel=1e-5)
    assert d["alpha"] == pytest.approx(np.log(300) / 32)


def test_without_labels_and_times_option(run_cli, files):
    rc, out, err = run_cli("analyze", files / "x.npy", *_common(), "--times", "0.2:4:12", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert "t_S_class" not in d and "class_commitment" not in d["curves"]
    assert len(d["curves"]["t"]) == 12


def test_out_dir_and_table(run_cli, files, tmp_path):
    rc, out, err = run_cli("analyze", files / "x.npy", "--labels", files / "lab.npy", *_common(),
                           "--schedule", "cosine", "--out", tmp_path / "rep")
    assert rc == 0, err
    assert "t_S" in out and "regime II" in out and "centred per feature" in out
    rep = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert rep["schedule"]["schedule"] == "cosine"
    assert (tmp_path / "rep" / "report.md").read_text().startswith("# regimes analyze report")
    from PIL import Image

    for name in ("curves.png", "timeline.png"):
        with Image.open(tmp_path / "rep" / name) as im:
            assert im.size[0] > 500


@pytest.mark.parametrize("args,match", [
    (["MISSING"], "does not exist"),
    (["NAN"], "finite"),
    (["X", "--labels", "SHORT"], "labels"),
    (["X", "--labels", "MISSINGLAB"], "does not exist"),
    (["X", "--scale", "unit"], "8-bit"),
    (["X", "--scale", "bogus"], "scale"),
    (["X", "--samples", "1"], "samples"),
    (["X", "--times", "4:1:5"], "--times"),
    (["X", "--times", "0,1,2"], "times"),
    (["X", "--schedule", "nope"], "schedule"),
    (["X", "--memory-mb", "0"], "memory"),
    (["X", "--memory-mb", "0.5"], "--memory-mb must be >= 1 (MB), got 0.5"),
    (["SAME"], "zero variance: all 6 rows are identical"),
    (["RAGGED"], "ragged"),
    (["X", "--labels", "EMPTY"], "is empty"),
    (["X", "--key", "a"], "key"),
    (["--labels", "LAB"], "DATA"),
])
def test_bad_inputs_exit_2_one_line(run_cli, files, args, match):
    sub = {"MISSING": files / "missing.npy", "NAN": files / "nan.npy", "X": files / "x.npy",
           "SHORT": files / "lab_short.npy", "MISSINGLAB": files / "nolab.npy", "LAB": files / "lab.npy",
           "SAME": files / "same.npy", "RAGGED": files / "ragged.npz", "EMPTY": files / "empty.txt"}
    rc, out, err = run_cli("analyze", "--samples", "32", *[sub.get(a, a) for a in args])
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("regimes: error:") and match in lines[0], err


def _flat(table: str) -> str:
    """Table text with cell wrapping and borders removed."""
    return " ".join(w for w in table.split() if w not in ("│", "┃"))


def test_regime_steps_past_the_schedule_end(run_cli, tmp_path):
    # Λ ≈ 301: t_S ≈ 2.85 lies past the scaled-linear schedule's last time (2.68)
    from regimes.models import example_mixture

    X, _, _, _ = example_mixture(0, d=300, per_class=60)
    np.save(tmp_path / "x.npy", X)
    args = ("analyze", tmp_path / "x.npy", *_common(), "--schedule", "scaled-linear")
    rc, out, err = run_cli(*args, "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["t_S"]["value"] > d["schedule"]["t_max"]
    reg = {g["name"]: g for g in d["regimes"]}
    assert reg["I"]["step_min"] is None and reg["I"]["step_max"] is None
    assert reg["II"]["step_max"] == 999 and reg["II"]["step_min"] == d["schedule"]["step_C"]
    assert (reg["III"]["step_min"], reg["III"]["step_max"]) == (0, d["schedule"]["step_C"] - 1)
    rc, out, err = run_cli(*args)
    assert rc == 0, err
    flat = _flat(out)
    assert "none (before the first sampler step)" in flat
    assert f"steps {reg['II']['step_min']}–999" in flat and "—" not in flat.split("regime I ")[1][:80]


def test_times_uses_the_same_regime_steps(run_cli):
    from regimes.timeline import regime_steps

    rc, out, err = run_cli("times", "--n", "4000", "--d", "1024", "-L", "1025", "--schedule", "scaled-linear",
                           "--json")
    assert rc == 0, err
    d = json.loads(out)
    ref = regime_steps(d["t_S"], d["t_C"], "scaled-linear", 1000)
    assert [(g["step_min"], g["step_max"]) for g in d["regimes"]] == [(r["step_min"], r["step_max"]) for r in ref]
    assert d["regimes"][0]["step_min"] is None and d["regimes"][1]["step_max"] == 999
    rc, out, err = run_cli("times", "--n", "4000", "--d", "1024", "-L", "1025", "--schedule", "scaled-linear")
    assert "none (before the first sampler step)" in _flat(out)


def test_timeline_interval_is_a_band_not_a_marker():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from regimes.plot.timeline import plot_timeline

    fig = plot_timeline(3.4673, 2.1466, "linear", 1000, intervals=[(3.4663, 3.4683), (2.1345, 2.1587)])
    ax = fig.axes[0]
    # only the two vertical lines at t_S and t_C: no short horizontal whisker (the stray marker)
    assert sorted(float(ln.get_xdata()[0]) for ln in ax.lines) == [2.1466, 3.4673]
    assert all(len(set(map(float, ln.get_xdata()))) == 1 for ln in ax.lines)
    texts = " ".join(t.get_text() for t in ax.texts)
    # one precision for every label of the figure, as many digits as the narrowest interval needs
    assert "3.467 [3.466, 3.468]" in texts and "2.147 [2.135, 2.159]" in texts
    plt.close(fig)


def test_quantities_that_do_not_exist_are_null_without_warning(run_cli, tmp_path):
    # d = 1, unit variance: Λ ≈ 0.93 <= 1, no speciation — a result (with a note), not a failure
    np.save(tmp_path / "d1.npy", np.random.default_rng(0).standard_normal((200, 1)))
    rc, out, err = run_cli("analyze", tmp_path / "d1.npy", *_common(), "--json")
    assert rc == 0, err
    body = json.loads(out)
    assert body["t_S"]["value"] is None and any("no speciation" in x for x in body["notes"])
    assert "warning" not in err


def test_precision_option(run_cli, files):
    # float64 products against the default (auto → float32 on these well-conditioned data): the
    # same estimates to far below their standard errors; a bad value is a one-line error
    rc, out, err = run_cli("analyze", files / "x.npy", *_common(), "--json")
    rc64, out64, err64 = run_cli("analyze", files / "x.npy", *_common(), "--precision", "float64", "--json")
    assert rc == 0 and rc64 == 0, err + err64
    a, b = json.loads(out)["t_C"]["commitment"], json.loads(out64)["t_C"]["commitment"]
    assert abs(a["value"] - b["value"]) < 0.01 * a["se"]
    rc, out, err = run_cli("analyze", files / "x.npy", "--precision", "half")
    assert rc == 2 and err.count("\n") == 1 and "--precision" in err


def test_report_files_follow_the_umask(run_cli, files, tmp_path):
    """Written through private temporaries (mkstemp 0600, mkdtemp 0700), the report folder and
    its files end with the usual modes of the user's umask, as any other file."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        rc, _, err = run_cli("analyze", files / "x.npy", *_common(), "--out", tmp_path / "rep")
        rc2, _, err2 = run_cli("timeline", "--n", "1000", "--d", "64", "--eigenvalue", "20",
                               "--out", tmp_path / "t.png")
    finally:
        os.umask(old)
    assert rc == 0 and rc2 == 0, err + err2
    assert stat.S_IMODE((tmp_path / "rep").stat().st_mode) == 0o755
    for p in [*(tmp_path / "rep").iterdir(), tmp_path / "t.png"]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p.name


def test_report_into_an_existing_folder_whose_parent_is_read_only(run_cli, files, tmp_path, monkeypatch):
    """The report's temporary folder goes inside --out when its parent cannot be written (e.g.
    --out . in a home directory): the files are renamed over the old ones, nothing is left behind."""
    import os

    out = tmp_path / "shared" / "rep"
    out.mkdir(parents=True)
    (out / "report.md").write_text("old")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if os.path.abspath(p) == str(out.parent)
                        else real(p, mode, **kw))
    inode = out.stat().st_ino
    rc, _, err = run_cli("analyze", files / "x.npy", *_common(), "--out", out)
    assert rc == 0, err
    assert out.stat().st_ino == inode  # written into the folder, not swapped for a new one
    assert sorted(p.name for p in out.parent.iterdir()) == ["rep"]
    assert {"report.json", "report.md", "curves.png", "timeline.png", "curves.csv"} == {p.name for p in out.iterdir()}
    assert (out / "report.md").read_text().startswith("# regimes analyze report")
