"""Dataset presets: the data file, the loader, aliases and packaging."""

from __future__ import annotations

import dataclasses
import json
from importlib import resources

import pytest

from regimes import RegimesError
from regimes.presets import Preset, get_preset, list_presets, preset_names

# Λ exactly as quoted from arXiv:2402.18491 (one colour channel, [0,1] pixels, centred: assumed)
REPORTED = {"MNIST": 7.66, "CIFAR-10": 16.72, "ImageNet16": 3.05, "ImageNet32": 12.11,
            "LSUN64": 60.52, "CelebA64": 116.72}
REQUIRED = ("name", "aliases", "n", "n_note", "shape", "d", "eigenvalue", "eigenvalue_dim",
            "units", "eigenvalue_source", "reference", "notes")


def _raw():
    text = resources.files("regimes.presets").joinpath("presets.json").read_text("utf-8")
    return json.loads(text)


def test_json_validates():
    raw = _raw()
    assert raw["schema"] == 1
    names = [e["name"] for e in raw["presets"]]
    assert len(names) == len(set(names))
    for e in raw["presets"]:
        for f in REQUIRED:
            assert f in e, (e["name"], f)
        assert isinstance(e["d"], int) and not isinstance(e["d"], bool) and e["d"] > 0
        assert e["n"] is None or (isinstance(e["n"], int) and e["n"] > 0)
        c, h, w = e["shape"]
        assert c * h * w == e["d"]
        assert e["reference"] and e["eigenvalue_source"] and e["n_note"]
        if e["eigenvalue"] is not None:
            # per-channel Λ: its covariance has H·W coordinates
            assert e["eigenvalue_dim"] == h * w
            assert "[0,1]" in e["units"] and "centred" in e["units"]
            assert "quoted, not measured" in e["eigenvalue_source"]
        else:
            assert e["eigenvalue_dim"] is None and e["units"] is None


def test_reported_eigenvalues_exact():
    got = {e["name"]: e["eigenvalue"] for e in _raw()["presets"] if e["eigenvalue"] is not None}
    assert got == REPORTED  # exact equality: quoted numbers are never rounded or recomputed


def test_sizes_of_standard_splits():
    expect = {"MNIST": (60000, 784), "CIFAR-10": (50000, 3072), "ImageNet16": (1281167, 768),
              "ImageNet32": (1281167, 3072), "ImageNet64": (1281167, 12288),
              "CelebA64": (162770, 12288), "FFHQ256": (70000, 196608), "LSUN64": (None, 12288)}
    for name, (n, d) in expect.items():
        p = get_preset(name)
        assert (p.n, p.d) == (n, d), name
    assert get_preset("FFHQ256").eigenvalue is None  # no Λ is ever invented
    assert "202 599" in get_preset("CelebA64").n_note  # says which split
    assert "category" in get_preset("LSUN64").n_note


@pytest.mark.parametrize("alias", ["cifar10", "CIFAR-10", "cifar_10", " Cifar 10 ", "cifar.10"])
def test_aliases(alias):
    assert get_preset(alias).name == "CIFAR-10"


def test_more_aliases_and_identity():
    assert get_preset("celeba") is get_preset("CelebA64")
    assert get_preset("imagenet-32").name == "ImageNet32"
    assert get_preset("ffhq").name == "FFHQ256"
    assert get_preset("lsun").name == "LSUN64"


def test_unknown_preset_lists_names():
    with pytest.raises(RegimesError) as exc:
        get_preset("cifr10")
    msg = str(exc.value)
    assert "CIFAR-10" in msg and "MNIST" in msg and "'cifr10'" in msg
    with pytest.raises(RegimesError):
        get_preset("")
    with pytest.raises(RegimesError):
        get_preset(None)


def test_preset_is_frozen_and_serialisable():
    p = get_preset("mnist")
    assert isinstance(p, Preset)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.n = 1
    d = p.to_dict()
    assert json.loads(json.dumps(d))["eigenvalue"] == 7.66
    assert preset_names() == [q.name for q in list_presets()]
    assert all(q.has_eigenvalue == (q.eigenvalue is not None) for q in list_presets())


def test_presets_feed_the_library():
    # presets combine with the closed forms: t_S from Λ, t_C from (n, d)
    import math

    from regimes import collapse_time, speciation_time

    p = get_preset("CIFAR-10")
    assert speciation_time(p.eigenvalue) == pytest.approx(0.5 * math.log(16.72), rel=1e-15)
    assert 0 < collapse_time(p.n, p.d) < 10


def test_preset_variances_follow_their_published_standard_deviations():
    # σ² only where a published normalisation std exists, and only beside a Λ in the same units
    got = {p.name: p.variance for p in list_presets() if p.variance is not None}
    assert set(got) == {"MNIST", "CIFAR-10"}
    assert got["MNIST"] == pytest.approx(0.3081**2, abs=5e-6)
    assert got["CIFAR-10"] == pytest.approx((0.2470**2 + 0.2435**2 + 0.2616**2) / 3, abs=5e-6)
    for p in list_presets():
        if p.variance is not None:
            assert p.eigenvalue is not None and "upper bound" in p.variance_source
            assert "not measured" in p.variance_source


def test_bad_entries_are_rejected():
    from regimes.presets import _parse

    good = dict(_raw()["presets"][1])
    _parse(good, "x")
    for field, bad in [("d", 0), ("d", 3.5), ("n", -1), ("shape", [3, 32]), ("eigenvalue", -1.0),
                       ("eigenvalue_dim", None), ("variance", -0.1), ("variance", True),
                       ("variance_source", None)]:
        e = dict(good)
        e[field] = bad
        with pytest.raises(RegimesError):
            _parse(e, "x")
    e = dict(good)
    del e["reference"]
    with pytest.raises(RegimesError, match="reference"):
        _parse(e, "x")


def test_json_is_package_data_of_the_installed_package():
    # importlib.resources finds the file inside the imported package (editable or wheel install)
    res = resources.files("regimes.presets").joinpath("presets.json")
    assert res.is_file()


def test_json_is_inside_the_built_wheel(tmp_path):
    # ~3 s with --no-isolation (hatchling is installed in the venv), so not marked slow
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "-o", str(tmp_path),
                    str(root)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "regimes/presets/presets.json" in names
    assert "regimes/presets/__init__.py" in names


def test_in_units_scales_both_numbers_by_four():
    from regimes import RegimesError
    from regimes.presets import get_preset

    p = get_preset("cifar10")
    q = p.in_units("symmetric")
    assert q.eigenvalue == 4 * p.eigenvalue and q.variance == 4 * p.variance and "[−1,1]" in q.units
    assert p.in_units("unit") is p
    with pytest.raises(RegimesError, match="units"):
        p.in_units("bogus")
