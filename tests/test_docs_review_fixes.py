"""Fixes from a newcomer's review of the docs: the built-in analysis' spectral theory is the proxy
on the model's population spectrum, 8-bit integers read as given are noted, and the report path
is printed without a doubled slash."""

from __future__ import annotations

import json

import mpmath as mp
import numpy as np
import pytest

from regimes.analysis import analyze


def _proxy_root(lam, n):
    """The spectral proxy's zero, α = (1/2d) Σ log1p(λ_i / expm1(2t)), by mpmath at 30 digits."""
    mp.mp.dps = 30
    d, alpha = len(lam), mp.log(n) / len(lam)
    vals = [mp.mpf(float(x)) for x in lam]
    f = lambda t: alpha - sum(mp.log1p(v / mp.expm1(2 * t)) for v in vals) / (2 * d)  # noqa: E731
    return float(mp.findroot(f, (mp.mpf("0.5"), mp.mpf("5")), solver="anderson"))


def test_reference_spectral_theory_is_the_proxy_on_the_population_spectrum():
    res = analyze(samples=64, bootstrap=0, eigen_bootstrap=0, seed=0)  # the built-in mixture
    ref = res.to_dict()["reference"]
    d, n = res.d, res.n
    lam = np.r_[ref["eigenvalue"], np.ones(d - 1)]  # Λ = d m̃² + σ², then σ² = 1
    assert ref["t_C_spectral"] == pytest.approx(_proxy_root(lam, n), rel=1e-10)
    assert abs(ref["t_C_spectral"] - ref["t_C"]) > 0.05  # not the Gaussian t_C (2.1534 vs 2.0654)
    est = res.to_dict()["t_C"]["spectral"]
    bias = est.get("sample_spectrum_bias", 0.0)
    assert abs(est["value"] + bias - ref["t_C_spectral"]) < 5e-3  # the estimator is on its own target


def test_eight_bit_integers_as_given_are_noted(tmp_path, run_cli):
    X = (np.random.default_rng(0).random((50, 12)) * 255).astype(np.uint8)
    np.save(tmp_path / "u8.npy", X)
    rc, out, err = run_cli("analyze", tmp_path / "u8.npy", "-M", "32", "--bootstrap", "0", "--json")
    assert rc == 0, err
    notes = json.loads(out)["notes"]
    # the JSON in the command line's words too (the library's own note says scale='symmetric')
    assert any("taken as given" in s and "ln 127.5" in s and "--scale symmetric" in s for s in notes)
    assert not any("scale='symmetric'" in s for s in notes)
    rc, out, err = run_cli("analyze", tmp_path / "u8.npy", "-M", "32", "--bootstrap", "0")  # the table: CLI words
    flat = " ".join(out.split())
    assert rc == 0 and "(--scale none)" in flat and "--scale symmetric (or --scale unit for [0, 1])" in flat
    rc, out, err = run_cli("analyze", tmp_path / "u8.npy", "-M", "32", "--bootstrap", "0", "--json",
                           "--scale", "symmetric")
    assert rc == 0 and not any("taken as given" in s for s in json.loads(out)["notes"])
    np.save(tmp_path / "f.npy", X.astype(np.float32))  # floats: the reader cannot tell, no note
    rc, out, err = run_cli("analyze", tmp_path / "f.npy", "-M", "32", "--bootstrap", "0", "--json")
    assert rc == 0 and not any("taken as given" in s for s in json.loads(out)["notes"])
    rc, out, err = run_cli("uturn", tmp_path / "u8.npy", "--times", "0.5", "--samples", "4", "--steps", "10")
    assert rc == 0 and "taken as given" in err


def test_report_path_without_doubled_slash(tmp_path, run_cli):
    np.save(tmp_path / "x.npy", np.random.default_rng(1).normal(size=(60, 8)))  # small: the path is the point
    rc, out, err = run_cli("analyze", tmp_path / "x.npy", "-M", "32", "--bootstrap", "0", "--out", f"{tmp_path}/rep/")
    assert rc == 0, err
    flat = " ".join(out.split())
    assert f"report written to {tmp_path}/rep/ (" in flat and "rep//" not in flat


def test_class_level_of_more_than_two_classes_is_explained(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 40)
    X = rng.normal(size=(160, 10)) + 6.0 * np.eye(10)[y]
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)
    fast = ("-M", "64", "--bootstrap", "0")
    rc, out, err = run_cli("analyze", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", *fast)
    flat = " ".join(out.split())
    level = 1 / 4 + 0.5504 * (1 - 1 / 4)  # the convention for C classes (0.7752 for two)
    assert rc == 0 and f"t_S (φ = {level:.4g})" in flat and "t_S of the classes:" in flat and "C = 4" in flat
    np.save(tmp_path / "y2.npy", y % 2)
    rc, out, err = run_cli("analyze", tmp_path / "x.npy", "--labels", tmp_path / "y2.npy", *fast)
    assert rc == 0 and "t_S of the classes:" not in " ".join(out.split())
