"""Plots return Figures with labelled axes; importing regimes never imports matplotlib."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


@pytest.fixture(scope="module")
def result():
    from regimes.analysis import analyze
    from regimes.models import example_mixture

    X, lab, _, _ = example_mixture(1, d=24, per_class=100)
    return analyze(X, lab, samples=48, bootstrap=10, eigen_bootstrap=0)


def test_curves_figure(result):
    from regimes.plot import plot_curves

    fig = plot_curves(result)
    axes = fig.get_axes()
    assert len(axes) == 3
    assert all(ax.get_ylabel() for ax in axes) and "OU time" in axes[-1].get_xlabel()
    # the plotted measured curve is the analysis curve divided by α
    line = axes[0].get_lines()[0]
    d = result.to_dict()
    np.testing.assert_allclose(line.get_ydata(), np.asarray(d["curves"]["excess_entropy"]) / d["alpha"])
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_timeline_figure_and_step_axis():
    from regimes import step_at_time
    from regimes.plot import plot_timeline

    fig = plot_timeline(3.0, 1.5, "scaled-linear", 1000)
    ax = fig.get_axes()[0]
    assert "OU time" in ax.get_xlabel()
    sec = [c for c in ax.child_axes]
    assert sec and "step" in sec[0].get_xlabel()
    # the secondary axis maps t to the step index of the schedule (SPEC §1: first k with t_k >= t)
    fwd = sec[0]._functions[0]
    assert abs(float(fwd(1.5)) - step_at_time("scaled-linear", 1.5, 1000)) <= 1.0
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_import_regimes_does_not_import_matplotlib():
    code = "import regimes, regimes.plot, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("schedule", ["linear", "cosine", "scaled-linear"])
def test_timeline_draws_beyond_the_schedule(schedule):
    # t_S = 3.2 lies past scaled-linear's last step (t ≈ 2.68): the figure must still render, and
    # every step tick must be a real step of the schedule placed at its own OU time; the labelled
    # ticks are evenly spaced round steps from 0 (the last step 999 is no longer a labelled tick:
    # issue 17 asked for even, readable step ticks)
    import io

    from regimes.plot.timeline import plot_timeline

    fig = plot_timeline(3.2, 2.0, schedule)
    fig.savefig(io.BytesIO(), format="png")
    sec = [a for a in fig.axes[0].child_axes][0]
    ticks = sec.get_xticks()
    assert ticks.min() == 0 and ticks.max() <= 999 and np.all(ticks == np.round(ticks))
    assert len(set(np.diff(ticks))) == 1  # evenly spaced
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize("t_S, t_C, schedule", [(1.4083, 1.1462, "cosine"),  # CIFAR-10 preset
                                                (3.4673, 2.147, "linear"), (1.0, 0.98, "linear"),
                                                (4.9, 4.7, "linear"), (2.0, 1.2, "cosine")])
def test_timeline_labels_overlap_neither_each_other_nor_the_other_line(t_S, t_C, schedule):
    import io

    from regimes.plot.timeline import plot_timeline

    fig = plot_timeline(t_S, t_C, schedule, intervals=[(t_S - 0.01, t_S + 0.01), (t_C - 0.02, t_C + 0.02)])
    fig.savefig(io.BytesIO(), format="png")
    ax = fig.axes[0]
    r = fig.canvas.get_renderer()
    labs = {("S" if "t_S" in t.get_text() else "C"): t.get_window_extent(r) for t in ax.texts if "= " in t.get_text()}
    assert len(labs) == 2
    bS, bC = labs["S"], labs["C"]
    assert not bS.overlaps(bC)
    # the label of one line does not cross the other line (pixel x of the lines)
    xS, xC = (ax.transData.transform((x, 0))[0] for x in (t_S, t_C))
    assert not (bC.x0 < xS < bC.x1) and not (bS.x0 < xC < bS.x1)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_timeline_says_when_there_is_no_speciation():
    from regimes.plot.timeline import plot_timeline

    fig = plot_timeline(float("nan"), 1.2, "linear")
    ax = fig.axes[0]
    titles = [ax.get_title(loc=loc) for loc in ("left", "center", "right")]
    assert any("no speciation" in t for t in [*(t.get_text() for t in ax.texts), *titles])
    import matplotlib.pyplot as plt

    plt.close(fig)
