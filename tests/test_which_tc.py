"""Guidance between the t_C estimators: the commitment estimate against the simulated dynamics
(U-turns with the exact empirical score, the ground truth), and the diagnostics that explain a
disagreement, measured on data whose properties are planted."""

import math

import numpy as np
import pytest

from regimes.analysis import analyze
from regimes.diagnostics import diagnose, intervals_disagree
from regimes.estimate import Estimate
from regimes.uturn import simulated_collapse_time


def test_commitment_matches_the_simulated_backward_dynamics():
    # N(0, I), n = 200, d = 16: the simulated same-point fraction crosses ½ where φ_C does
    X = np.random.default_rng(1).standard_normal((200, 16))
    r = analyze(X, samples=1024, bootstrap=50, seed=0)
    com = r.t_C["commitment"]
    sim = simulated_collapse_time(X, np.linspace(0.6 * com.value, 1.4 * com.value, 9), samples=800, rng=3)
    assert sim.ci[0] < sim.value < sim.ci[1]
    # Monte Carlo of both plus the grid's interpolation and the SDE's discretisation (~0.01)
    assert abs(sim.value - com.value) < 3 * math.hypot(sim.se, com.se) + 0.01
    # the entropy convention sits clearly below the crossing of the dynamics here (small d)
    assert r.t_C["entropy"].value < sim.value - 5 * sim.se


def test_intervals_disagree():
    a = Estimate(1.0, 0.1, (0.9, 1.1))
    assert not intervals_disagree(a, Estimate(1.15, 0.1, (1.05, 1.25)))
    assert intervals_disagree(a, Estimate(1.3, 0.1, (1.2, 1.4)))
    assert intervals_disagree(a, Estimate(1.2))  # no interval: its value
    assert not intervals_disagree(a, Estimate(1.05))


def _t_C(values):
    return {k: Estimate(v, 0.001, (v - 0.002, v + 0.002)) for k, v in values.items()}


def test_diagnostics_name_the_planted_property():
    disagree = _t_C({"commitment": 1.0, "entropy": 0.8, "spectral": 1.3, "gaussian": 1.5})
    # anisotropic bulk: eigenvalues spread over three decades (participation ratio ≪ d)
    lam = np.geomspace(1e-3, 1.0, 400)
    dg = diagnose(disagree, lam, d=400, n=10_000, total_variance=lam.sum())
    assert not dg.agree and dg.spread == pytest.approx(1.5 / 0.8)
    assert any("anisotropic" in c for c in dg.causes) and not any("small d" in c for c in dg.causes)
    # the bulk fraction oracle: (Σλ)²/Σλ² / d
    assert dg.effective_rank_fraction == pytest.approx(lam.sum() ** 2 / np.sum(lam**2) / 400)
    # isotropic bulk plus one dominant direction and class structure
    lam = np.r_[500.0, np.ones(399)]
    dg = diagnose(disagree, lam, d=400, n=10_000, total_variance=lam.sum(), within_variance=0.5)
    assert any("dominant direction" in c for c in dg.causes) and any("class structure" in c for c in dg.causes)
    assert not any("anisotropic" in c for c in dg.causes)
    # small d
    lam = np.ones(20)
    dg = diagnose(disagree, lam, d=20, n=1000, total_variance=20.0)
    assert any("small d" in c for c in dg.causes)
    # agreement: no causes
    agree = _t_C({"commitment": 1.0, "entropy": 1.001, "spectral": 0.999, "gaussian": 1.0})
    dg = diagnose(agree, np.ones(400), d=400, n=10_000, total_variance=400.0)
    assert dg.agree and dg.causes == () and dg.to_dict()["estimates_agree"] is True


def test_analyze_reports_the_diagnostics():
    X = np.random.default_rng(0).standard_normal((600, 48)) * np.geomspace(0.05, 3.0, 48)
    r = analyze(X, samples=256, bootstrap=30, seed=0)
    d = r.to_dict()["diagnostics"]
    assert set(d) >= {"estimates_agree", "spread", "likely_causes", "recommendation", "participation_ratio"}
    if not d["estimates_agree"]:
        assert any("disagree beyond their intervals" in x for x in r.notes)
    assert "φ_C" in r.t_C["commitment"].definition and "convention" in r.t_C["entropy"].definition
