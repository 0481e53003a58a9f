"""
The DDPM step of speciation for CIFAR-10
========================================

At which step of the sampler does a diffusion model trained on CIFAR-10 decide the class of the
image it is generating? Speciation happens at the OU time ``t_S = ½ ln Λ`` where the largest
covariance eigenvalue Λ of the data equals the noise [arXiv:2402.18491]; the collapse onto
training points of an exactly learned score happens at ``t_C``. Both are mapped here onto the
steps of the usual samplers.

Caveats, stated by the preset itself: Λ = 16.72 is the value quoted for CIFAR-10 (pixels in
[0, 1], centred; one colour channel), not measured here; the per-pixel variance σ² ≈ 0.062 used
for ``t_C`` is the square of the commonly used CIFAR-10 normalisation standard deviation
(≈ 0.25 per channel). ``t_C`` is the closed form for Gaussian data of that variance — an
order-of-magnitude guide for real images (see the "Range of validity" page).
"""

import math

from regimes import collapse_time, schedule_steps, speciation_time
from regimes.plot.timeline import plot_timeline
from regimes.presets import get_preset
from regimes.schedules import EDMSampler, edm_sigma
from regimes.timeline import locate_regimes

cifar = get_preset("CIFAR-10")
variance = 0.062  # per-pixel variance of CIFAR-10 in [0, 1] units (std ≈ 0.25)
t_S = speciation_time(cifar.eigenvalue)
t_C = collapse_time(cifar.n, cifar.d, variance)
print(f"CIFAR-10: n = {cifar.n}, d = {cifar.d}, Lambda = {cifar.eigenvalue}")
print(f"t_S = {t_S:.6f}   (= 0.5 ln Lambda)")
print(f"t_C = {t_C:.6f}   (Gaussian closed form, sigma^2 = {variance})")

# %%
# Steps of the common schedules
# ------------------------------
# T = 1000; k = 0 is the data end and sampling runs k = T-1 → 0.
for name in ("linear", "cosine", "scaled-linear"):
    s = schedule_steps(t_S, t_C, name, 1000)
    print(
        f"{name:>13}: speciation at step {s['step_S']}, collapse at step {s['step_C']}"
        f"  (speciation is the {1000 - s['step_S']}-th of the 1000 sampling steps)"
    )
    for note in s["notes"]:
        print("   note:", note)

# The EDM sampler counts its N = 18 noise levels the other way, as it runs: i = 0 is sigma_max.
edm = locate_regimes(t_S, t_C, EDMSampler())
root = math.sqrt(cifar.eigenvalue - 1)
print(
    f"          EDM: sigma(t_S) = {edm_sigma(t_S):.4f} (= sqrt(Lambda - 1) = {root:.4f}),"
    f" sampler step {edm['step_S']} of {edm['steps']};"
    f" sigma(t_C) = {edm_sigma(t_C):.4f}, step {edm['step_C']}"
)

# %%
# The timeline on the DDPM clock
# ------------------------------
# Regime I (noise) for t > t_S, Regime II (class formed, not yet attached to an image) between,
# Regime III (collapse on a training image, for an exactly learned score) below t_C.
fig = plot_timeline(t_S, t_C, "linear", 1000)

# %%
# ... and on the EDM noise level
fig = plot_timeline(t_S, t_C, "edm")
