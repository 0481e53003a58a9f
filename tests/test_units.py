"""Units of the preset commands (--units unit|symmetric) and of `analyze --scale` (issue 10).

Oracles are independent of the library: the DDPM linear schedule rebuilt with numpy (cumprod of
the betas of Ho et al. 2020), t_S = ½ ln(c² Λ), t_C = ½ log1p(c² σ²/expm1(2 ln n/d)).
"""

import json
import math

import numpy as np
import pytest

CIFAR_LAMBDA, CIFAR_VAR, CIFAR_N, CIFAR_D = 16.72, 0.06291, 50000, 3072


def js(run_cli, *args):
    rc, out, err = run_cli(*args, "--json")
    assert rc == 0, err
    return json.loads(out)


def _first_step(t):
    """First zero-based k with t_k = −½ ln ᾱ_k ≥ t, on the DDPM linear schedule (T = 1000)."""
    alpha_bar = np.cumprod(1.0 - np.linspace(1e-4, 2e-2, 1000))
    return int(np.argmax(alpha_bar <= math.exp(-2.0 * t)))


PRESET_COMMANDS = [("times",), ("speciation",), ("collapse",), ("timeline",)]


@pytest.mark.parametrize("cmd", PRESET_COMMANDS)
def test_units_scale_lambda_and_variance_by_four(run_cli, cmd):
    unit = js(run_cli, *cmd, "--preset", "cifar10", "--units", "unit")
    sym = js(run_cli, *cmd, "--preset", "cifar10", "--units", "symmetric")
    default = js(run_cli, *cmd, "--preset", "cifar10")
    assert unit["units"] == "unit" and sym["units"] == "symmetric" and default["units"] == "symmetric"
    assert default == {**sym, "units": "symmetric"}
    for key in ("eigenvalue", "variance"):
        if key in unit:
            assert sym[key] == pytest.approx(4 * unit[key], rel=1e-15)
    if "t_S" in unit:
        assert unit["eigenvalue"] == CIFAR_LAMBDA
        assert sym["t_S"] - unit["t_S"] == pytest.approx(math.log(2), rel=1e-12)
        assert sym["t_S"] == pytest.approx(0.5 * math.log(4 * CIFAR_LAMBDA), rel=1e-14)
    if "t_C" in unit:
        a = math.log(CIFAR_N) / CIFAR_D
        for body, c2 in ((unit, 1), (sym, 4)):
            assert body["t_C"] == pytest.approx(0.5 * math.log1p(c2 * CIFAR_VAR / math.expm1(2 * a)), rel=1e-12)


@pytest.mark.parametrize("cmd", [("times", "--schedule", "linear"), ("timeline", "--schedule", "linear")])
def test_units_steps_against_hand_computed_schedule(run_cli, cmd):
    a = math.log(CIFAR_N) / CIFAR_D
    for units, c2 in (("unit", 1), ("symmetric", 4)):
        body = js(run_cli, *cmd, "--preset", "cifar10", "--units", units)
        t_S = 0.5 * math.log(c2 * CIFAR_LAMBDA)
        t_C = 0.5 * math.log1p(c2 * CIFAR_VAR / math.expm1(2 * a))
        assert body["step_S"] == _first_step(t_S)
        assert body["step_C"] == _first_step(t_C)
    # the numbers issue 10 quotes: 526/474 in [0, 1], 643/595 in [−1, 1]
    assert (_first_step(0.5 * math.log(CIFAR_LAMBDA)), _first_step(0.5 * math.log(4 * CIFAR_LAMBDA))) == (526, 643)


def test_units_phase_nd(run_cli):
    unit = js(run_cli, "phase-diagram", "nd", "--preset", "cifar10", "--units", "unit", "--points", "5")
    sym = js(run_cli, "phase-diagram", "nd", "--preset", "cifar10", "--points", "5")
    assert unit["units"] == "unit" and sym["units"] == "symmetric"
    assert sym["variance"] == pytest.approx(4 * unit["variance"], rel=1e-15)


def test_units_in_table_and_errors(run_cli):
    rc, out, err = run_cli("times", "--preset", "cifar10")
    assert rc == 0 and "symmetric" in out and "[−1, 1]" in out
    rc, out, err = run_cli("times", "--n", "100", "--d", "10", "-L", "3", "--units", "unit")
    assert rc == 2 and "--units" in err and "--preset" in err and len(err.strip().splitlines()) == 1
    rc, out, err = run_cli("speciation", "--preset", "cifar10", "--units", "pixels")
    assert rc == 2 and "--units" in err


# -- analyze --scale: a positive factor, and the 8-bit traps ----------------------------------------

FAST = ("--bootstrap", "0", "-M", "16")


def _npy(tmp_path, name, arr):
    p = tmp_path / name
    np.save(p, arr)
    return str(p)


def test_analyze_scale_factor_against_eigvalsh(run_cli, tmp_path):
    X = np.random.default_rng(3).normal(size=(300, 40)) * np.linspace(0.5, 2.0, 40)
    path = _npy(tmp_path, "x.npy", X)
    none = js(run_cli, "analyze", path, "--scale", "none", *FAST)
    half = js(run_cli, "analyze", path, "--scale", "0.5", *FAST)
    lam_none, lam_half = none["eigenvalue"]["value"], half["eigenvalue"]["value"]
    assert lam_half == pytest.approx(0.25 * lam_none, rel=1e-6)
    oracle = np.linalg.eigvalsh(np.cov((0.5 * X).T))[-1]  # centred per feature, ddof = 1
    assert lam_half == pytest.approx(oracle, rel=1e-6)
    assert "0.5" in half["units"] and "factor" in half["units"]


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "nan", "inf"])
def test_analyze_scale_bad_values(run_cli, tmp_path, bad):
    path = _npy(tmp_path, "x.npy", np.random.default_rng(0).normal(size=(20, 5)))
    rc, out, err = run_cli("analyze", path, "--scale", bad, "--json")
    assert rc == 2 and "--scale" in err and len(err.strip().splitlines()) == 1


def test_library_scale_factor():
    from regimes import RegimesError
    from regimes.data import as_source
    from regimes.data.source import scale_map

    assert scale_map(0.18215) == (0.18215, 0.0)
    X = np.random.default_rng(1).normal(size=(50, 8))
    src = as_source(X, scale=0.18215)
    np.testing.assert_allclose(src.to_array(), 0.18215 * (X - X.mean(axis=0)), rtol=1e-12, atol=1e-15)
    assert "0.18215" in src.units
    for bad in (0.0, -2.0, float("nan"), True):
        with pytest.raises(RegimesError, match="scale"):
            as_source(X, scale=bad)


@pytest.mark.parametrize("scale,lo,hi,hint", [("symmetric", 0.0, 1.0, "--scale 2"), ("unit", 0.0, 1.0, "--scale 2"),
                                              ("symmetric", -1.0, 1.0, "--scale none")])
def test_8bit_scale_rejects_scaled_floats(run_cli, tmp_path, scale, lo, hi, hint):
    X = np.random.default_rng(2).uniform(lo, hi, size=(40, 12))
    path = _npy(tmp_path, "f.npy", X)
    rc, out, err = run_cli("analyze", path, "--scale", scale, "--json")
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "not integers" in err and f"[{X.min():g}, {X.max():g}]" in err and hint in err
    if hint == "--scale 2":
        assert "centring removes the -1" in err


def test_8bit_scale_accepts_integer_valued_floats():
    from regimes.data import as_source

    X = np.random.default_rng(4).integers(0, 256, size=(30, 6)).astype(np.float32)
    src = as_source(X, scale="symmetric")
    np.testing.assert_allclose(src.to_array(), (X / 127.5 - 1) - (X / 127.5 - 1).mean(axis=0), atol=1e-5)


# -- image folders: grayscale stored as RGB ----------------------------------------------------------

def _images(folder, kinds):
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    for i, kind in enumerate(kinds):
        g = rng.integers(0, 256, size=(6, 5), dtype=np.uint8)
        if kind == "gray-rgb":
            a = np.stack([g, g, g], axis=-1)
        elif kind == "gray":
            a = g
        else:
            a = rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
        Image.fromarray(a).save(folder / f"{i}.png")
    return folder


def test_grayscale_stored_as_rgb_is_one_channel(tmp_path):
    from regimes.data import load_source

    folder = _images(tmp_path / "g", ["gray-rgb"] * 4 + ["gray"] * 2)
    src = load_source(folder)
    assert src.d == 30 and any("grayscale" in n and "one channel" in n for n in src.notes)
    forced = load_source(folder, color=True)
    # (the only note: 8-bit integers read as given, scale='none')
    assert forced.d == 90 and [n for n in forced.notes if "taken as given" not in n] == []
    # one channel: the same numbers as the R channel of the colour read
    np.testing.assert_array_equal(np.asarray(src.raw), np.asarray(forced.raw)[:, 0::3])
    colour = load_source(_images(tmp_path / "c", ["colour"] * 3))
    assert colour.d == 90 and [n for n in colour.notes if "taken as given" not in n] == []
    assert load_source(_images(tmp_path / "s", ["colour"] * 3), scale="symmetric").notes == []


def test_grayscale_note_in_analyze_json_and_color_flag(run_cli, tmp_path):
    folder = str(_images(tmp_path / "g", ["gray-rgb"] * 6))
    body = js(run_cli, "analyze", folder, "--scale", "unit", *FAST)
    assert body["d"] == 30 and any("R = G = B" in n for n in body["notes"])
    body = js(run_cli, "analyze", folder, "--scale", "unit", "--color", *FAST)
    assert body["d"] == 90 and not any("R = G = B" in n for n in body["notes"])
    rc, out, err = run_cli("analyze", folder, "--grayscale", "--color", "--json")
    assert rc == 2 and "--grayscale and --color" in err


def test_mixed_folder_is_an_error_naming_both_options(run_cli, tmp_path):
    folder = str(_images(tmp_path / "m", ["gray-rgb"] * 3 + ["colour"] * 2))
    rc, out, err = run_cli("analyze", folder, "--json")
    assert rc == 2 and "3 grayscale" in err and "2 colour" in err and "--grayscale" in err and "--color" in err
    body = js(run_cli, "analyze", folder, "--color", *FAST)
    assert body["d"] == 90
    body = js(run_cli, "analyze", folder, "--grayscale", *FAST)
    assert body["d"] == 30


def test_latent_shaped_array_with_the_sd_factor(run_cli, tmp_path):
    """docs/latents.md: d = 4·64·64 = 16 384, and the 0.18215 factor multiplies Λ by its square."""
    rng = np.random.default_rng(0)
    common = rng.normal(size=(4, 64, 64))
    Z = (rng.normal(size=(32, 1, 1, 1)) * 3.0 * common + rng.normal(size=(32, 4, 64, 64))) / 0.18215
    path = _npy(tmp_path, "latents.npy", Z)
    scaled = js(run_cli, "analyze", path, "--scale", "0.18215", *FAST)
    raw = js(run_cli, "analyze", path, "--scale", "none", *FAST)
    assert scaled["d"] == raw["d"] == 16384
    assert scaled["eigenvalue"]["value"] == pytest.approx(0.18215**2 * raw["eigenvalue"]["value"], rel=1e-6)
    assert scaled["t_S"]["value"] == pytest.approx(raw["t_S"]["value"] + math.log(0.18215), rel=1e-9)
    X = (0.18215 * Z.reshape(32, -1)).astype(np.float64)
    X -= X.mean(axis=0)
    oracle = np.linalg.eigvalsh(X @ X.T / 31)[-1]  # the n×n Gram matrix has the same non-zero spectrum
    assert scaled["eigenvalue"]["value"] == pytest.approx(oracle, rel=1e-6)


# -- presets declare units, scope and whether the convention was verified -----------------------------

def test_presets_declare_scope_and_verification(run_cli):
    from regimes.presets import list_presets

    for p in list_presets():
        if p.has_eigenvalue:
            assert p.units.startswith("pixels in [0,1]") and p.convention_verified is True  # authors' code
            assert ("one colour channel" in p.eigenvalue_scope) == (p.shape[0] == 3)
            if p.shape[0] == 3:  # what a per-channel Λ means for the whole image's t_S: + ½ ln 3 at most
                assert "1/2 ln 3" in p.eigenvalue_scope and f"+{0.5 * math.log(3):.2f}" in p.eigenvalue_scope
        else:
            assert p.eigenvalue_scope is None and p.convention_verified is None
        assert (p.variance_scope is None) == (p.variance is None)
    body = js(run_cli, "presets", "cifar10")
    assert body["preset"]["convention_verified"] is True and "the FIRST (R) channel" in body["convention"]
    assert "two-class training subset" in body["convention"]
    notes = " ".join(js(run_cli, "speciation", "--preset", "cifar10")["notes"])
    assert "first (R)" in notes and "two-class" in notes and "one colour channel" in notes
    notes = " ".join(js(run_cli, "collapse", "--preset", "cifar10")["notes"])
    assert "averaged over all 3 channels" in notes


def test_preset_parser_checks_the_new_fields():
    from regimes import RegimesError
    from regimes.presets import _parse

    base = {"name": "X", "aliases": [], "n": 10, "n_note": "", "shape": [1, 2, 2], "d": 4, "eigenvalue": 2.0,
            "eigenvalue_dim": 4, "units": "pixels in [0,1], centred", "eigenvalue_source": "", "reference": "",
            "notes": ""}
    assert _parse({**base, "convention_verified": True}, "t").convention_verified is True
    with pytest.raises(RegimesError, match="convention_verified"):
        _parse({**base, "convention_verified": "no"}, "t")
    with pytest.raises(RegimesError, match="variance_scope"):
        _parse({**base, "variance_scope": "per coordinate"}, "t")
