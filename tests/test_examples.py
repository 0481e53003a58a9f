"""Every gallery script in examples/ runs at small size (REGIMES_EXAMPLE_SMALL=1) and prints numbers
that are checked here against independent computations."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def _run(path: Path, tmp_path) -> str:
    env = {**os.environ, "REGIMES_EXAMPLE_SMALL": "1", "MPLBACKEND": "Agg"}
    r = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, f"{path.name} failed:\n{r.stderr[-3000:]}"
    assert r.stdout.strip(), f"{path.name} printed nothing"
    return r.stdout


def _num(pattern, text):
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not found in:\n{text}"
    return m.group(1)


def _ddpm_linear_times(T=1000):
    # SPEC §1, written out independently of regimes.schedules
    beta = np.linspace(1e-4, 2e-2, T)
    return -0.5 * np.cumsum(np.log1p(-beta))


def _first_step(times, t):
    k = [i for i, tk in enumerate(times) if tk >= t]
    return k[0] if k else None


def check_cifar10(out):
    t_S = float(_num(r"t_S = ([\d.]+)", out))
    t_C = float(_num(r"t_C = ([\d.]+)", out))
    assert abs(t_S - 0.5 * math.log(16.72)) < 1e-6
    assert abs(t_C - 0.5 * math.log1p(0.062 / math.expm1(2 * math.log(50000) / 3072))) < 1e-6
    ts = _ddpm_linear_times()
    assert int(_num(r"linear: speciation at step (\d+)", out)) == _first_step(ts, t_S) == 526
    assert int(_num(r"linear: speciation at step \d+, collapse at step (\d+)", out)) == _first_step(
        ts, t_C
    )
    assert abs(float(_num(r"sigma\(t_S\) = ([\d.]+)", out)) - math.sqrt(15.72)) < 1e-4


def check_schedules(out):
    t_S = float(_num(r"t_S = ([\d.]+)", out))
    t_C = float(_num(r"t_C = ([\d.]+)", out))
    assert abs(t_S - 0.5 * math.log(1025)) < 1e-6
    assert abs(t_C - 0.5 * math.log1p(1 / math.expm1(2 * math.log(4000) / 1024))) < 1e-6
    ts = _ddpm_linear_times()
    assert int(_num(r"linear \(1000 steps.*step_S = (\d+)", out)) == _first_step(ts, t_S)
    assert "scaled-linear (1000 steps, noisiest t = 2.684): step_S = None" in out
    assert "happens before the first sampling step of the scaled-linear schedule" in out


def check_image_folder(out):
    assert "loaded n = 120 images of d = 256 pixels" in out
    lam = float(_num(r"Lambda = ([\d.]+)", out))
    t_S = float(_num(r"t_S = ([\d.]+)", out))
    t_C = float(_num(r"t_C = ([\d.]+)", out))
    assert abs(t_S - 0.5 * math.log(lam)) < 1e-5 and lam > 1
    assert 0 < t_C < t_S  # two well-separated classes of 60 noisy images: Regime II exists
    assert "Regime II:" in out


def check_widths(out):
    from scipy import integrate

    t = 0.1
    e, sd, delta = math.exp(-t), math.sqrt(-math.expm1(-2 * t)), -math.expm1(-2 * t)
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    k1 = integrate.quad(lambda z: phi(z) / math.cosh(z) ** 2, -30, 30, epsabs=1e-14)[0]
    inner = lambda u: integrate.quad(lambda v: math.tanh(e * u + sd * v) * phi(v), -12, 12)[0]  # noqa: E731
    v2 = integrate.quad(lambda u: inner(u) ** 2 * phi(u), -12, 12)[0] - k1**2 * e**2
    tau_mem = 1.0 / (2 * delta * v2)  # ψ_n = 1
    for label in ("p = 4d", "p = 16d"):
        line = next(ln for ln in out.splitlines() if ln.startswith(label + ":"))
        assert abs(float(_num(r"tau_mem \(leading order\) = ([\d.]+)", line)) / tau_mem - 1) < 1e-3
        assert abs(float(_num(r"tau_gen = ([\d.]+)", line)) * 2 * delta * k1**2 - 1) < 1e-3
        half = float(_num(r"half-gap time \(d = \d+\) = ([\d.]+)", line))
        assert tau_mem / 3 < half < 3 * tau_mem  # memorisation happens on the τ_mem scale


def check_symbolic(out):
    from regimes.phase import alpha_for_collapse_time

    ln_n = float(_num(r"ln n\* = ([\d.e+]+)", out))
    assert abs(ln_n / (alpha_for_collapse_time(0.5) * 3072) - 1) < 1e-5


CHECKS = {
    "plot_cifar10_speciation_step.py": check_cifar10,
    "plot_timeline_schedules.py": check_schedules,
    "plot_image_folder.py": check_image_folder,
    "plot_tau_mem_widths.py": check_widths,
    "plot_symbolic_tc.py": check_symbolic,
}


def test_examples_found():
    names = {p.name for p in EXAMPLES}
    assert set(CHECKS) - {"plot_symbolic_tc.py"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    out = _run(path, tmp_path)
    check = CHECKS.get(path.name)
    if check is not None:
        check(out)
