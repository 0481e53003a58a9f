"""The drawn text of the figures, read back from the matplotlib artists (issue 17): no raw "_" or
"^" outside math text, the step of each transition in the timelines, the atom in the spectrum
legend, the user's model marked on the diagrams."""

from __future__ import annotations

import math
import re

import pytest

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402

MATH = re.compile(r"\$[^$]*\$")


def texts(fig) -> list[str]:
    """Every visible, non-empty string drawn in the figure (titles, labels, ticks, legends)."""
    fig.canvas.draw()
    out = [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return out


def raw_scripts(fig) -> list[str]:
    """Strings with a "_" or "^" outside $…$ (the legend's hidden '_nolegend_' never drawn)."""
    return [s for s in texts(fig) if re.search(r"[_^]", MATH.sub("", s))]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _steps_in(fig):
    return {int(k) for s in texts(fig) for k in re.findall(r"step (\d+)", s)}


@pytest.mark.parametrize("schedule", ["linear", "cosine", "scaled-linear", "edm"])
@pytest.mark.parametrize("axis", ["time", "steps"])
def test_timeline_marks_each_transition_with_its_step(schedule, axis):
    from regimes.plot.timeline import plot_timeline
    from regimes.timeline import locate_regimes

    tS, tC = 3.4662, 2.0654
    fig = plot_timeline(tS, tC, schedule, axis=axis)
    loc = locate_regimes(tS, tC, schedule)
    steps = {loc[k] for k in ("step_S", "step_C") if loc[k] is not None}
    assert steps and steps <= _steps_in(fig)
    assert raw_scripts(fig) == []
    if loc["step_S"] is None:
        assert any("before the first" in s for s in texts(fig))


def test_timeline_axis_in_steps_has_even_integer_ticks_from_zero():
    from regimes.plot.timeline import plot_timeline

    fig = plot_timeline(3.4662, 2.0654, "cosine", axis="steps")
    ticks = [v for v in fig.axes[0].get_xticks() if 0 <= v <= 999]
    assert ticks[0] == 0 and len(set(abs(b - a) for a, b in zip(ticks, ticks[1:], strict=False))) == 1


def test_timeline_top_step_ticks_evenly_spaced_and_include_zero():
    from regimes.plot.timeline import plot_timeline

    fig = plot_timeline(3.4662, 2.0654, "linear")
    top = [ax for ax in fig.axes if ax is not fig.axes[0]] + list(fig.axes[0].child_axes)
    ticks = sorted(float(v) for v in top[0].get_xticks())
    gaps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert ticks[0] == 0 and len(gaps) == 1


def test_timeline_one_precision_rule_and_absent_regime_II():
    from regimes.plot.timeline import plot_timeline

    fig = plot_timeline(3.4673, 2.14, "linear", intervals=[(3.4663, 3.4683), (2.12, 2.15)])
    labels = [s for s in texts(fig) if re.search(r"\$t_[SC]\$ = ", s)]
    assert len(labels) == 2
    nums = [n for s in labels for n in re.findall(r"\d+\.(\d+)", s)]
    assert nums and len({len(n) for n in nums}) == 1
    fig = plot_timeline(1.0, 2.0, "linear")
    assert any("no Regime II" in s for s in texts(fig))
    fig = plot_timeline(math.nan, 2.0, "edm", axis="steps")
    assert any("no Regime II" in s for s in texts(fig))


def test_timeline_compare_stacks_samplers():
    from regimes.plot.timeline import plot_timeline_compare

    fig = plot_timeline_compare(3.4662, 2.0654, ["linear", "cosine", "edm"])
    assert {638, 827, 918, 979, 2, 6} <= _steps_in(fig)
    assert raw_scripts(fig) == []


def test_cli_timeline_axis_and_compare(run_cli, tmp_path):
    f = tmp_path / "c.png"
    rc, out, err = run_cli("timeline", "--compare", "linear,edm", "--axis", "steps", "--out", f,
                           "--json")
    assert rc == 0, err
    assert f.exists()
    rc, out, err = run_cli("timeline", "--axis", "sideways")
    assert rc != 0 and "--axis" in err


def test_spectrum_legend_has_the_atom_and_bulk_masses():
    from regimes.plot.spectra import plot_rf_density
    from regimes.rmt import RandomFeatures

    fig = plot_rf_density(RandomFeatures(8.0, 2.0, 0.1), d=40, rng=0, points=150)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("atom" in s and "0.625" in s for s in legend)
    assert sum("mass" in s for s in texts(fig)) >= 3
    assert raw_scripts(fig) == []


def _has_marker(fig):
    return any(line.get_gid() == "model-marker" for ax in fig.axes for line in ax.get_lines())


def test_phase_diagrams_mark_the_model_and_use_math_text():
    from regimes.plot.phase import plot_phase_nd, plot_phase_np, plot_phase_ntau

    fig = plot_phase_np(points=15, d=100, mark=(500, 2000, "your model"))
    assert _has_marker(fig) and "your model" in texts(fig)[-1] + " ".join(texts(fig))
    assert raw_scripts(fig) == []
    fig = plot_phase_ntau(points=15, window_points=0, mark=(300, "your model"), lr=0.01)
    assert _has_marker(fig) and any("optimiser steps" in s for s in texts(fig))
    assert any("Gamma_t" in s for s in texts(fig))  # Γ_t defined where it is used
    assert raw_scripts(fig) == []
    fig = plot_phase_nd(points=15, separation=0.3, mark=(3072, 5e4, "CIFAR-10"))
    assert _has_marker(fig) and raw_scripts(fig) == []
    legend = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert any("Regime II" in s for s in legend) and any("n^*" in s for s in legend)


def test_memorization_uturn_and_hierarchy_figures_use_math_text():
    # the figures of the memorisation audit, the U-turns and the class hierarchy: no raw _ or ^
    import matplotlib.text as mtext
    import numpy as np

    from regimes.hierarchy import class_hierarchy_gaussian
    from regimes.memorization import memorization_audit
    from regimes.plot.hierarchy import plot_hierarchy
    from regimes.plot.memorization import plot_ratio_histogram, plot_uturn
    from regimes.uturn import uturn

    g = np.random.default_rng(0)
    train = g.standard_normal((60, 8))
    gen = np.concatenate([train[:10] + 1e-3 * g.standard_normal((10, 8)), g.standard_normal((20, 8))])
    figs = [plot_ratio_histogram(memorization_audit(gen, train, reference=g.standard_normal((20, 8)), bootstrap=20)),
            plot_uturn(uturn(train, [0.1, 1.0], samples=20, steps=10), t_S=1.0, t_C=0.2),
            plot_hierarchy(class_hierarchy_gaussian(np.array([[3.0, 0, 0], [-3.0, 0, 0], [0, 5.0, 0]])))]
    for fig in figs:
        fig.canvas.draw()
        for t in fig.findobj(mtext.Text):
            s = t.get_text()
            outside = "".join(s.split("$")[::2])  # text outside $…$
            assert "_" not in outside and "^" not in outside, s
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_zero_terminal_snr_timeline_draws_and_says_so():
    # a zero-terminal-SNR schedule has its last step at t = ∞: the figure draws it at a finite place
    # and says so (it used to fail on an infinite axis limit)
    import numpy as np

    from regimes.plot.timeline import plot_timeline
    from regimes.schedule_forms import rescale_zero_terminal_snr
    from regimes.schedules import DiscreteSchedule

    betas = rescale_zero_terminal_snr(np.linspace(0.00085**0.5, 0.012**0.5, 1000) ** 2)
    sch = DiscreteSchedule("zsnr", betas)
    assert not np.isfinite(sch.t_max)
    fig = plot_timeline(2.1, 1.8, sch)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert "zero terminal SNR" in ax.get_title(loc="left") and np.all(np.isfinite(ax.get_xlim()))
    assert any("step" in t.get_text() for t in ax.texts)
    # the step axis' label agrees with the title: the last step is at t = ∞, drawn at a finite place
    top = [a.get_xlabel() for a in fig.axes[0].child_axes if "step" in a.get_xlabel()]
    assert top and "last step at $t$ = ∞, drawn at" in top[0]
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_multi_panel_figures_draw_into_the_callers_axes():
    # plot_phase_nd / np / timeline_compare take ax= (a sequence when they draw several panels)
    import matplotlib.pyplot as plt
    import pytest

    from regimes import RegimesError
    from regimes.phase import nd_phase_diagram, np_phase_diagram
    from regimes.plot.phase import plot_phase_nd, plot_phase_np
    from regimes.plot.timeline import plot_timeline_compare

    fig, axes = plt.subplots(1, 2)
    assert plot_phase_nd(nd_phase_diagram(points=12, separation=0.3), ax=axes) is fig
    assert axes[0].get_xlabel() and axes[1].get_xlabel()
    with pytest.raises(RegimesError, match="ax must hold 2 Axes"):
        plot_phase_nd(nd_phase_diagram(points=12, separation=0.3), ax=axes[0])
    plt.close(fig)
    fig, ax = plt.subplots()
    assert plot_phase_np(np_phase_diagram(points=8), ax=ax) is fig and ax.get_xlabel()
    plt.close(fig)
    fig, axes = plt.subplots(2, 1)
    assert plot_timeline_compare(3.4, 2.1, ("linear", "cosine"), ax=axes) is fig
    assert all(a.texts for a in axes)
    plt.close(fig)


def test_every_plot_function_takes_ax():
    # the curves (2-3 stacked panels), the hierarchy (2), the U-turn curves (1) and image grid (T×3)
    import matplotlib.pyplot as plt
    import numpy as np

    from regimes.analysis import analyze
    from regimes.hierarchy import class_hierarchy_gaussian
    from regimes.plot.curves import plot_curves
    from regimes.plot.hierarchy import plot_hierarchy
    from regimes.plot.memorization import plot_uturn
    from regimes.uturn import uturn

    X = np.random.default_rng(0).standard_normal((80, 6))
    fig, axes = plt.subplots(2, 1)
    assert plot_curves(analyze(X, samples=16, bootstrap=0), ax=axes) is fig and axes[1].lines
    plt.close(fig)
    fig, axes = plt.subplots(1, 2)
    h = class_hierarchy_gaussian(np.array([[3.0, 0, 0], [-3.0, 0, 0], [0, 5.0, 0]]))
    assert plot_hierarchy(h, ax=axes) is fig
    plt.close(fig)
    res = uturn(X.reshape(80, 6), [0.1, 1.0], samples=8, steps=10)
    fig, ax = plt.subplots()
    assert plot_uturn(res, ax=ax) is fig and ax.lines
    plt.close(fig)
    fig, axes = plt.subplots(2, 3)
    assert plot_uturn(res, X, (2, 3), ax=axes.ravel()) is fig
    plt.close(fig)
