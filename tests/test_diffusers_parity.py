"""Parity of the scheduler-config reading and the sampler steps with diffusers.

The literal reference values below were produced by diffusers 0.42.1 (PyPI wheel, torch CPU):
``<Class>.from_config(cfg).set_timesteps(N)`` then ``scheduler.timesteps`` / ``scheduler.sigmas``,
and ``scheduler.alphas_cumprod`` of the constructed scheduler. CI has neither diffusers nor torch;
``test_against_installed_diffusers`` compares many configs directly where diffusers is installed.
"""

import itertools
import math

import numpy as np
import pytest

from regimes import RegimesError
from regimes.schedule_forms import SamplerSteps, sampler_timesteps, schedule_from_diffusers_config

SD = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "steps_offset": 1}


def _steps(cls, n, **cfg):
    return SamplerSteps(schedule_from_diffusers_config({"_class_name": cls, **SD, **cfg}), n)


def _sigmas(ss):
    return np.sqrt(np.expm1(2.0 * np.asarray(ss.times)))


# --- DPMSolverMultistepScheduler / UniPCMultistepScheduler: N + 1 points, the last dropped ------------

def test_dpm_multistep_linspace_and_leading():
    # diffusers 0.42.1 DPMSolverMultistepScheduler, SD 1.5 betas, steps_offset 1, set_timesteps(20)
    lin = [999, 949, 899, 849, 799, 749, 699, 649, 599, 549, 500, 450, 400, 350, 300, 250, 200, 150, 100, 50]
    lead = [941, 894, 847, 800, 753, 706, 659, 612, 565, 518, 471, 424, 377, 330, 283, 236, 189, 142, 95, 48]
    assert _steps("DPMSolverMultistepScheduler", 20, timestep_spacing="linspace").timesteps.tolist() == lin
    assert _steps("DPMSolverMultistepScheduler", 20, timestep_spacing="leading").timesteps.tolist() == lead
    assert _steps("DPMSolverMultistepScheduler", 20).timesteps.tolist() == lin  # its default: linspace


def test_unipc_default_linspace():
    # diffusers 0.42.1 UniPCMultistepScheduler, SD betas, set_timesteps(10)
    ref = [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]
    assert _steps("UniPCMultistepScheduler", 10).timesteps.tolist() == ref


# --- DPMSolverSinglestepScheduler: no timestep_spacing --------------------------------------------------

def test_dpm_singlestep_ignores_spacing_like_diffusers():
    # diffusers 0.42.1 DPMSolverSinglestepScheduler, SD betas, timestep_spacing "leading" (ignored), N = 20
    ref = [999, 949, 899, 849, 799, 749, 699, 649, 599, 549, 500, 450, 400, 350, 300, 250, 200, 150, 100, 50]
    ss = _steps("DPMSolverSinglestepScheduler", 20, timestep_spacing="leading")
    assert ss.timesteps.tolist() == ref
    assert ss.effective_offset == 0 and ss.spacing == "linspace"
    assert "diffusers ignores it" in ss.spacing_note and "DDIM" not in ss.spacing_note
    assert "DDPMScheduler's and DDIMScheduler's default" not in (_steps("DPMSolverSinglestepScheduler", 20).spacing_note
                                                                or "")
    with pytest.raises(RegimesError, match="has no timestep_spacing"):
        SamplerSteps(ss.schedule, 20, "trailing")


# --- use_karras_sigmas ---------------------------------------------------------------------------------

KARRAS_SIGMAS = [14.6146, 9.10294, 5.4784, 3.16861, 1.74942, 0.914077, 0.446921, 0.2014, 0.0819111, 0.0291675]


def test_karras_dpm_multistep():
    # diffusers 0.42.1 DPMSolverMultistepScheduler, SD betas, leading, use_karras_sigmas, N = 10
    ss = _steps("DPMSolverMultistepScheduler", 10, timestep_spacing="leading", use_karras_sigmas=True)
    assert ss.timesteps.tolist() == [999, 916, 815, 687, 523, 327, 146, 41, 7, 0]
    np.testing.assert_allclose(_sigmas(ss), KARRAS_SIGMAS, rtol=2e-5)


def test_karras_euler_fractional_timesteps():
    # diffusers 0.42.1 EulerDiscreteScheduler, SD betas, use_karras_sigmas, N = 10 (timesteps kept fractional)
    ref = [999.0, 916.2841, 815.045, 687.1533, 523.199, 327.1472, 145.9391, 40.8569, 6.7324, 0.0]
    ss = _steps("EulerDiscreteScheduler", 10, use_karras_sigmas=True)
    np.testing.assert_allclose(ss.exact_timesteps, ref, atol=2e-3)
    np.testing.assert_allclose(_sigmas(ss), KARRAS_SIGMAS, rtol=2e-5)
    assert ss.timesteps.tolist() == [999, 916, 815, 687, 523, 327, 146, 41, 7, 0]


def test_euler_linspace_interpolates_sigma():
    # diffusers 0.42.1 EulerDiscreteScheduler, SD betas, linspace, N = 20: the first 8 timesteps and σ's
    ts = [999.0, 946.4211, 893.8421, 841.2632, 788.6842, 736.1053, 683.5263, 630.9474]
    sig = [14.6146, 10.7469, 8.08154, 6.20495, 4.85567, 3.86538, 3.12377, 2.55717]
    ss = _steps("EulerDiscreteScheduler", 20)
    np.testing.assert_allclose(ss.exact_timesteps[:8], ts, atol=1e-3)
    np.testing.assert_allclose(_sigmas(ss)[:8], sig, rtol=2e-5)
    assert ss.timesteps[1] == 946  # rounded for display


# --- per-class β defaults, zero SNR ---------------------------------------------------------------------

def test_heun_default_betas():
    # diffusers 0.42.1 HeunDiscreteScheduler() alphas_cumprod[0, 1, 499, 999] (linear 0.00085 … 0.012)
    sch = schedule_from_diffusers_config({"_class_name": "HeunDiscreteScheduler"})
    np.testing.assert_allclose(sch.alpha_bars[[0, 1, 499, 999]], [0.99915, 0.9982895, 0.1618122, 0.001578963],
                               rtol=2e-6)


def test_lcm_default_betas_are_scaled_linear():
    sch = schedule_from_diffusers_config({"_class_name": "LCMScheduler"})
    assert sch.name == "scaled-linear"


def test_euler_zero_snr_floor():
    # diffusers 0.42.1 EulerDiscreteScheduler(rescale_betas_zero_snr=True, SD betas): alphas_cumprod[-1] = 2**-24,
    # alphas_cumprod[-2] = 1.9679634e-07, sigmas[0] = 4096 after set_timesteps(10)
    sch = schedule_from_diffusers_config({"_class_name": "EulerDiscreteScheduler", **SD,
                                          "rescale_betas_zero_snr": True})
    assert sch.alpha_bars[-1] == pytest.approx(2.0**-24, rel=1e-12)
    assert sch.alpha_bars[-2] == pytest.approx(1.9679634e-07, rel=1e-4)
    assert sch.t_max == pytest.approx(0.5 * math.log(2.0**24), rel=1e-9)  # 8.318, not inf
    ss = SamplerSteps(sch, 10)
    assert _sigmas(ss)[0] == pytest.approx(4096.0, rel=1e-6)
    assert ss.step_at_time(math.inf) is None
    # DDIM keeps ᾱ_{T-1} = 0
    ddim = schedule_from_diffusers_config({"_class_name": "DDIMScheduler", **SD, "rescale_betas_zero_snr": True})
    assert ddim.alpha_bars[-1] == 0.0 and math.isinf(ddim.t_max)


def test_zero_snr_dropped_for_classes_without_it():
    sch = schedule_from_diffusers_config({"_class_name": "HeunDiscreteScheduler", **SD, "rescale_betas_zero_snr": True})
    assert sch.name == "scaled-linear" and not sch.name.endswith("zsnr")
    ss = SamplerSteps(sch, 10)
    assert "rescale_betas_zero_snr is not a HeunDiscreteScheduler parameter" in ss.spacing_note


def test_laplace_and_exp_beta_schedules():
    # diffusers 0.42.1 DDPMScheduler(beta_schedule="laplace") and HeunDiscreteScheduler(beta_schedule="exp"):
    # alphas_cumprod[0, 250, 500, 999]
    lap = schedule_from_diffusers_config({"_class_name": "DDPMScheduler", "beta_schedule": "laplace"})
    np.testing.assert_allclose(lap.alpha_bars[[0, 250, 500, 999]], [0.9788463, 0.7654328, 0.7072834, 0.03162277],
                               rtol=2e-6)
    exp = schedule_from_diffusers_config({"_class_name": "HeunDiscreteScheduler", "beta_schedule": "exp"})
    np.testing.assert_allclose(exp.alpha_bars[[0, 250, 500, 999]], [0.9880717, 0.04919353, 0.002449218, 6.144379e-06],
                               rtol=5e-5)  # diffusers' float32 cumprod


@pytest.mark.parametrize("cls, kind", [("DDIMScheduler", "sigmoid"), ("EulerDiscreteScheduler", "laplace"),
                                       ("DDPMScheduler", "exp"), ("PNDMScheduler", "cubic")])
def test_beta_schedule_not_implemented_by_class(cls, kind):
    with pytest.raises(RegimesError) as exc:
        schedule_from_diffusers_config({"_class_name": cls, "beta_schedule": kind})
    msg = str(exc.value)
    assert "\n" not in msg and "beta_schedule" in msg and repr(kind) in msg and cls in msg


# --- PNDM -----------------------------------------------------------------------------------------------

def test_pndm_prk_warm_up():
    # diffusers 0.42.1 PNDMScheduler (skip_prk_steps False, its default), SD betas, N = 10:
    ref = [901, 851, 851, 801, 801, 751, 751, 701, 701, 651, 651, 601, 601, 501, 401, 301, 201, 101, 1]
    ss = _steps("PNDMScheduler", 10)
    midpoints = {851, 751, 651}
    assert sorted(set(ref) - midpoints, reverse=True) == ss.timesteps.tolist()
    assert "Runge–Kutta" in ss.spacing_note
    with pytest.raises(RegimesError, match="n_steps must be >= 4"):
        _steps("PNDMScheduler", 3)
    assert _steps("PNDMScheduler", 3, skip_prk_steps=True).timesteps.tolist() == [667, 334, 1]


# --- options that are not reproduced: one-line errors ----------------------------------------------------

@pytest.mark.parametrize("cls, key, value", [
    ("EulerDiscreteScheduler", "use_exponential_sigmas", True),
    ("DPMSolverMultistepScheduler", "use_beta_sigmas", True),
    ("DPMSolverMultistepScheduler", "use_lu_lambdas", True),
    ("EulerDiscreteScheduler", "interpolation_type", "log_linear"),
    ("UniPCMultistepScheduler", "use_flow_sigmas", True),
    ("EulerDiscreteScheduler", "final_sigmas_type", "denoise_to_zero"),
])
def test_unsupported_option_is_a_one_line_error(cls, key, value):
    sch = schedule_from_diffusers_config({"_class_name": cls, **SD, key: value})  # the schedule itself is fine
    with pytest.raises(RegimesError) as exc:
        SamplerSteps(sch, 10)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("scheduler config") and f"{key} = {value!r}" in msg
    assert "supported" in msg


def test_continuous_v_prediction_and_lcm_refused():
    sch = schedule_from_diffusers_config({"_class_name": "EulerDiscreteScheduler", **SD,
                                          "timestep_type": "continuous", "prediction_type": "v_prediction"})
    with pytest.raises(RegimesError, match="timestep_type = 'continuous'"):
        SamplerSteps(sch, 10)
    with pytest.raises(RegimesError, match="LCMScheduler"):
        SamplerSteps(schedule_from_diffusers_config({"_class_name": "LCMScheduler"}), 4)


def test_option_of_another_class_is_ignored_like_diffusers():
    # DDIMScheduler has no use_karras_sigmas: diffusers drops the key
    sch = schedule_from_diffusers_config({"_class_name": "DDIMScheduler", **SD, "use_karras_sigmas": True})
    assert sampler_timesteps(sch, 10).tolist() == [901, 801, 701, 601, 501, 401, 301, 201, 101, 1]


def test_cli_names_the_flag(run_cli, tmp_path):
    import json

    path = tmp_path / "scheduler_config.json"
    path.write_text(json.dumps({"_class_name": "EulerDiscreteScheduler", **SD, "use_beta_sigmas": True}))
    rc, out, err = run_cli("schedule", "--scheduler-config", str(path), "--sampler-steps", "10")
    assert rc != 0
    assert "--scheduler-config" in err + out and "use_beta_sigmas = True" in err + out


# --- direct comparison with an installed diffusers -------------------------------------------------------

def _diffusers_base_levels(cls, sch):
    """The N distinct timesteps and σ's of a diffusers scheduler after set_timesteps(N)."""
    ts = sch.timesteps.double().numpy()
    sig = sch.sigmas.double().numpy()
    if cls in ("HeunDiscreteScheduler", "KDPM2DiscreteScheduler", "KDPM2AncestralDiscreteScheduler"):
        return ts[::2], sig[::2]  # repeated (Heun) or interleaved midpoints (KDPM2)
    return ts, sig


def test_against_installed_diffusers():
    diffusers = pytest.importorskip("diffusers")
    classes = ["EulerDiscreteScheduler", "HeunDiscreteScheduler", "LMSDiscreteScheduler", "KDPM2DiscreteScheduler",
               "DPMSolverMultistepScheduler", "UniPCMultistepScheduler", "DEISMultistepScheduler",
               "DPMSolverSinglestepScheduler"]
    n_cases = 0
    for cls, spacing, karras, n in itertools.product(classes, ["linspace", "leading", "trailing"], [False, True],
                                                     [1, 4, 10, 20, 50]):
        cfg = {"_class_name": cls, **SD, "timestep_spacing": spacing, "use_karras_sigmas": karras}
        ref = getattr(diffusers, cls).from_config(cfg)
        ref.set_timesteps(n)
        ts, sig = _diffusers_base_levels(cls, ref)
        ss = SamplerSteps(schedule_from_diffusers_config(cfg), n)
        # SD betas: no timestep falls within float32 noise of a rounding tie for these N
        np.testing.assert_allclose(ss.exact_timesteps, ts[:n], atol=2e-3, err_msg=f"{cls} {spacing} {karras} {n}")
        np.testing.assert_allclose(ss.times, 0.5 * np.log1p(sig[:n] ** 2), atol=2e-5, rtol=0)
        np.testing.assert_allclose(ss.schedule.alpha_bars, ref.alphas_cumprod.double().numpy(), rtol=2e-5)
        n_cases += 1
    assert n_cases == 240


def test_schedule_sampler_table_uses_the_sampler_levels(run_cli, tmp_path):
    """`regimes schedule --sampler-steps` shows diffusers' own (fractional) timesteps and the σ
    interpolated there, not those of the rounded training step. diffusers 0.42.1,
    EulerDiscreteScheduler (scaled_linear 0.00085–0.012, linspace), set_timesteps(7)."""
    import json as _json

    path = tmp_path / "euler.json"
    path.write_text(_json.dumps({"_class_name": "EulerDiscreteScheduler", "beta_schedule": "scaled_linear",
                                 "beta_start": 0.00085, "beta_end": 0.012, "timestep_spacing": "linspace"}))
    rc, out, err = run_cli("schedule", "--scheduler-config", path, "--sampler-steps", "7", "--json")
    assert rc == 0, err
    rows = _json.loads(out)["sampler_table"]
    assert [r["step"] for r in rows] == [999, 832.5, 666, 499.5, 333, 166.5, 0]
    sigmas = [14.614646911621094, 5.948918342590332, 2.9183084964752197, 1.6155834197998047,
              0.9323583841323853, 0.49355348944664, 0.02916753478348255]
    # diffusers computes in float32: 4e-7 relative, 1.3e-5 at the last level (1 − ᾱ = 8.5e-4 in float32)
    assert [r["sigma"] for r in rows] == pytest.approx(sigmas, rel=2e-5)
