"""window_cost predicts what training_window will draw: the instance sizes, the τ grid, whether
it refuses; the CLI's refusals (timescales, phase-diagram ntau) read it."""

from __future__ import annotations

import pytest

from regimes.rmt import RandomFeatures
from regimes.rmt.windows import WindowTooSmall, training_window, window_cost


@pytest.mark.parametrize("n, d, p, budget", [(200, 50, 400, 300_000), (5000, 100, 2000, 300_000),
                                             (300, 40, 80, 2_000), (2e4, 1e3, 3e4, 300_000)])
def test_predicts_the_drawn_instances(n, d, p, budget, monkeypatch):
    import tracemalloc

    from regimes.rmt import windows

    drawn, peaks = [], []
    real = windows.sample_window_curves

    def spy(rf_, dd, pp, nn, tau, rng=None):  # the oracle: what training_window really draws, and its memory
        tracemalloc.start()
        out = real(rf_, dd, pp, nn, tau, rng)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        drawn.append((dd, pp, nn, len(tau)))
        return out

    monkeypatch.setattr(windows, "sample_window_curves", spy)
    rf = RandomFeatures(p / d, n / d, 0.5, "tanh")
    cost = window_cost(rf, n, d, p, seeds=2, budget=budget, points_per_decade=20)
    win = windows.training_window(n, d, p, 0.5, seeds=2, budget=budget, points_per_decade=20)
    assert cost.computed and len(drawn) == 2  # one instance per seed
    assert {dr[:3] for dr in drawn} == {cost.sizes} == {(win.d_used, win.p_used, win.n_used)}
    # the memory model bounds the measured peak of an instance from above, within a factor of 10
    assert max(peaks) <= cost.bytes <= 10 * max(peaks), (max(peaks), cost.bytes)
    # the time model grows with the grid it assumes: that grid is the one drawn
    T = drawn[0][3]
    dd, pp, nn = cost.sizes
    m = min(pp, nn + dd)
    assert cost.units >= 2 * T * m * m  # at least the loss curves over the grid drawn


@pytest.mark.parametrize("n, d, p, budget", [(1e6, 1e3, 1e6, 100), (5000, 100, 20_000, 300_000),
                                             (1e6, 1e3, 1e6, 300_000)])
def test_predicts_the_refusal(n, d, p, budget):
    rf = RandomFeatures(p / d, n / d, 0.5, "tanh")
    cost = window_cost(rf, n, d, p, budget=budget)
    assert not cost.computed and cost.units == 0.0
    with pytest.raises(WindowTooSmall):
        training_window(n, d, p, 0.5, budget=budget)


def test_cost_grows_with_seeds_not_memory():
    rf = RandomFeatures(8.0, 4.0, 0.5, "tanh")
    one, four = window_cost(rf, 400, 100, 800, seeds=1), window_cost(rf, 400, 100, 800, seeds=4)
    assert four.units == pytest.approx(4 * one.units) and four.bytes == one.bytes
