"""The CLI outputs after a review: reports with any schedule form, the timeline's interval, --out
probed before the work, atomic and complete output folders and files, honest JSON conventions and
warnings, U-turn intervals, solve's units note, ∞ in tables.

Every check is against something the code under test does not compute itself: the betas of a
schedule file read back with numpy, the diffusers linear betas, file modes and bytes on disk,
the closed-form Clopper–Pearson ends, scipy's exact binomial interval, a finite-difference slope
of the written curves, the closed-form inverse of t_C.
"""

from __future__ import annotations

import json
import math
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REGIMES = Path(sys.executable).parent / "regimes"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Three separated classes in d = 8 (n = 150), labels, schedule files of every form."""
    tmp = tmp_path_factory.mktemp("review")
    gen = np.random.default_rng(7)
    means = gen.standard_normal((3, 8)) * 3.0
    lab = np.repeat(np.arange(3), 50)
    np.save(tmp / "x.npy", (means[lab] + gen.standard_normal((150, 8))).astype(np.float32))
    np.save(tmp / "lab.npy", lab)
    betas = np.linspace(1e-4, 0.03, 300)
    np.savetxt(tmp / "betas.txt", betas)
    np.savetxt(tmp / "ac.txt", np.cumprod(1.0 - betas))
    (tmp / "sc.json").write_text(json.dumps({"_class_name": "DDPMScheduler", "beta_schedule": "linear",
                                             "beta_start": 0.001, "beta_end": 0.05, "num_train_timesteps": 500}))
    # memorization: generated rows near training rows, d = 16 (4×4 images)
    train = gen.standard_normal((60, 16))
    np.save(tmp / "train.npy", train)
    np.save(tmp / "gen.npy", train[:40] + 0.01 * gen.standard_normal((40, 16)))
    # U-turns: points far apart, so that every run at a small t comes back
    np.save(tmp / "far.npy", 20.0 * gen.standard_normal((10, 4)))
    return tmp


FAST = ("--samples", "64", "--bootstrap", "0")


class Spy:
    """Records the arguments of plot_timeline (then draws as usual)."""

    def __init__(self, monkeypatch):
        import regimes.plot.timeline as tl

        self.calls = []
        real = tl.plot_timeline

        def spy(*args, **kwargs):
            self.calls.append((args, kwargs))
            return real(*args, **kwargs)

        monkeypatch.setattr(tl, "plot_timeline", spy)


# ---------------------------------------------------------------- 1. --out with every schedule form
@pytest.mark.parametrize("form", ["betas", "alphas", "config"])
def test_report_with_schedule_files(form, data, tmp_path, run_cli, monkeypatch):
    """The report is written with --betas, --alphas-cumprod and --scheduler-config, and its timeline
    is drawn on the very schedule given (betas compared with the file read back / diffusers' rule)."""
    spy = Spy(monkeypatch)
    flag, path, expect = {
        "betas": ("--betas", data / "betas.txt", np.loadtxt(data / "betas.txt")),
        "alphas": ("--alphas-cumprod", data / "ac.txt", np.loadtxt(data / "betas.txt")),
        "config": ("--scheduler-config", data / "sc.json", np.linspace(0.001, 0.05, 500)),
    }[form]
    out = tmp_path / "rep"
    rc, _, err = run_cli("analyze", data / "x.npy", "--labels", data / "lab.npy", *FAST, flag, path, "--out", out)
    assert rc == 0, err
    assert {"report.json", "timeline.png"} <= {p.name for p in out.iterdir()}
    (args, _), = spy.calls
    sampler = args[2]
    assert sampler.steps == expect.size
    np.testing.assert_allclose(sampler.betas, expect, rtol=1e-9, atol=1e-15)


# ---------------------------------------------------------------- 2. the timeline's t_C interval
def test_timeline_interval_is_the_regimes_estimator(data, tmp_path, run_cli, monkeypatch):
    """With a grid on which φ_C never crosses ½ the regimes use the spectral t_C: the figure draws
    that value with the spectral interval (read back from report.json), not the commitment's."""
    spy = Spy(monkeypatch)
    out = tmp_path / "rep"
    rc, _, err = run_cli("analyze", data / "x.npy", "--samples", "64", "--bootstrap", "20",
                         "--times", "6:8:4", "--out", out)
    assert rc == 0, err
    rep = json.loads((out / "report.json").read_text())
    assert rep["t_C"]["commitment"]["value"] is None
    (args, kwargs), = spy.calls
    spectral = rep["t_C"]["spectral"]
    assert args[1] == spectral["value"]
    assert list(kwargs["intervals"][1]) == spectral["ci"] and None not in spectral["ci"]


def test_timeline_interval_is_the_commitment_one_when_measured(data, tmp_path, run_cli, monkeypatch):
    spy = Spy(monkeypatch)
    out = tmp_path / "rep"
    rc, _, err = run_cli("analyze", data / "x.npy", "--samples", "64", "--bootstrap", "20", "--out", out)
    assert rc == 0, err
    rep = json.loads((out / "report.json").read_text())
    (args, kwargs), = spy.calls
    assert args[1] == rep["t_C"]["commitment"]["value"]
    assert list(kwargs["intervals"][1]) == rep["t_C"]["commitment"]["ci"]


# ---------------------------------------------------------------- 3. --out probed before any work
def _unwritable_places(tmp_path):
    long = tmp_path / ("y" * 300)
    places = [(long, "bytes long"), (tmp_path / "new" / ("z" * 300), "bytes long")]
    for root in ("/sys", "/proc"):  # root passes os.access there; creating an entry fails
        try:
            os.mkdir(os.path.join(root, ".regimes-test-probe"))
        except OSError:
            places.append((Path(root) / "x", root))
        else:  # pragma: no cover - a writable /sys or /proc: nothing to test there
            os.rmdir(os.path.join(root, ".regimes-test-probe"))
    return places


def _no_work(monkeypatch):
    import regimes.data

    def refuse(*a, **k):
        raise AssertionError("data read before --out was checked")

    monkeypatch.setattr(regimes.data, "load_source", refuse)


def test_unwritable_out_fails_before_the_work(data, tmp_path, run_cli, monkeypatch):
    _no_work(monkeypatch)
    for place, needle in _unwritable_places(tmp_path):
        for args in (("analyze", data / "x.npy", "--out", place),
                     ("memorization", data / "gen.npy", data / "train.npy", "--out", place),
                     ("memorization", data / "gen.npy", data / "train.npy", "--csv", f"{place}.csv"),
                     ("uturn", data / "far.npy", "--times", "0.1", "--out", f"{place}.png")):
            rc, out, err = run_cli(*args)
            flag = "--csv" if "--csv" in args else "--out"
            assert rc == 2, (args, err)
            assert err.count("\n") == 1 and err.startswith(f"regimes: error: {flag}"), err
            assert needle in err or "cannot create files" in err, err
            assert ".new-" not in err and out == ""
    assert not (tmp_path / "new").exists()  # the check creates nothing that stays


def test_long_but_valid_names_work(data, tmp_path, run_cli):
    """A 250-byte folder name is valid: the temporary siblings' names must fit too."""
    name = tmp_path / ("w" * 250)
    rc, _, err = run_cli("memorization", data / "gen.npy", data / "train.npy", "--bootstrap", "0", "--out", name)
    assert rc == 0, err
    assert [p.name for p in name.iterdir()] == ["ratio_histogram.png"]
    assert [p.name for p in tmp_path.iterdir()] == [name.name]  # no temporary left behind


# ---------------------------------------------------------------- 4. replacing an earlier report
def test_rerun_keeps_folder_mode_and_says_so(data, tmp_path, run_cli):
    out = tmp_path / "rep"
    out.mkdir()
    out.chmod(0o750)
    args = ("analyze", data / "x.npy", *FAST, "--out", out)
    rc, _, err = run_cli(*args)
    assert rc == 0, err
    assert "replaced" not in err  # an empty folder held no earlier report
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    rc, _, err = run_cli(*args)
    assert rc == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    lines = [x for x in err.splitlines() if "replaced" in x]
    assert lines == [f"regimes: note: the earlier report in {out} was replaced"]


# ---------------------------------------------------------------- 5. memorization outputs
def test_csv_write_is_atomic(data, tmp_path):
    """A write that the file-size limit cuts short leaves the earlier complete CSV as it was."""
    csv = tmp_path / "full.csv"
    base = [str(REGIMES), "memorization", str(data / "gen.npy"), str(data / "train.npy"), "--bootstrap", "0"]
    subprocess.run([*base, "--csv", str(csv)], check=True, capture_output=True)
    before = csv.read_bytes()
    assert len(before) > 2048 and before.count(b"\n") == 41

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    res = subprocess.run([*base, "--threshold", "0.9", "--csv", str(csv)], capture_output=True, preexec_fn=limit)
    assert res.returncode == 1
    assert str(csv) in res.stderr.decode()  # the CSV's own write failed (File too large)
    assert csv.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["full.csv"]  # no temporary left


def test_csv_mode_follows_umask(data, tmp_path, run_cli):
    csv = tmp_path / "a.csv"
    old = os.umask(0o027)
    try:
        rc, _, err = run_cli("memorization", data / "gen.npy", data / "train.npy", "--bootstrap", "0", "--csv", csv)
    finally:
        os.umask(old)
    assert rc == 0, err
    assert stat.S_IMODE(csv.stat().st_mode) == 0o640


def test_memorization_out_has_no_stale_figure(data, tmp_path, run_cli):
    out = tmp_path / "figs"
    base = ("memorization", data / "gen.npy", data / "train.npy", "--bootstrap", "0", "--out", out)
    rc, _, err = run_cli(*base, "--shape", "4,4")
    assert rc == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["closest_pairs.png", "ratio_histogram.png"]
    rc, _, err = run_cli(*base)
    assert rc == 0, err
    assert [p.name for p in out.iterdir()] == ["ratio_histogram.png"]
    # a folder that holds the user's own files: they stay, the stale figure still goes
    (out / "mine.txt").write_text("keep")
    rc, _, err = run_cli(*base, "--shape", "4,4")
    rc, _, err = run_cli(*base)
    assert rc == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt", "ratio_histogram.png"]


# ---------------------------------------------------------------- 6. JSON conventions and warnings
def test_stdout_conventions_are_the_reports(data, tmp_path, run_cli):
    out = tmp_path / "rep"
    rc, stdout, err = run_cli("analyze", data / "x.npy", "--labels", data / "lab.npy", *FAST, "--out", out, "--json")
    assert rc == 0, err
    conv = json.loads(stdout)["conventions"]
    assert conv == json.loads((out / "report.json").read_text())["conventions"]
    assert {"time", "log", "steps", "regime steps", "intervals"} <= set(conv)
    assert "delta-method" in conv["intervals"] and "se = bootstrap standard deviation" not in conv["intervals"]
    # --bootstrap 0: every interval is null by design, and nothing is warned about
    assert "non-finite" not in err
    d = json.loads(stdout)
    assert d["t_C"]["commitment"]["ci"] == [None, None]


def test_crossing_se_is_the_delta_method_one(data, tmp_path, run_cli):
    """The crossing's se (with --bootstrap 0) is se(curve)/|slope|: checked against the slope of the
    written curve by finite differences and its written standard error, on a fine grid."""
    out = tmp_path / "rep"
    rc, stdout, err = run_cli("analyze", data / "x.npy", "--samples", "256", "--bootstrap", "0",
                              "--times", "0.05:3:400", "--out", out, "--json")
    assert rc == 0, err
    est = json.loads(stdout)["t_C"]["commitment"]
    c = np.genfromtxt(out / "curves.csv", delimiter=",", names=True)
    k = int(np.searchsorted(c["t"], est["value"]))
    slope = (c["commitment"][k] - c["commitment"][k - 1]) / (c["t"][k] - c["t"][k - 1])
    se_curve = 0.5 * (c["commitment_se"][k] + c["commitment_se"][k - 1])
    assert est["se"] == pytest.approx(se_curve / abs(slope), rel=0.1)


def test_warning_lists_only_unexpected_nulls(data, run_cli):
    """--bootstrap 0 with a grid where the crossings do not exist: the missing crossings are warned
    about, the intervals that --bootstrap 0 leaves out on purpose are not."""
    rc, _, err = run_cli("analyze", data / "x.npy", *FAST, "--times", "6:8:4", "--json")
    assert rc == 0, err
    warned = err.split("non-finite values written as null: ")[1].splitlines()[0]
    assert "t_C.commitment.value" in warned
    assert ".ci[" not in warned and "eigenvalue.se" not in warned


def test_truncated_warning_says_how_many_more(capsys):
    from regimes_cli._output import emit_json

    emit_json({f"k{i}": math.nan for i in range(13)})
    err = capsys.readouterr().err
    assert err.rstrip().endswith("k9 … (3 more)")


# ---------------------------------------------------------------- 7. U-turn intervals
def test_uturn_binomial_interval(data, run_cli):
    rc, out, err = run_cli("uturn", data / "far.npy", "--times", "0.01,3", "--samples", "128",
                           "--method", "posterior", "--steps", "17", "--json")
    assert rc == 0, err
    d = json.loads(out)
    sp = d["same_point"]
    assert sp["value"][0] == 1.0
    # Clopper–Pearson at x = n: lower end (α/2)^(1/n), upper end 1
    assert sp["ci"][0] == pytest.approx([0.025 ** (1 / 128), 1.0], rel=1e-12)
    from scipy.stats import binomtest

    x = round(sp["value"][1] * 128)
    ref = binomtest(x, 128).proportion_ci(0.95, method="exact")
    assert sp["ci"][1] == pytest.approx([ref.low, ref.high], rel=1e-9, abs=1e-15)
    assert d["grid_steps"] == 17 and "steps" not in d
    assert "Clopper" in d["intervals"]
    rc, out, err = run_cli("uturn", data / "far.npy", "--times", "0.01", "--samples", "128", "--method", "posterior")
    assert rc == 0, err
    assert "± 0" not in out and "128/128" in out and "0.972" in out


# ---------------------------------------------------------------- 8. solve's units note
def test_solve_units_note_claims_no_conversion(run_cli):
    rc, out, err = run_cli("solve", "n", "--t-C", "1", "--preset", "cifar10", "--variance", "0.5", "--json")
    assert rc == 0, err
    d = json.loads(out)
    # the closed form of the inverse with σ² = 0.5 as given (not × 4)
    assert d["alpha"] == pytest.approx(0.5 * math.log1p(0.5 / math.expm1(2.0)), rel=1e-12)
    note = next(x for x in d["notes"] if "--units" in x)
    assert "used as given" in note and "× 4" not in note
    rc, out, err = run_cli("solve", "d", "--t-C", "1", "--preset", "cifar10", "--variance", "0.5", "--json")
    assert rc == 0, err
    assert "× 4" not in json.dumps(json.loads(out)["notes"], ensure_ascii=False)


# ---------------------------------------------------------------- 9. ∞ in tables
def test_time_range_text_writes_infinity():
    from regimes_cli._output import time_range_text

    assert time_range_text(3.46622, math.inf) == "3.466 < t < ∞"
    assert time_range_text(2.0654, 3.46622) == "2.065 < t < 3.466"
    assert time_range_text(1.0, None) == "1 < t < ∞"


def test_memorization_csv_inside_a_new_out_folder(run_cli, tmp_path):
    """docs/memorization.md's first command: `--out audit/ --csv audit/samples.csv` with no audit/
    yet was refused ("--csv: folder 'audit' does not exist"); the CSV is now written into the
    folder the figures create, and kept by a second run."""
    import numpy as np

    g = np.random.default_rng(3)
    np.save(tmp_path / "tr.npy", g.normal(size=(120, 8)))
    np.save(tmp_path / "gen.npy", g.normal(size=(15, 8)))
    out = tmp_path / "audit"
    for _ in range(2):
        rc, _, err = run_cli("memorization", tmp_path / "gen.npy", tmp_path / "tr.npy", "--out", out, "--csv",
                             out / "samples.csv", "--bootstrap", "0")
        assert rc == 0, err
        lines = (out / "samples.csv").read_text().splitlines()
        assert len(lines) == 16 and (out / "ratio_histogram.png").is_file()


def test_analyze_table_does_not_call_unjudged_estimates_disagreeing(run_cli):
    """With --bootstrap 0 no interval exists: the JSON's estimates_agree is null and the table said
    "disagree"; it now says the agreement cannot be judged."""
    import json

    rc, out, err = run_cli("analyze", "--samples", "64", "--bootstrap", "0", "--json")
    assert rc == 0, err
    assert json.loads(out)["diagnostics"]["estimates_agree"] is None
    rc, out, err = run_cli("analyze", "--samples", "64", "--bootstrap", "0")
    assert rc == 0, err
    row = next(line for line in out.splitlines() if "t_C estimates" in line)
    assert "cannot be judged" in row and "disagree" not in row
