"""Bad input found by fuzzing the CLI: each case is one line on stderr, exit 2, naming the option
and the value as typed (no traceback, no hang, no raw Python warning)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest


@pytest.fixture
def small(tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    p = tmp_path / "x.npy"
    np.save(p, x)
    return p


def _refused(res, *words):
    rc, _, err = res
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert "Traceback" not in err and "Warning" not in err
    return lines[0]


# -- item 1: analyze --times beyond the range the engine handles --------------------------------------
@pytest.mark.parametrize("times", ["1e-300,1e300", "1e-300:1e300:50", "0.01,400", "1e-320,1"])
def test_analyze_times_out_of_range(run_cli, small, times):
    line = _refused(run_cli("analyze", small, "-M", "64", "--bootstrap", "0", "--times", times), "--times", times)
    assert "[1e-300, 354]" in line


# -- items 2, 3: --cluster ----------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["bogus", "tcp://", "tcp://:8786", "foo://bar:1"])
def test_bad_cluster_address_fails_at_once(run_cli, small, spec):
    pytest.importorskip("distributed")
    t0 = time.perf_counter()
    _refused(run_cli("analyze", small, "-M", "64", "--bootstrap", "0", "--cluster", spec), "--cluster", spec)
    assert time.perf_counter() - t0 < 5


def test_local_cluster_worker_count_is_bounded(run_cli, small):
    pytest.importorskip("distributed")
    from regimes.distributed import max_local_workers

    _refused(run_cli("analyze", small, "-M", "64", "--bootstrap", "0", "--cluster", "local:100000"),
             "--cluster", "local:100000", f"N <= {max_local_workers()}")


# -- item 7: uturn on values too large for float64 ------------------------------------------------------
def test_uturn_values_too_large(run_cli, tmp_path):
    p = tmp_path / "huge.npy"
    np.save(p, np.random.default_rng(1).normal(size=(20, 5)) * 1e200)
    _refused(run_cli("uturn", p, "--times", "1", "--samples", "4", "--steps", "4"), str(p), "too large", "--scale")


# -- item 24: empty paths ---------------------------------------------------------------------------
@pytest.mark.parametrize("args, flag", [
    (("analyze", ""), "DATA"),
    (("analyze", "{x}", "--labels", ""), "--labels"),
    (("analyze", "{x}", "--out", ""), "--out"),
    (("memorization", "{x}", "{x}", "--out", ""), "--out"),
    (("uturn", "{x}", "--times", "1", "--out", ""), "--out"),
])
def test_empty_paths_are_refused(run_cli, small, args, flag):
    args = [str(small) if a == "{x}" else a for a in args]
    _refused(run_cli(*args), f"{flag}: empty path")


def test_library_refuses_an_empty_path():
    from regimes import RegimesError
    from regimes.data import load_source

    with pytest.raises(RegimesError, match="empty path"):
        load_source("")
    with pytest.raises(RegimesError, match="labels: empty path"):
        load_source(np.eye(3), labels="")


# -- item 25: one bootstrap replicate gives no interval ---------------------------------------------
def test_analyze_bootstrap_one_is_refused(run_cli, small):
    _refused(run_cli("analyze", small, "--bootstrap", "1"), "--bootstrap", "0", ">= 2", "got 1")


# -- item 16: --scale overflowing float32 data --------------------------------------------------------
@pytest.mark.parametrize("cmd", [("analyze", "{x}"), ("memorization", "{x}", "{x}"), ("uturn", "{x}", "--times", "1")])
def test_huge_scale_on_float32_is_too_large(run_cli, small, cmd):
    args = [str(small) if a == "{x}" else a for a in cmd]
    line = _refused(run_cli(*args, "--scale", "1e300"), "--scale 1e300", "too large for float32")
    assert "too small" not in line


# -- item 15: formula --sympy reads back with sympy.sympify ----------------------------------------------
def test_every_formula_round_trips_through_sympify(run_cli):
    import sympy as sp

    from regimes import symbolic as S

    for name in ("mp_stieltjes", "mp_stieltjes_equation"):
        rc, out, err = run_cli("formula", name, "--sympy")
        assert rc == 0 and not err
        assert "zeta" in str(sp.sympify(out.strip()).free_symbols)
    for name in S.names():
        e, back = S.formula(name), sp.sympify(S.sympy_text(name))
        plain = e.xreplace({s: sp.Symbol(s.name) for s in e.free_symbols})  # the same, without assumptions
        assert plain == back, name


# -- item 19: a scheduler config's steps_offset -------------------------------------------------------
def test_steps_offset_names_the_config(run_cli, tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"beta_schedule": "linear", "num_train_timesteps": 1000, "steps_offset": 5000}))
    _refused(run_cli("schedule", "--scheduler-config", cfg, "--sampler-steps", "10"),
             "--scheduler-config", str(cfg), "steps_offset 5000", "<= 99")


# -- item 20: solve n with a 1-step --betas -----------------------------------------------------------
def test_solve_one_step_betas_names_betas(run_cli, tmp_path):
    b = tmp_path / "b.npy"
    np.save(b, np.array([0.5]))
    _refused(run_cli("solve", "n", "-q", "0.5", "--d", "100", "--betas", b), f"--betas {b}", "at least 2 steps")
    rc, _, _ = run_cli("schedule", "--betas", b)  # a 1-step schedule itself is fine
    assert rc == 0


# -- item 21: speciation --class-variances beyond the float range -------------------------------------
@pytest.mark.parametrize("v", ["1e300,1", "1e300,1e-300"])
def test_class_variances_range(run_cli, v):
    _refused(run_cli("speciation", "--class-variances", v, "--d", "10"), "--class-variances", v, "[1e-100, 1e+100]")


def test_class_variances_times_d_range(run_cli):
    _refused(run_cli("speciation", "--class-variances", "1e100,1", "--d", "1e300"), "--d", "1e100,1")


# -- item 22: uturn marker times, uturn --times ----------------------------------------------------------
def test_uturn_marker_and_times_range(run_cli, small, tmp_path):
    _refused(run_cli("uturn", small, "--times", "1", "--t-c", "1e300", "--out", tmp_path / "u.png"), "--t-c")
    _refused(run_cli("uturn", small, "--times", "1,400"), "--times", "1,400")
    assert not (tmp_path / "u.png").exists()


# -- severity 4 -------------------------------------------------------------------------------------------
def test_empty_format_is_refused(run_cli):
    _refused(run_cli("speciation", "--eigenvalue", "16", "--format", ""), "--format", "''")


def test_format_with_json_is_noted(run_cli):
    rc, out, err = run_cli("speciation", "--eigenvalue", "16", "--format", "csv", "--json")
    assert rc == 0 and json.loads(out)["t_S"] > 0
    assert err.strip() == "regimes: note: --format csv is ignored with --json (one JSON object is printed)"


def test_betas_folder_and_scalar(run_cli, tmp_path):
    _refused(run_cli("schedule", "--betas", tmp_path), "--betas", "is a folder")
    b2 = tmp_path / "b2.npy"
    np.save(b2, np.full((2, 2), 0.01))
    _refused(run_cli("schedule", "--betas", b2), f"--betas {b2}", "1-D array, or a single number")


def test_huge_step_is_echoed_as_typed(run_cli):
    _refused(run_cli("schedule", "-k", "99999999999999999999"), "-k/--step", "got 99999999999999999999")


def test_library_keywords_shown_as_flags(run_cli, tmp_path):
    p = tmp_path / "m.npz"
    np.savez(p, a=np.ones((3, 2)), b=np.ones((3, 2)))
    line = _refused(run_cli("analyze", p), "choose one with --key")
    assert "key=" not in line
    h = tmp_path / "h.npy"
    np.save(h, np.random.default_rng(2).normal(size=(20, 5)) * 1e200)
    line = _refused(run_cli("analyze", h), "(--scale,")
    assert "scale=" not in line


def test_single_time_out_of_range_says_what_it_got(run_cli, small):
    line = _refused(run_cli("uturn", small, "--times", "400"), "--times 400")
    assert "got 400" in line and "[1e-300, 354]" in line
