"""Fixes of the schedule / timeline / CLI review: each number checked against an independent oracle
(the published formula recomputed here, a brute-force search, or a round trip)."""

from __future__ import annotations

import json
import math
import warnings

import mpmath as mp
import numpy as np
import pytest

from regimes import RegimesError
from regimes.schedules import DiscreteSchedule, EDMSampler, get_schedule, step_at_time
from regimes.timeline import locate_regimes, regime_steps


def _json(run_cli, *args):
    rc, out, err = run_cli(*args, "--json")
    assert rc == 0, err
    return json.loads(out), err


def _one_line_error(run_cli, *args):
    rc, out, err = run_cli(*args)
    assert rc == 2 and out == "" and err.count("\n") == 1 and err.startswith("regimes: error:"), (rc, err)
    return err


def _karras(N, smin=0.002, smax=80.0, rho=7.0, dps=50):
    """σ_i = (σ_max^{1/ρ} + i/(N−1)(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ (arXiv 2206.00364), at ``dps`` digits."""
    with mp.workdps(dps):
        smin, smax, rho = mp.mpf(smin), mp.mpf(smax), mp.mpf(rho)
        return [(smax ** (1 / rho) + mp.mpf(i) / (N - 1) * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
                for i in range(N)]


def _edm_step_brute(sig, s):
    """The EDM step during which noise level s is crossed: step i runs from σ_i down to σ_{i+1}
    (σ_N = 0), so it is the i with σ_{i+1} < s <= σ_i; None above σ_0. A plain loop."""
    levels = [float(x) for x in sig] + [0.0]
    if s > levels[0]:
        return None
    for i in range(len(levels) - 1):
        if levels[i + 1] < s <= levels[i]:
            return i
    return len(levels) - 2  # s = 0: the last step ends there


# ---------------------------------------------------------------- 1, 10: EDM step numbering
@pytest.mark.parametrize("N, smin, smax, rho", [(18, 0.002, 80.0, 7.0), (5, 0.01, 50.0, 3.0), (2, 0.1, 1.0, 1.0)])
def test_edm_step_is_the_step_during_which_t_is_crossed(N, smin, smax, rho):
    e = EDMSampler(steps=N, sigma_min=smin, sigma_max=smax, rho=rho)
    sig = _karras(N, smin, smax, rho)
    ts = np.concatenate([np.linspace(0.0, float(e.t_max) * 1.1, 2001), [float(e.t_max)]])
    for t in ts:
        s = math.sqrt(math.expm1(2 * t))
        assert e.step_at_time(float(t)) == _edm_step_brute(sig, s), t
    # between two levels t_{i+1} < t < t_i the answer is i (the step from σ_i to σ_{i+1}); at a level, i
    t = [float(mp.log1p(x**2) / 2) for x in sig]
    for i in range(N - 1):
        assert e.step_at_time((t[i] + t[i + 1]) / 2) == i
    assert e.step_at_time(0.0) == N - 1 and e.step_at_time(t[-1] / 2) == N - 1  # below σ_min: the last step
    assert e.step_at_time(t[0] * 1.01) is None
    assert list(e.step_at_time(np.array([t[0] * 1.01, 0.0]))) == [-1, N - 1]


def test_cli_times_edm_steps_agree_with_the_regime_ranges(run_cli):
    j, _ = _json(run_cli, "times", "--n", 4000, "--d", 1024, "-L", 1025, "-s", "edm")
    # σ(t_S)² = Λ − 1 = 1024: σ(t_S) = 32 lies between σ_2 = 40.79 and σ_3 = 28.37 → step 2
    sig = [float(x) for x in _karras(18)]
    assert sig[3] < 32.0 < sig[2] and j["step_S"] == 2
    assert j["step_C"] == _edm_step_brute(sig, math.sqrt(math.expm1(2 * j["t_C"])))
    regs = {r["name"]: r for r in j["regimes"]}
    # as on a discrete schedule, the crossing step belongs to the earlier (noisier) regime
    assert regs["I"]["step_max"] == j["step_S"] and regs["II"]["step_min"] == j["step_S"] + 1
    assert regs["II"]["step_max"] == j["step_C"] and regs["III"]["step_min"] == j["step_C"] + 1
    lin, _ = _json(run_cli, "times", "--n", 4000, "--d", 1024, "-L", 1025, "-s", "linear")
    lin_regs = {r["name"]: r for r in lin["regimes"]}
    # the linear schedule counts from the data end: its crossing steps are the lowest of I and II
    assert lin["step_S"] == lin_regs["I"]["step_min"] == 827 and lin["step_C"] == lin_regs["II"]["step_min"]
    # the same rule from the library: each crossing step starts in the earlier regime
    for smp in ("linear", "edm"):
        loc = locate_regimes(lin["t_S"], lin["t_C"], smp)
        rs = {r["name"]: r for r in regime_steps(lin["t_S"], lin["t_C"], smp)}
        times = loc["times"]
        assert times[loc["step_S"]] >= lin["t_S"] and times[loc["step_C"]] >= lin["t_C"]
        assert loc["step_S"] in (rs["I"]["step_min"], rs["I"]["step_max"])


def test_cli_schedule_edm_t_and_step_round_trip(run_cli):
    for i in range(18):
        row, _ = _json(run_cli, "schedule", "-s", "edm", "--step", i)
        back, _ = _json(run_cli, "schedule", "-s", "edm", "--t", repr(row["t"]))
        assert back["step"] == i
    j, _ = _json(run_cli, "schedule", "-s", "edm", "--t", 0)
    assert j["step"] == 17  # the last step, from σ_min to σ = 0
    _json(run_cli, "schedule", "-s", "edm", "--step", j["step"])  # accepted


# ---------------------------------------------------------------- 2: --compare keeps notes and conventions
def test_timeline_compare_keeps_each_samplers_notes_and_convention(run_cli):
    j, _ = _json(run_cli, "timeline", "--compare", "scaled-linear,edm")
    sl, edm = j["compare"]
    assert sl["step_convention"] == get_schedule("scaled-linear").step_convention
    assert edm["step_convention"] == EDMSampler().step_convention
    # t_S = ½ ln 1025 = 3.4662 > scaled-linear's last time −½ Σ log1p(−β) = 2.684: before its first step
    betas = np.linspace(math.sqrt(0.00085), math.sqrt(0.012), 1000) ** 2
    t_last = -0.5 * math.fsum(math.log1p(-b) for b in betas)
    assert 0.5 * math.log(1025) > t_last and sl["step_S"] is None
    assert any("before the first sampling step" in x for x in sl["notes"]) and edm["notes"] == []
    rc, out, err = run_cli("timeline", "--compare", "scaled-linear,edm")
    flat = " ".join(out.split())
    assert rc == 0 and "scaled-linear: speciation" in flat and "edm: EDM sampler index" in flat


# ---------------------------------------------------------------- 3: t_C below the cleanest step
def test_collapse_below_the_cleanest_step_notes_agree(run_cli):
    j, _ = _json(run_cli, "times", "--n", "1e6", "--d", 2, "-L", 5, "--variance", 0.001, "--sampler-steps", 10)
    t0 = -0.5 * math.log1p(-1e-4)  # DDPM linear β_0 = 1e-4
    assert j["t_C"] < t0 and j["step_C"] == 0 and j["sampler_step_C"] == 9
    text = " ".join(j["notes"])
    assert "not reached" not in text and "crossed during that last step" in text
    regs = {r["name"]: r for r in j["regimes"]}
    assert regs["II"]["step_min"] == 0 and regs["III"]["step_min"] is None  # step 0 starts in II
    assert "entered during the last sampler step" in regs["III"]["steps_note"]
    e, _ = _json(run_cli, "timeline", "--n", "1e6", "--d", 2, "-L", 5, "--variance", 0.001, "-s", "edm")
    assert math.sqrt(math.expm1(2 * e["t_C"])) < 0.002 and e["step_C"] == 17  # below σ_min: last step N − 1
    assert not any("not reached" in x for x in e["notes"])
    assert any("crossed during that last step" in x for x in e["notes"])


# ---------------------------------------------------------------- 4, 5, 6: scheduler configs
def _cfg(tmp_path, cfg, name="c.json"):
    path = tmp_path / name
    path.write_text(json.dumps(cfg))
    return path


@pytest.mark.parametrize("cls, spacing", [("EulerDiscreteScheduler", "linspace"), ("DDIMScheduler", "leading"),
                                          ("DPMSolverMultistepScheduler", "linspace"), ("PNDMScheduler", "leading")])
def test_config_without_spacing_uses_its_class_default(run_cli, tmp_path, cls, spacing):
    path = _cfg(tmp_path, {"_class_name": cls, "num_train_timesteps": 1000})
    j, _ = _json(run_cli, "schedule", "--scheduler-config", path, "--sampler-steps", 7)
    # diffusers' set_timesteps written out: leading arange(N)·(T//N); linspace round(linspace(0, T−1, N)),
    # except DPM-Solver multistep, which spreads N + 1 points and drops the last (diffusers 0.42.1:
    # [999, 856, 714, 571, 428, 285, 143] for N = 7)
    if spacing == "leading":
        expect = (np.arange(7) * (1000 // 7))[::-1]
    elif cls == "DPMSolverMultistepScheduler":
        expect = np.round(np.linspace(0, 999, 8))[::-1][:-1]
    else:  # Euler keeps the fractional linspace timesteps (166.5, …) and interpolates σ there
        expect = np.linspace(0, 999, 7)[::-1]
    assert j["timestep_spacing"] == spacing
    assert [r["step"] for r in j["sampler_table"]] == [float(x) for x in expect]
    assert any(f"{cls}'s default '{spacing}'" in x for x in j["notes"])


def test_config_of_unknown_class_says_leading_was_assumed(run_cli, tmp_path):
    path = _cfg(tmp_path, {"_class_name": "MyScheduler"})
    j, _ = _json(run_cli, "times", "--n", 100, "--d", 10, "-L", 5, "--scheduler-config", path, "--sampler-steps", 4)
    assert j["timestep_spacing"] == "leading" and j["sampler_timesteps"] == [750, 500, 250, 0]
    assert any("'leading' assumed" in x and "MyScheduler" in x for x in j["notes"])


@pytest.mark.parametrize("cfg, words", [
    ({"beta_start": "x"}, ["beta_start", "'x'"]),
    ({"beta_start": None}, ["beta_start", "None"]),
    ({"trained_betas": [0.1, 0.2], "num_train_timesteps": "x"}, ["num_train_timesteps", "'x'"]),
    ({"beta_end": 2}, ["beta_end", "< 1", "2"]),
    ({"trained_betas": [0.1, 0.2, 1.0], "rescale_betas_zero_snr": True}, ["rescale_betas_zero_snr"]),
    ({"rescale_betas_zero_snr": "yes"}, ["rescale_betas_zero_snr", "'yes'"]),
    ({"steps_offset": -1}, ["steps_offset", "-1"]),
])
def test_malformed_config_values_are_one_line_errors_naming_the_key_and_file(run_cli, tmp_path, cfg, words):
    path = _cfg(tmp_path, cfg)
    err = _one_line_error(run_cli, "times", "--n", 100, "--d", 10, "-L", 5, "--scheduler-config", path)
    assert f"--scheduler-config {path}:" in err and "--betas" not in err
    assert all(w in err for w in words), err


# ---------------------------------------------------------------- 7: --units describes what it converted
def test_units_note_describes_only_what_was_converted(run_cli):
    sym, _ = _json(run_cli, "times", "--preset", "ffhq", "-L", 20)
    unit, _ = _json(run_cli, "times", "--preset", "ffhq", "-L", 20, "--units", "unit")
    assert sym["t_S"] == unit["t_S"] == 0.5 * math.log(20) and sym["t_C"] == unit["t_C"]
    for j in (sym, unit):
        text = " ".join(j["notes"])
        assert "× 4" not in text and "ln 2 later" not in text and "changes no number" in text
    cif, _ = _json(run_cli, "times", "--preset", "cifar10", "-L", 20)
    assert cif["t_S"] == 0.5 * math.log(20) and cif["variance"] == pytest.approx(4 * 0.06291, rel=1e-12)
    note = next(x for x in cif["notes"] if x.startswith("units:"))
    assert "σ² (stored for [0, 1]) × 4" in note and "Λ is yours" in note and "ln 2 later" not in note


# ---------------------------------------------------------------- 8: conventions of the sampler used
def test_json_conventions_follow_the_sampler(run_cli):
    e, _ = _json(run_cli, "schedule", "-s", "edm", "--t", 0)
    assert "EDM" in e["conventions"]["steps"] and "prod_{i<=k}" not in e["conventions"]["steps"]
    lin, _ = _json(run_cli, "schedule", "--t", 0.5)
    assert lin["conventions"]["steps"].startswith("zero-based array index k")
    t, _ = _json(run_cli, "timeline", "-s", "edm")
    assert "EDM" in t["conventions"]["steps"]


# ---------------------------------------------------------------- 9: no markup eaten
def test_table_notes_and_cells_are_printed_literally(capsys):
    from regimes_cli._output import print_table, set_table_format

    set_table_format("table")
    print_table("t[i] title", [("x[i]", "[bold]y[/bold]")], notes=["σ_i at [i] and [0, 1]"])
    out = capsys.readouterr().out
    for s in ("t[i] title", "x[i]", "[bold]y[/bold]", "σ_i at [i] and [0, 1]"):
        assert s in out, out


# ---------------------------------------------------------------- 11: every EDM level listed
def test_schedule_lists_every_step_of_a_short_sampler(run_cli):
    e, _ = _json(run_cli, "schedule", "-s", "edm")
    assert [r["step"] for r in e["table"]] == list(range(18)) and "all 18 steps" in e["notes"][0]
    assert [r["sigma"] for r in e["table"]] == pytest.approx([float(x) for x in _karras(18)], rel=1e-12)
    lin, _ = _json(run_cli, "schedule")  # JSON is for machines: every step (third review, finding 4)
    assert [r["step"] for r in lin["table"]] == list(range(1000)) and "all 1000 steps" in lin["notes"][0]
    rc, out, _ = run_cli("schedule")  # the table for people: 11, and it says so
    assert rc == 0 and "11 of the 1000 steps shown" in out


# ---------------------------------------------------------------- 12: one-number and empty files
def test_one_number_betas_file_and_empty_file(run_cli, tmp_path):
    one = tmp_path / "one.txt"
    one.write_text("0.02\n")
    j, _ = _json(run_cli, "schedule", "--betas", one)
    assert j["steps"] == 1 and j["t_max"] == -0.5 * math.log1p(-0.02)
    np.save(tmp_path / "one.npy", np.array(0.02))
    assert _json(run_cli, "schedule", "--betas", tmp_path / "one.npy")[0]["steps"] == 1
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "no data" warning must not escape
        err = _one_line_error(run_cli, "schedule", "--betas", empty)
    assert "--betas" in err and "no numbers" in err


# ---------------------------------------------------------------- 13: overflow-safe EDM levels
@pytest.mark.parametrize("kw", [dict(rho=1e-3), dict(sigma_max=1e200), dict(rho=0.05, sigma_max=1e100),
                                dict(rho=1e6), dict(rho=1e30)])
def test_edm_levels_and_times_without_overflow(kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = EDMSampler(**kw)
        sig, t = e.sigmas, e.times
    # enough digits that σ_max^{1/ρ} − (σ_max^{1/ρ} − σ_min^{1/ρ}) keeps σ_min^{1/ρ}
    dps = 60 + int((abs(math.log10(e.sigma_max)) + abs(math.log10(e.sigma_min))) / e.rho)
    ref = _karras(e.steps, e.sigma_min, e.sigma_max, e.rho, dps=dps)
    with mp.workdps(dps):
        tref = [float(mp.log1p(x**2) / 2) for x in ref]
    np.testing.assert_allclose(sig, [float(x) for x in ref], rtol=1e-10)
    np.testing.assert_allclose(t, tref, rtol=1e-12)
    assert np.all(np.isfinite(t)) and np.all(np.diff(t) < 0)
    assert sig[0] == e.sigma_max and sig[-1] == e.sigma_min


def test_edm_default_levels_unchanged_form():
    sig = [float(x) for x in _karras(18)]
    np.testing.assert_allclose(EDMSampler().sigmas, sig, rtol=1e-14)


# ---------------------------------------------------------------- 14: β's that look like ᾱ
def test_decreasing_betas_have_a_way_through():
    with pytest.raises(RegimesError, match="DiscreteSchedule.from_betas"):
        get_schedule([0.6, 0.5, 0.4])
    s = DiscreteSchedule.from_betas([0.6, 0.5, 0.4])
    hand = [-0.5 * math.log1p(-0.6), -0.5 * (math.log1p(-0.6) + math.log1p(-0.5)),
            -0.5 * (math.log1p(-0.6) + math.log1p(-0.5) + math.log1p(-0.4))]
    np.testing.assert_allclose(s.times, hand, rtol=1e-15)
    # the CLI route the message names: the same schedule from its ᾱ_k = Π(1 − β)
    ac = DiscreteSchedule.from_alphas_cumprod(np.cumprod([0.4, 0.5, 0.6]))
    np.testing.assert_allclose(ac.times, hand, rtol=1e-14)
    with pytest.raises(RegimesError, match="betas must be < 1 except the last"):
        DiscreteSchedule.from_betas([1.0, 0.5])


# ---------------------------------------------------------------- 15: t = ∞ on every sampler, EDM's N
def test_t_infinity_is_handled_alike():
    from regimes.schedule_forms import SamplerSteps

    inf = math.inf
    assert step_at_time("flow", inf) == 999  # zero terminal SNR: the last step is at t = ∞
    assert step_at_time("linear", inf, beyond="none") is None
    with pytest.raises(RegimesError, match="beyond the last step"):
        step_at_time("linear", inf)
    assert EDMSampler().step_at_time(inf) is None
    assert SamplerSteps(get_schedule("linear"), 10).step_at_time(inf) is None
    assert SamplerSteps(get_schedule("flow"), 10, "trailing").step_at_time(inf) == 0
    with pytest.raises(RegimesError, match="t must be a number"):
        EDMSampler().step_at_time(math.nan)


def test_times_labels_edm_with_n(run_cli):
    rc, out, err = run_cli("times", "--n", 4000, "--d", 1024, "-L", 1025, "-s", "edm")
    assert rc == 0 and "(edm, N=18)" in out and "T=18" not in out
    rc, out, err = run_cli("timeline", "-s", "edm")
    assert rc == 0 and "(edm, N = 18)" in out


# ---------------------------------------------------------------- 16, 17: phase-diagram nd
def test_nd_separation_and_eigenvalue_name_the_flags(run_cli):
    err = _one_line_error(run_cli, "phase-diagram", "nd", "--separation", 1, "--eigenvalue", 3)
    assert "--separation" in err and "-L/--eigenvalue" in err and "at most one" in err


def test_nd_without_speciation_is_null_without_warning(run_cli):
    j, err = _json(run_cli, "phase-diagram", "nd", "--eigenvalue", 0.5, "--points", 4)
    assert err == "" and j["t_S"] == [None] * 4  # ½ ln 0.5 < 0: no speciation anywhere
    assert any("Λ <= 1" in x for x in j["notes"])
    s, err_s = _json(run_cli, "speciation", "-L", 0.5)
    assert err_s == "" and s["t_S"] is None
    k, _ = _json(run_cli, "phase-diagram", "nd", "--eigenvalue", 30, "--points", 4)
    assert k["t_S"] == [0.5 * math.log(30)] * 4


def test_edm_sampler_replace_like_the_other_parameter_objects():
    """docs/architecture.md: every frozen parameter object has ``replace(**changes)`` (validated)."""
    from regimes import RegimesError
    from regimes.schedules import EDMSampler

    e = EDMSampler()
    f = e.replace(steps=10, sigma_max=40.0)
    assert (f.steps, f.sigma_max, e.steps) == (10, 40.0, 18) and f.sigmas[0] == 40.0
    with pytest.raises(RegimesError, match="rho must be > 0"):
        e.replace(rho=-1.0)


def test_regimes_phase_is_reachable_from_the_package():
    """README lists ``regimes.phase`` among the modules reachable after ``import regimes``."""
    import regimes

    assert regimes.phase.n_star is not None



# =================================================================== third review (diffusers comparison)
# Oracles: diffusers' published definitions written out here with numpy (β = linspace(β_start, β_end, T),
# ᾱ = cumprod(1 − β), σ = √((1 − ᾱ)/ᾱ), t = ½ ln(1 + σ²) = −½ ln ᾱ; `_convert_to_karras` with ρ = 7;
# `_sigma_to_t`), never regimes' helpers.

def _np_times(betas):
    return -0.5 * np.cumsum(np.log1p(-np.asarray(betas, dtype=np.float64)))


def _np_sigmas(betas):
    ab = np.cumprod(1.0 - np.asarray(betas, dtype=np.float64))
    return np.sqrt((1.0 - ab) / ab)


def _np_karras(sigma_min, sigma_max, n, rho=7.0):
    ramp = np.linspace(0, 1, n)
    return (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho


def _np_sigma_to_t(sigma, log_sigmas):
    """diffusers' ``_sigma_to_t`` as published (cumsum/argmax form, not regimes' searchsorted)."""
    log_sigma = np.log(np.maximum(sigma, 1e-10))
    dists = log_sigma - log_sigmas[:, np.newaxis]
    low = np.cumsum(dists >= 0, axis=0).argmax(axis=0).clip(max=log_sigmas.shape[0] - 2)
    lo, hi = log_sigmas[low], log_sigmas[low + 1]
    w = np.clip((lo - log_sigma) / (lo - hi), 0, 1)
    return (1 - w) * low + w * (low + 1)


def _sd_betas(T):
    return np.linspace(0.00085**0.5, 0.012**0.5, T) ** 2


def _text(out):
    return " ".join(out.split())


# ---------------------------------------------------------------- 1: linear at T != 1000 is not diffusers'
def test_linear_at_other_T_is_labelled_and_numbers_unchanged(run_cli, tmp_path):
    T = 50
    rescaled = _np_times(np.linspace(1e-4 * 1000 / T, 0.02 * 1000 / T, T))  # improved DDPM's rule
    diffusers = _np_times(np.linspace(1e-4, 0.02, T))  # diffusers' beta_schedule "linear"
    j, _ = _json(run_cli, "schedule", "--steps", T)
    np.testing.assert_allclose([r["t"] for r in j["table"]], rescaled, rtol=1e-13)  # numbers unchanged
    note = " ".join(j["notes"])
    assert "not diffusers' beta_schedule 'linear'" in note and "--scheduler-config" in note and "1000/T" in note
    cfg = tmp_path / "ddpm50.json"
    cfg.write_text(json.dumps({"_class_name": "DDPMScheduler", "num_train_timesteps": T, "beta_schedule": "linear"}))
    c, _ = _json(run_cli, "schedule", "--scheduler-config", cfg)
    assert c["table"][-1]["t"] == pytest.approx(diffusers[-1], rel=1e-13) == pytest.approx(0.2529591776225211)
    assert "not diffusers'" not in " ".join(c["notes"])
    # every output of `schedule` on linear with T != 1000 carries the note; T = 1000 none
    for args in (("--step", 5), ("--t", 0.3), ("--sampler-steps", 5)):
        k, _ = _json(run_cli, "schedule", "--steps", T, *args)
        assert any("not diffusers' beta_schedule 'linear'" in n for n in k["notes"]), args
        rc, out, _ = run_cli("schedule", "--steps", T, *args)
        assert rc == 0 and "not diffusers' beta_schedule 'linear'" in _text(out), args
    rc, out, _ = run_cli("schedule", "--steps", T)
    assert "not diffusers' beta_schedule 'linear'" in _text(out)
    for args in ((), ("--step", 5), ("--sampler-steps", 5)):
        rc, out, _ = run_cli("schedule", *args)
        assert rc == 0 and "not diffusers'" not in out
    k, _ = _json(run_cli, "schedule", "--step", 5)
    assert not any("diffusers" in n for n in k["notes"])  # T = 1000: the direction of sampling only
    # --t/--step --json say which way sampling runs, as the table and the step listing do (EDM: its own convention)
    for args in (("--step", 5), ("--t", 0.3), ("--steps", T, "--step", 5)):
        k, _ = _json(run_cli, "schedule", *args)
        T_k = k["steps"]
        assert f"sampling runs from step {T_k - 1} (the noisiest) down to step 0 (at the data end)" in k["notes"], args
    k, _ = _json(run_cli, "schedule", "--schedule", "edm", "--step", 3)
    assert "notes" not in k and "from the noise end" in k["step_convention"]


def test_linear_help_and_small_T_refusal_say_why_and_what_to_do(run_cli):
    rc, out, _ = run_cli("schedule", "--help")
    help_text = _text(out)
    assert rc == 0 and "× 1000/T" in help_text and "not diffusers' beta_schedule 'linear'" in help_text
    assert help_text.count("--scheduler-config") >= 3  # --schedule, --steps and the option itself
    err = _one_line_error(run_cli, "schedule", "--steps", 7)
    assert "--steps must be >= 21" in err and "1000/T" in err and "2.86" in err  # 0.02·1000/7 = 2.857
    assert "--scheduler-config" in err and "--betas" in err and "linspace(1e-4, 0.02, T)" in err
    with pytest.raises(RegimesError, match=r"steps must be >= 21 .* \(scheduler_config=, betas=\)"):
        get_schedule("linear", 20)
    # the un-rescaled linear of diffusers at T = 7 is reachable through a config, as the message says
    from regimes.schedule_forms import schedule_from_diffusers_config

    s = schedule_from_diffusers_config({"_class_name": "DDPMScheduler", "num_train_timesteps": 7})
    np.testing.assert_allclose(s.times, _np_times(np.linspace(1e-4, 0.02, 7)), rtol=1e-13)


# ---------------------------------------------------------------- 2: Karras σ's replace the spaced steps
@pytest.mark.parametrize("cls", ["DPMSolverMultistepScheduler", "UniPCMultistepScheduler", "DEISMultistepScheduler"])
@pytest.mark.parametrize("T, N, offset", [(50, 50, 0), (50, 50, 1), (1000, 999, 1), (1000, 1000, 0), (7, 7, 1)])
def test_multistep_karras_with_leading_at_the_edges_is_diffusers(cls, T, N, offset):
    from regimes.schedule_forms import SamplerSteps, sampler_levels, schedule_from_diffusers_config

    cfg = {"_class_name": cls, "num_train_timesteps": T, "use_karras_sigmas": True, "timestep_spacing": "leading",
           "steps_offset": offset}
    sch = schedule_from_diffusers_config(cfg)
    # diffusers: Karras σ's between the first and last σ of the whole schedule, timesteps rounded
    sig = _np_sigmas(np.linspace(1e-4, 0.02, T))
    ks = _np_karras(sig[0], sig[-1], N)
    ts, t = sampler_levels(sch, N)
    np.testing.assert_array_equal(ts, np.round(_np_sigma_to_t(ks, np.log(sig))))
    np.testing.assert_allclose(t, 0.5 * np.log1p(ks**2), rtol=1e-12)
    # the same levels as linspace spacing gives (diffusers discards the spaced timesteps)
    lin = schedule_from_diffusers_config({**cfg, "timestep_spacing": "linspace"})
    np.testing.assert_array_equal(ts, sampler_levels(lin, N)[0])
    assert SamplerSteps(sch, N).effective_offset == 0


def test_dpm_multistep_karras_T50_N50_leading_reviewer_values():
    from regimes.schedule_forms import sampler_timesteps, schedule_from_diffusers_config

    sch = schedule_from_diffusers_config({"_class_name": "DPMSolverMultistepScheduler", "num_train_timesteps": 50,
                                          "use_karras_sigmas": True, "timestep_spacing": "leading"})
    assert sampler_timesteps(sch, 50)[:5].tolist() == [49, 46, 44, 41, 39]  # the review's expected values


def test_multistep_karras_ignores_lambda_min_clipped_trailing_shortfall():
    """Trailing spacing cut short by lambda_min_clipped is refused without Karras σ's (diffusers then runs
    fewer steps) but not with them: diffusers replaces those timesteps by N Karras ones."""
    from regimes.schedule_forms import sampler_levels, schedule_from_diffusers_config

    T, N = 1000, 500
    cfg = {"_class_name": "DPMSolverMultistepScheduler", "num_train_timesteps": T, "beta_schedule": "squaredcos_cap_v2",
           "lambda_min_clipped": -5.1, "timestep_spacing": "trailing"}
    with pytest.raises(RegimesError, match="lambda_min_clipped leaves"):
        sampler_levels(schedule_from_diffusers_config(cfg), N)
    ts, t = sampler_levels(schedule_from_diffusers_config({**cfg, "use_karras_sigmas": True}), N)
    # cosine: diffusers' betas_for_alpha_bar, written out here
    f = [math.cos((u / T + 0.008) / 1.008 * math.pi / 2) ** 2 for u in range(T + 1)]
    betas = np.array([min(1 - f[i + 1] / f[i], 0.999) for i in range(T)])
    sig = _np_sigmas(betas)
    ks = _np_karras(sig[0], sig[-1], N)
    np.testing.assert_array_equal(ts, np.floor(_np_sigma_to_t(ks, np.log(sig))))  # DPM multistep + cosine: cast
    np.testing.assert_allclose(t, 0.5 * np.log1p(ks**2), rtol=1e-9)


@pytest.mark.parametrize("cls", ["EulerDiscreteScheduler", "HeunDiscreteScheduler", "LMSDiscreteScheduler"])
def test_euler_karras_with_an_offset_beyond_the_last_step_is_diffusers(cls):
    """Euler family: σ at the spaced steps by np.interp, which clamps a step T to σ_{T−1}; Karras
    between those ends, timesteps by _sigma_to_t, unrounded (the review's T = 7: 6, 4.914, 3.932, …)."""
    from regimes.schedule_forms import sampler_levels, schedule_from_diffusers_config

    T = N = 7
    cfg = {"_class_name": cls, "num_train_timesteps": T, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
           "beta_end": 0.012, "use_karras_sigmas": True, "timestep_spacing": "leading", "steps_offset": 1}
    ts, t = sampler_levels(schedule_from_diffusers_config(cfg), N)
    sig = _np_sigmas(_sd_betas(T))
    spaced = (np.arange(N) * (T // N))[::-1].astype(np.float64) + 1  # 7, 6, …, 1: the first is beyond T − 1
    s = np.interp(spaced, np.arange(T), sig)
    ks = _np_karras(s[-1], s[0], N)
    np.testing.assert_allclose(ts, _np_sigma_to_t(ks, np.log(sig)), rtol=0, atol=1e-12)
    np.testing.assert_allclose(t, 0.5 * np.log1p(ks**2), rtol=1e-12)
    assert ts[:3] == pytest.approx([6.0, 4.91422673, 3.93193466], abs=1e-7)
    # every step at T − 1 or beyond: N copies of σ_{T−1}, refused with the reason and the bound
    with pytest.raises(RegimesError, match=r"offset 6 moves every one of the 7 leading sampler steps .* "
                                           r"allowed 0 <= offset <= 5"):
        sampler_levels(schedule_from_diffusers_config(cfg), N, offset=6)
    # without Karras σ's the timestep T itself would be used: still refused
    with pytest.raises(RegimesError, match="moves the first sampler step to training step 7"):
        sampler_levels(schedule_from_diffusers_config({**cfg, "use_karras_sigmas": False}), N)


def test_multistep_without_karras_at_N_equal_T_is_still_refused():
    from regimes.schedule_forms import sampler_levels, schedule_from_diffusers_config

    sch = schedule_from_diffusers_config({"_class_name": "DPMSolverMultistepScheduler", "num_train_timesteps": 50,
                                          "timestep_spacing": "leading"})
    with pytest.raises(RegimesError, match="n_steps must be < 50 for leading spacing"):
        sampler_levels(sch, 50)


def test_cli_schedule_with_multistep_karras_leading_at_N_equal_T(run_cli, tmp_path):
    cfg = tmp_path / "dpm.json"
    cfg.write_text(json.dumps({"_class_name": "DPMSolverMultistepScheduler", "num_train_timesteps": 50,
                               "use_karras_sigmas": True, "timestep_spacing": "leading", "steps_offset": 1}))
    j, _ = _json(run_cli, "schedule", "--scheduler-config", cfg, "--sampler-steps", 50)
    sig = _np_sigmas(np.linspace(1e-4, 0.02, 50))
    ks = _np_karras(sig[0], sig[-1], 50)
    assert [r["step"] for r in j["sampler_table"]] == np.round(_np_sigma_to_t(ks, np.log(sig))).astype(int).tolist()
    assert j["steps_offset"] == 0


# ---------------------------------------------------------------- 3: the direction of sampling
def test_schedule_states_the_sampling_direction(run_cli):
    direction = "sampling runs from step 999 (the noisiest) down to step 0 (at the data end)"
    for args in ((), ("--step", 500), ("--t", 0.5)):
        rc, out, _ = run_cli("schedule", *args)
        assert rc == 0 and direction in _text(out), args
    j, _ = _json(run_cli, "schedule")
    assert direction in j["notes"]
    j, _ = _json(run_cli, "schedule", "--sampler-steps", 10)
    assert any("down to τ_(N−1)" in n for n in j["notes"])
    rc, out, _ = run_cli("schedule", "--help")
    text = _text(out)
    assert "sampling runs from step T−1, the noisiest, down to step 0" in text
    assert "sampling runs from step T−1 (the noisiest) down to step 0" in text  # --step
    e, _ = _json(run_cli, "schedule", "-s", "edm")  # EDM counts in sampling order: its convention says so
    assert "from the noise end" in e["step_convention"] and not any("down to step 0" in n for n in e["notes"])


# ---------------------------------------------------------------- 4: CSV and JSON list every step
def _cosine_times(T, s=0.008):
    f = [math.cos((k / T + s) / (1 + s) * math.pi / 2) ** 2 for k in range(T + 1)]
    return _np_times([min(1 - f[k + 1] / f[k], 0.999) for k in range(T)])


def test_schedule_csv_writes_every_row(run_cli):
    import csv
    import io

    for T in (50, 1000):
        rc, out, _ = run_cli("schedule", "-s", "cosine", "--steps", T, "--format", "csv")
        rows = list(csv.reader(io.StringIO(out)))
        assert rc == 0 and rows[0] == ["step k", "t", "ᾱ", "σ (EDM)", "log-SNR"] and len(rows) == T + 1
        assert [int(r[0]) for r in rows[1:]] == list(range(T))
        t = np.array([float(r[1]) for r in rows[1:]])
        np.testing.assert_allclose(t, _cosine_times(T), rtol=1e-10)
        np.testing.assert_allclose([float(r[2]) for r in rows[1:]], np.exp(-2 * t), rtol=1e-14)
        np.testing.assert_allclose([float(r[3]) for r in rows[1:]], np.sqrt(np.expm1(2 * t)), rtol=1e-14)
        np.testing.assert_allclose([float(r[4]) for r in rows[1:]], -np.log(np.expm1(2 * t)), rtol=1e-12)
    # every row as the one-step query gives it, to the last digit
    j, _ = _json(run_cli, "schedule", "-s", "cosine", "--step", 581)
    assert rows[582][1:] == [repr(j[k]) for k in ("t", "alpha_bar", "sigma", "logsnr")]
    rc, out, _ = run_cli("schedule", "-s", "edm", "--steps", 100, "--format", "csv")
    assert len(out.splitlines()) == 101
    sig = np.array([float(x) for x in _karras(100)])
    np.testing.assert_allclose([float(r.split(",")[3]) for r in out.splitlines()[1:]], sig, rtol=1e-12)


def test_schedule_json_lists_every_step_and_says_when_not(run_cli, monkeypatch):
    j, _ = _json(run_cli, "schedule", "-s", "cosine", "--steps", 300)
    assert j["all_steps"] is True and len(j["table"]) == 300
    np.testing.assert_allclose([r["t"] for r in j["table"]], _cosine_times(300), rtol=1e-10)
    from regimes_cli.commands import basic

    monkeypatch.setattr(basic, "JSON_ALL_STEPS", 100)  # beyond the cap: the table's sample, flagged
    j, _ = _json(run_cli, "schedule", "-s", "cosine", "--steps", 300)
    assert j["all_steps"] is False and len(j["table"]) == 11 and "11 of the 300 steps" in j["notes"][0]
    assert "--format csv lists every step" in j["notes"][0]
