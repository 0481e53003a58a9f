"""`regimes solve n | d | eigenvalue` and the n* of `phase-diagram nd --preset` (arXiv 2402.18491)."""

import json
import math

import pytest

from regimes.schedules import get_schedule


def js(run_cli, *args):
    rc, out, err = run_cli(*args, "--json")
    assert rc == 0, err
    return json.loads(out)


def test_solve_n(run_cli):
    b = js(run_cli, "solve", "n", "--t-C", "0.5", "--d", "100")
    assert {"n", "log10_n", "alpha", "formula"} <= b.keys()
    assert b["n"] == pytest.approx(10 ** b["log10_n"], rel=1e-12)
    b = js(run_cli, "solve", "n", "--last-fraction", "0.05", "--preset", "cifar10")
    assert b["n"] is None and b["d"] == 3072 and b["step"] == 50
    assert b["log10_n"] == pytest.approx(1474.758, abs=1e-3)
    b2 = js(run_cli, "solve", "n", "--last-fraction", "0.05", "--preset", "cifar10", "--units", "unit")
    assert b2["variance"] == pytest.approx(b["variance"] / 4) and b2["log10_n"] < b["log10_n"]
    rc, _, err = run_cli("solve", "n", "--d", "10", "--json")
    assert rc != 0 and "--t-C" in err


def test_solve_d_and_eigenvalue(run_cli):
    b = js(run_cli, "solve", "d", "--t-C", "0.5", "--n", "1e10")
    assert b["d"] == pytest.approx(math.log(1e10) / b["alpha"], rel=1e-15)
    b = js(run_cli, "solve", "eigenvalue", "--step", "500", "--schedule", "linear")
    t500 = float(get_schedule("linear", 1000).times[500])
    assert b["eigenvalue"] == pytest.approx(math.exp(2 * t500), rel=1e-14)
    assert b["t_S"] == pytest.approx(1.276828, abs=1e-6)


def test_phase_nd_uses_preset_d(run_cli):
    b = js(run_cli, "phase-diagram", "nd", "--preset", "cifar10", "--points", "4", "--target", "0.1")
    assert b["n_star_at"]["d"] == 3072
    assert b["n_star_at"]["n"] is None and math.isfinite(b["n_star_at"]["log10_n"])
    b = js(run_cli, "phase-diagram", "nd", "--points", "4")
    assert b["n_star_at"]["d"] == 100


def test_solve_takes_every_schedule_form(run_cli, tmp_path):
    # the DDPM linear betas as a file give the same Λ (and the same n) as the named schedule
    import json

    import numpy as np

    np.save(tmp_path / "b.npy", np.linspace(1e-4, 2e-2, 1000))
    rc, out, err = run_cli("solve", "eigenvalue", "--step", "500", "--betas", tmp_path / "b.npy", "--json")
    assert rc == 0, err
    a = json.loads(out)
    rc, out, err = run_cli("solve", "eigenvalue", "--step", "500", "--schedule", "linear", "--json")
    assert a["eigenvalue"] == json.loads(out)["eigenvalue"]
    args = ("solve", "n", "--last-fraction", "0.05", "--d", "64", "--json")
    np.save(tmp_path / "ac.npy", np.cumprod(1 - np.linspace(1e-4, 2e-2, 1000)))
    rc, out1, err = run_cli(*args, "--alphas-cumprod", tmp_path / "ac.npy")
    assert rc == 0, err
    rc, out2, err = run_cli(*args, "--schedule", "linear")
    assert json.loads(out1)["log10_n"] == pytest.approx(json.loads(out2)["log10_n"], rel=1e-12)
    rc, out, err = run_cli("solve", "n", "--t-C", "0.5", "--d", "100", "--betas", tmp_path / "b.npy")
    assert rc == 2 and "--betas" in err and len(err.strip().splitlines()) == 1
