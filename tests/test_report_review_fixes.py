"""A review of the analyze report, its diagnostics and figures: every number that is not meaningful
carries its caveat (JSON, report.md, figures), and legends hide no data.

Oracles: the JSON flags, the text of the Markdown report, and the artists read back from the
matplotlib figures (legend texts, window extents, axis limits, patches)."""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from regimes.analysis import analyze
from regimes.diagnostics import diagnose
from regimes.estimate import Estimate
from regimes.report import markdown_report, to_jsonable


@pytest.fixture(scope="module")
def noise():
    """Pure noise with random labels: Λ at the noise edge, no class structure."""
    gen = np.random.default_rng(5)
    X = gen.standard_normal((500, 200))
    lab = gen.integers(0, 2, 500)
    r = analyze(X, lab, samples=128, bootstrap=10, seed=0)
    return r, to_jsonable(r.to_dict())


def _clusters():
    """Three well-separated classes (equal pairwise distances) in d = 32."""
    gen = np.random.default_rng(2)
    means = 5.0 * np.eye(32)[:3]
    lab = np.repeat(np.arange(3), 100)
    return means[lab] + gen.standard_normal((300, 32)), lab


@pytest.fixture(scope="module")
def short_grid():
    """The commitment curve cannot cross ½ on t in [0.1, 0.3] (t_C ≈ 0.6 here)."""
    X, lab = _clusters()
    r = analyze(X, lab, samples=128, bootstrap=10, seed=0, times=np.linspace(0.1, 0.3, 8))
    return r, to_jsonable(r.to_dict())


@pytest.fixture(scope="module")
def no_bootstrap():
    X, lab = _clusters()
    r = analyze(X, lab, samples=128, bootstrap=0, seed=0)
    return r, to_jsonable(r.to_dict())


# ------------------------------------------------------------------------------------------------ 2
def test_class_time_without_speciation_carries_its_caveat(noise):
    r, d = noise
    assert d["eigenvalue"]["detectable"] is False and d["t_S"]["value"] is None
    cls = d["t_S_class"]
    assert cls["value"] is not None  # the crossing is still reported ...
    assert cls["valid"] is False and "Λ not detectable" in cls["invalid_reasons"]  # ... flagged
    assert any("not evidence of class formation" in x for x in cls["notes"])
    if cls["value"] <= d["t_C"]["commitment"]["value"]:
        assert any("collapse" in x for x in cls["invalid_reasons"])
    md = markdown_report(d)
    row = next(x for x in md.splitlines() if x.startswith("| t_S from φ(t)"))
    assert f"{cls['value']:.6g} — NOT a speciation time" in row and "Λ not detectable" in row
    # the class pair within noise: said next to its merge time
    merge = next(x for x in md.splitlines() if x.startswith("* classes 0 | 1 separate at"))
    assert "within sampling noise" in merge
    # the notebook table's definition column
    _, cols, rows = r.as_table()
    row = next(x for x in rows if x[0] == "t_S_class")
    assert "NOT a speciation time" in row[cols.index("definition")]


def test_curves_figure_draws_the_crossing_as_not_a_speciation_time(noise):
    from regimes.plot.curves import plot_curves

    r, d = noise
    fig = plot_curves(r)
    labels = [t.get_text() for t in fig.axes[2].get_legend().get_texts()]
    assert not any(x.startswith("t$_S$ (φ") for x in labels)
    assert any("NOT t$_S$" in x and "Λ not detectable" in x for x in labels)
    # the line is still at the crossing
    xs = [ln.get_xdata()[0] for ln in fig.axes[2].get_lines() if "NOT" in ln.get_label()]
    assert xs == [pytest.approx(d["t_S_class"]["value"])]


def test_valid_class_time_is_drawn_and_reported_as_before():
    # two well-separated classes: speciation detected well before collapse
    gen = np.random.default_rng(0)
    lab = np.repeat([0, 1], 200)
    X = np.where(lab[:, None] == 0, 2.0, -2.0) * np.eye(16)[0] + gen.standard_normal((400, 16))
    r = analyze(X, lab, samples=128, bootstrap=10, seed=0)
    d = to_jsonable(r.to_dict())
    assert "valid" not in d["t_S_class"] and d["t_S_class"]["value"] > d["t_C"]["commitment"]["value"]
    row = next(x for x in markdown_report(d).splitlines() if x.startswith("| t_S from φ(t)"))
    assert "NOT" not in row


# ------------------------------------------------------------------------------------------------ 4
def test_missing_commitment_estimate_is_not_recommended(short_grid):
    r, d = short_grid
    assert d["t_C"]["commitment"]["value"] is None
    assert d["regimes_t_C"] == {"estimator": "spectral", "value": d["t_C"]["spectral"]["value"]}
    assert r.regimes_t_C is r.t_C["spectral"]
    rec = d["diagnostics"]["recommendation"]
    assert not rec.startswith("trust the commitment") and "missing" in rec
    assert not any("The commitment estimate (φ_C = ½) is the collapse of the dynamics" in x for x in d["notes"])
    md = markdown_report(d)
    assert "trust the commitment" not in md
    assert "| t_C, spectral proxy (used by the regimes) |" in md
    assert "t_C used by the regimes: the spectral estimate" in md
    # the regimes' boundaries are the spectral t_C
    assert {g["t_max"] for g in d["regimes"] if g["name"] == "III"} == {d["t_C"]["spectral"]["value"]}


def test_timeline_names_the_estimator_of_t_C(short_grid):
    from regimes.plot.timeline import plot_timeline

    r, _ = short_grid
    assert r.timeline_labels() == {"no_speciation_reason": None, "t_C_estimator": "spectral"}
    fig = plot_timeline(r.t_S.value, r.regimes_t_C.value, **r.timeline_labels())
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.strip().startswith("$t_C$ (spectral proxy) =") for t in texts)
    fig = plot_timeline(r.t_S.value, r.regimes_t_C.value)  # default: the headline's plain symbol
    assert any(t.strip().startswith("$t_C$ =") for t in (x.get_text() for x in fig.axes[0].texts))


def test_measured_commitment_is_still_recommended(noise):
    _, d = noise
    assert d["regimes_t_C"]["estimator"] == "commitment"
    assert d["diagnostics"]["recommendation"].startswith("trust the commitment")


# ------------------------------------------------------------------------------------------------ 3
def test_agreement_without_intervals_cannot_be_judged(no_bootstrap):
    _, d = no_bootstrap
    dg = d["diagnostics"]
    assert dg["estimates_agree"] is None and dg["agreement_judged"] is False
    assert dg["disagreeing_pairs"] == [] and len(dg["unjudged_pairs"]) == 6
    md = markdown_report(d)
    assert "disagree beyond their intervals" not in md
    assert "agree cannot be judged" in md and f"spread {dg['spread']:.3g}×" in md
    # one wording: the report's sentence is the analysis' note (before its recommendation)
    note = next(x for x in d["notes"] if "cannot be judged" in x)
    assert note.split(". The commitment")[0] in md
    assert not any("disagree beyond their intervals" in x for x in d["notes"])
    assert any("cannot be judged" in x for x in d["notes"])


def test_diagnose_judges_only_pairs_with_an_interval():
    bare = {k: Estimate(v) for k, v in {"commitment": 1.0, "entropy": 0.8, "spectral": 1.3}.items()}
    dg = diagnose(bare, np.ones(50), d=50, n=1000, total_variance=50.0)
    assert dg.agree is None and dg.disagreeing == () and len(dg.unjudged) == 3
    assert dg.spread == pytest.approx(1.3 / 0.8)
    # one interval: the bare values are compared with it
    one = {**bare, "commitment": Estimate(1.0, 0.01, (0.98, 1.02))}
    dg = diagnose(one, np.ones(50), d=50, n=1000, total_variance=50.0)
    assert dg.agree is False and set(dg.disagreeing) == {("commitment", "entropy"), ("commitment", "spectral")}
    assert dg.unjudged == (("entropy", "spectral"),)


# ------------------------------------------------------------------------------------------------ 1
def test_timeline_says_why_there_is_no_speciation(noise):
    from regimes.plot.timeline import plot_timeline

    r, _ = noise
    labels = r.timeline_labels()
    assert labels["no_speciation_reason"] == "not detectable"
    fig = plot_timeline(r.t_S.value, r.regimes_t_C.value, **labels)
    title = fig.axes[0].get_title(loc="left")
    assert "not detectable above the noise edge" in title and "leq 1" not in title
    # without a reason (the plot alone knows only that t_S is missing): Λ <= 1, as before
    assert "leq 1" in plot_timeline(math.nan, 1.4).axes[0].get_title(loc="left")


# ------------------------------------------------------------------------------------------------ 6
def test_asymptotic_class_time_outside_its_range_is_flagged(no_bootstrap):
    _, d = no_bootstrap
    rows = [c for c in d["t_S_covariance"]["comparisons"] if c["t_S_asymptotic"] is not None]
    assert rows
    md = markdown_report(d)
    for c in rows:
        far = c["t_S"] is None or abs(c["t_S_asymptotic"] - c["t_S"]) > 0.2
        if far:  # a large-t form far from the exact root it approximates is not given as valid
            assert c["t_S_asymptotic_valid"] is False and "outside its range" in c["t_S_asymptotic_caveat"]
            line = next(x for x in md.splitlines() if f"class {c['class']} against" in x)
            assert f"{c['t_S_asymptotic']:.6g} — outside its range" in line
        else:
            assert "t_S_asymptotic_valid" in c
    assert any(c["t_S_asymptotic_valid"] is False for c in rows)


# ------------------------------------------------------------------------------------------------ 5
def _overlap(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_memorization_legend_hides_no_bar():
    from regimes.memorization import memorization_audit
    from regimes.plot.memorization import plot_ratio_histogram

    gen = np.random.default_rng(0)
    train = gen.standard_normal((300, 20))
    copies = train[:95] + 1e-4 * gen.standard_normal((95, 20))
    audit = memorization_audit(np.vstack([copies, gen.standard_normal((5, 20))]), train, bootstrap=10)
    fig = plot_ratio_histogram(audit)
    fig.canvas.draw()
    ax = fig.axes[0]
    box = ax.get_legend().get_window_extent()
    assert not _overlap(box, ax.get_window_extent())  # outside the axes
    spike = max(ax.patches, key=lambda p: p.get_height())
    assert spike.get_x() < 0.05 and not _overlap(box, spike.get_window_extent())


def test_spectrum_legend_clear_of_the_mass_notes():
    from regimes.plot.spectra import plot_rf_density
    from regimes.rmt import RandomFeatures

    fig = plot_rf_density(RandomFeatures(0.5, 4.0, 0.05, "relu"), rng=0)
    fig.canvas.draw()
    panels = [a for a in fig.axes if a.get_legend() is not None]
    assert panels
    for ax in panels:  # each bulk's legend (with its mass) below its own panel, clear of every panel
        box = ax.get_legend().get_window_extent()
        assert any("mass" in t.get_text() for t in ax.get_legend().get_texts())
        assert not any(_overlap(box, a.get_window_extent()) for a in panels)


def test_ntau_window_curves_in_the_figure_legend_below_the_axes():
    from regimes.phase import ntau_phase_diagram
    from regimes.plot.phase import plot_phase_ntau

    pdg = ntau_phase_diagram((10, 1e4), None, 24, 100, 2000, 0.1, "tanh", window_points=4)
    fig = plot_phase_ntau(pdg, mark=(1000, "your model"), lr=0.1, window=pdg.windows)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_legend() is None  # nothing inside the axes
    (leg,) = fig.legends
    assert any("tau_{\\rm best}" in t.get_text() for t in leg.get_texts())
    box = leg.get_window_extent()
    assert not _overlap(box, ax.get_window_extent())
    regions = [t for t in ax.texts if t.get_text() == "score not yet learned"]
    assert regions and not _overlap(box, regions[0].get_window_extent())


# ------------------------------------------------------------------------------------------------ 7
def test_curves_draw_the_t_C_intervals_and_t_S_without_labels(no_bootstrap, short_grid):
    from regimes.plot.curves import plot_curves

    r, d = short_grid
    X, _ = _clusters()
    u = analyze(X, samples=128, bootstrap=10, seed=0)
    du = u.to_dict()
    fig = plot_curves(u)
    assert len(fig.axes) == 2
    lines = {ln.get_label(): ln.get_xdata()[0] for ln in fig.axes[1].get_lines()}
    assert lines["t$_S$ = ½ ln Λ"] == pytest.approx(du["t_S"]["value"])
    for ax, key in ((fig.axes[0], "entropy"), (fig.axes[1], "commitment")):
        lo, hi = du["t_C"][key]["ci"]
        spans = [(p.get_x(), p.get_x() + p.get_width()) for p in ax.patches if hasattr(p, "get_width")]
        assert any(a == pytest.approx(lo) and b == pytest.approx(hi) for a, b in spans), key


def test_hierarchy_axis_resolves_close_merges(no_bootstrap):
    from regimes.plot.hierarchy import plot_hierarchy

    r, _ = no_bootstrap
    h = r.class_hierarchy
    heights = np.asarray(h.linkage)[:, 2]
    assert heights.min() > 0 and np.ptp(heights) < 0.5 * heights.max()  # close merges far from 0
    fig = plot_hierarchy(h)
    ax = fig.axes[0]
    y0, y1 = ax.get_ylim()
    assert 0 < y0 < heights.min() and y1 > heights.max()
    assert "not 0" in ax.get_ylabel()
    # the two merges at least a tenth of the axis apart
    assert np.ptp(heights) / (y1 - y0) > 0.1


def test_dominant_direction_without_labels_is_not_called_clusters():
    disagree = {k: Estimate(v, 0.001, (v - 0.002, v + 0.002))
                for k, v in {"commitment": 1.0, "entropy": 0.8, "spectral": 1.3}.items()}
    lam = np.r_[500.0, np.ones(399)]
    dg = diagnose(disagree, lam, d=400, n=10_000, total_variance=lam.sum())
    (cause,) = [c for c in dg.causes if "dominant direction" in c]
    assert "one large eigenvalue" in cause and "cluster structure" not in cause
    dg = diagnose(disagree, lam, d=400, n=10_000, total_variance=lam.sum(), within_variance=0.5)
    (cause,) = [c for c in dg.causes if "dominant direction" in c]
    assert "class structure along it" in cause


def test_merge_positions_follow_the_linkage_with_tied_heights():
    """The "noise" label's x: each merge's link as scipy draws it, also when merges tie in height
    (pairs with Λ <= 1 all merge at t = 0), where matching links by height picked the wrong one."""
    import numpy as np
    from scipy.cluster.hierarchy import dendrogram

    from regimes.hierarchy import class_hierarchy_gaussian
    from regimes.plot.hierarchy import _merge_coords

    M = np.array([[0.0, 0.0], [0.3, 0.0], [10.0, 0.0], [10.3, 0.0], [30.0, 0.0]])
    h = class_hierarchy_gaussian(M, 0.5)  # two pairs with Λ <= 1: two merges at height 0
    assert np.sum(h.linkage[:, 2] == 0.0) == 2
    dn = dendrogram(h.linkage, no_plot=True)
    leaf_x = {leaf: 5.0 + 10.0 * r for r, leaf in enumerate(dn["leaves"])}
    for (a, b, _, _), (x, _) in zip(h.linkage, _merge_coords(dn, h), strict=False):
        if a < 5 and b < 5:  # a merge of two leaves: midway between them
            assert x == 0.5 * (leaf_x[int(a)] + leaf_x[int(b)])
    tops = {((ic[1] + ic[2]) / 2, dc[1]) for ic, dc in zip(dn["icoord"], dn["dcoord"], strict=True)}
    assert all(p in tops for p in _merge_coords(dn, h))
