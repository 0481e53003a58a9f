"""Crossings solved together (stored statistics): the same numbers as Brent's method run one
request at a time on exact re-evaluations, with fewer reads of the statistics; errors surface."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from regimes import RegimesError
from regimes.engines import empirical_mixture

REQUESTS = [("commitment", 0.5), ("excess_entropy", 0.02), ("class_commitment", 0.7752)]


@pytest.fixture(scope="module")
def curves():
    g = np.random.default_rng(11)
    lab = g.integers(0, 2, 400)
    X = g.standard_normal((400, 30)) + 2.0 * lab[:, None]
    return empirical_mixture(X, np.geomspace(0.05, 4.0, 28), samples=128, rng=3, labels=lab, store=True)


def _sequential_root(c, name, level, ends_from_grid=True):
    """The root as one request alone would get it: scipy's brentq on exact re-evaluations — at the
    bracket's ends, the grid curve's own values (``ends_from_grid``, as the estimator does)."""
    j = c._bracket(name, level)  # noqa: SLF001 - the bracket the estimator uses
    lo, hi = float(c.t[j[0]]), float(c.t[j[1]])
    grid_curve = {"commitment": c.commitment, "excess_entropy": c.excess_entropy,
                  "class_commitment": c.class_commitment}[name]
    ends = {lo: float(grid_curve[j[0]]), hi: float(grid_curve[j[1]])} if ends_from_grid else {}

    def f(x):
        return ends[x] - level if x in ends else float(c.statistic(name, [x]).mean()) - level
    return brentq(f, lo, hi, xtol=1e-10 * min(1.0, lo), rtol=1e-10)


def test_together_equals_one_at_a_time_bit_for_bit(curves, monkeypatch):
    calls = []
    evaluate = type(curves).evaluate

    def counting(self, t):
        calls.append(np.size(t))
        return evaluate(self, t)

    monkeypatch.setattr(type(curves), "evaluate", counting)
    together = curves.crossings(REQUESTS, bootstrap=100, rng=4)
    reads_together = len(calls)
    calls.clear()
    alone = [curves.crossing(name, level, bootstrap=100, rng=4) for name, level in REQUESTS]
    reads_alone = len(calls)
    for (name, level), a, b in zip(REQUESTS, together, alone, strict=True):
        assert math.isfinite(a.value)
        assert a.value == b.value == _sequential_root(curves, name, level)
        # the grid's end values differ from re-evaluations by ~1e-15: the root by less than Brent's tolerance
        assert a.value == pytest.approx(_sequential_root(curves, name, level, ends_from_grid=False), rel=3e-10)
        assert a.se == b.se and a.ci == b.ci and a.details == b.details
    # Brent's rounds in lockstep, then one read for the slopes and one for the bootstrap grids
    assert reads_together < reads_alone - 2 * (len(REQUESTS) - 1)


def test_a_shared_generator_serves_the_bootstraps_in_order(curves):
    together = curves.crossings(REQUESTS, bootstrap=100, rng=np.random.default_rng(8))
    g = np.random.default_rng(8)
    alone = [curves.crossing(name, level, bootstrap=100, rng=g) for name, level in REQUESTS]
    assert [e.ci for e in together] == [e.ci for e in alone]
    assert together[0].ci != together[1].ci


def test_uncrossed_levels_and_zero_bootstrap(curves):
    out = curves.crossings([("commitment", 2.0), ("commitment", 0.5)], bootstrap=0)
    assert math.isnan(out[0].value) and out[0].details == {"bracket": None}
    assert math.isfinite(out[1].value) and math.isfinite(out[1].se) and "bootstrap_failures" not in out[1].details


def test_an_evaluation_error_reaches_the_caller_without_hanging(curves, monkeypatch):
    evaluate = type(curves).evaluate
    count = [0]

    def failing(self, t):
        count[0] += 1
        if count[0] == 4:
            raise RegimesError("disk gone")
        return evaluate(self, t)

    monkeypatch.setattr(type(curves), "evaluate", failing)
    with pytest.raises(RegimesError, match="disk gone"):
        curves.crossings(REQUESTS, bootstrap=10)


def test_unknown_statistic_is_a_clear_error(curves):
    with pytest.raises(RegimesError, match="statistic must be one of .*got 'entropy'"):
        curves.crossings([("entropy", 0.1)])


def test_a_level_equal_to_a_grid_value_is_not_a_scipy_error():
    """The bracket comes from the pass's curve; re-evaluated from the stored statistics a grid value
    equal to the level can come out ~1e-15 on the other side: the nearer end is then the root."""
    g = np.random.default_rng(0)
    X = g.standard_normal((300, 12))
    mc = empirical_mixture(X, np.geomspace(0.01, 3, 12), samples=64, block_rows=37, rng=1)
    for k in range(1, 11):
        level = float(mc.commitment[k])
        est = mc.crossing("commitment", level, bootstrap=20)
        assert math.isfinite(est.value) and mc.t[0] <= est.value <= mc.t[-1]


def test_bad_requests_and_options_are_clear_errors(curves):
    for kw, match in (({"requests": [("commitment", math.nan)]}, "level of commitment must be finite"),
                      ({"requests": [("commitment", "abc")]}, "level of commitment must be a real number"),
                      ({"requests": [("commitment", 0.5)], "confidence": 2}, "confidence must be > 0 and < 1"),
                      ({"requests": [("commitment", 0.5)], "bootstrap": 10**9}, "bootstrap must be >= 0 and <= 100000"),
                      ({"requests": [("commitment", 0.5)], "rng": "x"}, "rng")):
        with pytest.raises(RegimesError, match=match):
            curves.crossings(**kw)
    with pytest.raises(RegimesError, match="statistic must be one of"):
        curves.prefetch([("bogus", 0.5)])
    unlabelled = empirical_mixture(np.random.default_rng(1).standard_normal((100, 5)), [0.5, 1.0, 2.0], samples=16)
    with pytest.raises(RegimesError, match="class_commitment needs labels"):
        unlabelled.crossings([("class_commitment", 0.7)])


def test_leaving_early_releases_every_root_finder(curves, monkeypatch):
    import threading

    from regimes.engines import curves as mod

    before = threading.active_count()

    def interrupted(self, evaluate):
        raise KeyboardInterrupt

    monkeypatch.setattr(mod._Lockstep, "serve", interrupted)  # noqa: SLF001 - the lockstep under test
    with pytest.raises(KeyboardInterrupt):
        curves.crossings(REQUESTS, bootstrap=10)
    assert threading.active_count() == before
