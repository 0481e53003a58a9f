"""Inverse questions (regimes.inverse): checked against 50-digit mpmath root finding on the forward
t_C formula of arXiv 2402.18491 (never against the closed-form inverse)."""

import math

import mpmath as mp
import numpy as np
import pytest

from regimes import collapse_time_from_alpha, speciation_time, step_at_time
from regimes.inverse import (
    d_for_collapse_time,
    eigenvalue_for_step,
    n_for_collapse_time,
    n_for_last_fraction,
)
from regimes.phase import log10_n_star, n_star
from regimes.schedules import get_schedule


def mp_alpha(t_C, var):
    """α with t_C(α) = target, by findroot on the forward formula (50 digits)."""
    with mp.workdps(50):
        t, v = mp.mpf(t_C), mp.mpf(var)

        def f(la):  # in ln α: α spans many decades
            return mp.log1p(v / mp.expm1(2 * mp.exp(la))) / 2 - t
        lo, hi = mp.mpf(-60), mp.mpf(6)  # f decreases in ln α: bisect, then polish with findroot
        for _ in range(120):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
        return mp.exp(mp.findroot(f, (lo + hi) / 2))


@pytest.mark.parametrize("t_C, d, var", [(0.5, 100, 1.0), (0.5, 3072, 0.25164), (1e-4, 50, 2.0),
                                         (3.0, 1e6, 1.0), (0.015254607669060996, 3072, 0.25164)])
def test_n_for_collapse_time_mpmath(t_C, d, var):
    sol = n_for_collapse_time(t_C, d, var)
    a = mp_alpha(t_C, var)
    with mp.workdps(50):
        log10_n = float(a * d / mp.log(10))
    assert sol.alpha == pytest.approx(float(a), rel=2e-15)
    assert sol.log10_n == pytest.approx(log10_n, rel=1e-14)
    if log10_n < 308:
        assert sol.n == pytest.approx(10.0**log10_n, rel=1e-12)
    else:
        assert sol.n is None  # beyond float64: never inf


def test_last_fraction_cifar_and_step_convention():
    sol = n_for_last_fraction(0.05, 3072, "linear", 1000, 0.25164)
    sch = get_schedule("linear", 1000)
    assert sol.step == 50 and sol.t_C == float(sch.times[50])
    assert sol.n is None and sol.log10_n == pytest.approx(1474.758, abs=1e-3)
    a = mp_alpha(sch.times[50], 0.25164)
    assert sol.alpha == pytest.approx(float(a), rel=1e-14)
    # collapse at t_C = t_K lands on step K: Regime III covers steps 0 … K − 1 (the last 5%)
    assert step_at_time(sch, collapse_time_from_alpha(sol.alpha, 0.25164)) in (49, 50)
    assert n_for_last_fraction(0.29, 100, "cosine", 100).step == 29  # no float floor error


def test_d_for_collapse_time_mpmath():
    sol = d_for_collapse_time(0.5, 1e10, 1.0)
    with mp.workdps(50):
        f = lambda d: mp.log1p(1 / mp.expm1(2 * mp.log(mp.mpf(10) ** 10) / d)) / 2 - mp.mpf("0.5")  # noqa: E731
        d_ref = float(mp.findroot(f, 100))
    assert sol.d == pytest.approx(d_ref, rel=1e-14)


@pytest.mark.parametrize("schedule, K", [("linear", 500), ("linear", 0), ("cosine", 900), ("scaled-linear", 10)])
def test_eigenvalue_for_step(schedule, K):
    sol = eigenvalue_for_step(K, schedule, 1000)
    sch = get_schedule(schedule, 1000)
    with mp.workdps(50):
        lam = mp.findroot(lambda L: mp.log(L) / 2 - mp.mpf(float(sch.times[K])), 2.0)
    assert sol.eigenvalue == pytest.approx(float(lam), rel=1e-14)
    assert speciation_time(sol.eigenvalue) == pytest.approx(float(sch.times[K]), rel=1e-14)
    mid = math.sqrt(sol.eigenvalue * sol.eigenvalue_min) if K else 0.5 * (1 + sol.eigenvalue)
    assert step_at_time(sch, 0.5 * math.log(mid)) == K


def test_n_star_companion():
    assert math.isinf(n_star(3072, 0.1))
    ref = mp_alpha(0.1, 1.0) * 3072 / mp.log(10)
    assert log10_n_star(3072, 0.1) == pytest.approx(float(ref), rel=1e-14)
    assert np.allclose(log10_n_star(np.array([10.0, 20.0]), 0.5), np.log10(n_star(np.array([10.0, 20.0]), 0.5)))
