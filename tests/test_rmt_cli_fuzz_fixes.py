"""Bad-input handling of `regimes mp`, `regimes spectrum`, `regimes timescales` (fuzz report items
4, 5, 6, 11, 12, 13, 17, 23): exit 2 with one stderr line naming the option, no tracebacks,
no raw warnings, no long runs."""

import json

import numpy as np
import pytest


def _one_line(rc, err, flag):
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert flag in lines[0]
    return lines[0]


@pytest.mark.parametrize("flag, value", [("--n", "1e300"), ("--n", "1e20"), ("--d", "1e300"),
                                         ("--d", "1e20"), ("--n", "0.5"), ("--d", "0.5"),
                                         ("--p", "0.5")])
def test_timescales_counts_out_of_range(run_cli, flag, value):
    args = {"--n": "200", "--d": "50", "--p": "400", flag: value}
    rc, _, err = run_cli("timescales", *[x for kv in args.items() for x in kv], "--t", "0.1")
    line = _one_line(rc, err, flag)
    assert "1e+15" in line


@pytest.mark.parametrize("n, d, flag", [("1e9", "50", "--n"), ("200", "1e6", "--d"), ("200", "1e9", "--d")])
def test_timescales_window_too_large_refused(run_cli, n, d, flag):
    rc, _, err = run_cli("timescales", "--n", n, "--d", d, "--p", "400", "--t", "0.1")
    line = _one_line(rc, err, flag)
    assert "would take about" in line and f"use {flag} <=" in line


def test_timescales_seeds_cost_refused(run_cli):
    rc, _, err = run_cli("timescales", "--n", "200", "--d", "50", "--p", "400", "--t", "0.1", "--seeds", "1000")
    assert "use --seeds <=" in _one_line(rc, err, "--seeds 1000")


def test_mp_sample_size_cost_refused(run_cli):
    rc, _, err = run_cli("mp", "sample", "-g", "0.001", "--size", "10000000")
    assert "use --size <=" in _one_line(rc, err, "--size 10000000")


def test_mp_rvs_fast_and_exact():
    from scipy import stats

    from regimes.rmt import MarchenkoPastur

    for g in (0.5, 1.0, 3.0):
        law = MarchenkoPastur(g)
        x = law.rvs(200_000, rng=1)  # table-started Newton path (> 4096 points), in chunks
        ks = stats.kstest(x[x > 0] if law.atom > 0 else x,
                          lambda v, law=law: (law.cdf(v) - law.atom) / law.continuous_mass)
        assert ks.pvalue > 1e-3
        u = np.random.default_rng(2).random(5000)
        big = law.ppf(u)
        small = np.concatenate([law.ppf(u[i:i + 1000]) for i in range(0, 5000, 1000)])
        np.testing.assert_allclose(big, small, rtol=1e-12, atol=1e-300)


def test_spectrum_points_capped(run_cli):
    rc, _, err = run_cli("spectrum", "--psi-p", "2", "--psi-n", "1", "--t", "0.5", "--points", "1000000")
    assert "200000" in _one_line(rc, err, "--points")


@pytest.mark.parametrize("d", ["2048", "4096"])
def test_spectrum_out_d_cost_refused(run_cli, d, tmp_path):
    rc, _, err = run_cli("spectrum", "--psi-p", "2", "--psi-n", "1", "--t", "0.5", "--out",
                         str(tmp_path / "x.png"), "--d", d)
    assert "use --d <=" in _one_line(rc, err, f"--d {d}")
    assert not (tmp_path / "x.png").exists()


def test_spectrum_tiny_psi_p_refused(run_cli):
    rc, _, err = run_cli("spectrum", "--psi-p", "1e-300", "--psi-n", "1", "--t", "0.5")
    assert "1e-09" in _one_line(rc, err, "--psi-p")


def test_spectrum_mass_defect_marked(run_cli):
    rc, out, err = run_cli("spectrum", "--psi-p", "2", "--psi-n", "1e6", "--t", "0.5")
    assert rc == 0 and "Warning" not in err and err.strip() == ""
    flat = " ".join(out.replace("│", " ").split())
    assert "not trustworthy (mass defect" in flat and "do not trust the bulks" in flat
    rc, out, err = run_cli("spectrum", "--psi-p", "2", "--psi-n", "1e6", "--t", "0.5", "--json")
    assert rc == 0 and err.strip() == ""
    data = json.loads(out)
    assert data["bulks_trustworthy"] is False
    assert any("do not trust the bulks" in n for n in data["notes"])


def test_spectrum_ordinary_is_trusted(run_cli):
    rc, out, err = run_cli("spectrum", "--psi-p", "2", "--psi-n", "1", "--t", "0.5", "--json")
    assert rc == 0 and "Warning" not in err
    assert json.loads(out).get("bulks_trustworthy", True) is True
