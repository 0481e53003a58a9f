"""The crossings' bootstrap window: replicates whose curves do not cross the level inside ±6
delta-method SEs are located on a wider window, not cut at its end (which made intervals too
narrow at small Monte Carlo sizes). Oracle: every replicate's crossing on a dense grid of 6001
times spanning the whole range, from the same bootstrap weights."""

import numpy as np
import pytest

from regimes._stats import bootstrap_weights, linear_root, percentile_interval
from regimes.analysis import default_times
from regimes.engines import empirical_mixture
from regimes.engines.curves import (
    SMALL_SAMPLES_GRID_POINTS,
    _bootstrap_crossing,
    _bootstrap_grid,
    _delta_se,
    _delta_times,
)

B = 400


@pytest.fixture(scope="module")
def data():
    g = np.random.default_rng(5)
    lab = np.repeat([0, 1], 100)
    X = g.standard_normal((200, 5)) + np.where(lab[:, None] == 0, 0.5, -0.5)
    return X, lab


def _curves(data, M, seed):
    X, lab = data
    return empirical_mixture(X, default_times([0.3, 2.0]), samples=M, rng=seed, labels=lab, store=True)


@pytest.mark.parametrize("M, seed, name, level", [(3, 4, "class_commitment", 0.7752),
                                                  (5, 4, "class_commitment", 0.7752),
                                                  (5, 3, "commitment", 0.5), (3, 0, "excess_entropy", 0.1)])
def test_interval_matches_replicates_located_on_a_dense_grid(data, M, seed, name, level):
    c = _curves(data, M, seed)
    est = c.crossing(name, level, bootstrap=B, rng=1)
    t0 = est.value
    se = _delta_se(c.statistic(name, _delta_times(t0)), t0)
    dense = np.linspace(0.25 * t0, t0 + 60 * se, 6001)
    P = c.statistic(name, dense)
    reps = [linear_root(w @ P / M - level, dense) for w in bootstrap_weights(np.random.default_rng(1), B, M)]
    assert all(r is not None for r in reps)
    want, _ = percentile_interval(np.array(reps), 0.95)
    width = want[1] - want[0]
    assert est.details["bootstrap_failures"] == 0 and not est.notes
    assert abs(est.ci[0] - want[0]) < 0.01 * width and abs(est.ci[1] - want[1]) < 0.01 * width, (est.ci, want)
    # the ±6 SE window alone cuts replicates off (the window's end taken instead): the path is live
    grid = _bootstrap_grid(t0, se, M)
    cut = _bootstrap_crossing(c.statistic(name, grid), grid, level, t0, se, B, 1, 0.95, {})
    assert cut.details["bootstrap_failures"] > 0.01 * B


def test_replicates_still_outside_are_counted_and_said(data):
    # replicates crossing below a quarter of the estimate (the windows' lower limit) stay outside
    c = _curves(data, 5, 3)
    est = c.crossing("class_commitment", 0.7752, bootstrap=B, rng=1)
    assert est.details["bootstrap_failures"] > 0.01 * B
    assert len(est.notes) == 1 and "too narrow" in est.notes[0]
    assert f"{est.details['bootstrap_failures']} of {B} bootstrap replicates" in est.notes[0]


def test_nothing_moves_when_the_replicates_stay_inside(data):
    """Without replicates outside the window the interval is the one of the window alone (the
    golden files hold such cases bit for bit); no note."""
    c = _curves(data, 64, 0)
    est = c.crossing("commitment", 0.5, bootstrap=B, rng=1)
    t0 = est.value
    se = _delta_se(c.statistic("commitment", _delta_times(t0)), t0)
    grid = _bootstrap_grid(t0, se, c.samples)
    alone = _bootstrap_crossing(c.statistic("commitment", grid), grid, 0.5, t0, se, B, 1, 0.95, {})
    assert alone.details["bootstrap_failures"] == 0
    assert est.ci == alone.ci and est.se == alone.se and not est.notes


def test_an_estimate_note_reaches_the_analysis_notes(monkeypatch):
    """The analysis repeats a crossing's note (report, JSON) with the estimator's name."""
    from regimes.analysis import analyze
    from regimes.engines.curves import MixtureCurves

    real = MixtureCurves.crossings

    def with_note(self, requests, **kw):
        out = real(self, requests, **kw)
        return [out[0].replace(notes=("3 of 200 bootstrap replicates did not cross the level",)), *out[1:]]

    monkeypatch.setattr(MixtureCurves, "crossings", with_note)
    r = analyze(samples=16, bootstrap=20)
    assert any(x.startswith("t_C (commitment): 3 of 200 bootstrap replicates") for x in r.notes)


@pytest.mark.parametrize("M, seed, name, level", [(12, 7, "commitment", 0.5), (16, 5, "excess_entropy", 0.1)])
def test_streamed_windows_keep_the_rank_of_replicates_outside(data, M, seed, name, level):
    """Without stored statistics the interval comes from the refined grid's window; up to 1% of
    replicates outside it are kept at its end (their rank), not dropped — dropping 4 of 400 made
    an upper end 6% of the width too low."""
    X, lab = data
    c = empirical_mixture(X, default_times([0.3, 2.0]), samples=M, rng=seed, labels=lab, store=False)
    assert c.fine is not None
    est = c.crossing(name, level, bootstrap=B, rng=1)
    assert 0 < est.details["bootstrap_failures"] <= 0.01 * B
    dense = np.linspace(0.25 * est.value, 4 * est.value, 4001)
    P = c.statistic(name, dense)
    reps = [linear_root(w @ P / M - level, dense) for w in bootstrap_weights(np.random.default_rng(1), B, M)]
    want, _ = percentile_interval(np.array(reps, dtype=float), 0.95)
    width = want[1] - want[0]
    assert abs(est.ci[0] - want[0]) < 0.002 * width and abs(est.ci[1] - want[1]) < 0.002 * width, (est.ci, want)


def _linear_model(M, seed=0):
    """Per-sample curves a_i + b_i (t − 1): every replicate's mean curve is linear, so its crossing
    of 0 is exactly 1 − (w·a)/(w·b) and linear interpolation finds it exactly."""
    g = np.random.default_rng(seed)
    a, b = g.standard_normal(M), 1.0 + 0.1 * g.standard_normal(M)
    asked = []

    def evaluate(times):
        asked.append(np.asarray(times, dtype=float))
        return a[:, None] + b[:, None] * (np.asarray(times)[None, :] - 1.0)
    return a, b, evaluate, asked


def test_widened_windows_have_3_and_9_times_the_first_half_width():
    M = 50
    a, b, evaluate, asked = _linear_model(M)
    t0 = 1.0 - a.mean() / b.mean()
    se_true = a.std(ddof=1) / np.sqrt(M) / b.mean()
    se_t = se_true / 10  # a delta-method SE ten times too small: most replicates leave ±6 se_t
    grid = _bootstrap_grid(t0, se_t, M)
    w0 = grid[-1] - t0
    est = _bootstrap_crossing(evaluate(grid), grid, 0.0, t0, se_t, B, 1, 0.95, {}, evaluate)
    assert len(asked) == 3  # the window, then two extensions
    np.testing.assert_allclose([asked[1].max(), asked[2].max()], [t0 + 3 * w0, t0 + 9 * w0], rtol=1e-12)
    np.testing.assert_allclose([asked[1].min(), asked[2].min()], [t0 - 3 * w0, max(t0 - 9 * w0, 0.25 * t0)],
                               rtol=1e-12)
    exact = [1.0 - (w @ a) / (w @ b) for w in bootstrap_weights(np.random.default_rng(1), B, M)]
    inside = np.mean(np.abs(np.array(exact) - t0) <= 9 * w0)
    want, _ = percentile_interval(np.array(exact), 0.95)
    assert inside > 0.99 and est.details["bootstrap_failures"] == round((1 - inside) * B)
    np.testing.assert_allclose(est.ci, want, rtol=1e-9)


def test_only_the_side_with_replicates_outside_is_extended():
    M = 50
    a, b, evaluate, asked = _linear_model(M, seed=1)
    t0 = 1.0 - a.mean() / b.mean()
    se_t = a.std(ddof=1) / np.sqrt(M) / b.mean() / 10
    grid = _bootstrap_grid(t0, se_t, M)
    P = evaluate(grid)
    # shift the window up by 4 of its half-widths: the replicates can only be outside below it
    up = grid + 4 * (grid[-1] - t0)
    asked.clear()
    _bootstrap_crossing(evaluate(up), up, 0.0, t0, se_t, B, 1, 0.95, {}, evaluate)
    assert len(asked) >= 2 and all(x.max() < up[0] for x in asked[1:])
    assert P.shape == (M, SMALL_SAMPLES_GRID_POINTS)  # (50 samples)


def test_the_bootstrap_keeps_only_the_weights_of_replicates_outside():
    """B × M integer weights are not held at once (samples = 20 000, B = 400: 64 MB before)."""
    import tracemalloc

    M = 20_000
    a, b, evaluate, _ = _linear_model(M, seed=2)
    t0 = 1.0 - a.mean() / b.mean()
    se_t = a.std(ddof=1) / np.sqrt(M) / b.mean()
    grid = _bootstrap_grid(t0, se_t, M)
    P = evaluate(grid)
    tracemalloc.start()
    _bootstrap_crossing(P, grid, 0.0, t0, se_t, B, 1, 0.95, {}, evaluate)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8e6, peak


def test_an_interval_end_at_a_clamped_replicate_is_recognised_exactly():
    from regimes.engines.curves import _reaches

    grid = np.linspace(0.0, 100.0, 25)
    roots = [float(x) for x in range(1, 21)] + [None]
    ends = {20: 100.0}  # one replicate outside, above the window
    # confidence 0.9, B = 21: the upper end is the quantile at position 19 — the 20th value, not the clamped one
    assert not _reaches(roots, ends, grid, 0.9)
    assert _reaches(roots, ends, grid, 0.95)  # position 19.5: half the clamped one
    assert not _reaches(roots, {}, grid, 0.95) and not _reaches([None], {0: 100.0}, grid, 0.95)
