"""The crossings' bootstrap replicates are located on cubics through four grid times
(regimes._stats.cubic_root) on a grid of 13 times: checked against exact roots (numpy's companion
matrix for polynomials, the closed form of tanh) and, on the mixture engine's curves, against the
same replicates located on a grid of 801 times."""

import math

import numpy as np
import pytest

from regimes._stats import bootstrap_weights, cubic_root, linear_root, percentile_interval
from regimes.engines import empirical_mixture
from regimes.engines.curves import (
    BOOTSTRAP_GRID_POINTS,
    CUBIC_MIN_SAMPLES,
    _bootstrap_crossing,
    _bootstrap_grid,
    _delta_se,
    _delta_times,
)


@pytest.mark.parametrize("seed", range(20))
def test_a_cubic_curve_is_located_exactly(seed):
    g = np.random.default_rng(seed)
    grid = np.sort(g.uniform(-2.0, 3.0, 11))
    r = g.uniform(grid[1], grid[-2])
    coef = np.polymul([1.0, -r], [g.uniform(0.5, 2.0), g.uniform(-0.5, 0.5), g.uniform(1.0, 2.0)])  # one real root
    assert np.sum(np.abs(np.roots(coef).imag) < 1e-12) == 1
    got = cubic_root(np.polyval(coef, grid), grid)
    assert got == pytest.approx(r, abs=1e-12)


def test_a_smooth_curve_converges_at_fourth_order():
    root = 0.437

    def f(t):
        return np.tanh(3.0 * (t - root))

    errs = []
    for k in (17, 33, 65, 129):
        grid = np.linspace(0.0, 1.0, k)
        errs.append(abs(cubic_root(f(grid), grid) - root))
        assert errs[-1] < abs(linear_root(f(grid), grid) - root)
    rates = [math.log2(a / b) for a, b in zip(errs[:-1], errs[1:], strict=True)]
    assert min(rates) > 3.7, rates


def test_the_same_interval_and_the_same_edge_cases_as_linear_interpolation():
    grid = np.linspace(0.0, 4.0, 9)
    two = np.cos(np.pi * grid / 2.0)  # several crossings: the one nearest the top is taken
    assert abs(cubic_root(two, grid) - linear_root(two, grid)) < 0.2 and cubic_root(two, grid) > 2.9
    assert cubic_root(np.ones(9), grid) is None and linear_root(np.ones(9), grid) is None
    y = grid - 2.0  # exactly zero on a grid time: returned as is
    assert cubic_root(y, grid) == 2.0 == linear_root(y, grid)
    assert cubic_root([1.0, -1.0, -2.0], [0.0, 1.0, 2.0]) == linear_root([1.0, -1.0, -2.0], [0.0, 1.0, 2.0])
    # the end intervals use the four nearest times
    assert cubic_root(grid ** 3 - 0.2 ** 3, grid) == pytest.approx(0.2, abs=1e-12)
    assert cubic_root(grid ** 3 - 3.9 ** 3, grid) == pytest.approx(3.9, abs=1e-12)


@pytest.mark.parametrize("name, level", [("commitment", 0.5), ("excess_entropy", 0.02),
                                         ("class_commitment", 0.7752)])
def test_intervals_on_the_grid_equal_those_of_a_dense_grid(name, level):
    g = np.random.default_rng(11)
    lab = g.integers(0, 2, 400)
    X = g.standard_normal((400, 30)) + 2.0 * lab[:, None]
    c = empirical_mixture(X, np.geomspace(0.05, 4.0, 28), samples=128, rng=3, labels=lab, store=True)
    est = c.crossing(name, level, bootstrap=200, rng=1)
    t0 = est.value
    se = _delta_se(c.statistic(name, _delta_times(t0)), t0)
    grid = _bootstrap_grid(t0, se, c.samples)
    assert grid.size == BOOTSTRAP_GRID_POINTS == 13 and c.samples >= CUBIC_MIN_SAMPLES
    dense = np.linspace(grid[0], grid[-1], 801)
    P = c.statistic(name, dense)
    M = P.shape[0]
    reps = [linear_root(w @ P / M - level, dense) for w in bootstrap_weights(np.random.default_rng(1), 200, M)]
    want, _ = percentile_interval(np.array(reps, dtype=float), 0.95)
    got = _bootstrap_crossing(c.statistic(name, grid), grid, level, t0, se, 200, 1, 0.95, {})
    assert got.details["bootstrap_failures"] == 0
    # 801 times with linear interpolation are within ~1e-6 SE of exact; the 13 cubic ones too
    np.testing.assert_allclose(got.ci, want, rtol=0, atol=1e-4 * se)


def test_a_stencil_it_cannot_use_falls_back_to_linear_interpolation():
    grid = np.linspace(0.0, 4.0, 9)
    y = grid - 1.3  # root 1.3 in [1.0, 1.5]; the stencil is grid[1:5]
    for k, v in ((1, np.nan), (4, np.inf), (1, -np.inf)):  # (a NaN above would stop the scan there)
        bad = y.copy()
        bad[k] = v
        assert cubic_root(bad, grid) == linear_root(bad, grid) == pytest.approx(1.3, abs=1e-12), (k, v)
    dup = grid.copy()
    dup[4] = dup[3]  # two equal times in the stencil
    assert cubic_root(y, dup) == linear_root(y, dup)
    tiny = grid * 1e-300  # divided differences overflow
    assert cubic_root(y, tiny) == linear_root(y, tiny) == pytest.approx(1.3e-300, rel=1e-12)


def test_several_roots_in_the_interval_give_the_largest():
    # the cubic through (0, 1), (1, -1), (2, 1), (3, -1) has three roots, all in [0, 3]: on a grid of
    # these four times the interval [2, 3] is taken, and inside a two-point-wide interval the largest root
    grid = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([1.0, -1.0, 1.0, -1.0])
    roots = np.sort(np.roots(np.polyfit(grid, y, 3)).real)
    assert cubic_root(y, grid) == pytest.approx(roots[-1], abs=1e-12)
    # a cubic with three roots inside one grid interval [0, 1]: the largest is returned
    r = np.array([0.2, 0.5, 0.8])
    grid = np.array([-1.0, 0.0, 1.0, 2.0])
    y = np.polyval(np.poly(r), grid)
    assert cubic_root(y, grid) == pytest.approx(0.8, abs=1e-12)
