"""
Analyse a folder of images
==========================

Point :func:`regimes.load_dataset` at a folder of images (one sub-folder per class) and measure
the speciation time ``t_S = ½ ln Λ`` and the collapse time ``t_C`` of the exactly learned score,
with intervals, then draw the curves ``f^e(t)/α``, ``φ_C(t)``, ``φ(t)`` and the regime timeline
[arXiv:2402.18491].

To stay self-contained (nothing is downloaded) the script first writes a small synthetic
two-class image set into a temporary folder: 16×16 grey-scale pictures, a bright blob on the left
for class ``left`` and on the right for class ``right``, plus pixel noise. Replace ``folder`` by
your own data (PNG/JPEG, same size or ``size=(w, h)``).
"""

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

import regimes

SMALL = os.environ.get("REGIMES_EXAMPLE_SMALL") == "1"  # the test suite runs the small version
per_class = 60 if SMALL else 400

# %%
# A synthetic image folder
# ------------------------
# Pixels are 8-bit; ``scale="unit"`` maps them to [0, 1], the units most image diffusion models
# are trained in (Λ and σ² depend on the units: rescaling by c multiplies Λ by c²).
rng = np.random.default_rng(0)
yy, xx = np.mgrid[0:16, 0:16]
folder = Path(tempfile.mkdtemp(prefix="regimes-images-"))
for label, cx in (("left", 4.5), ("right", 11.5)):
    (folder / label).mkdir()
    blob = np.exp(-((xx - cx) ** 2 + (yy - 7.5) ** 2) / 8.0)
    for i in range(per_class):
        img = 70 + 150 * blob * rng.uniform(0.7, 1.3) + rng.normal(0, 25, blob.shape)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / label / f"{i:04d}.png")

data = regimes.load_dataset(folder, scale="unit", grayscale=True, samples=64 if SMALL else 512)
print(f"loaded n = {data.n} images of d = {data.d} pixels, units: {data.units}")

# %%
# Speciation, collapse and where they fall on the DDPM schedule
# -------------------------------------------------------------
result = data.analyze(bootstrap=20 if SMALL else 200, eigen_bootstrap=0 if SMALL else 10)
r = result.to_dict()
print(f"Lambda = {r['eigenvalue']['value']:.6g}  (largest covariance eigenvalue)")
print(f"t_S = {r['t_S']['value']:.6g}")
print(f"t_C = {result.headline_t_C:.6g}  (phi_C = 1/2 crossing)")
print(f"step of t_S on DDPM linear: {r['schedule']['step_S']}, of t_C: {r['schedule']['step_C']}")
for reg in r["regimes"]:
    hi = "inf" if reg["t_max"] is None else f"{reg['t_max']:.4g}"
    print(f"Regime {reg['name']}: {reg['t_min']:.4g} < t < {hi}")

# %%
# The measured curves against the Gaussian theory
# -----------------------------------------------
from regimes.plot import plot_curves, plot_timeline  # noqa: E402

fig = plot_curves(result)

# %%
# The regimes on the sampler's clock
# ----------------------------------
tS, tC = r["t_S"]["value"], result.headline_t_C
fig = plot_timeline(tS, tC, "linear", 1000)

shutil.rmtree(folder)  # the images were read into memory; remove the temporary folder
