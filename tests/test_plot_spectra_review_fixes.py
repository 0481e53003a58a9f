"""Review fixes of the spectrum figures and of the U-turn curves, checked on the drawn artists (no
pixels): every bulk of the random-features spectrum readable at every t, the Marchenko–Pastur
histogram a density of exactly what is drawn, tick labels that do not overlap."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _overlaps(boxes) -> list:
    """Pairs of display boxes that intersect (a 0.5 px touch is allowed)."""
    bad = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0.5:
                bad.append((a, b))
    return bad


def _draw(fig):
    """Draw the figure on an Agg canvas (a bare ``Figure`` has none) and return the renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _tick_boxes(fig, axis):
    """Display boxes of the drawn, non-empty tick labels (major and minor) of one axis."""
    r = _draw(fig)
    lo, hi = sorted(axis.get_view_interval())
    out = []
    for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
        if not lo <= tick.get_loc() <= hi:
            continue
        for lab in (tick.label1, tick.label2):
            if lab.get_visible() and lab.get_text().strip():
                out.append(lab.get_window_extent(r))
    return out


# ------------------------------------------------------------------ random-features spectrum

def _independent_U(rf, d, seed):
    """The Gaussian-equivalent U of [WM] (arXiv:2505.17638), written out here from its formula
    U = GGᵀ/n + b_t²WWᵀ/d + s_t²I, G = e^{−t}a_t WX/√d + v_tΩ (Σ = I), with its own draws."""
    c = rf.constants
    gen = np.random.default_rng(seed)
    p, n = int(round(rf.psi_p * d)), int(round(rf.psi_n * d))
    W = gen.standard_normal((p, d))
    X = gen.standard_normal((d, n))
    G = math.exp(-rf.t) * c.a_t * (W @ X) / math.sqrt(d) + math.sqrt(c.v_t2) * gen.standard_normal((p, n))
    U = G @ G.T / n + c.b_t**2 * (W @ W.T) / d + c.s_t2 * np.eye(p)
    return np.linalg.eigvalsh(0.5 * (U + U.T)), p


@pytest.fixture(scope="module", params=[(8.0, 2.0, 2.0), (8.0, 2.0, 0.1), (8.0, 1.5, 2.0), (3.0, 2.0, 0.1)],
                ids=lambda a: "psi_p={}-psi_n={}-t={}".format(*a))
def rf_figure(request):
    from regimes.plot.spectra import plot_rf_density
    from regimes.rmt import RandomFeatures

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rf = RandomFeatures(*request.param)
        fig = plot_rf_density(rf, d=40, rng=0, points=200)
    _draw(fig)
    yield rf, fig
    plt.close(fig)


def _bulks_low_to_high(rf):
    b = rf.bulks
    out = [b[k] for k in ("satellite", "slow", "fast") if b[k] is not None] + list(b["other"])
    return sorted(out, key=lambda q: q.edges[0])


def _offset(ax, rf):
    """The panel draws λ − s_t² (its x label says so) or λ."""
    return rf.constants.s_t2 if "s_t^2" in ax.get_xlabel() else 0.0


def test_one_panel_per_bulk_each_curve_fills_its_axes(rf_figure):
    rf, fig = rf_figure
    bulks = _bulks_low_to_high(rf)
    assert len(fig.axes) == len(bulks) >= 2
    for ax, bulk in zip(fig.axes, bulks, strict=True):
        curve = max((ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2), key=lambda ln: len(ln.get_xdata()))
        y = np.asarray(curve.get_ydata(), dtype=float)
        ylo, yhi = ax.get_ylim()
        assert ylo == 0.0
        # the bulk is not a flat line at 0 (the defect: 6e-6 of the axis height at t = 2)
        assert np.nanmax(y) >= 0.45 * yhi
        (hist,) = ax.patches
        assert hist.get_data().values.max() <= yhi  # no bar clipped
        # the library's edges, as drawn dashed lines, inside the x limits
        off = _offset(ax, rf)
        xlo, xhi = ax.get_xlim()
        assert xlo <= bulk.edges[0] - off < bulk.edges[1] - off <= xhi
        vlines = sorted(ln.get_xdata()[0] for ln in ax.get_lines() if len(ln.get_xdata()) == 2
                        and ln.get_xdata()[0] == ln.get_xdata()[1])
        assert vlines == pytest.approx([bulk.edges[0] - off, bulk.edges[1] - off], rel=1e-12, abs=0)
        # the bulk spans a good part of the width (it is not a sliver)
        if ax.get_xscale() == "log":
            frac = math.log((bulk.edges[1] - off) / (bulk.edges[0] - off)) / math.log(xhi / xlo)
        else:
            frac = (bulk.edges[1] - bulk.edges[0]) / (xhi - xlo)
        assert frac > 0.8
        # both are densities in the measure of the x axis (dx, or d ln x on a log axis): the
        # histogram's area is the sampled fraction of eigenvalues and the curve's is the bulk's mass
        vals, edges, _ = hist.get_data()
        dx = np.diff(np.log(edges)) if ax.get_xscale() == "log" else np.diff(edges)
        p = int(round(rf.psi_p * 40))
        assert float(np.sum(vals * dx)) == pytest.approx(bulk.mass, abs=3.0 / p + 0.01)
        xs = np.asarray(curve.get_xdata(), dtype=float)
        u = np.log(xs) if ax.get_xscale() == "log" else xs
        if y[0] < 0.1 * np.nanmax(y) and y[-1] < 0.1 * np.nanmax(y):  # square-root edges (a hard
            # edge, ρ ~ 1/√(λ − s_t²) at γ = 1, is not integrable by the trapezoid rule)
            assert np.trapezoid(np.nan_to_num(y), u) == pytest.approx(bulk.mass, rel=0.05)


def test_each_panel_holds_its_bulk_of_an_independently_sampled_U(rf_figure):
    # oracle: the eigenvalues of a U sampled here from its formula (other draws, p = 8·60): the
    # fraction inside each panel's x range is the bulk's mass up to O(1/p) edge fluctuations
    rf, fig = rf_figure
    ev, p = _independent_U(rf, 60, seed=12345)
    for ax, bulk in zip(fig.axes, _bulks_low_to_high(rf), strict=True):
        off = _offset(ax, rf)
        xlo, xhi = ax.get_xlim()
        x = ev - off
        inside = np.count_nonzero((x >= xlo) & (x <= xhi) & (x > 1e-9 * ev[-1]))  # not the atom
        assert inside / p == pytest.approx(bulk.mass, abs=3.0 / p + 0.01)


def test_legends_give_masses_edges_and_the_atom(rf_figure):
    rf, fig = rf_figure
    for ax, bulk in zip(fig.axes, _bulks_low_to_high(rf), strict=True):
        legend = " | ".join(t.get_text() for t in ax.get_legend().get_texts())
        assert f"mass {bulk.mass:.3g}" in legend and "edges" in legend
        assert "eigenvalue of U" in ax.get_xlabel()
    first = " | ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    atom = rf.bulks["atom"]
    assert ("atom" in first) == (atom is not None)
    if atom:
        assert f"mass {atom['mass']:.3g}" in first
    caption = fig.get_supxlabel()
    assert "p × p" in caption and "dimensionless" in caption and "2505.17638" in caption


def test_tick_labels_readable(rf_figure):
    _, fig = rf_figure
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            boxes = _tick_boxes(fig, axis)
            assert len(boxes) >= 2
            assert _overlaps(boxes) == []
            # an additive offset ("1e−6+2.741e−2") is unreadable; a ×10^k multiplier is fine
            assert "+" not in axis.get_offset_text().get_text()


# ------------------------------------------------------------------ Marchenko–Pastur

def _mp(gamma, size=400, seed=0, ax=None):
    from regimes.plot.spectra import plot_mp_density
    from regimes.rmt import MarchenkoPastur

    law = MarchenkoPastur(gamma, 1.0)
    return law, plot_mp_density(law, size=size, rng=seed, ax=ax)


@pytest.mark.parametrize("gamma", [4.0, 0.25, 1.5])
def test_mp_histogram_is_a_density_of_a_wishart_spectrum_and_is_not_clipped(gamma):
    law, fig = _mp(gamma)
    ax = fig.axes[0]
    (hist,) = ax.patches
    vals, edges, _ = hist.get_data()
    area = float(np.sum(vals * np.diff(edges)))
    # oracle: a Wishart matrix sampled here, M = 400 rows; its non-zero eigenvalues are a fraction
    # rank/M = min(1, N/M) of all, which is the continuous mass 1 − atom of the law
    M, N = 400, int(round(400 / gamma))
    Y = np.random.default_rng(99).standard_normal((M, N))
    ev = np.linalg.eigvalsh(Y @ Y.T / N)
    nonzero = ev[ev > 1e-9 * ev[-1]]
    assert area == pytest.approx(nonzero.size / M, rel=1e-12)
    assert area == pytest.approx(1.0 - law.atom, abs=1.0 / M)  # N = M/γ rounded
    # the shape: the drawn cumulative mass at each bin edge against the independent sample's
    # (eigenvalues are rigid: a few eigenvalues of difference at most)
    drawn = np.concatenate([[0.0], np.cumsum(vals * np.diff(edges))])
    other = np.searchsorted(np.sort(nonzero), edges) / M
    assert np.max(np.abs(drawn - other)) < 0.03
    # nothing clipped: the tallest bar and the curve under the top of the axes
    top = ax.get_ylim()[1]
    assert vals.max() <= top
    (curve,) = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
    assert np.nanmax(curve.get_ydata()) <= top


def test_mp_legend_says_the_atom_is_left_out():
    law, fig = _mp(4.0)
    legend = " | ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert "atom" in legend and "0.75" in legend and "left out" in legend and "300 zero" in legend
    _, fig = _mp(0.25)
    legend = " | ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert "atom" not in legend


def test_mp_leaves_the_callers_patches_alone():
    fig, ax = plt.subplots()
    bars = ax.bar([5.0, 6.0], [1.0, 0.3], width=0.5, color="k")
    before = [(b.get_x(), b.get_y(), b.get_width(), b.get_height()) for b in bars]
    _, out = _mp(0.25, ax=ax)
    assert out is fig
    assert [(b.get_x(), b.get_y(), b.get_width(), b.get_height()) for b in bars] == before
    assert len(ax.patches) == 3  # the caller's two bars and one histogram
    assert ax.get_ylim()[1] >= 1.0  # the caller's bar still fits


# ------------------------------------------------------------------ U-turn curves

@pytest.fixture(scope="module")
def uturn_data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(30, 5))


@pytest.mark.parametrize("times, t_S", [([0.05, 0.15, 0.23, 0.35, 0.5, 0.8], 0.514), ([0.2, 0.25, 0.3], 0.514),
                                        ([0.2, 0.25, 0.3], 60.0), (list(np.geomspace(1e-4, 3.0, 12)), 0.514),
                                        ([0.01, 0.1, 1.0, 10.0, 100.0], 0.514), ([0.3], 0.514)])
def test_uturn_time_tick_labels_do_not_overlap(uturn_data, times, t_S):
    from regimes.plot.memorization import plot_uturn
    from regimes.uturn import uturn

    res = uturn(uturn_data, times, samples=4, steps=8, rng=0)
    fig = plot_uturn(res, t_S=t_S, t_C=0.227)
    ax = fig.axes[0]
    boxes = _tick_boxes(fig, ax.xaxis)
    assert len(boxes) >= 2
    assert _overlaps(boxes) == []
    # the labels are the tick values, readable as numbers (no "3×10⁻¹" next to "4×10⁻¹")
    for tick in ax.xaxis.get_major_ticks():
        s = tick.label1.get_text()
        if s and "$" not in s:
            assert float(s) == pytest.approx(tick.get_loc(), rel=1e-9)


@pytest.mark.parametrize("psi_p, psi_n, t, act", [(2.0, 8.0, 0.1, "relu"), (8.0, 2.0, 2.0, "tanh")])
def test_every_sampled_eigenvalue_is_counted_in_one_panel(psi_p, psi_n, t, act):
    """The panels' counts add up to the non-atom eigenvalues of the sampled U, each counted once (the
    padded windows of neighbouring bulks overlap; the gap between them is split at its middle)."""
    import re

    from regimes.plot.spectra import plot_rf_density
    from regimes.rmt import RandomFeatures

    rf = RandomFeatures(psi_p, psi_n, t, act)
    fig = plot_rf_density(rf, d=100, rng=0)
    counts, total = [], None
    for ax in fig.axes:
        leg = ax.get_legend()
        for txt in ([] if leg is None else leg.get_texts()):
            m = re.match(r"sampled U: (\d+) of (\d+) eigenvalues", txt.get_text())
            if m:
                counts.append(int(m.group(1)))
                total = int(m.group(2))
    n_rank = int(round(psi_n * 100)) + 100  # rank of U − s_t² I: n + d (the rest is the atom)
    assert total == int(round(psi_p * 100)) and sum(counts) == min(total, n_rank)
