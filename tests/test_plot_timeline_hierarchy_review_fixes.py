"""Review fixes of the timeline, hierarchy and curves figures, checked on the drawn geometry (window
extents after ``fig.canvas.draw()``), not on pixels.

* EDM on the steps axis: the OU-time axis had one tick ("0"), and the x label was wider than the
  figure. Oracle: the EDM levels from Karras et al.'s formula (arXiv:2206.00364, eq. 5), t = ½ ln(1 + σ²).
* cosine / flow on the OU-time axis: two labelled steps ("0", "500"). Oracle: the cosine ᾱ of
  Nichol & Dhariwal (arXiv:2102.09672, eq. 17) and rectified flow's x_τ = (1 − τ) x_0 + τ ε
  (arXiv:2209.03003), written as OU times.
* hierarchy: the dataset's t_S and the merges above it were not drawn; with no separating pair the
  axis went negative, labels overlapped and an all-NaN matrix had a colour bar. Oracle: the pair
  times Λ_ab = |δ|²/4 + ½(uᵀC_a u + uᵀC_b u) (arXiv:2402.18491's t_S of the pair) with numpy, and the
  single-linkage heights as the edges of a minimum spanning tree (Prim), not scipy's linkage.
* curves: legends covered curves and t_C lines on a log t axis.
"""

import dataclasses
import math

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402

T_S, T_C = 3.466, 2.065  # the built-in mixture's times


# ----------------------------------------------------------------------------------------- helpers
def _texts(fig):
    """Visible, non-empty texts of the figure with their window extents (after a draw)."""
    fig.canvas.draw()
    out = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.figure is not None:
            box = t.get_window_extent()
            if box.width > 0:
                out.append((t, box))
    return out


def _overlap(a, b, pad=0.0):
    return a.x0 < b.x1 - pad and b.x0 < a.x1 - pad and a.y0 < b.y1 - pad and b.y0 < a.y1 - pad


def _inside(box, fig, tol=0.5):
    f = fig.bbox
    return box.x0 >= f.x0 - tol and box.x1 <= f.x1 + tol and box.y0 >= f.y0 - tol and box.y1 <= f.y1 + tol


def _tick_labels(axis_owner, minor=True):
    labels = list(axis_owner.get_xticklabels())
    if minor:
        labels += list(axis_owner.get_xticklabels(minor=True))
    return [t for t in labels if t.get_visible() and t.get_text().strip()]


def _data_x(ax, label):
    """x (data coordinates of ``ax``) of the centre of a tick label (a label is centred on its tick)."""
    box = label.get_window_extent()
    return float(ax.transData.inverted().transform((0.5 * (box.x0 + box.x1), box.y0))[0])


def _px(ax):
    """Data units of ``ax``'s x axis per display pixel."""
    x0, x1 = ax.get_xlim()
    return abs(x1 - x0) / ax.get_window_extent().width


# ------------------------------------------------------------------------------- 1. EDM steps axis
def _edm_level_times(N=18, s_max=80.0, s_min=0.002, rho=7.0):
    """t of EDM's levels σ_0 … σ_{N-1} (arXiv:2206.00364 eq. 5) and σ_N = 0, as OU times ½ ln(1 + σ²)."""
    i = np.arange(N)
    sig = (s_max ** (1 / rho) + i / (N - 1) * (s_min ** (1 / rho) - s_max ** (1 / rho))) ** rho
    return np.append(0.5 * np.log1p(sig ** 2), 0.0)


def _check_edm_panel(fig, ax):
    (sec,) = ax.child_axes
    labels = _tick_labels(sec, minor=False)
    assert len(labels) >= 6, [t.get_text() for t in labels]  # was one: "0"
    ts = np.array([float(t.get_text()) for t in labels])
    xs = np.array([_data_x(ax, t) for t in labels])
    # each OU-time tick at its place on the step axis: level i at x = i, linear in t between levels
    lev = _edm_level_times()
    want = np.interp(ts, lev[::-1], np.arange(lev.size, dtype=float)[::-1])
    np.testing.assert_allclose(xs, want, atol=2.5 * _px(ax))
    # positions monotone in t (the step index falls as t grows; on the display left to right)
    disp = [0.5 * (t.get_window_extent().x0 + t.get_window_extent().x1) for t in labels]
    order = np.argsort(ts)
    assert np.all(np.diff(np.asarray(disp)[order]) > 0) and np.all(np.diff(xs[order]) < 0)
    boxes = [t.get_window_extent() for t in labels]
    assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    for lab in (ax.xaxis.label, sec.xaxis.label, *labels):
        assert _inside(lab.get_window_extent(), fig), lab.get_text()


def test_edm_steps_axis_has_readable_ou_time_ticks_and_a_label_inside_the_figure():
    from regimes.plot.timeline import plot_timeline

    fig = plot_timeline(T_S, T_C, "edm", axis="steps")
    fig.canvas.draw()
    _check_edm_panel(fig, fig.axes[0])
    plt.close(fig)


def test_compare_with_edm_on_the_steps_axis():
    from regimes.plot.timeline import plot_timeline_compare

    fig = plot_timeline_compare(T_S, T_C, ("linear", "edm"), axis="steps")
    fig.canvas.draw()
    lin, edm = (a for a in fig.axes if a.child_axes)
    _check_edm_panel(fig, edm)
    # the linear panel's OU-time ticks: at their steps, monotone, more than a few
    (sec,) = lin.child_axes
    labels = _tick_labels(sec, minor=False)
    assert len(labels) >= 6
    ts = np.array([float(t.get_text()) for t in labels])
    assert np.all(np.diff([_data_x(lin, t) for t in labels]) > 0) and np.all(np.diff(ts) > 0)
    plt.close(fig)


# ---------------------------------------------------------------- 2. cosine / flow: labelled steps
def _cosine_times(T=1000, s=0.008):
    f = lambda u: np.cos((u + s) / (1 + s) * np.pi / 2) ** 2  # noqa: E731
    j = np.arange(T)
    beta = np.minimum(1 - f((j + 1) / T) / f(j / T), 0.999)
    return -0.5 * np.cumsum(np.log1p(-beta))


def _flow_times(T=1000):
    """x_τ = (1 − τ) x_0 + τ ε at τ = (k + 1)/T is the OU state at e^{-t} = (1 − τ)/√((1 − τ)² + τ²);
    the last step (τ = 1, t = ∞) is drawn one step spacing past the previous one."""
    tau = (np.arange(T - 1) + 1.0) / T
    t = 0.5 * np.log(((1 - tau) ** 2 + tau ** 2) / (1 - tau) ** 2)
    return np.append(t, 2 * t[-1] - t[-2])


@pytest.mark.parametrize("schedule, times", [("cosine", _cosine_times()), ("flow", _flow_times())])
def test_step_axis_labels_enough_steps_where_the_steps_are_sparse(schedule, times):
    from regimes.plot.timeline import plot_timeline

    fig = plot_timeline(T_S, T_C, schedule)
    fig.canvas.draw()
    ax = fig.axes[0]
    (sec,) = ax.child_axes
    labels = sorted(_tick_labels(sec), key=lambda t: int(t.get_text()))
    ks = np.array([int(t.get_text()) for t in labels])
    assert len(ks) >= 6, ks  # was two: 0 and 500
    # the last tenth of the steps spans most of the axis: several of its steps are labelled
    assert (ks >= 900).sum() >= 3, ks
    # each label at its step's OU time, positions monotone in the step (and so in t)
    xs = np.array([_data_x(ax, t) for t in labels])
    np.testing.assert_allclose(xs, times[ks], atol=2.5 * _px(ax))
    assert np.all(np.diff(xs) > 0)
    boxes = [t.get_window_extent() for t in labels]
    assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    assert all(_inside(b, fig) for b in boxes)
    # the labelled major ticks stay evenly spaced round steps from 0
    major = sec.get_xticks()
    assert major[0] == 0 and len(set(np.diff(major))) == 1
    plt.close(fig)


def test_a_long_schedule_name_is_wrapped_inside_the_figure():
    from regimes.plot.timeline import plot_timeline
    from regimes.schedules import DiscreteSchedule

    sch = DiscreteSchedule("a-very-long-custom-scheduler-name-read-from-a-config-file",
                           np.linspace(1e-4, 0.02, 1000))
    fig = plot_timeline(T_S, T_C, sch, axis="steps")
    fig.canvas.draw()
    ax = fig.axes[0]
    assert "\n" in ax.get_xlabel() and _inside(ax.xaxis.label.get_window_extent(), fig)
    plt.close(fig)


# ------------------------------------------------------------------- 3. hierarchy: t_S and flags
def _pair_times(X, lab):
    """t_ab = ½ ln Λ_ab, Λ_ab = |δ|²/4 + ½(uᵀC_a u + uᵀC_b u) (unbiased class covariances); NaN if Λ ≤ 1."""
    K = lab.max() + 1
    means = np.array([X[lab == k].mean(0) for k in range(K)])
    covs = [np.cov(X[lab == k].T) for k in range(K)]
    T = np.full((K, K), np.nan)
    for a in range(K):
        for b in range(a + 1, K):
            d = means[a] - means[b]
            u = d / np.linalg.norm(d)
            lam = d @ d / 4 + 0.5 * (u @ covs[a] @ u + u @ covs[b] @ u)
            T[a, b] = T[b, a] = 0.5 * math.log(lam) if lam > 1 else np.nan
    return T


def _single_linkage_heights(T):
    """Prim's minimum spanning tree on the pair times (never-separating pairs at 0): the sorted edge
    weights are the single-linkage merge heights."""
    W = np.nan_to_num(T, nan=0.0)
    K = len(W)
    inside, best, out = {0}, W[0].copy(), []
    while len(inside) < K:
        j = min((k for k in range(K) if k not in inside), key=lambda k: best[k])
        out.append(best[j])
        inside.add(j)
        best = np.minimum(best, W[j])
    return np.sort(out)


@pytest.fixture(scope="module")
def simplex():
    """Five classes at the vertices of a simplex (pair times ~1.1 above the dataset's t_S ~0.84, whose
    variance is spread over four directions) and a sixth class close to the first (a merge ~0.28)."""
    g = np.random.default_rng(0)
    d = 8
    M = np.zeros((6, d))
    M[:5, :5] = 4 * np.eye(5)
    M[5] = M[0]
    M[5, 6] = 1.5
    lab = np.repeat(np.arange(6), 120)
    return M[lab] + g.standard_normal((720, d)), lab


def test_hierarchy_draws_the_dataset_t_S_and_marks_the_merges_above_it(simplex):
    from regimes.hierarchy import class_hierarchy
    from regimes.plot.hierarchy import plot_hierarchy

    X, lab = simplex
    t_S = 0.5 * math.log(np.linalg.eigvalsh(np.cov(X.T))[-1])
    heights = _single_linkage_heights(_pair_times(X, lab))
    above = heights[heights > t_S]
    assert 0 < above.size < heights.size  # the premise: merges on both sides of t_S
    h = dataclasses.replace(class_hierarchy(X, lab), dataset_t_S=t_S)
    np.testing.assert_allclose(np.sort(np.asarray(h.linkage)[:, 2]), heights, rtol=1e-9)

    fig = plot_hierarchy(h)
    fig.canvas.draw()
    ax = fig.axes[0]
    y0, y1 = ax.get_ylim()
    assert 0 <= y0 < t_S < y1
    # the t_S line: one horizontal dashed line at the dataset's t_S
    flat = [ln for ln in ax.get_lines() if len(ln.get_ydata()) == 2 and ln.get_ydata()[0] == ln.get_ydata()[1]
            and ln.get_linestyle() == "--"]
    assert len(flat) == 1 and flat[0].get_ydata()[0] == pytest.approx(t_S, rel=1e-12)
    # a hollow circle at each merge above t_S, none at the merge below it
    rings = [ln for ln in ax.get_lines() if ln.get_marker() == "o" and ln.get_markerfacecolor() == "none"]
    np.testing.assert_allclose(sorted(float(ln.get_ydata()[0]) for ln in rings), above, rtol=1e-9)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("above the dataset's $t_S$" in s and "overstates" in s for s in texts)
    assert any(s.startswith("dataset's $t_S") and f"{t_S:.4g}" in s for s in texts)
    # the legend below the axes and their tick labels, inside the figure
    leg = ax.get_legend().get_window_extent()
    assert not _overlap(leg, ax.get_window_extent()) and _inside(leg, fig)
    assert not any(_overlap(leg, t.get_window_extent()) for t in ax.get_xticklabels())
    plt.close(fig)


def test_hierarchy_says_when_the_dataset_t_S_is_off_the_resolved_axis():
    # three equidistant classes: every pair time (½ ln(1 + 12.5) ≈ 1.30) above the dataset's t_S
    # (½ ln(1 + 25/3) ≈ 1.12); the close merges keep their resolved axis, the legend says where t_S is
    from regimes.hierarchy import class_hierarchy
    from regimes.plot.hierarchy import plot_hierarchy

    g = np.random.default_rng(2)
    lab = np.repeat(np.arange(3), 100)
    X = 5.0 * np.eye(32)[:3][lab] + g.standard_normal((300, 32))
    t_S = 0.5 * math.log(np.linalg.eigvalsh(np.cov(X.T))[-1])
    heights = _single_linkage_heights(_pair_times(X, lab))
    assert heights.min() > t_S
    fig = plot_hierarchy(dataclasses.replace(class_hierarchy(X, lab), dataset_t_S=t_S))
    ax = fig.axes[0]
    y0, y1 = ax.get_ylim()
    assert t_S < y0 < heights.min() and np.ptp(heights) / (y1 - y0) > 0.1
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(s.startswith("dataset's $t_S") and "below the axis" in s for s in texts)
    rings = [ln for ln in ax.get_lines() if ln.get_marker() == "o" and ln.get_markerfacecolor() == "none"]
    assert len(rings) == heights.size
    plt.close(fig)


def test_hierarchy_without_any_separating_pair():
    # N(0, 0.25 I) with three random classes: Λ_ab ≈ 0.25 ≤ 1 for every pair
    from regimes.hierarchy import class_hierarchy
    from regimes.plot.hierarchy import plot_hierarchy

    g = np.random.default_rng(3)
    X = 0.5 * g.standard_normal((300, 20))
    lab = g.integers(0, 3, 300)
    assert np.isnan(_pair_times(X, lab)).all()  # the premise, independently
    fig = plot_hierarchy(class_hierarchy(X, lab))
    texts = _texts(fig)
    ax0, ax1 = fig.axes[:2]
    assert len(fig.axes) == 2  # no colour bar for an all-NaN matrix
    y0, y1 = ax0.get_ylim()
    assert y0 == 0 and y1 > 0  # no negative OU time
    assert all(v >= 0 for v in ax0.get_yticks() if y0 <= v <= y1)
    assert any("no pair separates above noise" in t.get_text() for t in ax1.texts)
    # no two texts overlap, none leaves the figure
    boxes = [(t.get_text(), b) for t, b in texts]
    clash = [(a, b) for i, (a, ba) in enumerate(boxes) for b, bb in boxes[i + 1:] if _overlap(ba, bb, pad=0.5)]
    assert not clash, clash
    assert all(_inside(b, fig) for _, b in boxes)
    plt.close(fig)


# ---------------------------------------------------------------------------- 4. curves' legends
def test_curves_legends_cover_no_curve_on_a_log_axis():
    from regimes.analysis import analyze
    from regimes.plot.curves import plot_curves

    g = np.random.default_rng(4)
    lab = np.repeat([0, 1], 150)
    X = np.where(lab[:, None] == 0, 2.0, -2.0) * np.eye(16)[0] + g.standard_normal((300, 16))
    r = analyze(X, lab, samples=32, bootstrap=0, seed=0, times=np.geomspace(1e-4, 3.0, 25))
    fig = plot_curves(r)
    fig.canvas.draw()
    assert fig.axes[-1].get_xscale() == "log" and len(fig.axes) == 3
    for ax in fig.axes:
        leg = ax.get_legend()
        assert leg is not None and leg.get_frame_on()
        box = leg.get_window_extent()
        assert _inside(box, fig)
        for ln in ax.get_lines():
            if ln.get_transform() != ax.transData or len(ln.get_xdata()) < 3:
                continue
            pts = ax.transData.transform(np.column_stack([ln.get_xdata(), ln.get_ydata()]))
            pts = pts[np.all(np.isfinite(pts), axis=1)]
            assert not np.any((pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1)
                              & (pts[:, 1] >= box.y0) & (pts[:, 1] <= box.y1)), ln.get_label()
        # the vertical lines (t_C, t_S) run the full height of the axes: the legend is off the axes
        assert not _overlap(box, ax.get_window_extent())
    plt.close(fig)
