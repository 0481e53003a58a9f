"""The CLI contract of `regimes speciation | collapse | schedule | times` and its error handling."""

import json
import math

import mpmath as mp
import pytest

import regimes as R


def js(run_cli, *args):
    rc, out, err = run_cli(*args, "--json")
    assert rc == 0, err
    return json.loads(out), err


def test_speciation_json(run_cli):
    body, _ = js(run_cli, "speciation", "--eigenvalue", "16.72")
    assert {"eigenvalue", "t_S", "version"} <= body.keys()
    with mp.workdps(30):
        assert body["t_S"] == pytest.approx(float(mp.log(mp.mpf("16.72")) / 2), rel=1e-15)
    body, _ = js(run_cli, "speciation", "--d", "1024", "--separation", "1", "--variance", "1")
    assert body["eigenvalue"] == 1025.0
    # φ at t_S for σ = m̃ = 1 is φ(r = √(d/(d+1))), close to the asymptotic 0.775200 of arXiv 2402.18491
    assert body["phi_at_t_S"] == pytest.approx(0.7752, abs=3e-4)


def test_no_speciation_is_explicit(run_cli):
    body, _ = js(run_cli, "speciation", "--eigenvalue", "0.8")
    assert body["t_S"] is None and body["speciation"] is False
    assert any("no speciation" in n for n in body["notes"])


def test_collapse_json(run_cli):
    body, _ = js(run_cli, "collapse", "--n", "20000", "--d", "1024")
    assert {"n", "d", "variance", "alpha", "t_C"} <= body.keys()
    assert body["n"] == 20000 and body["d"] == 1024
    assert body["t_C"] == pytest.approx(1.977547, abs=5e-7)  # reference value (arXiv 2402.18491)
    body, _ = js(run_cli, "collapse", "--n", "1e15", "--d", "1e12", "--variance", "2")
    assert body["alpha"] == pytest.approx(math.log(1e15) / 1e12, rel=1e-15)


def test_schedule_json(run_cli):
    body, _ = js(run_cli, "schedule", "--schedule", "linear", "--step", "500")
    assert {"schedule", "steps", "t", "step", "alpha_bar", "sigma", "logsnr"} <= body.keys()
    assert body["t"] == pytest.approx(1.276828, abs=5e-7)  # reference value of docs/conventions.md
    assert body["alpha_bar"] == pytest.approx(math.exp(-2 * body["t"]), rel=1e-14)
    assert body["sigma"] == pytest.approx(math.sqrt(math.expm1(2 * body["t"])), rel=1e-14)
    body2, _ = js(run_cli, "schedule", "--t", str(body["t"]))
    assert body2["step"] == 500
    body3, _ = js(run_cli, "schedule", "-s", "cosine", "--steps", "200")
    assert body3["table"][0]["step"] == 0 and body3["table"][-1]["step"] == 199


def test_times_json_and_schedule(run_cli):
    body, err = js(run_cli, "times", "--n", "50000", "--d", "3072", "--eigenvalue", "516.72",
                   "--schedule", "scaled-linear")
    for key in ("t_S", "t_C", "alpha", "regimes", "step_S", "step_C"):
        assert key in body
    assert body["t_S"] == pytest.approx(0.5 * math.log(516.72), rel=1e-15)
    assert body["t_C"] == pytest.approx(R.collapse_time(50000, 3072), rel=1e-15)
    # t_S ≈ 3.12 is beyond scaled-linear's last step (t ≈ 2.68): said, not hidden
    assert body["step_S"] is None
    assert any("before the first sampling step" in n for n in body["notes"])
    sch = R.get_schedule("scaled-linear")
    assert sch.times[body["step_C"]] >= body["t_C"] > sch.times[body["step_C"] - 1]
    assert [r["name"] for r in body["regimes"]] == ["I", "II", "III"]
    assert body["regimes"][0]["t_max"] is None and err == ""  # unbounded by design, no warning


def test_human_tables(run_cli):
    rc, out, _ = run_cli("times", "--n", "50000", "--d", "3072", "--eigenvalue", "16.72", "--schedule", "cosine")
    assert rc == 0 and "Regime" in out and "OU time" in out
    rc, out, _ = run_cli("schedule")
    assert rc == 0 and "log-SNR" in out


BAD = [
    ("collapse", "--n", "1", "--d", "10"),
    ("collapse", "--n", "0", "--d", "10"),
    ("collapse", "--n", "100", "--d", "0"),
    ("collapse", "--n", "100", "--d", "-3"),
    ("collapse", "--n", "abc", "--d", "10"),
    ("collapse", "--n", "nan", "--d", "10"),
    ("collapse", "--n", "inf", "--d", "10"),
    ("collapse", "--n", "100", "--d", "10", "--variance", "-1"),
    ("collapse", "--n", "100", "--d", "10", "--variance", "0"),
    ("collapse", "--n", "100"),
    ("speciation", "--eigenvalue", "0"),
    ("speciation", "--eigenvalue", "-2"),
    ("speciation", "--eigenvalue", "nan"),
    ("speciation", "--eigenvalue", "x"),
    ("speciation", "--d", "10"),
    ("speciation", "--d", "10", "--separation", "1", "--eigenvalue", "3"),
    ("schedule", "--schedule", "quadratic"),
    ("schedule", "--step", "1000"),
    ("schedule", "--step", "-1"),
    ("schedule", "--steps", "1"),
    ("schedule", "--t", "-0.5"),
    ("schedule", "--t", "30"),
    ("schedule", "--t", "1", "--step", "3"),
    ("times", "--n", "100", "--d", "10"),
    ("times", "--n", "100", "--d", "10", "--eigenvalue", "0"),
    ("times", "--n", "100", "--d", "10", "--eigenvalue", "5", "--schedule", "nope"),
    ("times", "--n", "100", "--d", "10", "--eigenvalue", "5", "--steps", "1", "--schedule", "linear"),
    ("times", "--bogus-option", "1"),
    ("no-such-command",),
]


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a) for a in BAD])
def test_bad_input_catalogue(run_cli, args):
    rc, out, err = run_cli(*args)
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("regimes: error:")
    assert "Traceback" not in err


def test_errors_name_the_parameter(run_cli):
    _, _, err = run_cli("collapse", "--n", "1", "--d", "10")
    assert "n must be >= 2, got 1" in err
    _, _, err = run_cli("schedule", "--step", "1000")
    assert "[0, 999]" in err and "1000" in err
    _, _, err = run_cli("schedule", "--schedule", "quadratic")
    assert "linear, cosine, scaled-linear" in err


def test_default_variance_is_flagged(run_cli):
    # t_C depends strongly on σ²: the assumed σ² = 1 must be said, an explicit one not
    body, _ = js(run_cli, "times", "--n", "50000", "--d", "3072", "--eigenvalue", "16.72")
    assert any("σ² = 1 assumed" in n for n in body["notes"])
    body, _ = js(run_cli, "times", "--n", "50000", "--d", "3072", "--eigenvalue", "16.72", "--variance", "0.062")
    assert not any("assumed" in n for n in body["notes"])
    assert body["t_C"] == pytest.approx(R.collapse_time(50000, 3072, 0.062), rel=1e-15)
    assert [r["name"] for r in body["regimes"]] == ["I", "II", "III"]


def test_csv_format_does_not_carry_over_to_the_next_command(run_cli):
    rc, out, _ = run_cli("speciation", "--eigenvalue", "16.72", "--format", "csv")
    assert rc == 0 and out.startswith("quantity,value\n")
    rc, out, _ = run_cli("speciation", "--eigenvalue", "16.72", "--format", "csv", "--json")  # no table printed
    assert rc == 0 and json.loads(out)["t_S"] > 0
    rc, out, _ = run_cli("presets")  # a command without --format
    assert rc == 0 and out.startswith("Dataset presets") and "MNIST" in out


def test_csv_cells_of_numpy_scalars():
    import numpy as np
    from regimes_cli._output import table_text

    text = table_text(("a", "b", "c", "d"), [(np.float64(1.5), np.int64(3), np.float32(0.25), np.float64("nan"))])
    assert text == "a,b,c,d\n1.5,3,0.25,\n"
