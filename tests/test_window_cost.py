"""window_cost predicts what training_window will draw: the instance sizes, the τ grid, whether
it refuses; the CLI's refusals (timescales, phase-diagram ntau) read it."""

from __future__ import annotations

import pytest

from regimes.rmt import RandomFeatures
from regimes.rmt.windows import WindowTooSmall, training_window, window_cost


@pytest.mark.parametrize("n, d, p, budget", [(200, 50, 400, 300_000), (5000, 100, 2000, 300_000),
                                             (300, 40, 80, 2_000), (2e4, 1e3, 3e4, 300_000)])
def test_predicts_the_drawn_instances(n, d, p, budget):
    rf = RandomFeatures(p / d, n / d, 0.5, "tanh")
    cost = window_cost(rf, n, d, p, seeds=2, budget=budget, points_per_decade=20)
    win = training_window(n, d, p, 0.5, seeds=2, budget=budget, points_per_decade=20)
    assert cost.computed
    assert cost.sizes == (win.d_used, win.p_used, win.n_used)
    dd, pp, nn = cost.sizes
    m = min(pp, nn + dd)
    T = len(win.tau)  # the grid training_window used
    assert cost.units == pytest.approx(2 * (pp * m * (nn + dd) + pp * dd * nn + 10.0 * m**3 + T * m * m), rel=1e-12)
    assert cost.bytes > 8.0 * (pp * dd + dd * nn)  # at least W and X


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
