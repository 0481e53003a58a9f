"""(n, d) phase-diagram data against independent root finding and the asymptotic criterion."""

import math

import mpmath as mp
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import brentq

import regimes as R
from regimes import RegimesError
from regimes.phase import alpha_for_collapse_time, n_star, nd_phase_diagram


@pytest.mark.parametrize("t, var", [(0.05, 1.0), (0.5, 1.0), (2.0, 0.3), (4.0, 7.0)])
def test_alpha_for_collapse_time_inverts_collapse_time(t, var):
    # oracle: 50-digit bisection (in ln α) of ½ log1p(σ²/expm1(2α)) = t, which decreases in α
    with mp.workdps(50):
        lo, hi = mp.mpf(-60), mp.mpf(5)
        for _ in range(200):
            mid = (lo + hi) / 2
            if mp.log1p(var / mp.expm1(2 * mp.exp(mid))) / 2 > t:
                lo = mid
            else:
                hi = mid
        ref = mp.exp((lo + hi) / 2)
    assert_allclose(alpha_for_collapse_time(t, var), float(ref), rtol=1e-13)


def test_n_star_solves_collapse_time_equals_target():
    for d in (10.0, 50.0, 200.0):
        # independent: brentq on ln n of collapse_time(n, d) - target
        ln_n = brentq(lambda x, d=d: R.collapse_time(math.exp(x), d) - 0.5, math.log(2), 700,
                      xtol=1e-14)
        assert_allclose(math.log(n_star(d, 0.5)), ln_n, rtol=1e-10)


def test_regime_II_boundary_approaches_asymptotic_criterion():
    # arXiv 2402.18491: t_C < t_S iff, asymptotically, σ² < 2 m̃² ln n  ⇒ boundary n = exp(σ²/(2 m̃²))
    sep, var = 0.3, 1.0
    pdg = nd_phase_diagram(
        d_range=(1e5, 1e6), n_range=(20, 2000), points=400, separation=sep, variance=var
    )
    exists = np.isfinite(pdg.regime_II_width[:, -1])
    n_boundary = pdg.n[np.argmax(exists)]
    assert abs(math.log(n_boundary) - var / (2 * sep**2)) < 0.05


def test_grid_contents():
    pdg = nd_phase_diagram(points=7, eigenvalue=16.72)
    assert pdg.t_C.shape == (7, 7)
    assert_allclose(pdg.t_C[3, 4], R.collapse_time(pdg.n[3], pdg.d[4]), rtol=1e-15)
    assert_allclose(pdg.t_S, 0.5 * math.log(16.72), rtol=1e-15)
    d = pdg.to_dict()
    assert {"d", "n", "t_C", "t_S", "regime_II_width", "log10_n_star"} <= d.keys()


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(points=1), "points must be >= 2"),
        (dict(d_range=(10, 5)), "d_range must be increasing"),
        (dict(n_range=(1, 5)), "n_range"),
        (dict(separation=1.0, eigenvalue=3.0), "at most one"),
        (dict(target=0.0), "target must be > 0"),
    ],
)
def test_bad_input(kw, match):
    with pytest.raises(RegimesError, match=match):
        nd_phase_diagram(**kw)


def test_figure_builds_without_saving():
    from regimes.plot.phase import plot_phase_nd

    fig = plot_phase_nd(points=20, separation=0.3)
    assert len(fig.axes) == 4  # two panels + two colourbars
    labels = [ax.get_xlabel() for ax in fig.axes[:2]]
    assert labels == ["dimension d", "dimension d"]


# ---------------------------------------------------------------------- random features
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from scipy import integrate  # noqa: E402

from regimes.phase import np_phase_diagram, ntau_phase_diagram  # noqa: E402
from regimes.rmt import RandomFeatures, training_regimes  # noqa: E402


def _tanh_constants(t):
    """Independent oracle for tanh, σ_x² = 1 (Γ_t = 1): κ_1 by 30-digit mpmath quadrature,
    v_t² by nested scipy quadrature of E_u[(E_v tanh(e^{-t}u + √Δ v))²] − κ_1²e^{-2t}."""
    with mp.workdps(30):
        k1 = mp.quad(
            lambda z: mp.sech(z) ** 2 * mp.exp(-z * z / 2), [-mp.inf, 0, mp.inf]
        ) / mp.sqrt(2 * mp.pi)
    k1 = float(k1)
    e, sd = math.exp(-t), math.sqrt(-math.expm1(-2 * t))
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731

    def inner(u):
        return integrate.quad(lambda v: math.tanh(e * u + sd * v) * phi(v), -12, 12,
                              epsabs=1e-14, epsrel=1e-13)[0]
    m2 = integrate.quad(lambda u: inner(u) ** 2 * phi(u), -12, 12, epsabs=1e-14, epsrel=1e-12)[0]
    return k1, m2 - k1**2 * e**2, -math.expm1(-2 * t)


@pytest.mark.parametrize("t", [0.1, 0.7])
def test_np_timescales_against_independent_quadrature(t):
    k1, v2, delta = _tanh_constants(t)
    if t == 0.1:  # reference values of arXiv 2505.17638 (tanh, t = 0.1)
        assert_allclose([k1, v2], [0.60570551, 0.01384145], rtol=5e-7)
    pdg = np_phase_diagram(psi_n_range=(0.2, 5.0), psi_p_range=(0.1, 10.0), points=6, t=t)
    assert_allclose(pdg.tau_gen, 1 / (2 * delta * k1**2), rtol=1e-8)
    assert_allclose(pdg.tau_mem, pdg.psi_n / (2 * delta * v2), rtol=1e-7)
    # τ_mem/τ_gen = ψ_n κ_1²/v_t², independent of ψ_p (leading order)
    assert_allclose(pdg.tau_ratio, np.outer(pdg.psi_n * k1**2 / v2, np.ones(6)), rtol=1e-7)


def test_np_matches_random_features_objects_pointwise():
    pdg = np_phase_diagram(psi_n_range=(0.3, 3.0), psi_p_range=(0.5, 8.0), points=4, t=0.3)
    for i in (0, 3):
        for j in (1, 2):
            rf = RandomFeatures(pdg.psi_p[j], pdg.psi_n[i], 0.3)
            assert_allclose(pdg.tau_ratio[i, j], rf.tau_ratio, rtol=1e-12)


def test_np_regions_and_memorisation_boundary():
    T = 20.0
    pdg = np_phase_diagram(points=41, t=0.2, training_time=T)
    # boundary ψ_n,mem: root of τ_mem(ψ_n) = T τ_gen, found with brentq on RandomFeatures objects
    root = brentq(
        lambda x: RandomFeatures(1.0, x, 0.2).tau_mem - T * RandomFeatures(1.0, x, 0.2).tau_gen,
        1e-3,
        1e3,
        xtol=1e-14,
    )
    assert_allclose(pdg.psi_n_mem, root, rtol=1e-10)
    PN, PP = np.meshgrid(pdg.psi_n, pdg.psi_p, indexing="ij")
    assert np.all(pdg.region[PP <= PN] == 0)  # below the interpolation line: no memorisation
    assert np.all(pdg.region[(PP > PN) & (PN < root)] == 2)
    assert np.all(pdg.region[(PP > PN) & (PN > root)] == 1)
    assert set(np.unique(pdg.region)) == {0, 1, 2}
    out = np_phase_diagram(points=3, d=50).to_dict()
    assert_allclose(out["n"], out["psi_n"] * 50) and out["interpolation_line"].startswith(
        "psi_p = psi_n"
    )


def test_np_gap_is_larger_above_the_interpolation_line():
    pdg = np_phase_diagram(
        psi_n_range=(0.25, 4.0), psi_p_range=(0.25, 4.0), points=3, gap=True, gap_d=12
    )
    # finite-d sampled instances: training to convergence memorises only when p > n
    assert pdg.gap[0, 2] > 5 * max(pdg.gap[2, 0], 1e-3)
    assert pdg.gap[0, 2] > pdg.gap[1, 2] > pdg.gap[2, 2] - 1e-9


def test_ntau_regions_equal_training_regimes_and_tau_mem_is_linear_in_n():
    pdg = ntau_phase_diagram(n_range=(20, 5000), points=7, d=50, p=1000, t=0.15)
    ref = training_regimes(pdg.n, pdg.tau, 50, 1000, 0.15)
    np.testing.assert_array_equal(pdg.region, ref["region"])
    assert_allclose(pdg.tau_mem, ref["tau_mem"], rtol=1e-12)
    assert_allclose(ref["tau_gen"], pdg.tau_gen, rtol=1e-12)  # flat in n
    slope = np.polyfit(np.log(pdg.n), np.log(pdg.tau_mem), 1)[0]
    assert_allclose(slope, 1.0, rtol=1e-12)  # arXiv 2505.17638: τ_mem ∝ n
    assert list(pdg.interpolating) == list(pdg.n < 1000)
    assert set(np.unique(pdg.region)) == {0, 1, 2}


@pytest.mark.parametrize(
    "fn, kw, match",
    [
        (np_phase_diagram, dict(training_time=0), "training_time must be > 0"),
        (np_phase_diagram, dict(psi_n_range=(2, 1)), "psi_n_range must be increasing"),
        (np_phase_diagram, dict(t=-1), "t must be > 0"),
        (ntau_phase_diagram, dict(p=0), "p must be > 0"),
        (ntau_phase_diagram, dict(tau_range=(5, 1)), "tau_range must be increasing"),
    ],
)
def test_rf_diagrams_bad_input(fn, kw, match):
    with pytest.raises(RegimesError, match=match):
        fn(**kw)


# ---------------------------------------------------------------------- figures carry the data
def test_np_and_ntau_figures_plot_the_data():
    from regimes.plot.phase import plot_phase_np, plot_phase_ntau

    pdg = np_phase_diagram(points=15, d=100)
    fig = plot_phase_np(pdg)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "training-set size n" and "random features p" in ax.get_ylabel()
    vline = [ln for ln in ax.get_lines() if r"$\tau_{\rm mem}$ = $\tau$" in ln.get_label()][0]
    assert_allclose(vline.get_xdata()[0], pdg.psi_n_mem * 100)
    plt.close(fig)
    nt = ntau_phase_diagram(points=15, window_points=0)
    fig = plot_phase_ntau(nt)
    ax = fig.axes[0]
    mem, loose = [ln for ln in ax.get_lines() if ln.get_label().startswith(r"$\tau_{\rm mem}$")]
    below_p = nt.n < nt.p  # the independent statement: memorisation needs p > n
    drawn = np.fmax(mem.get_ydata(), loose.get_ydata())  # solid in its range, dashed outside it
    assert_allclose(drawn[below_p], nt.tau_mem[below_p])
    assert np.all(np.isnan(drawn[~below_p]))  # beyond p only a faint dotted guide
    out = below_p & ~nt.tau_mem_in_range
    assert out.any() and "outside its range" in loose.get_label()
    assert_allclose(loose.get_ydata()[out], nt.tau_mem[out])
    assert np.all(np.isnan(mem.get_ydata()[out][1:]))  # (the first joins the solid piece)
    slow = [ln for ln in ax.get_lines() if "slow-bulk" in ln.get_label()][0]
    assert_allclose(slow.get_ydata()[out], nt.tau_slow[out])
    gen = [ln for ln in ax.get_lines() if ln.get_label().startswith(r"$\tau_{\rm gen}$")][0]
    assert_allclose(gen.get_ydata(), [nt.tau_gen, nt.tau_gen])
    assert "training time τ" in ax.get_ylabel()
    plt.close(fig)


def _patch_at(fig, ax, x, y, half=6):
    """Rendered RGB pixels of a (2·half+1)² patch around data point (x, y) (hatch lines included)."""
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)
    px, py = ax.transData.transform((x, y))
    r, c = img.shape[0] - int(round(py)), int(round(px))
    return img[r - half:r + half + 1, c - half:c + half + 1].reshape(-1, 3)


def _reddish(patch):
    return (patch[:, 0] - patch[:, 2]) > 60  # orange/vermillion fills; greys have r ≈ b


def test_ntau_no_memorisation_colour_beyond_the_interpolation_line():
    # audit: the memorisation fill continued inside the hatched n >= p area. Read back the
    # rendered pixels: above τ_mem, left of p memorisation colour; right of p grey.
    from regimes.plot.phase import plot_phase_ntau

    nt = ntau_phase_diagram(points=40)
    assert nt.n[0] < nt.p < nt.n[-1]
    fig = plot_phase_ntau(nt)
    ax = fig.axes[0]
    tau_top = nt.tau[-1] / 1.5
    x_right = (nt.p * nt.n[-1]) ** 0.5
    assert _reddish(_patch_at(fig, ax, nt.p / 20, tau_top)).all()  # memorisation, n < p
    right = _patch_at(fig, ax, x_right, tau_top)
    assert not _reddish(right).any()  # n ≥ p: no memorisation colour at all
    assert (np.abs(right[:, 0] - right[:, 2]) < 15).all() and right.max() > 200  # light grey + hatch
    assert _reddish(_patch_at(fig, ax, x_right, 2 * nt.tau_gen)).mean() > 0.5  # window still coloured
    labels = [t.get_text() for t in ax.texts]
    assert "memorisation" in labels
    plt.close(fig)


@pytest.mark.parametrize("kw", [{}, {"separation": 0.3}])
def test_nd_legend_hides_nothing(kw):
    # audit: the lower-right legend covered the "3" contour label. The legend now sits outside
    # the axes: its box intersects neither the axes nor any contour label.
    from regimes.plot.phase import plot_phase_nd

    fig = plot_phase_nd(points=60, **kw)
    fig.canvas.draw()
    ax = fig.axes[0]
    leg = ax.get_legend()
    assert leg is not None
    box = leg.get_window_extent()
    assert not box.overlaps(ax.get_window_extent())
    labels = [t for t in ax.texts if t.get_text()]
    assert "3" in [t.get_text() for t in labels]  # the label the legend used to cover
    for t in labels:
        assert not box.overlaps(t.get_window_extent()), t.get_text()
    # and the legend is inside the figure (not clipped by the saved png)
    assert fig.bbox.contains(box.x0, box.y0) and fig.bbox.contains(box.x1, box.y1)
    plt.close(fig)


def test_ntau_windows_too_small_for_the_budget_are_nan_not_an_error():
    """With p = 1e5 features the per-point budget leaves the largest n an instance below
    d' = 10 (finite-size noise): those window points are NaN (window_d 0), the others computed."""
    import numpy as np

    from regimes.phase import ntau_phase_diagram
    from regimes.rmt.windows import MIN_WINDOW_D

    ph = ntau_phase_diagram(n_range=(10.0, 1e5), points=8, d=100.0, p=1e5, window_points=3)
    w = ph.windows
    small = w["window_d"] == 0
    assert small.any() and not small.all()
    assert np.all(np.isnan(w["tau_best"][small])) and np.all(np.isfinite(w["tau_best"][~small]))
    assert np.all(w["window_d"][~small] >= MIN_WINDOW_D)


def test_np_figure_dots_the_cells_where_tau_mem_is_out_of_range():
    """The memorisation boundary comes from τ_mem; where tau_mem_in_range is False (and p > n) the
    figure dots those cells and says so in its legend; with every cell in range, no dots."""
    from regimes.plot.phase import plot_phase_np

    def labels(fig):
        leg = fig.axes[0].get_legend()
        return [] if leg is None else [t.get_text() for t in leg.get_texts()]

    pdg = np_phase_diagram(points=9)
    X, Y = np.meshgrid(pdg.psi_n, pdg.psi_p, indexing="ij")
    assert (~pdg.tau_mem_in_range & (Y > X)).any()
    fig = plot_phase_np(pdg)
    assert any("outside its range here" in t for t in labels(fig))
    plt.close(fig)
    ok = np_phase_diagram(psi_n_range=(0.1, 0.5), psi_p_range=(50, 100), points=9)
    assert ok.tau_mem_in_range.all()
    fig = plot_phase_np(ok)
    assert not any("outside its range" in t for t in labels(fig))
    plt.close(fig)
