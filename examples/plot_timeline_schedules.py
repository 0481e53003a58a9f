"""
One dataset, four samplers
==========================

The regimes of the backward process are fixed in OU time ``t`` by the data alone; which *step*
they fall on depends on the schedule. Here the built-in two-class Gaussian mixture of
``regimes analyze`` (n = 4000 points in d = 1024, class means ±m with m̃ = 1, σ² = 1, so that
Λ = d m̃² + σ² = 1025) is placed on the DDPM linear, cosine and Stable-Diffusion scaled-linear
schedules (T = 1000) and on the EDM sampler's noise levels. Scaled-linear stops at t ≈ 2.68:
speciation at t_S ≈ 3.47 happens before its first sampling step.
"""

import os

from regimes import GaussianMixture
from regimes.plot.timeline import plot_timeline
from regimes.schedules import get_sampler
from regimes.timeline import locate_regimes

SMALL = os.environ.get("REGIMES_EXAMPLE_SMALL") == "1"
model = GaussianMixture(n=4000, d=1024, separation=1.0, variance=1.0)
t_S, t_C = model.speciation_time(), model.collapse_time()
print(f"t_S = {t_S:.6f}, t_C = {t_C:.6f}")

schedules = ["linear", "cosine", "scaled-linear", "edm"]
for name in schedules:
    # a DiscreteSchedule (T = 1000) or the EDMSampler (N = 18): one interface, one call
    tl = locate_regimes(t_S, t_C, get_sampler(name))
    print(
        f"{name:>13} ({tl['steps']} steps, noisiest t = {tl['t_max']:.3f}): "
        f"step_S = {tl['step_S']}, step_C = {tl['step_C']}"
    )
    for note in tl["notes"]:
        print("   note:", note)

# %%
# The figures: one per schedule, same OU-time axis, different step axis on top.
for name in schedules[:2] if SMALL else schedules:
    fig = plot_timeline(t_S, t_C, name, t_max=5.2 if name != "cosine" else None)
