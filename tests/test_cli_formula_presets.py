"""CLI: `regimes formula`, `regimes presets`, and `--preset` end to end in basic.py's commands."""

from __future__ import annotations

import json
import math

import pytest

# ---------------------------------------------------------------------------------------------
# formula


def test_formula_list(run_cli):
    rc, out, err = run_cli("formula", "--list")
    assert rc == 0, err
    for name in ("collapse_time", "mp_stieltjes_equation", "tau_gen", "cloning_integrand"):
        assert name in out


def test_formula_list_json(run_cli):
    import regimes.symbolic as S

    rc, out, err = run_cli("formula", "--list", "--json")
    assert rc == 0, err
    body = json.loads(out)
    assert [f["name"] for f in body["formulas"]] == S.names()
    row = next(f for f in body["formulas"] if f["name"] == "collapse_time")
    assert row["arguments"] == ["n", "d", "variance"]
    assert body["version"]


def test_formula_latex_sympy_python(run_cli):
    import sympy as sp

    rc, out, _ = run_cli("formula", "collapse_time_small_alpha", "--latex")
    assert rc == 0 and out.strip() == r"\frac{\log{\left(\frac{\sigma^{2}}{2 \alpha} \right)}}{2}"
    rc, out, _ = run_cli("formula", "t_C", "--sympy")
    assert rc == 0
    expr = sp.sympify(out.strip())
    # the printed expression, parsed back, evaluates to the reference value (arXiv 2402.18491)
    val = float(expr.subs({"n": 20000, "d": 1024, "variance": 1}))
    assert val == pytest.approx(1.977547, abs=6e-7)
    rc, out, _ = run_cli("formula", "collapse_time", "--python")
    assert rc == 0
    ns: dict = {}
    exec(out, ns)  # noqa: S102 - our own generated source
    assert ns["collapse_time"](20000, 1024, 1.0) == pytest.approx(1.977547, abs=6e-7)


def test_formula_default_and_json(run_cli):
    rc, out, err = run_cli("formula", "speciation_time")
    assert rc == 0, err
    assert "speciation_time" in out and "eigenvalue" in out
    rc, out, err = run_cli("formula", "mp-stieltjes-equation", "--json")
    assert rc == 0, err
    body = json.loads(out)
    assert body["name"] == "mp_stieltjes_equation" and body["kind"] == "equation"
    assert body["arguments"] == ["m", "zeta", "ratio", "variance"]
    assert body["sympy"].startswith("Eq(") and "=" in body["latex"]
    assert "def mp_stieltjes_equation(m, zeta, ratio, variance)" in body["python"]


def test_formula_errors(run_cli):
    rc, out, err = run_cli("formula", "colapse_time")
    assert rc == 2 and out == ""
    assert "collapse_time" in err and len(err.strip().splitlines()) == 1
    rc, _, err = run_cli("formula")
    assert rc == 2 and "--list" in err
    rc, _, err = run_cli("formula", "delta", "--latex", "--python")
    assert rc == 2 and "at most one" in err
    rc, _, err = run_cli("formula", "delta", "--list")
    assert rc == 2


# ---------------------------------------------------------------------------------------------
# presets


def test_presets_table_and_json(run_cli):
    from regimes.presets import list_presets

    rc, out, err = run_cli("presets")
    assert rc == 0, err
    for name in ("MNIST", "CIFAR-10", "LSUN64", "FFHQ256"):
        assert name in out
    rc, out, err = run_cli("presets", "--json")
    assert rc == 0, err
    body = json.loads(out)
    assert [p["name"] for p in body["presets"]] == [p.name for p in list_presets()]
    cifar = next(p for p in body["presets"] if p["name"] == "CIFAR-10")
    assert (cifar["n"], cifar["d"], cifar["eigenvalue"], cifar["eigenvalue_dim"]) == (
        50000, 3072, 16.72, 1024)
    assert "2402.18491" in cifar["reference"]
    assert "one colour channel" in body["convention"].lower() or "ONE colour" in body["convention"]


def test_presets_single(run_cli):
    rc, out, err = run_cli("presets", "cifar_10", "--json")
    assert rc == 0, err
    assert json.loads(out)["preset"]["name"] == "CIFAR-10"
    rc, out, err = run_cli("presets", "celeba")
    assert rc == 0 and "162770" in out
    rc, out, err = run_cli("presets", "nope")
    assert rc == 2 and "CIFAR-10" in err


# ---------------------------------------------------------------------------------------------
# --preset end to end in the commands of basic.py


def test_times_with_preset(run_cli):
    rc, out, err = run_cli("times", "--preset", "CIFAR-10", "--units", "unit", "--json")
    assert rc == 0, err
    body = json.loads(out)
    assert body["preset"] == "CIFAR-10"
    assert (body["n"], body["d"], body["eigenvalue"]) == (50000, 3072, 16.72)
    assert body["t_S"] == pytest.approx(0.5 * math.log(16.72), rel=1e-14)
    # σ² defaults to the preset's approximate pixel variance, from the published per-channel
    # standard deviations of CIFAR-10 in [0,1] (0.2470, 0.2435, 0.2616), not to 1
    var = (0.2470**2 + 0.2435**2 + 0.2616**2) / 3
    assert body["variance"] == pytest.approx(var, abs=5e-6)
    import mpmath

    with mpmath.workdps(50):  # independent oracle: the textbook form ½ ln(1 + σ²/(n^{2/d} − 1)) at 50 digits
        ref = mpmath.log(1 + mpmath.mpf(body["variance"]) / (mpmath.mpf(50000) ** (mpmath.mpf(2) / 3072) - 1)) / 2
    assert body["t_C"] == pytest.approx(float(ref), rel=1e-13)
    assert [r["name"] for r in body["regimes"]] == ["I", "II", "III"]  # t_C ≈ 1.146 < t_S ≈ 1.408
    notes = " ".join(body["notes"])
    assert "quoted, not measured" in notes and "one colour channel" in notes and "upper bound" in notes
    # with σ² = 1 and [0,1]-pixel Λ the units do not match: the output says so
    rc, out, err = run_cli("times", "--preset", "LSUN64", "--n", "126227", "--json")
    assert rc == 0, err
    assert "units do not match" in " ".join(json.loads(out)["notes"])
    rc, out, err = run_cli("times", "--preset", "cifar10", "--units", "unit", "--variance", "0.05",
                           "--eigenvalue", "20", "--json")
    body = json.loads(out)
    assert body["variance"] == 0.05 and body["eigenvalue"] == 20
    assert any("overrides preset CIFAR-10's σ²" in x for x in body["notes"])
    assert any("--eigenvalue 20 overrides preset CIFAR-10's Λ = 16.72" in x for x in body["notes"])


def test_collapse_and_speciation_with_preset(run_cli):
    rc, out, err = run_cli("collapse", "--preset", "ffhq", "--json")
    assert rc == 0, err
    body = json.loads(out)
    assert (body["n"], body["d"]) == (70000, 3 * 256 * 256)
    rc, out, err = run_cli("speciation", "--preset", "mnist", "--units", "unit", "--json")
    assert rc == 0, err
    assert json.loads(out)["t_S"] == pytest.approx(0.5 * math.log(7.66), rel=1e-14)
    # explicit options override the preset, and the output says so
    rc, out, err = run_cli("collapse", "--preset", "cifar10", "--n", "1000", "--json")
    assert rc == 0 and json.loads(out)["n"] == 1000
    assert any("--n 1000 overrides preset CIFAR-10's n = 50000" in x for x in json.loads(out)["notes"])
    rc, out, err = run_cli("speciation", "--preset", "cifar10", "--eigenvalue", "3", "--json")
    assert rc == 0 and any("overrides" in x for x in json.loads(out)["notes"])
    rc, out, err = run_cli("speciation", "--preset", "cifar10")
    assert rc == 0 and "CIFAR-10" in out and "quoted, not measured" in out


def test_options_that_would_be_ignored_are_errors(run_cli):
    rc, out, err = run_cli("speciation", "--eigenvalue", "5", "--variance", "3")
    assert rc == 2 and err.count("\n") == 1 and "--variance" in err and "mixture" in err
    rc, out, err = run_cli("speciation", "--preset", "cifar10", "--d", "100", "--separation", "1")
    assert rc == 2 and "--preset" in err
    # the mixture still takes its within-class variance
    rc, out, err = run_cli("speciation", "--d", "100", "--separation", "1", "--variance", "3", "--json")
    assert rc == 0 and json.loads(out)["eigenvalue"] == pytest.approx(103.0, rel=1e-15)


def test_plots_take_the_preset_variance(run_cli):
    rc, out, err = run_cli("timeline", "--preset", "cifar10", "--units", "unit", "--json")
    assert rc == 0, err
    body = json.loads(out)
    assert body["variance"] == pytest.approx(0.06291, abs=5e-6) and body["preset"] == "CIFAR-10"
    assert body["t_C"] < body["t_S"]
    rc, out, err = run_cli("phase-diagram", "nd", "--preset", "cifar10", "--units", "unit", "--points", "9", "--json")
    assert rc == 0, err
    body = json.loads(out)
    assert body["variance"] == pytest.approx(0.06291, abs=5e-6)
    # where Regime II does not exist its width is null by design, without a warning
    assert "warning" not in err and any(w is None for row in body["regime_II_width"] for w in row)


def test_preset_without_the_needed_number_is_a_clear_error(run_cli):
    rc, out, err = run_cli("speciation", "--preset", "FFHQ256")
    assert rc == 2 and "eigenvalue" in err and "FFHQ256" in err
    rc, out, err = run_cli("collapse", "--preset", "LSUN64")  # n depends on the category
    assert rc == 2 and "--n" in err
    rc, out, err = run_cli("collapse", "--preset", "LSUN64", "--n", "126227", "--json")
    assert rc == 0 and json.loads(out)["d"] == 12288
    rc, out, err = run_cli("times", "--preset", "no-such-set")
    assert rc == 2 and "MNIST" in err
