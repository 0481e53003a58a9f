"""`regimes phase-diagram nd|np|ntau` and `regimes timeline`: files by suffix, JSON grids checked
against independent computations, one-line errors with exit status 2."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

MAGIC = {".png": b"\x89PNG", ".pdf": b"%PDF"}


def _json(run_cli, *args):
    rc, out, err = run_cli(*args, "--json")
    assert rc == 0, err
    return json.loads(out)


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg"])
def test_figure_format_from_suffix(run_cli, tmp_path, suffix):
    f = tmp_path / f"fig{suffix}"
    rc, out, err = run_cli("phase-diagram", "ntau", "--points", "9", "--out", f)
    assert rc == 0, err
    head = f.read_bytes()[:400]
    assert head.startswith(MAGIC[suffix]) if suffix in MAGIC else b"<svg" in head
    assert str(f) in out


def test_nd_default_as_it_is_installed_entry_point(tmp_path):
    # the contract: `regimes phase-diagram nd --out f.png` works with no other option
    exe = [sys.executable, "-c", "import sys; from regimes_cli.main import main; sys.exit(main())"]
    r = subprocess.run(
        [*exe, "phase-diagram", "nd", "--out", "f.png"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "f.png").read_bytes()[:4] == MAGIC[".png"]


def test_nd_json_grid(run_cli):
    from scipy.optimize import brentq

    from regimes import collapse_time

    j = _json(
        run_cli, "phase-diagram", "nd", "--points", "5", "--preset", "cifar10", "--units", "unit", "--target", "0.3"
    )
    assert j["plane"] == "nd" and j["preset"] == "CIFAR-10" and j["eigenvalue"] == 16.72
    n, d, tC = np.array(j["n"]), np.array(j["d"]), np.array(j["t_C"])
    # σ² defaults to the preset's approximate pixel variance (CIFAR-10: mean of 0.2470², 0.2435², 0.2616²)
    assert j["variance"] == pytest.approx((0.2470**2 + 0.2435**2 + 0.2616**2) / 3, abs=5e-6)
    assert_allclose(tC[2, 3], collapse_time(n[2], d[3], j["variance"]), rtol=1e-14)
    # log10 n*(d) at the largest d by root finding on collapse_time
    ln_n = brentq(lambda x: collapse_time(math.exp(x), 10.0) - 0.3, math.log(2), 700, xtol=1e-13)
    jd = _json(
        run_cli,
        "phase-diagram",
        "nd",
        "--points",
        "2",
        "--d-min",
        "5",
        "--d-max",
        "10",
        "--target",
        "0.3",
    )
    assert_allclose(jd["log10_n_star"][-1], ln_n / math.log(10), rtol=1e-9)
    assert_allclose(j["t_S"], 0.5 * math.log(16.72), rtol=1e-14)


def test_np_json(run_cli):
    from regimes.rmt import RandomFeatures

    j = _json(
        run_cli,
        "phase-diagram",
        "np",
        "--points",
        "4",
        "--d",
        "200",
        "--t",
        "0.25",
        "--training-time",
        "10",
    )
    rf = RandomFeatures(j["psi_p"][1], j["psi_n"][2], 0.25)
    assert_allclose(j["tau_ratio"][2][1], rf.tau_ratio, rtol=1e-12)
    assert_allclose(j["n"], np.array(j["psi_n"]) * 200)
    assert j["region_labels"][0].startswith("no memorisation") and "time_convention" in j
    region = np.array(j["region"])
    PN, PP = np.meshgrid(j["psi_n"], j["psi_p"], indexing="ij")
    assert np.all(region[PP <= PN] == 0) and np.all(region[PP > PN] > 0)


def test_ntau_json_matches_training_regimes(run_cli):
    from regimes.rmt import training_regimes

    j = _json(
        run_cli, "phase-diagram", "ntau", "--points", "6", "--d", "40", "--p", "400", "--t", "0.2"
    )
    ref = training_regimes(j["n"], j["tau"], 40, 400, 0.2)
    np.testing.assert_array_equal(np.array(j["region"]), ref["region"])
    assert_allclose(
        np.array(j["tau_mem"]) / np.array(j["n"]), ref["tau_mem"][0] / j["n"][0], rtol=1e-12
    )


def test_timeline_json_edm_and_default(run_cli):
    j = _json(
        run_cli, "timeline", "--preset", "cifar10", "--units", "unit", "--variance", "0.062", "--schedule", "edm"
    )
    assert j["preset"] == "CIFAR-10" and j["schedule"] == "edm" and j["steps"] == 18
    assert_allclose(j["sigma_S"] ** 2, 16.72 - 1, rtol=1e-12)
    # t_C = ½ log1p(σ²/expm1(2 ln n/d)) evaluated here with mpmath at 30 digits
    import mpmath as mp

    with mp.workdps(30):
        ref = mp.log1p(mp.mpf("0.062") / mp.expm1(2 * mp.log(50000) / 3072)) / 2
    assert_allclose(j["t_C"], float(ref), rtol=1e-13)
    assert [r["name"] for r in j["regimes"]] == ["I", "II", "III"] and j["regimes"][0][
        "t_max"
    ] is None
    d = _json(run_cli, "timeline", "--schedule", "cosine")  # built-in mixture, no data needed
    assert d["eigenvalue"] == 1025.0 and d["n"] == 4000 and d["schedule"] == "cosine"
    k = int(np.argmax(np.array(d["times"]) >= d["t_S"]))
    assert d["step_S"] == k


def test_timeline_no_speciation_is_null_without_warning(run_cli):
    rc, out, err = run_cli("timeline", "--n", "100", "--d", "10", "--eigenvalue", "0.5", "--json")
    assert rc == 0 and json.loads(out)["t_S"] is None and "warning" not in err
    j = json.loads(out)
    assert j["step_S"] is None and any("Λ = 0.5 <= 1: no speciation" in x for x in j["notes"])
    rc, out, err = run_cli("timeline", "--n", "100", "--d", "10", "--eigenvalue", "0.5",
                           "--schedule", "edm", "--json")
    j = json.loads(out)
    assert rc == 0 and j["t_S"] is None and j["sigma_S"] is None and "warning" not in err


def test_timeline_edm_steps_and_sampler_levels(run_cli):
    # the EDM levels written out here (Karras et al., arXiv 2206.00364), N = 12
    j = _json(run_cli, "timeline", "--schedule", "edm", "--steps", "12")
    N, lo, hi, rho = 12, 0.002, 80.0, 7.0
    sig = [(hi ** (1 / rho) + i / (N - 1) * (lo ** (1 / rho) - hi ** (1 / rho))) ** rho for i in range(N)]
    assert_allclose(j["sigmas"], sig, rtol=1e-13)
    assert_allclose(j["times"], 0.5 * np.log1p(np.array(sig) ** 2), rtol=1e-13)
    assert j["t_max"] == j["times"][0] and j["steps"] == N
    for key, s in (("step_S", j["sigma_S"]), ("step_C", j["sigma_C"])):
        assert j[key] == max(i for i in range(N) if sig[i] >= s)  # the step during which σ is crossed
    assert "from the noise end" in j["step_convention"]


def test_timeline_figure(run_cli, tmp_path):
    f = tmp_path / "tl.png"
    rc, out, err = run_cli("timeline", "--schedule", "edm", "--out", f)
    assert rc == 0, err and f.exists()


@pytest.mark.parametrize(
    "args, match",
    [
        (("phase-diagram", "nd", "--out", "f.jpg"), "unsupported figure format '.jpg'"),
        (("phase-diagram", "nd", "--out", "f"), "unsupported figure format"),
        (("phase-diagram", "nd", "--out", "no/such/dir/f.png"), "does not exist"),
        (("phase-diagram", "nd", "--points", "1"), "points must be >= 2"),
        (("phase-diagram", "nd", "--separation", "1", "--eigenvalue", "3"), "at most one"),
        (("phase-diagram", "np", "--training-time", "-1"), "--training-time must be > 0"),
        (("phase-diagram", "np", "--activation", "sigmoidal"), "activation"),
        (("phase-diagram", "ntau", "--tau-min", "1"), "both --tau-min and --tau-max"),
        (("phase-diagram", "xy"), "No such command"),
        (("timeline", "--n", "5"), "--d is required"),
        (("timeline", "--preset", "nosuchset"), "nosuchset"),
        (("timeline", "--schedule", "karras"), "schedule must be one of"),
        (("timeline", "--schedule", "edm", "--steps", "1"), "steps must be >= 2"),
        # the library names its axis ranges (d_range[0], …); the CLI says which flag set them
        (("phase-diagram", "nd", "--d-min", "0.5"), "--d-min must be a finite number >= 1 and <= 1e+300, got 0.5"),
        (("phase-diagram", "nd", "--n-min", "5", "--n-max", "3"), "--n-min/--n-max must be increasing"),
        (("phase-diagram", "np", "--psi-p-max", "0"), "--psi-p-max must be > 0"),
        (("phase-diagram", "ntau", "--tau-min", "5", "--tau-max", "1"),
         "--tau-min/--tau-max must be increasing"),
    ],
)
def test_bad_input_one_line_exit_2(run_cli, tmp_path, monkeypatch, args, match):
    monkeypatch.chdir(tmp_path)
    rc, out, err = run_cli(*args)
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("regimes: error:") and match in err, err
    assert not list(tmp_path.iterdir())  # nothing written


def test_nd_marks_a_dataset_given_by_n_and_d(run_cli, tmp_path):
    import json

    rc, out, err = run_cli("phase-diagram", "nd", "--n", "600", "--d", "30", "--points", "12", "--json")
    assert rc == 0, err
    body = json.loads(out)
    assert (body["mark_n"], body["mark_d"]) == (600.0, 30.0)
    # n* at the marked d: ln n* = α* d with α* = ½ log1p(1/expm1(1)) (t_C = 0.5, σ² = 1)
    import math

    assert body["n_star_at"]["ln_n"] == pytest.approx(30 * 0.5 * math.log1p(1 / math.expm1(1.0)), rel=1e-12)
    rc, out, err = run_cli("phase-diagram", "nd", "--n", "600")
    assert rc == 2 and "--n and --d" in err and len(err.strip().splitlines()) == 1
    rc, out, err = run_cli("phase-diagram", "nd", "--n", "600", "--d", "30", "--points", "12",
                           "--out", tmp_path / "nd.png")
    assert rc == 0 and (tmp_path / "nd.png").stat().st_size > 0


def test_figure_write_failure_names_the_file_and_keeps_the_old_one(tmp_path):
    """A figure that cannot be written whole (here: the file-size limit, as a full disk would) gives one
    line naming the figure's own path and saying that the earlier file is kept — which it is, untouched,
    with no temporary file left beside it (the same wording as the text outputs)."""
    old = tmp_path / "keep.png"
    old.write_bytes(b"earlier figure")
    code = ("import resource; resource.setrlimit(resource.RLIMIT_FSIZE, (20480, 20480)); "
            "from regimes_cli.main import main; raise SystemExit(main(['timeline', '--out', 'keep.png']))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("regimes: error:"), r.stderr
    assert "nothing written; any earlier file is kept" in r.stderr and "keep.png" in r.stderr
    assert old.read_bytes() == b"earlier figure"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]
