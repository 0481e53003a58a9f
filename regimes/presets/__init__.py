"""Dataset presets: training-set size, shape and (where published) the largest eigenvalue Λ.

The presets are data, not code: they live in ``presets.json`` next to this module (shipped inside
the wheel as package data) and are read with :mod:`importlib.resources`.

Two kinds of preset:

* **Reported Λ** (MNIST, CIFAR-10, ImageNet16, ImageNet32, LSUN64, CelebA64): Λ as reported by
  arXiv:2402.18491, *quoted*, not measured by regimes. Per the authors' public code [BC]_, Λ is
  the top eigenvalue of the sample covariance of the **first colour channel** (R;
  ``eigenvalue_dim = H·W`` coordinates) of pixels in [0, 1], centred, not standardised, over the
  **two-class training subset** of their experiments. Each preset's ``reference`` says how far the
  value was verified (details: the *Presets* documentation page).
* **Shape only** (ImageNet64, CIFAR-100, Fashion-MNIST, FFHQ256, CelebA-HQ256): ``eigenvalue`` is
  ``None``; ``t_C`` can be computed, ``t_S`` needs a measured Λ.

Which ``d``?
    ``Preset.d`` is the full image dimension ``C·H·W``. That is the ``d`` the ``times`` and
    ``collapse`` commands put in ``α = ln(n)/d`` for ``t_C``, as in the collapse experiments of
    arXiv:2402.18491 (their public code uses ``d = 3·H·W``). ``t_S = ½ ln Λ`` does not involve
    ``d``. Anything that combines Λ with a dimension (e.g. a one-eigenvalue spectral proxy) must
    use ``Preset.eigenvalue_dim``, the dimension of the covariance Λ was computed from.

Which ``n``?
    The standard training split (``Preset.n_note`` says which). The paper's own experiments used
    small two-class subsets; a preset never pretends to be that experiment. ``n`` is ``None`` where
    it depends on a choice the preset cannot make (LSUN's category). Λ, however, is the subset's
    value: a Regime II verdict built from a preset compares t_S of the subset with t_C of the full
    split, and each preset's ``eigenvalue_scope`` says so.

Per channel vs whole image
    A model sees all C channels. The one-channel covariance is a diagonal block of the whole-image
    one, so the whole-image top eigenvalue is at least Λ; writing the covariance as ``GᵀG`` with
    column blocks ``G_c`` and applying Cauchy–Schwarz gives at most ``Σ_c λ_c`` (each channel's top
    eigenvalue), which is ``C·Λ`` only when the channels' spectra are equal. Hence
    ``t_S + ½ ln 3`` for C = 3 is an estimate, not a bound.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, "Dynamical regimes of diffusion
   models", arXiv:2402.18491, Nature Communications 15:9957 (2024).
.. [BC] The authors' public code, github.com/tbonnair/Dynamical-Regimes-of-Diffusion-Models:
   ``src/run_Diffusion.py`` (Λ from the first channel), ``src/Utils/loader.py`` and
   ``src/Utils/cfg.py`` (two-class subsets, centred, not standardised), ``src/Plots_paper.py``
   (the list of Λ printed as the content of Table 1).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .._errors import RegimesError
from .._validate import check_choice

__all__ = ["PIXEL_UNITS", "Preset", "get_preset", "list_presets", "preset_names"]

#: pixel conventions of the presets' numbers and the factor c² they apply to Λ and σ² (stored in [0, 1])
PIXEL_UNITS = {"unit": 1.0, "symmetric": 4.0}

_FIELDS = ("name", "aliases", "n", "n_note", "shape", "d", "eigenvalue", "eigenvalue_dim",
           "units", "eigenvalue_source", "reference", "notes")


@dataclass(frozen=True)
class Preset:
    """One dataset preset (immutable).

    Attributes
    ----------
    name : str
        Display name, e.g. ``"CIFAR-10"``.
    aliases : tuple of str
        Other accepted names (matching ignores case, spaces, ``-``, ``_`` and ``.``).
    n : int or None
        Training-set size (standard training split; ``n_note`` says which), or None when it
        depends on a choice the preset cannot make.
    n_note : str
        What ``n`` counts.
    shape : tuple of int
        Image shape ``(C, H, W)``.
    d : int
        Full dimension ``C·H·W``: the ``d`` used for ``α = ln(n)/d`` and ``t_C``.
    eigenvalue : float or None
        Λ, the largest covariance eigenvalue, quoted from the reference; None when not reported.
    eigenvalue_dim : int or None
        Dimension of the covariance matrix Λ is the top eigenvalue of (``H·W`` for one colour
        channel); None without Λ.
    units : str or None
        Data units Λ refers to (e.g. ``"pixels in [0,1], centred"``).
    eigenvalue_source : str
        What Λ is and where it comes from (reported, not measured, by regimes).
    reference : str
        Where the numbers come from, and how far that was verified.
    notes : str
        Caveats.
    variance : float or None
        An approximate per-coordinate variance σ² of the data in the units of Λ, for the Gaussian
        t_C formula, where a widely used published figure exists (None otherwise). It is the
        variance about each channel's global mean, an upper bound on ``Tr C/d``; quoted, not
        measured by regimes.
    variance_source : str or None
        Where ``variance`` comes from.
    eigenvalue_scope : str or None
        What Λ covers: the whole image, or one colour channel (and then what that means for the
        whole-image t_S a model trained on all channels sees).
    variance_scope : str or None
        What ``variance`` averages over.
    convention_verified : bool or None
        Whether the units, channel and subset convention of Λ were verified, against the paper or
        the authors' public code (True for every reported Λ: per the authors' public code; False:
        assumed, and the commands' output then says "not verified").
    """

    name: str
    aliases: tuple[str, ...]
    n: int | None
    n_note: str
    shape: tuple[int, ...]
    d: int
    eigenvalue: float | None
    eigenvalue_dim: int | None
    units: str | None
    eigenvalue_source: str
    reference: str
    notes: str
    variance: float | None = None
    variance_source: str | None = None
    eigenvalue_scope: str | None = None
    variance_scope: str | None = None
    convention_verified: bool | None = None

    @property
    def has_eigenvalue(self) -> bool:
        """Whether the preset carries a reported Λ."""
        return self.eigenvalue is not None

    def in_units(self, units: str) -> Preset:
        """The preset with Λ and σ² in the pixel convention ``units``.

        ``"unit"``: pixels in [0, 1], as stored; ``"symmetric"``: pixels in [−1, 1] (x ↦ 2x − 1),
        which multiplies both Λ and σ² by c² = 4 (t_S moves by ln 2, t_C through σ²). A preset
        without Λ (``units`` None) is returned as is.
        """
        check_choice("units", units, tuple(PIXEL_UNITS))
        c2 = PIXEL_UNITS[units]
        if self.units is None or c2 == 1.0:
            return self
        if not self.units.startswith("pixels in [0,1]"):
            raise RegimesError(f"preset {self.name}'s numbers are in {self.units}, not pixels in [0, 1]: "
                               "they cannot be converted to another pixel convention")
        return dataclasses.replace(
            self, eigenvalue=None if self.eigenvalue is None else self.eigenvalue * c2,
            variance=None if self.variance is None else self.variance * c2,
            units="pixels in [−1,1], centred (the preset's [0,1] values × 4)")

    def to_dict(self) -> dict:
        """Plain-JSON dictionary of every field."""
        return {"name": self.name, "aliases": list(self.aliases), "n": self.n,
                "n_note": self.n_note, "shape": list(self.shape), "d": self.d,
                "eigenvalue": self.eigenvalue, "eigenvalue_dim": self.eigenvalue_dim,
                "units": self.units, "eigenvalue_source": self.eigenvalue_source,
                "reference": self.reference, "notes": self.notes, "variance": self.variance,
                "variance_source": self.variance_source, "eigenvalue_scope": self.eigenvalue_scope,
                "variance_scope": self.variance_scope, "convention_verified": self.convention_verified}


def _key(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", name.strip().lower())


def _parse(entry: dict, where: str) -> Preset:
    missing = [f for f in _FIELDS if f not in entry]
    if missing:
        raise RegimesError(f"{where}: preset entry lacks field(s) {', '.join(missing)}")

    def pos_int(field, allow_none=False):
        v = entry[field]
        if v is None and allow_none:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise RegimesError(f"{where}: {field} must be a positive integer, got {v!r}")
        return v

    shape = tuple(entry["shape"])
    if len(shape) != 3 or any(isinstance(s, bool) or not isinstance(s, int) or s <= 0
                              for s in shape):
        raise RegimesError(
            f"{where}: shape must be three positive integers, got {entry['shape']!r}")
    d = pos_int("d")
    if shape[0] * shape[1] * shape[2] != d:
        raise RegimesError(f"{where}: d={d} is not C*H*W for shape {shape}")
    lam = entry["eigenvalue"]
    if lam is not None and (isinstance(lam, bool) or not isinstance(lam, int | float) or lam <= 0):
        raise RegimesError(f"{where}: eigenvalue must be a positive number or null, got {lam!r}")
    edim = pos_int("eigenvalue_dim", allow_none=True)
    if (lam is None) != (edim is None) or (lam is None) != (entry["units"] is None):
        raise RegimesError(
            f"{where}: eigenvalue, eigenvalue_dim and units must be all set or all null")
    var = entry.get("variance")
    if var is not None and (isinstance(var, bool) or not isinstance(var, int | float) or not 0 < var < float("inf")):
        raise RegimesError(f"{where}: variance must be a positive number or null, got {var!r}")
    if (var is None) != (entry.get("variance_source") is None) or (var is not None and lam is None):
        raise RegimesError(f"{where}: variance needs variance_source and a reported eigenvalue (same units)")
    verified = entry.get("convention_verified")
    if verified is not None and not isinstance(verified, bool):
        raise RegimesError(f"{where}: convention_verified must be true, false or null, got {verified!r}")
    scope, vscope = entry.get("eigenvalue_scope"), entry.get("variance_scope")
    if (scope is not None and lam is None) or (vscope is not None and var is None):
        raise RegimesError(f"{where}: eigenvalue_scope/variance_scope need the number they describe")
    return Preset(
        name=str(entry["name"]), aliases=tuple(str(a) for a in entry["aliases"]),
        n=pos_int("n", allow_none=True), n_note=str(entry["n_note"]), shape=shape, d=d,
        eigenvalue=None if lam is None else float(lam), eigenvalue_dim=edim,
        units=entry["units"], eigenvalue_source=str(entry["eigenvalue_source"]),
        reference=str(entry["reference"]), notes=str(entry["notes"]),
        variance=None if var is None else float(var), variance_source=entry.get("variance_source"),
        eigenvalue_scope=scope, variance_scope=vscope, convention_verified=verified,
    )


def _read_text() -> str:
    return resources.files(__name__).joinpath("presets.json").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _load() -> tuple[tuple[Preset, ...], dict[str, Preset]]:
    raw = json.loads(_read_text())
    presets = tuple(_parse(e, f"presets.json entry {i}") for i, e in enumerate(raw["presets"]))
    index: dict[str, Preset] = {}
    for p in presets:
        for alias in (p.name, *p.aliases):
            k = _key(alias)
            if k in index and index[k] is not p:
                raise RegimesError(f"presets.json: name {alias!r} is used by two presets")
            index[k] = p
    return presets, index


def list_presets() -> list[Preset]:
    """All presets, in file order (those with a reported Λ first)."""
    return list(_load()[0])


def preset_names() -> list[str]:
    """Display names of all presets."""
    return [p.name for p in _load()[0]]


def get_preset(name: str) -> Preset:
    """Look a preset up by name or alias, ignoring case, spaces, ``-``, ``_`` and ``.``.

    ``"cifar10"``, ``"CIFAR-10"`` and ``"cifar_10"`` all give the CIFAR-10 preset.

    Raises
    ------
    RegimesError
        Unknown name; the message lists the available presets (and close matches).
    """
    if not isinstance(name, str) or not name.strip():
        raise RegimesError(f"preset must be a non-empty name, got {name!r}")
    presets, index = _load()
    k = _key(name)
    if k in index:
        return index[k]
    close = difflib.get_close_matches(k, list(index), n=3, cutoff=0.6)
    hint = ""
    if close:
        hint = "; did you mean " + ", ".join(dict.fromkeys(index[c].name for c in close)) + "?"
    raise RegimesError(
        f"preset must be one of {', '.join(p.name for p in presets)}, got {name!r}{hint}"
    )
