"""Review fixes of the U-turns: what each method estimates, units in the output, the time range,
simulated_collapse_time's edge cases and the SDE's discretisation bias.

The oracle throughout is an independent computation of the posterior weights
w_μ(x, t) ∝ exp(−|x − e^{−t}a^μ|²/(2Δ_t)) with scipy's logsumexp on noised starts drawn here
(φ_C = E[Σ_μ w_μ²], φ = E[Σ_c W_c²]; arXiv 2402.18491), never the package's own expressions.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp

from regimes import RegimesError, RegimesWarning
from regimes.uturn import fraction_targets, sde_bias_bound, simulated_collapse_time, uturn


@pytest.fixture(scope="module")
def mixture():
    """Two classes (means ±1 per feature), n = 40, d = 8, σ = 1 (φ_C(0.4) ≈ 0.45)."""
    rng = np.random.default_rng(123)
    lab = rng.integers(0, 2, 40)
    A = rng.normal(size=(40, 8)) + np.where(lab[:, None] == 1, 1.0, -1.0)
    return A, lab


def log_weights(A, x, t):
    c, D = math.exp(-t), -math.expm1(-2 * t)
    L = -((x**2).sum(1)[:, None] - 2 * c * x @ A.T + c * c * (A**2).sum(1)[None]) / (2 * D)
    return L - logsumexp(L, axis=1, keepdims=True)


def oracle(A, lab, t, M=40000, seed=99):
    """(φ_C, its SE, φ, its SE) by Monte Carlo over x_t with exact weights."""
    g = np.random.default_rng(seed)
    mu = g.integers(0, A.shape[0], M)
    x = math.exp(-t) * A[mu] + math.sqrt(-math.expm1(-2 * t)) * g.standard_normal((M, A.shape[1]))
    w = np.exp(log_weights(A, x, t))
    pc = (w**2).sum(1)
    W1 = w[:, lab == 1].sum(1)
    pcl = W1**2 + (1 - W1) ** 2
    return pc.mean(), pc.std() / math.sqrt(M), pcl.mean(), pcl.std() / math.sqrt(M)


# 1. what each method estimates ---------------------------------------------------------------

def test_sde_and_posterior_are_labelled_phi_and_agree_with_it(mixture):
    A, lab = mixture
    pc, pc_se, pcl, pcl_se = oracle(A, lab, 0.4)
    for method, M in (("posterior", 4000), ("sde", 1500)):
        r = uturn(A, [0.4], samples=M, labels=lab, method=method, rng=1)
        for est, ref, se in ((r.same_point[0], pc, pc_se), (r.same_class[0], pcl, pcl_se)):
            # sde: plus its discretisation bias at 200 steps (measured +0.008 here)
            assert abs(est.value - ref) < 4 * math.hypot(est.se, se) + (0.015 if method == "sde" else 0), method
        assert "→ φ_C(t)" in r.same_point[0].definition and "→ φ(t)" in r.same_class[0].definition
        exp = r.to_dict()["expectation"]
        assert exp["same_point"].startswith("phi_C(t)") and exp["same_class"].startswith("phi(t)")


def test_ode_is_not_labelled_phi_C_and_estimates_its_stated_expectation(mixture):
    A, lab = mixture
    pc, pc_se, _, _ = oracle(A, lab, 0.4)
    M = 3000
    r = uturn(A, [0.4], samples=M, labels=lab, method="ode", steps=100, rng=2, examples=M)
    est = r.same_point[0]
    # not φ_C: far above it (0.59 against 0.45)
    assert est.value - pc > 6 * math.hypot(est.se, pc_se), (est.value, pc)
    # its stated expectation E_x[w_end(x)(x, t)]: per run, the exact probability that the start was
    # the endpoint given x_t; the indicator minus it has mean zero
    w_end = np.exp(log_weights(A, r.noised[0], 0.4)[np.arange(M), r.end[0]])
    diff = (r.end[0] == r.start[0]) - w_end
    assert abs(diff.mean()) < 4 * diff.std() / math.sqrt(M)
    assert "not φ_C" in est.definition and "→ φ_C" not in est.definition
    assert "not φ(t)" in r.same_class[0].definition
    exp = r.to_dict()["expectation"]
    assert exp["same_point"].startswith("not phi_C(t)") and exp["same_class"].startswith("not phi(t)")
    assert fraction_targets("ode")[0].label == "ODE flow, not φ_C"
    with pytest.raises(RegimesError, match="method"):
        fraction_targets("euler")


def test_cli_ode_table_does_not_claim_phi_C(run_cli, tmp_path, mixture):
    A, lab = mixture
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "lab.npy", lab)
    rc, out, err = run_cli("uturn", tmp_path / "a.npy", "--labels", tmp_path / "lab.npy", "--times", "0.4",
                           "--samples", "50", "--steps", "20", "--method", "ode")
    assert rc == 0, err
    assert "→ φ_C" not in out and "not φ_C" in out and "not φ_C(t), φ(t)" in " ".join(out.split())
    rc, out, err = run_cli("uturn", tmp_path / "a.npy", "--times", "0.4", "--samples", "50", "--steps", "20")
    assert rc == 0 and "same image (→ φ_C)" in out


# 2. units, n, d ------------------------------------------------------------------------------

def test_cli_records_units_n_d(run_cli, tmp_path, mixture):
    A, lab = mixture
    np.save(tmp_path / "a.npy", A)
    vals = {}
    for scale in ("none", "0.5"):
        rc, out, err = run_cli("uturn", tmp_path / "a.npy", "--times", "0.4", "--samples", "3000",
                               "--method", "posterior", "--scale", scale, "--json")
        assert rc == 0, err
        p = json.loads(out)
        assert (p["n"], p["d"], p["centred"]) == (40, 8, False)
        assert p["units"] == (scale if scale == "none" else 0.5)
        assert "not centred" in p["data_frame"]
        vals[scale] = p["same_point"]["value"][0], p["same_point"]["se"][0]
    # the units matter: --scale 0.5 is φ_C of 0.5·A (oracle), far from φ_C of A
    for scale, c in (("none", 1.0), ("0.5", 0.5)):
        pc, pc_se, _, _ = oracle(c * A, lab, 0.4)
        v, se = vals[scale]
        assert abs(v - pc) < 4 * math.hypot(se, pc_se), (scale, v, pc)
    assert vals["none"][0] - vals["0.5"][0] > 0.25
    rc, out, err = run_cli("uturn", tmp_path / "a.npy", "--times", "0.4", "--samples", "20", "--scale", "0.5")
    flat = " ".join(out.split())
    assert rc == 0 and "n = 40, d = 8, --scale 0.5" in flat and "not centred" in flat


# 3. the time range ---------------------------------------------------------------------------

@pytest.mark.parametrize("t", [1e-320, 5e-301, 9.99e-301])
def test_times_below_the_cli_range_are_refused(mixture, t):
    A, _ = mixture
    with pytest.raises(RegimesError, match=r"^times must be >= 1e-300, got an entry " + repr(t)):
        uturn(A, [0.1, t], samples=4, method="sde")
    with pytest.raises(RegimesError, match=r"^times must be >= 1e-300"):
        simulated_collapse_time(A, [0.1, t], samples=4, bootstrap=0)


def test_the_range_ends_work(mixture):
    A, lab = mixture
    # at t = 1e-300 every distinct point is its own posterior: φ_C = 1 exactly (before the fix the
    # sde returned 0.385 at 1e-320); at t = 354 and beyond, x_t carries no information: φ_C = 1/n
    r = uturn(A, [1e-300, 354.0, 1e6], samples=400, method="sde", steps=80, rng=0)
    assert r.same_point[0].value == 1.0
    for est in r.same_point[1:]:
        assert est.ci[0] <= 1 / 40 <= est.ci[1]


# 4. simulated_collapse_time edge cases -------------------------------------------------------

def test_repeated_times_are_refused(mixture):
    A, _ = mixture
    with pytest.raises(RegimesError, match="at least two distinct times"):
        simulated_collapse_time(A, [1.0, 1.0], samples=4)


def test_degenerate_interval_is_null_with_a_note(mixture):
    A, _ = mixture
    est = simulated_collapse_time(A, np.linspace(0.25, 0.5, 6), samples=1, steps=20, rng=0)
    assert math.isfinite(est.value)
    assert all(math.isnan(x) for x in est.ci) and math.isnan(est.se)
    assert est.details["interval"] == "degenerate"
    assert any("zero width without being exact" in n for n in est.notes)


def test_non_degenerate_interval_contains_the_oracle_crossing(mixture):
    A, lab = mixture
    grid = np.linspace(0.3, 0.45, 4)
    est = simulated_collapse_time(A, grid, samples=600, steps=200, rng=1, bootstrap=200)
    assert "interval" not in est.details and est.ci[0] < est.ci[1]
    # oracle: φ_C = ½ crossing of the exact curve (common random numbers, bisection); the simulated
    # crossing is biased late by the 200-step grid (+0.008 in φ_C, ≈ +0.005 in t) and the grid's
    # linear interpolation
    lo, hi = 0.3, 0.45
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if oracle(A, lab, mid, M=8000, seed=5)[0] > 0.5 else (lo, mid)
    t_c = 0.5 * (lo + hi)
    assert est.ci[0] - 0.01 <= t_c <= est.ci[1] + 0.01, (t_c, est.value, est.ci)


# 6. the SDE's discretisation bias ------------------------------------------------------------

def test_coarse_sde_is_biased_up_within_the_bound_and_noted(mixture):
    A, lab = mixture
    pc, pc_se, _, _ = oracle(A, lab, 0.4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RegimesWarning)
        r = uturn(A, [0.4], samples=4000, method="sde", steps=10, rng=3)
    est = r.same_point[0]
    bias, se = est.value - pc, math.hypot(est.se, pc_se)
    assert bias > 4 * se, (est.value, pc)  # the discretisation returns too often (0.51 against 0.45)
    assert bias < sde_bias_bound(10, 8) + 3 * se  # the stated envelope covers it
    assert len(r.notes) == 1 and "steps=10" in r.notes[0] and r.to_dict()["notes"] == list(r.notes)
    assert [str(w.message) for w in caught] == list(r.notes)
    need = int(r.notes[0].split("use steps=")[1].split()[0])
    assert sde_bias_bound(need, 8) <= 1.96 * math.sqrt(0.25 / 4000) < sde_bias_bound(need - 1, 8)


def test_no_bias_note_at_the_defaults_or_without_a_grid(mixture):
    A, _ = mixture
    with warnings.catch_warnings():
        warnings.simplefilter("error", RegimesWarning)
        assert uturn(A, [0.4], samples=256, rng=0).notes == ()
        assert uturn(A, [0.4], samples=4000, method="posterior", steps=2, rng=0).notes == ()
        assert uturn(A, [0.4], samples=500, method="ode", steps=10, rng=0).notes == ()


def test_cli_warns_in_its_own_words(run_cli, tmp_path, mixture):
    A, _ = mixture
    np.save(tmp_path / "a.npy", A)
    rc, out, err = run_cli("uturn", tmp_path / "a.npy", "--times", "0.4", "--samples", "2000", "--steps", "5",
                           "--json")
    assert rc == 0
    p = json.loads(out)
    assert "regimes: warning: --steps 5:" in err and "--method posterior" in err
    assert p["notes"] and p["notes"][0].startswith("--steps 5:")


def test_sde_bias_note_never_states_a_bias_above_one():
    """A time far above the others (1e300: the grid spans ~300 decades) makes the measured envelope
    exceed 1; the note then says so instead of 'too high by up to about 2.3' (a fraction lies in [0, 1])."""
    import re
    import warnings

    from regimes.uturn import uturn

    A = np.random.default_rng(0).standard_normal((20, 4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = uturn(A, [0.5, 1e300], samples=16, steps=50, method="sde", rng=0)
    notes = " ".join(r.notes) + " ".join(str(w.message) for w in caught)
    assert "more than the fraction's whole range" in notes
    assert not [float(x) for x in re.findall(r"too high by up to about ([0-9.e+-]+)", notes) if float(x) >= 1]


def test_negative_zero_is_zero():
    from regimes import excess_entropy
    from regimes.rmt import RandomFeatures

    assert excess_entropy(-0.0, 100, 10) == excess_entropy(0.0, 100, 10) == 0.0
    assert RandomFeatures(2.0, 1.0, 0.1).tau(-0.0) == float("inf")


def test_cli_notes_once_and_step_like_times(run_cli, tmp_path, monkeypatch):
    """The table prints the bias note once (not also as a stderr warning); a time that looks like a
    schedule step (t = 300: ᾱ = e^{−600}) gets a note saying it is an OU time."""
    monkeypatch.setenv("COLUMNS", "1000")
    np.save(tmp_path / "a.npy", np.random.default_rng(0).standard_normal((30, 4)))
    rc, out, err = run_cli("uturn", tmp_path / "a.npy", "--times", "0.3,300", "--samples", "16", "--steps", "3")
    assert rc == 0
    assert "discretisation" in out and "discretisation" not in err
    assert "--times 300 is an OU time" in out
    rc, out, err = run_cli("uturn", tmp_path / "a.npy", "--times", "0.3,300", "--samples", "16", "--steps", "3",
                           "--json")
    k = json.loads(out)
    assert rc == 0 and any("--times 300 is an OU time" in n for n in k["notes"])
    rc, out, _ = run_cli("uturn", tmp_path / "a.npy", "--times", "0.3,2", "--samples", "16", "--json")
    assert not any("is an OU time" in n for n in json.loads(out)["notes"])


def test_simulated_collapse_time_says_when_its_grid_is_coarse():
    """Interpolating the crossing between times 1e5× apart is not covered by the interval: a note says so;
    a fine grid around the crossing gets none."""
    import warnings

    from regimes.uturn import simulated_collapse_time

    A = np.random.default_rng(0).standard_normal((20, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = simulated_collapse_time(A, [1e-3, 1e2], samples=64, steps=50, rng=0)
        assert any("interpolated linearly between the grid times 0.001 and 100" in n for n in e.notes)
        fine = simulated_collapse_time(A, np.geomspace(0.02, 0.2, 12), samples=64, steps=50, rng=0)
    assert np.isfinite(fine.value) and not any("interpolated linearly" in n for n in fine.notes)
