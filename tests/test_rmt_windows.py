"""Training windows τ_best, τ_gap from the predicted loss curves, against gradient descent on the
random-features model with real tanh features (an independent oracle: no Gaussian equivalence, no
closed form, explicit discrete steps)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from regimes import RegimesError
from regimes.rmt import GaussianEquivalentInstance, RandomFeatures
from regimes.rmt.windows import (
    asymptotic_validity_note,
    sample_window_curves,
    training_window,
)


def _gd_window(n, d, p, t, seed, tau_max, K=48, n_test=12000, h=0.5, eps=0.1):
    """GD on A (A ← A − η∇_A L, τ = η·steps/d²) of s_A(x) = (A/√p) tanh(Wx/√d) on the DSM loss
    (1/d)E‖√Δ_t s_A(x_t) + ξ‖² with the noise averaged by Monte Carlo (K draws per training point);
    the test loss uses fresh data and noise. Returns (τ_best, τ_gap(ε), L_test(τ_best))."""
    g = np.random.default_rng(seed)
    delta = -math.expm1(-2 * t)
    W = g.standard_normal((p, d))

    def moments(x, k):
        xi = g.standard_normal((x.shape[0] * k, d))
        xt = math.exp(-t) * np.repeat(x, k, axis=0) + math.sqrt(delta) * xi
        phi = np.tanh(xt @ W.T / math.sqrt(d))
        return phi.T @ phi / phi.shape[0], phi.T @ xi / phi.shape[0]

    U, V = moments(g.standard_normal((n, d)), K)
    Ut, Vt = moments(g.standard_normal((n_test, d)), 1)
    A = np.zeros((d, p))
    eta = h * d * d
    taus, train, test = [], [], []
    for k in range(1, int(tau_max / h) + 1):
        B = A / math.sqrt(p)
        grad_B = (2 * delta / d) * (B @ U) + (2 * math.sqrt(delta) / d) * V.T
        A = A - eta * grad_B / math.sqrt(p)
        B = A / math.sqrt(p)
        taus.append(k * eta / d**2)
        train.append(1 + delta / d * np.sum((B @ U) * B) + 2 * math.sqrt(delta) / d * np.sum(B * V.T))
        test.append(1 + delta / d * np.sum((B @ Ut) * B) + 2 * math.sqrt(delta) / d * np.sum(B * Vt.T))
    taus, train, test = map(np.asarray, (taus, train, test))
    i = int(np.argmin(test))
    hit = np.nonzero(test - train >= eps)[0]
    return taus[i], (taus[hit[0]] if hit.size else np.inf), test[i]


@pytest.mark.parametrize("n, tau_max", [(40, 40.0), (80, 120.0)])
def test_window_matches_gradient_descent_on_real_tanh_features(n, tau_max):
    # d = 20, p = 160, t = 0.1; measured when written (prediction / GD mean of 4 seeds):
    # n = 40: τ_best 11.7 / 11.6, τ_gap 20.1 / 19.6; n = 80: τ_best 14.7 / 14.3, τ_gap 58 / 56
    d, p, t = 20, 160, 0.1
    gd = np.array([_gd_window(n, d, p, t, s, tau_max) for s in range(3)])
    pred = training_window(n, d, p, t, seeds=6, rng=1)
    assert not pred.reduced and pred.tau_gap is not None
    tb, tg, lt = gd.mean(axis=0)
    assert pred.tau_best == pytest.approx(tb, rel=0.2)
    assert pred.tau_gap == pytest.approx(tg, rel=0.3)  # GD seed-to-seed spread ~15 % at n = 80
    assert pred.loss_at_best["test"] == pytest.approx(lt, abs=0.015)
    assert pred.loss_at_gap["gap"] == pytest.approx(0.1, abs=5e-3)


def test_span_evaluation_equals_closed_form_instance():
    rf = RandomFeatures(8, 2, 0.1)
    d, p, n = 12, 96, 24
    tau = np.geomspace(0.1, 1e4, 30)
    fast = sample_window_curves(rf, d, p, n, tau, np.random.default_rng(3))
    g = np.random.default_rng(3)  # the same draw, built as p×p matrices
    c = rf.constants
    A2 = c.a_t**2 * math.exp(-2 * rf.t)
    W = g.standard_normal((p, d))
    X = g.standard_normal((d, n))
    G = math.sqrt(A2) * W @ X / math.sqrt(d) + math.sqrt(c.v_t2) * g.standard_normal((p, n))
    WW = W @ W.T / d
    U = G @ G.T / n + c.b_t**2 * WW + c.s_t2 * np.eye(p)
    V = c.b_t * W / math.sqrt(d)
    Up = (A2 + c.b_t**2) * WW + (c.v_t2 + c.s_t2) * np.eye(p)
    ref = GaussianEquivalentInstance(U=U, V=V, U_pop=Up, V_pop=V, delta_t=rf.delta_t, psi_p=p / d,
                                     d=d).loss_curves(tau)
    np.testing.assert_allclose(fast["train"], ref["train"], atol=1e-12)
    np.testing.assert_allclose(fast["test"], ref["test"], atol=1e-12)


def test_reduced_dimension_keeps_ratios_and_reports_spread():
    full = training_window(160, 40, 640, 0.1, seeds=4)
    red = training_window(160, 40, 640, 0.1, seeds=4, budget=60_000)
    assert not full.reduced and red.reduced and red.d_used < 40
    assert red.p_used / red.d_used == pytest.approx(16, rel=0.05)
    assert red.n_used / red.d_used == pytest.approx(4, rel=0.1)
    assert red.tau_best_spread is not None and red.tau_best_spread > 0
    assert red.tau_best == pytest.approx(full.tau_best, rel=0.15)
    assert red.tau_gap == pytest.approx(full.tau_gap, rel=0.35)
    assert any("reduced size" in s for s in red.notes)


def test_no_gap_below_interpolation_and_bad_input():
    w = training_window(1600, 40, 200, 0.1, seeds=2)  # p ≪ n: cannot memorise
    assert w.tau_gap is None and w.loss_at_gap is None and w.long_time_gap < 0.1
    assert w.to_dict()["tau_gap"] == {"value": None, "spread": None}
    assert asymptotic_validity_note(2.0, 16.0) is not None
    assert asymptotic_validity_note(20.0, 400.0) is None
    with pytest.raises(RegimesError, match="gap_tolerance"):
        training_window(80, 40, 640, 0.1, gap_tolerance=0)
    with pytest.raises(RegimesError, match="seeds"):
        training_window(80, 40, 640, 0.1, seeds=0)


def test_cli_timescales_window_keys_and_bad_flags(capsys):
    import json

    from regimes_cli.main import main

    assert main(["timescales", "--n", "80", "--d", "40", "--p", "640", "--t", "0.1", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["gap_tolerance"] == 0.1
    assert 6 < res["tau_best"]["value"] < 17 and res["tau_best"]["spread"] > 0
    assert 15 < res["tau_gap"]["value"] < 25  # GD on real tanh features, d = 40: ≈ 17–20
    assert set(res["loss_at_best"]) >= {"train", "test", "gap", "spread"}
    assert "τ_best" in res["answer"] and "window of" not in res["answer"]
    assert any("ψ_n = 2" in note for note in res["notes"])  # asymptotics validity note
    for args, flag in ((["--gap-tolerance", "0"], "--gap-tolerance"), (["--seeds", "0"], "--seeds")):
        rc = main(["timescales", "--n", "80", "--d", "40", "--p", "640", "--t", "0.1", *args])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and flag in err and "\n" not in err


def test_cli_ntau_window_curves(capsys):
    import json

    from regimes_cli.main import main

    args = ["phase-diagram", "ntau", "--n-min", "40", "--n-max", "320", "--d", "40", "--p", "640",
            "--points", "5", "--window-points", "3", "--json"]
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["window_n"] == pytest.approx([40, 113.137, 320], rel=1e-4)
    assert len(res["tau_best"]) == 3 and res["gap_tolerance"] == 0.1
    assert res["tau_gap"][0] < res["tau_gap"][1] < res["tau_gap"][2]
    assert main(args[:-1] + ["--gap-tolerance", "1.5", "--json"]) == 2
    assert "--gap-tolerance" in capsys.readouterr().err


def test_a_window_too_small_to_mean_anything_is_refused():
    """At ψ_p = 1e5 the budget allows only d' = 1: two seeds gave τ_best 1199 ± 843 and 6.35. The
    library refuses (WindowTooSmall, a RegimesError); the CLI keeps the asymptotic timescales."""
    import json

    from regimes.rmt.windows import MIN_WINDOW_D, WindowTooSmall, training_window

    with pytest.raises(WindowTooSmall, match=r"allows only d = 1 \(< 10\)"):
        training_window(1e6, 1e3, 1e8, 0.3, rng=0)
    assert MIN_WINDOW_D == 10
    import contextlib
    import io

    from regimes_cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["timescales", "--n", "1e6", "--d", "1e3", "--p", "1e8", "--t", "0.3", "--json"])
    d = json.loads(out.getvalue())
    assert rc in (0, None) and d["tau_best"] is None and d["window_instances"] is None
    assert d["tau_mem"] > 0 and any("no loss-curve window" in n for n in d["notes"])


def test_the_note_gives_the_psi_actually_used_after_rounding():
    from regimes.rmt.windows import training_window

    w = training_window(1270, 1000, 1e5, 0.3, rng=0, seeds=1, budget=120_000)
    assert w.reduced
    note = next(n for n in w.notes if "reduced size" in n)
    assert f"ψ_n = {w.n_used / w.d_used:.4g} after rounding" in note


def test_absent_window_has_the_keys_of_a_computed_one():
    """`regimes timescales` writes TrainingWindow.absent_dict when no window is computed: the same
    keys as TrainingWindow.to_dict, all null but the tolerance."""
    from regimes.rmt import training_window
    from regimes.rmt.windows import TrainingWindow

    w = training_window(80, 20, 40, 0.5, seeds=1)
    absent = TrainingWindow.absent_dict(w.gap_tolerance)
    assert absent.keys() == w.to_dict().keys()
    assert all(v is None for k, v in absent.items() if k != "gap_tolerance")
