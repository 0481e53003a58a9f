"""Every schedule form gives the same answer; sampler steps as diffusers spaces them; zero terminal SNR."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from regimes import RegimesError
from regimes.schedule_forms import (
    SamplerSteps,
    rescale_zero_terminal_snr,
    sampler_timesteps,
    schedule_from_diffusers_config,
)
from regimes.schedules import DiscreteSchedule, get_schedule
from regimes.timeline import locate_regimes

DDPM = {"beta_schedule": "linear", "beta_start": 1e-4, "beta_end": 0.02, "num_train_timesteps": 1000}
SD = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "num_train_timesteps": 1000}
COS = {"beta_schedule": "squaredcos_cap_v2", "num_train_timesteps": 1000}


def cli(*args):
    from regimes_cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("cfg,name", [(DDPM, "linear"), (SD, "scaled-linear"), (COS, "cosine")])
def test_config_equal_to_named_schedule(cfg, name):
    a, b = schedule_from_diffusers_config(cfg), get_schedule(name)
    assert a.name == name
    assert np.array_equal(a.betas, b.betas) and np.array_equal(a.times, b.times)


def test_config_file_and_folder(tmp_path):
    (tmp_path / "scheduler").mkdir()
    (tmp_path / "scheduler" / "scheduler_config.json").write_text(json.dumps({**SD, "_class_name": "PNDMScheduler",
                                                                              "steps_offset": 1}))
    s = schedule_from_diffusers_config(tmp_path)
    assert s.name == "scaled-linear" and s.steps_offset == 1 and s.timestep_spacing is None
    assert list(sampler_timesteps(s, 50)[:2]) == [981, 961]  # leading + the config's offset


def test_trained_betas_and_alphas_cumprod_round_trip():
    lin = get_schedule("linear")
    tb = schedule_from_diffusers_config({"trained_betas": lin.betas.tolist()})
    assert np.array_equal(tb.times, lin.times)
    ac = DiscreteSchedule.from_alphas_cumprod(np.cumprod(1 - lin.betas))
    np.testing.assert_allclose(ac.times, lin.times, rtol=1e-12)
    t = np.linspace(0.01, 5.0, 400)
    assert np.array_equal(ac.step_at_time(t), lin.step_at_time(t))


def test_alphas_cumprod_passed_as_betas_is_rejected():
    ac = np.cumprod(1 - get_schedule("scaled-linear").betas)
    with pytest.raises(RegimesError, match="look like alphas_cumprod"):
        get_schedule(ac)
    with pytest.raises(RegimesError, match="look like betas"):
        DiscreteSchedule.from_alphas_cumprod(get_schedule("linear").betas)


def test_zero_terminal_snr_is_lin_et_al():
    b = get_schedule("scaled-linear").betas
    z = rescale_zero_terminal_snr(b)
    # Lin et al. (arXiv 2305.08891), Algorithm 1: √ᾱ shifted so the last is 0, scaled so the first is kept
    s = np.sqrt(np.cumprod(1 - b))
    expect = ((s - s[-1]) * s[0] / (s[0] - s[-1])) ** 2
    np.testing.assert_allclose(np.cumprod(1 - z), expect, rtol=1e-10, atol=1e-300)
    assert z[-1] == 1.0 and np.isclose(np.cumprod(1 - z)[0], s[0] ** 2, rtol=1e-12)
    sch = schedule_from_diffusers_config({**SD, "rescale_betas_zero_snr": True})
    assert sch.name == "scaled-linear-zsnr" and sch.t_max == np.inf
    assert sch.step_at_time(50.0) == 999  # every finite t has a step
    loc = locate_regimes(6.0, 1.0, sch)
    assert sch.times[loc["step_S"]] >= 6.0 > sch.times[loc["step_S"] - 1] and not loc["notes"]


def _diffusers_spacing(T, N, spacing, offset=0):
    """diffusers' set_timesteps, written out from its documented definition."""
    if spacing == "leading":
        ratio = T // N
        return [i * ratio + offset for i in range(N)][::-1]
    if spacing == "trailing":
        return [int(round(x)) - 1 for x in np.arange(T, 0, -T / N)][:N]
    return [int(round(x)) for x in np.linspace(0, T - 1, N)][::-1]


@pytest.mark.parametrize("N", [1, 7, 10, 25, 50, 333, 1000])
@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
def test_sampler_timesteps_match_diffusers(N, spacing):
    got = sampler_timesteps("linear", N, spacing, offset=1 if spacing == "leading" and N < 1000 else 0)
    want = _diffusers_spacing(1000, N, spacing, 1 if spacing == "leading" and N < 1000 else 0)
    assert got.tolist() == want


def test_sampler_timesteps_known_values():
    assert sampler_timesteps("linear", 50, "leading", 1).tolist()[:3] == [981, 961, 941]
    assert sampler_timesteps("linear", 50, "trailing").tolist()[[0, -1][0]] == 999
    assert sampler_timesteps("linear", 50, "trailing").tolist()[-1] == 19
    assert sampler_timesteps("linear", 50, "linspace").tolist()[:3] == [999, 979, 958]
    with pytest.raises(RegimesError, match="beyond the schedule's last step"):
        sampler_timesteps("linear", 50, "leading", 30)
    with pytest.raises(RegimesError, match="n_steps must be <="):
        sampler_timesteps("linear", 1001)


def test_sampler_step_of_a_time():
    ss = SamplerSteps(get_schedule("linear"), 50, "leading")
    tau = ss.timesteps
    lin = get_schedule("linear")
    for t in (0.3, 1.0, 2.1, 4.0):
        i = ss.step_at_time(t)
        assert lin.times[tau[i]] >= t  # sampler step i starts at or above t ...
        assert i == 49 or lin.times[tau[i + 1]] < t  # ... and the next one below: crossed during step i
    assert ss.step_at_time(5.05) is None  # before the first sampler step (τ_0 = 980)
    assert ss.step_at_time(0.0) == 49


def _write(path, arr):
    if path.suffix == ".npy":
        np.save(path, arr)
    else:
        path.write_text("\n".join(repr(float(x)) for x in arr) + "\n")
    return path


def test_every_form_gives_the_same_times_json(tmp_path):
    lin = get_schedule("linear")
    forms = [
        ["--schedule", "linear"],
        ["--betas", _write(tmp_path / "b.npy", lin.betas)],
        ["--betas", _write(tmp_path / "b.txt", lin.betas)],
        ["--alphas-cumprod", _write(tmp_path / "a.csv", np.cumprod(1 - lin.betas))],
        ["--scheduler-config", _write_cfg(tmp_path / "c.json", DDPM)],
    ]
    base = ["times", "--n", 50000, "--d", 3072, "--eigenvalue", 66.88, "--variance", 0.25,
            "--sampler-steps", 50, "--json"]
    outs = []
    for f in forms:
        rc, out, err = cli(*base, *f)
        assert rc == 0, err
        outs.append(json.loads(out))
    keys = ("step_S", "step_C", "sampler_step_S", "sampler_step_C", "sampler_timesteps", "regimes")
    for o in outs[1:]:
        assert {k: o[k] for k in keys} == {k: outs[0][k] for k in keys}
    assert outs[0]["timestep_spacing"] == "leading" and "noisiest" in outs[0]["sampler_step_convention"]


def _write_cfg(path, cfg):
    path.write_text(json.dumps(cfg))
    return path


@pytest.mark.parametrize("cmd", [["schedule", "--t", 1.0], ["timeline"],
                                 ["times", "--n", 1000, "--d", 100, "--eigenvalue", 30]])
def test_edm_and_config_reach_every_command(cmd, tmp_path):
    cfg = _write_cfg(tmp_path / "c.json", SD)
    rc, out, err = cli(*cmd, "--scheduler-config", cfg, "--sampler-steps", 30, "--timestep-spacing", "trailing",
                       "--json")
    assert rc == 0, err
    payload = json.loads(out)
    assert payload["schedule"] == "scaled-linear"
    assert any(k.startswith("sampler_step") for k in payload)
    rc, out, err = cli(*cmd, "--schedule", "edm", "--json")
    assert rc == 0, err
    assert json.loads(out)["schedule"] == "edm"


@pytest.mark.parametrize("args,msg", [
    (["--schedule", "linear", "--betas", "X"], "--schedule, --betas"),
    (["--betas", "nope.npy"], "--betas: no such file"),
    (["--timestep-spacing", "leading"], "--timestep-spacing needs --sampler-steps"),
    (["--sampler-steps", 50, "--timestep-spacing", "middle"], "--timestep-spacing must be one of"),
    (["--schedule", "edm", "--sampler-steps", 10], "--sampler-steps applies to a discrete schedule"),
    (["--sampler-steps", 2000], "--sampler-steps must be <="),
    (["--schedule", "quadratic"], "--schedule must be one of"),
    (["--alphas-cumprod", "AC", "--steps", 500], "--steps applies to a named --schedule only"),
])
def test_bad_schedule_options_exit_2_with_one_line(args, msg, tmp_path):
    args = [a if a != "AC" else _write(tmp_path / "a.npy", np.cumprod(1 - get_schedule("linear").betas))
            for a in args]
    rc, out, err = cli("times", "--n", 1000, "--d", 100, "--eigenvalue", 30, *args)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and msg in err, err


def test_alphas_cumprod_as_betas_on_the_cli(tmp_path):
    f = _write(tmp_path / "ac.npy", np.cumprod(1 - get_schedule("linear").betas))
    rc, out, err = cli("schedule", "--betas", f, "--t", 1.0)
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "--alphas-cumprod" in err


def test_analyze_library_takes_edm_and_sampler_steps():
    from regimes.timeline import regime_steps, schedule_steps

    s = schedule_steps(2.1, 1.8, "linear", sampler_steps=50)
    assert s["sampler_steps"] == 50 and s["sampler_step_S"] == 16
    r = regime_steps(2.1, 1.8, "edm")
    assert r[0]["step_min"] == 0  # EDM counts from the noise end: Regime I holds the first levels


def test_vp_sde_and_flow_named_schedules_match_their_continuous_time_maps():
    # step k sits at s_k = (k+1)/T of the VP-SDE, t = ½β_min s + ¼(β_max − β_min)s², and at
    # τ_k = (k+1)/T of a rectified flow, t = ½ ln(1 + τ²/(1 − τ)²); the flow's last step is pure noise
    import math

    import numpy as np

    from regimes.schedules import get_schedule

    T = 1000
    s = (np.arange(T) + 1) / T
    vp = get_schedule("vp-sde", T)
    np.testing.assert_allclose(vp.times, 0.5 * 0.1 * s + 0.25 * (20 - 0.1) * s**2, rtol=1e-13)
    fl = get_schedule("flow", T)
    tau = s[:-1]
    np.testing.assert_allclose(fl.times[:-1], 0.5 * np.log1p(tau**2 / (1 - tau) ** 2), rtol=1e-13)
    assert math.isinf(fl.t_max)
    # which step is t_S = 2.1: τ = σ/(1 + σ), σ = √expm1(2t), first k with τ_k ≥ τ
    sig = math.sqrt(math.expm1(4.2))
    assert fl.step_at_time(2.1) == math.ceil(T * sig / (1 + sig)) - 1


def test_times_accepts_the_continuous_schedules(run_cli):
    import json

    for name in ("vp-sde", "flow"):
        rc, out, err = run_cli("times", "--preset", "cifar10", "--schedule", name, "--json")
        assert rc == 0, err
        assert json.loads(out)["schedule"] == name


def test_alphas_cumprod_far_from_one_are_not_mistaken_for_alphas_cumprod_passed_as_betas():
    """ᾱ = [0.4, 0.3, 0.25] give β = [0.6, 0.25, 1/6], which decrease from above 0.5: the guess
    "these β look like ᾱ" is for β the user gives, not for β derived from ᾱ."""
    from regimes.schedules import DiscreteSchedule

    sch = DiscreteSchedule.from_alphas_cumprod([0.4, 0.3, 0.25])
    np.testing.assert_allclose(sch.betas, [0.6, 0.25, 1 / 6], rtol=1e-15)
    np.testing.assert_allclose(np.cumprod(1 - sch.betas), [0.4, 0.3, 0.25], rtol=1e-15)
    with pytest.raises(RegimesError, match="look like alphas_cumprod"):
        DiscreteSchedule("user", [0.6, 0.25, 1 / 6])


def test_step_limits_name_the_config_key_and_print_integers():
    from regimes.schedule_forms import schedule_from_diffusers_config
    from regimes.schedules import check_steps

    with pytest.raises(RegimesError, match=r"scheduler config num_train_timesteps must be <= 10000000 .*got "
                                           r"100000000000$"):
        schedule_from_diffusers_config({"num_train_timesteps": 10**11})
    with pytest.raises(RegimesError, match=r"a schedule of 10000001 steps would need .*got 10000001$"):
        check_steps(10_000_001)


def test_sampler_step_at_time_with_the_edm_sampler_says_why():
    from regimes.schedule_forms import sampler_step_at_time
    from regimes.schedules import get_sampler

    with pytest.raises(RegimesError, match="sampler steps apply to a discrete schedule"):
        sampler_step_at_time(get_sampler("edm"), 1.0, 10)
