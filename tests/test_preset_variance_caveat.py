"""`times` and `timeline` with a preset that carries Λ but no σ² (ImageNet16/32, LSUN64, CelebA64):
σ² = 1 is assumed in units that do not match Λ's, so no Regime II verdict is printed and the t_C
rows say so; with the preset's own σ² (CIFAR-10) or --variance the verdict is given as before."""

import json
import math

import pytest

from regimes import collapse_time, speciation_time
from regimes.presets import get_preset

VERDICT = "Regime II does not exist"


def _flat(out):
    return " ".join(out.split())


@pytest.mark.parametrize("command", ["times", "timeline"])
@pytest.mark.parametrize("preset", ["imagenet16", "imagenet32"])
def test_assumed_variance_gives_no_verdict(run_cli, command, preset):
    p = get_preset(preset).in_units("symmetric")
    rc, out, err = run_cli(command, "--preset", preset, "--json")
    assert rc == 0, err
    k = json.loads(out)
    assert k["variance"] == 1.0 and k["variance_assumed"] is True and k["regime_II_assessed"] is False
    # the numbers are still the closed forms at σ² = 1 (mpmath-checked elsewhere): the caveat is the change
    assert k["t_C"] == pytest.approx(float(collapse_time(p.n, p.d, 1.0)), rel=1e-15)
    assert k["t_S"] == pytest.approx(speciation_time(p.eigenvalue), rel=1e-15)
    assert k["t_C"] >= k["t_S"]  # the case where the old output asserted that Regime II does not exist
    notes = " ".join(k["notes"])
    assert VERDICT not in notes and "not assessed" in notes
    rc, out, _ = run_cli(command, "--preset", preset)
    text = _flat(out)
    assert rc == 0 and VERDICT not in text and "not assessed" in text and "ASSUMED" in text


@pytest.mark.parametrize("command", ["times", "timeline"])
def test_known_variance_keeps_the_verdict(run_cli, command):
    # ImageNet16 with an explicit σ² in its units: t_C is meaningful, the verdict follows the numbers
    for var, absent in (("2", True), ("0.2", False)):  # t_C = 2.00 >= t_S = 1.25; 0.925 < 1.25
        rc, out, err = run_cli(command, "--preset", "imagenet16", "--variance", var, "--json")
        assert rc == 0, err
        k = json.loads(out)
        assert "variance_assumed" not in k and "regime_II_assessed" not in k
        assert (k["t_C"] >= k["t_S"]) is absent
        assert (VERDICT in " ".join(k["notes"])) is absent
    # Λ typed by the user with such a preset: the user's units, σ² = 1 the generic assumption, a verdict
    rc, out, err = run_cli(command, "--preset", "imagenet16", "-L", "5", "--json")
    k = json.loads(out)
    assert rc == 0 and "variance_assumed" not in k and "preset ImageNet16's Λ is in" not in " ".join(k["notes"])
    assert (VERDICT in " ".join(k["notes"])) == (k["t_C"] >= k["t_S"])
    rc, out, err = run_cli(command, "--preset", "cifar10", "--json")
    k = json.loads(out)
    assert rc == 0 and "variance_assumed" not in k and not math.isnan(k["t_C"])


def test_timeline_figure_leads_with_the_caveat(run_cli, tmp_path, monkeypatch):
    import regimes_cli.commands.plots as plots

    seen = []
    real = plots.save_figure

    def keep(fig, path, *a, **k):  # every panel's title and every text drawn on the axes
        seen.append(([ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")],
                     " ".join(t.get_text() for ax in fig.axes for t in ax.texts)))
        return real(fig, path, *a, **k)

    monkeypatch.setattr(plots, "save_figure", keep)
    for i, extra in enumerate(((), ("--compare", "linear,cosine,edm"))):
        rc, _, err = run_cli("timeline", "--preset", "imagenet16", *extra, "--out", tmp_path / f"a{i}.png")
        assert rc == 0, err
        titles, texts = seen[-1]
        assert titles and all(t.startswith("t_C from an ASSUMED σ² = 1") for t in titles)
        assert not any("no Regime II" in t for t in titles) and "no II" not in texts  # no verdict drawn
    rc, _, err = run_cli("timeline", "--preset", "imagenet16", "--variance", "2", "--out", tmp_path / "b.png")
    assert rc == 0, err
    titles, texts = seen[-1]
    assert not any("ASSUMED" in t for t in titles) and any("no Regime II" in t for t in titles) and "no II" in texts


def test_phase_nd_says_its_regime_ii_fraction_is_not_meaningful(run_cli):
    rc, out, err = run_cli("phase-diagram", "nd", "--preset", "imagenet16", "--json")
    k = json.loads(out)
    assert rc == 0 and k["variance_assumed"] is True and k["regime_II_assessed"] is False
    rc, out, err = run_cli("phase-diagram", "nd", "--preset", "cifar10", "--json")
    assert rc == 0 and "variance_assumed" not in json.loads(out)
