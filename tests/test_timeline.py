"""The regimes located on a sampler: one path for discrete schedules and the EDM sampler."""

import math

import matplotlib
import numpy as np
import pytest
from numpy.testing import assert_allclose

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from regimes import (  # noqa: E402
    RegimesError,
    RegimesWarning,
    collapse_time,
    schedule_steps,
    speciation_time,
)
from regimes.schedules import EDMSampler, edm_sigma, get_schedule  # noqa: E402
from regimes.timeline import locate_regimes, regime_intervals  # noqa: E402


def _karras_sigmas(N, smin=0.002, smax=80.0, rho=7.0):
    """σ_i = (σ_max^{1/ρ} + i/(N−1)(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, written out here (arXiv 2206.00364)."""
    return [(smax ** (1 / rho) + i / (N - 1) * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho
            for i in range(N)]


@pytest.mark.parametrize("lam", [1.5, 16.72, 1025.0, 1e5])
def test_timeline_edm_steps_brute_force(lam):
    t_S, t_C = speciation_time(lam), collapse_time(50000, 3072, 0.062)
    out = locate_regimes(t_S, t_C, "edm", 18)
    sigma_S, sigma_C = edm_sigma(t_S), edm_sigma(t_C)
    assert_allclose(sigma_S**2, lam - 1, rtol=1e-12)  # σ(½ ln Λ)² = Λ − 1 exactly
    s = _karras_sigmas(18)
    for key, sig in (("step_S", sigma_S), ("step_C", sigma_C)):
        # the step during which σ is crossed: the last level at or above it (N − 1 below σ_min)
        expect = None if sig > s[0] else max(i for i in range(len(s)) if s[i] >= sig)
        assert out[key] == expect
    if lam == 1e5:
        assert out["step_S"] is None and any(
            "before the first sampling step of the edm schedule" in x for x in out["notes"]
        )


def test_timeline_discrete_steps():
    # docs/conventions.md reference: t_500 = 1.276828 in DDPM linear (T = 1000) → t_S just below
    # it is step 500
    t_C = collapse_time(4000, 1024, 1.0)
    out = locate_regimes(speciation_time(math.exp(2 * 1.2768)), t_C, "linear")
    assert out["step_S"] == 500
    k = int(np.argmax(out["times"] >= t_C))
    assert out["step_C"] == k and out["times"][k - 1] < t_C
    with pytest.warns(RegimesWarning, match="speciation"):  # Λ <= 1: no speciation
        t_S_none = speciation_time(0.5)
    no = locate_regimes(t_S_none, collapse_time(100, 10), "linear")
    assert math.isnan(t_S_none) and [r["name"] for r in no["regimes"]] == ["I", "III"]
    assert no["step_S"] is None and "no speciation time" in no["notes"][0]
    with pytest.raises(RegimesError, match="schedule must be one of"):
        locate_regimes(1.0, 0.5, "karras")


@pytest.mark.parametrize("schedule, steps", [("linear", 1000), ("cosine", 50), ("scaled-linear", 1000)])
def test_schedule_steps_is_locate_regimes_on_a_discrete_schedule(schedule, steps):
    for t_S, t_C in ((3.1, 2.0), (1.2, 0.3), (math.nan, 1e-6), (0.8, 1.5)):
        old = schedule_steps(t_S, t_C, schedule, steps)
        new = locate_regimes(t_S, t_C, get_schedule(schedule, steps))
        assert old == {k: new[k] for k in old}
        assert new["regimes"] == regime_intervals(t_S, t_C)


def test_below_the_cleanest_step_is_noted_for_both_samplers():
    lin = locate_regimes(3.0, 1e-5, "linear")  # t_0 = 5e-5 > t_C
    assert lin["step_C"] == 0 and "below the time of step 0 (t_0 = 5e-05)" in lin["notes"][0]
    edm = locate_regimes(3.0, 1e-6, EDMSampler())  # t of σ_min = 0.002 is ≈ 2e-6 > t_C
    assert edm["step_C"] == 17 and "below the time of step 17" in edm["notes"][0]


def test_t_S_must_be_finite_or_nan():
    with pytest.raises(RegimesError, match="t_S must be finite or NaN, got inf"):
        locate_regimes(math.inf, 1.0)
    with pytest.raises(RegimesError, match="t_S must be finite or NaN"):
        regime_intervals(-math.inf, 1.0)


def test_locate_regimes_by_name_or_object():
    a = locate_regimes(3.4, 2.0, "edm", 30)
    b = locate_regimes(3.4, 2.0, EDMSampler(steps=30))
    assert a["step_S"] == b["step_S"] and a["steps"] == 30 and a["schedule"] == "edm"
    assert a["step_convention"].startswith("EDM sampler index i = 0 … N−1 from the noise end")
    c = locate_regimes(3.4, 2.0, "linear", 500)
    assert c["steps"] == 500 and c["t_max"] == get_schedule("linear", 500).t_max


@pytest.mark.parametrize("schedule", ["edm", "cosine", "scaled-linear", "linear"])
def test_timeline_figure_axes(schedule):
    import io

    from regimes.plot.timeline import plot_timeline

    # t_S = 3.466 lies beyond scaled-linear's last step (t = 2.68): the figure must still draw
    fig = plot_timeline(3.466, 2.065, schedule, t_max=5.3 if schedule == "linear" else None)
    fig.savefig(io.BytesIO(), format="png")
    ax = fig.axes[0]
    assert "OU time" in ax.get_xlabel()
    sec = ax.child_axes[0]
    if schedule == "edm":
        assert "EDM noise level" in sec.get_xlabel()
        # the top axis maps t to σ = √expm1(2t): σ = 5 sits at t = ½ ln 26
        fig.canvas.draw()  # the secondary axis sets its transform at draw time
        ticks = list(sec.get_xticks())
        assert 5 in ticks
        x_disp = sec.transData.transform([(5.0, 0)])[0][0]
        assert_allclose(
            ax.transData.inverted().transform([(x_disp, 0)])[0][0], 0.5 * math.log(26), rtol=1e-6
        )
    else:
        assert schedule in sec.get_xlabel()
        assert_allclose(sec.get_xlim()[0], 0.0, atol=1e-9)
        assert np.all(np.isfinite(sec.get_xlim()))
    plt.close(fig)


def test_timeline_figure_takes_a_sampler_object():
    from regimes.plot.timeline import plot_timeline

    fig = plot_timeline(3.466, 2.065, EDMSampler(steps=10))
    # the sampler's own N = 10 levels, indexed 0 … 9 (the label of the EDM axis)
    assert "0 … 9" in " ".join(a.get_xlabel() for a in fig.axes[0].child_axes)
    plt.close(fig)


def test_sampler_steps_of_another_schedule_are_refused():
    """Sampler steps built on one schedule located on another would mix two time axes."""
    from regimes import RegimesError
    from regimes.schedule_forms import SamplerSteps
    from regimes.timeline import regime_steps

    on_cosine = SamplerSteps(get_schedule("cosine", 1000), 50)
    for call in (lambda: locate_regimes(3.0, 2.0, get_schedule("linear", 1000), sampler_steps=on_cosine),
                 lambda: regime_steps(3.0, 2.0, "linear", 1000, sampler_steps=on_cosine)):
        with pytest.raises(RegimesError, match="built on the cosine schedule .* not on the linear schedule"):
            call()
    same = locate_regimes(3.0, 2.0, get_schedule("cosine", 1000), sampler_steps=on_cosine)
    by_n = locate_regimes(3.0, 2.0, get_schedule("cosine", 1000), sampler_steps=50)
    assert same["sampler_step_S"] == by_n["sampler_step_S"] and same["sampler_step_C"] == by_n["sampler_step_C"]
