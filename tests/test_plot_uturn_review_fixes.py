"""Review fixes of the U-turn figure (plot_uturn), checked on the drawn artists (no pixels):

* the legends say what each method's fractions estimate (φ_C, φ for sde/posterior; not for ode);
* a centred source's states are drawn in the data's own frame, equal to images computed here from
  the raw rows (and to an un-centred run with the same seed);
* unsorted or repeated times give lines ordered by t, each bar staying with its point;
* bad inputs give one-line RegimesErrors naming the parameter;
* with only t_S, rows below it are "II or III";
* the optional theory lines match φ_C(t), φ(t) computed here from the posterior weights.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from scipy.special import logsumexp  # noqa: E402

from regimes import RegimesError  # noqa: E402
from regimes.data.source import as_source  # noqa: E402
from regimes.plot.memorization import plot_uturn  # noqa: E402
from regimes.uturn import uturn  # noqa: E402

H = 6  # 6×6 toy images


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def toy():
    """40 two-class 6×6 images offset by +3 (so that centring visibly changes them) and their labels."""
    rng = np.random.default_rng(0)
    base = np.zeros((2, H, H))
    base[0, :, :3] = 1.0
    base[1, :, 3:] = 1.0
    lab = np.repeat([0, 1], 20)
    A = (3.0 + 2.0 * base[lab] + 0.3 * rng.standard_normal((40, H, H))).reshape(40, -1)
    return A, lab


def _legend(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


# -- 1. legends per method ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["sde", "posterior", "ode"])
def test_legend_says_what_the_fractions_estimate(toy, method):
    A, lab = toy
    res = uturn(A, [0.1, 1.0], samples=8, labels=lab, method=method, steps=10, rng=0)
    texts = _legend(plot_uturn(res))
    point = next(s for s in texts if s.startswith("same training image"))
    cls = next(s for s in texts if s.startswith("same class"))
    if method == "ode":  # the deterministic flow does not estimate φ_C, φ
        assert "→" not in point + cls
        assert "not $\\varphi_C$" in point and "not $\\varphi$" in cls and "ODE" in point
    else:
        assert "(→ $\\varphi_C$)" in point and "(→ $\\varphi$)" in cls
    for s in texts:  # φ in math text everywhere: no raw _ outside $…$
        assert "_" not in "".join(s.split("$")[::2]), s


# -- 2. a centred source drawn in the data's own frame ---------------------------------------------
def _grid_arrays(fig, T):
    """The drawn (normalised) arrays of the T × 3 grid, row-major."""
    arrs = [np.asarray(ax.images[0].get_array(), dtype=np.float64) for ax in fig.axes[: 3 * T]]
    return [arrs[3 * i: 3 * i + 3] for i in range(T)]


def _normalised(x, lo, hi):
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0).reshape(H, H)


@pytest.mark.parametrize("example", [0, 2])
def test_centred_source_images_are_in_the_raw_frame(toy, example):
    A, lab = toy
    times = [3.0, 0.005, 0.3]  # unsorted: the rows are drawn in increasing t
    src = as_source(A, labels=lab)  # centred (the default)
    assert src.center
    res = uturn(src, times, samples=16, method="posterior", rng=1, examples=3)
    assert res.centred
    fig = plot_uturn(res, src, (H, H), example=example)
    order = sorted(range(len(times)), key=lambda j: times[j])
    s = [res.start[j, example] for j in order]
    e = [res.end[j, example] for j in order]
    # oracle 1: start and returned are raw training rows (the posterior draws a training point), on
    # the joint range of the drawn start and returned rows
    rows = np.concatenate([A[s], A[e]])
    lo, hi = rows.min(), rows.max()
    # oracle 2: the same seed on the raw array (not centred) draws the same starts and noise, so its
    # noised states are x_t = e^{-t} a + √Δ ξ in the raw frame, computed without any shift
    raw = uturn(A, times, samples=16, method="posterior", rng=1, examples=3)
    np.testing.assert_array_equal(raw.start, res.start)
    np.testing.assert_array_equal(raw.end, res.end)
    drawn = _grid_arrays(fig, len(times))
    for i, j in enumerate(order):
        start_img, noised_img, final_img = drawn[i]
        np.testing.assert_allclose(start_img, _normalised(A[s[i]], lo, hi), atol=1e-12)
        np.testing.assert_allclose(final_img, _normalised(A[e[i]], lo, hi), atol=1e-9)
        x = raw.noised[j, example]
        np.testing.assert_allclose(noised_img, _normalised(x, x.min(), x.max()), atol=1e-9)
        assert fig.axes[3 * i].get_ylabel().startswith(f"t = {times[j]:.3g}")
    # the bug this replaces: the returned image of a "same image" run was the centred row
    same = [i for i in range(len(times)) if s[i] == e[i]]
    assert same
    for i in same:
        np.testing.assert_allclose(drawn[i][0], drawn[i][2], atol=1e-9)


def test_scaled_centred_source_with_the_raw_array_as_data(toy):
    A, _ = toy
    U = np.clip(np.round(40.0 * A), 0, 255).astype(np.uint8)  # 8-bit images
    src = as_source(U, scale="unit")  # x / 255, centred
    res = uturn(src, [0.01, 2.0], samples=8, method="posterior", rng=4, examples=2)
    by_source = _grid_arrays(plot_uturn(res, src, (H, H)), 2)
    by_array = _grid_arrays(plot_uturn(res, U, (H, H)), 2)  # the raw array, read in the result's units
    s, e = res.start[:, 0], res.end[:, 0]
    rows = np.concatenate([U[s], U[e]]).astype(np.float64) / 255.0
    lo, hi = rows.min(), rows.max()
    for i in range(2):
        np.testing.assert_allclose(by_source[i][0], _normalised(U[s[i]] / 255.0, lo, hi), atol=1e-6)
        np.testing.assert_allclose(by_source[i][2], _normalised(U[e[i]] / 255.0, lo, hi), atol=1e-6)
        for k in range(3):
            np.testing.assert_allclose(by_array[i][k], by_source[i][k], atol=1e-6)


# -- 3. unsorted and repeated times -----------------------------------------------------------------
def test_lines_are_ordered_by_t_and_bars_stay_with_their_points(toy):
    A, lab = toy
    times = [2.0, 0.05, 1.0, 0.2, 0.05, 0.5]
    res = uturn(A, times, samples=40, labels=lab, method="posterior", rng=2)
    ax = plot_uturn(res, t_S=1.0).axes[0]
    order = sorted(range(len(times)), key=lambda j: times[j])  # Python's stable sort, not numpy's
    assert len(ax.containers) == 2
    for cont, ests in zip(ax.containers, (res.same_point, res.same_class), strict=True):
        x, y = cont.lines[0].get_data()
        assert np.all(np.diff(x) >= 0)
        np.testing.assert_array_equal(x, [times[j] for j in order])
        np.testing.assert_array_equal(y, [ests[j].value for j in order])
        segs = cont.lines[2][0].get_segments()
        for k, j in enumerate(order):  # bar k spans the exact interval of the estimate drawn at point k
            assert segs[k][:, 0] == pytest.approx([times[j]] * 2)
            assert sorted(segs[k][:, 1]) == pytest.approx(list(ests[j].ci))


# -- 4. bad inputs -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(toy):
    A, lab = toy
    res = uturn(A, [0.1, 1.0], samples=6, labels=lab, method="posterior", rng=0, examples=2)
    bare = uturn(A, [0.1], samples=6, method="posterior", rng=0, examples=0)
    return A, lab, res, bare


def _refused(name, call):
    with pytest.raises(RegimesError) as exc:
        call()
    msg = str(exc.value)
    assert msg.startswith(name) and "\n" not in msg, msg
    return msg


@pytest.mark.parametrize("example", [-5, 2, 5, 1.5, "0", True])
def test_bad_example(small, example):
    A, _, res, _ = small
    msg = _refused("example", lambda: plot_uturn(res, A, (H, H), example=example))
    assert str(example) in msg or repr(example) in msg


def test_result_without_examples_asked_for_images(small):
    A, _, _, bare = small
    assert "examples" in _refused("example", lambda: plot_uturn(bare, A, (H, H)))
    plot_uturn(bare)  # the curves need no example


@pytest.mark.parametrize("shape", [(3, 3), (36,), (2, 3, 6), (6, -6), (6.0, 6.0), "6,6", 36])
def test_bad_shape(small, shape):
    A, _, res, _ = small
    _refused("shape", lambda: plot_uturn(res, A, shape))


@pytest.mark.parametrize("cut", ["rows", "features", "vector", "other units"])
def test_data_that_is_not_the_training_set(small, cut):
    A, _, res, _ = small
    data = {"rows": A[:-1], "features": A[:, :-1], "vector": A[0],
            "other units": as_source(A, scale=2.0)}[cut]
    msg = _refused("data", lambda: plot_uturn(res, data, (H, H)))
    assert "training set" in msg


@pytest.mark.parametrize("name", ["t_S", "t_C"])
@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf, "1"])
def test_bad_given_times(small, name, value):
    A, _, res, _ = small
    _refused(name, lambda: plot_uturn(res, **{name: value}))  # the curves
    _refused(name, lambda: plot_uturn(res, A, (H, H), **{name: value}))  # the grid


def test_bad_labels_theory_and_result(small):
    from regimes.engines import empirical_mixture

    A, lab, res, _ = small
    _refused("labels", lambda: plot_uturn(res, A, (H, H), labels=lab[:-1]))
    _refused("result", lambda: plot_uturn({"times": [0.1]}))
    _refused("theory", lambda: plot_uturn(res, theory=np.ones(3)))
    other = empirical_mixture(A[:30], [0.1, 1.0], samples=16)
    _refused("theory", lambda: plot_uturn(res, theory=other))
    good = empirical_mixture(A, [0.1, 1.0], samples=16)
    _refused("theory", lambda: plot_uturn(res, A, (H, H), theory=good))


# -- 5. regime labels ---------------------------------------------------------------------------------
@pytest.mark.parametrize("t_S, t_C, expected", [
    (1.0, None, ["II or III", "II or III", "I (noise)"]),
    (None, 0.05, ["III (collapsed)", "I or II", "I or II"]),
    (1.0, 0.05, ["III (collapsed)", "II (committed to a class)", "I (noise)"]),
    (None, None, ["", "", ""]),
])
def test_regime_labels(toy, t_S, t_C, expected):
    A, _ = toy
    res = uturn(A, [2.0, 0.01, 0.3], samples=4, method="posterior", rng=0, examples=1)
    fig = plot_uturn(res, A, (H, H), t_S=t_S, t_C=t_C)
    got = [fig.axes[3 * i].get_ylabel().split("\n")[1] for i in range(3)]  # rows at t = 0.01, 0.3, 2
    assert got == expected


# -- 6. the theory lines ------------------------------------------------------------------------------
def _phi_oracle(A, lab, t, M, rng):
    """φ_C(t), φ(t) and their standard errors from the posterior weights (scipy logsumexp)."""
    mu = rng.integers(0, A.shape[0], M)
    c, delta = math.exp(-t), -math.expm1(-2 * t)
    x = c * A[mu] + math.sqrt(delta) * rng.standard_normal((M, A.shape[1]))
    L = -((x * x).sum(1)[:, None] - 2 * c * x @ A.T + c * c * (A * A).sum(1)[None]) / (2 * delta)
    w = np.exp(L - logsumexp(L, axis=1, keepdims=True))
    pc = (w * w).sum(1)
    W = np.stack([w[:, lab == k].sum(1) for k in (0, 1)], axis=1)
    p = (W * W).sum(1)
    return pc.mean(), pc.std() / math.sqrt(M), p.mean(), p.std() / math.sqrt(M)


def test_theory_lines_match_phi_from_the_weights(toy):
    from regimes.engines import empirical_mixture

    A, lab = toy
    res = uturn(A, [0.3, 0.05], samples=20, labels=lab, method="sde", steps=20, rng=0)
    grid = np.geomspace(0.03, 3.0, 9)[::-1]  # given in decreasing order: drawn in increasing t
    theory = empirical_mixture(A, grid, samples=3000, labels=lab, rng=5)
    ax = plot_uturn(res, theory=theory, t_S=1.0).axes[0]
    lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(lines) == 2
    texts = _legend(ax.figure)
    assert any(s.startswith("$\\varphi_C(t)$ of the training set") for s in texts)
    rng = np.random.default_rng(11)
    oracle = [_phi_oracle(A, lab, t, 3000, rng) for t in np.sort(grid)]
    for ln, k in zip(lines, (0, 2), strict=True):  # φ_C then φ
        x, y = ln.get_data()
        np.testing.assert_allclose(x, np.sort(grid))
        for yi, o in zip(y, oracle, strict=True):
            se = math.hypot(o[k + 1], o[k + 1])  # two independent Monte Carlo means
            assert abs(yi - o[k]) <= 4.5 * se + 1e-9, (yi, o[k], se)


def test_theory_line_with_duplicate_rows_says_it_is_below_the_target(toy):
    from regimes.engines import empirical_mixture

    A, _ = toy
    D = np.concatenate([A, A[:5]])  # 5 copies: the same-image target is φ_C of the distinct images
    res = uturn(D, [0.3], samples=8, method="posterior", rng=0)
    assert res.duplicate_rows == 5
    texts = _legend(plot_uturn(res, theory=empirical_mixture(D, [0.1, 1.0], samples=16)))
    assert any("5 duplicate rows counted apart" in s for s in texts)
