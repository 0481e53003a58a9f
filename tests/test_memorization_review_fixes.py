"""Fixes of the review of the memorisation audit, the U-turns and the exact empirical score.

Each test checks against an independent oracle: scipy's cdist in float64, scipy.stats, the exact
class-curve limit Σ_c p_c², a Monte Carlo with its binomial error, or mpmath-free closed forms.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from regimes import RegimesError
from regimes.engines.score import EmpiricalScore, sample_exact_score
from regimes.memorization import difference_interval, memorization_audit, nearest_training_points
from regimes.uturn import end_time, image_index, uturn, uturn_cost


# --------------------------------------------------------------------------- F1: float32 frames
def _adversarial(seed=0, d=100, off=1e4):
    """The reviewer's construction: binary rows with column means exactly 1/2 (the float32 mean is
    off by half an ulp per feature), a true nearest a*, 20 decoys that are subsets of x, and all
    complements, on a large float32 offset."""
    rng = np.random.default_rng(seed)
    x = np.zeros(d)
    x[:60] = 1
    astar = x.copy()
    astar[60] = 1
    rows = [astar]
    for _ in range(20):
        a = x.copy()
        a[rng.choice(60, 10, replace=False)] = 0
        rows.append(a)
    rows += [1 - r for r in rows]
    B = np.array(rows)
    o = np.float32(off)
    ulp = float(np.spacing(o))
    A = (o + B.astype(np.float32) * np.float32(ulp)).astype(np.float32)
    G = (o + x.astype(np.float32) * np.float32(ulp)).astype(np.float32)[None]
    return A, G


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float32_offset_frames_agree_with_cdist(seed):
    A, G = _adversarial(seed)
    D = np.sort(cdist(G.astype(np.float64), A.astype(np.float64))[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        au = memorization_audit(G, A)
    g = au.generated
    assert g.nearest[0] == np.argmin(cdist(G.astype(float), A.astype(float))[0])
    assert g.d1[0] == pytest.approx(D[0], rel=1e-12) and g.d2[0] == pytest.approx(D[1], rel=1e-12)
    assert g.d2[0] >= g.d1[0]
    assert au.f_mem.value == 1.0  # ratio 1/√10 < 1/3
    dd, ii, _ = nearest_training_points(G, A, k=2)
    np.testing.assert_allclose(dd[0], D[:2], rtol=1e-12)


def test_float32_natural_offset_carlini_matches_cdist():
    rng = np.random.default_rng(3)
    A = (1e4 + 1e-3 * rng.standard_normal((300, 20))).astype(np.float32)
    G = (1e4 + 1e-3 * rng.standard_normal((40, 20))).astype(np.float32)
    au = memorization_audit(G, A, carlini_k=10)
    D = np.sort(cdist(G.astype(np.float64), A.astype(np.float64)), axis=1)
    np.testing.assert_allclose(au.generated.d1, D[:, 0], rtol=1e-9)
    np.testing.assert_allclose(au.generated.d2, D[:, 1], rtol=1e-9)
    # the Carlini mean uses float32 values for the non-recomputed neighbours: now within 1e-4
    carl = D[:, 0] / (0.5 * D[:, :10].mean(axis=1))
    np.testing.assert_allclose(au.generated.carlini, carl, rtol=1e-4)


# --------------------------------------------------------------------------- F2: underflowing squares
@pytest.mark.parametrize("scale", [1e-154, 1e-158])
def test_tiny_data_same_audit_as_scale_one(scale):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((50, 8))
    G = np.vstack([A[:5] + 1e-3 * rng.standard_normal((5, 8)), rng.standard_normal((20, 8))])
    D = np.sort(cdist(G, A), axis=1)
    oracle = float(np.mean(D[:, 0] / D[:, 1] < 1 / 3))
    assert oracle == pytest.approx(0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from underflow either
        au = memorization_audit(G * scale, A * scale)
    assert au.f_mem.value == oracle
    np.testing.assert_allclose(au.generated.d1 / scale, D[:, 0], rtol=1e-12)
    np.testing.assert_allclose(au.generated.ratio, D[:, 0] / D[:, 1], rtol=1e-12)
    assert au.train_rms / scale == pytest.approx(math.sqrt(np.mean(np.sum((A - A.mean(0)) ** 2, 1))), rel=1e-6)


def test_ordinary_data_bit_identical_distances():
    """The power-of-two frame changes no bit for ordinary data (float64): d1 equals cdist's value
    computed the same way up to rounding, and the scale-2^k copy gives exactly 2^k times it."""
    rng = np.random.default_rng(1)
    A, G = rng.standard_normal((80, 6)), rng.standard_normal((30, 6))
    a1, a2 = memorization_audit(G, A), memorization_audit(G * 2.0**40, A * 2.0**40)
    assert np.array_equal(a1.generated.d1 * 2.0**40, a2.generated.d1)
    assert np.array_equal(a1.generated.ratio, a2.generated.ratio)
    np.testing.assert_allclose(a1.generated.d1, cdist(G, A).min(axis=1), rtol=1e-13)


# --------------------------------------------------------------------------- F3, F9: U-turns
def test_uturn_sde_large_t_class_limit_and_training_endpoints():
    rng = np.random.default_rng(0)
    n, d = 40, 8
    A = rng.standard_normal((n, d))
    lab = (np.arange(n) < 36).astype(int)
    A[lab == 0] += 3.0
    phi_inf = 0.9**2 + 0.1**2  # exact: the class curve at t → ∞ with classes of 36 and 4
    r = uturn(A, [1e5], samples=1000, labels=lab, method="sde", steps=200, rng=1, examples=1000)
    est = r.same_class[0]
    assert est.ci[0] <= phi_inf <= est.ci[1]
    assert abs(est.value - phi_inf) < 4 * math.sqrt(phi_inf * (1 - phi_inf) / 1000)
    dist = cdist(r.final[0], A).min(axis=1)
    assert dist.max() < 1e-12  # every endpoint is a training point
    assert np.unique(r.end[0]).size > 20  # not one blend-point for all runs
    assert r.t_end[0] == pytest.approx(end_time(1e5, float(np.var(A, axis=0, ddof=1).mean())), rel=1e-12)


def test_end_time_keeps_small_t_grid_and_floors_large_t():
    assert end_time(0.5, 1.0) == 0.5 * 1e-4
    assert end_time(1e5, 2.0) == pytest.approx(2e-4)
    assert end_time(1e5, math.inf) == pytest.approx(10.0)


def test_uturn_duplicates_count_as_one_image_for_every_method():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((10, 4))
    A2 = np.vstack([A, A])  # every image twice
    images = image_index(EmpiricalScore(A2).src)
    idx, dups = images.index, images.duplicates
    assert dups == 10 and np.array_equal(idx, np.r_[np.arange(10), np.arange(10)])
    for method in ("posterior", "sde", "ode"):
        r = uturn(A2, [1e-3], samples=200, method=method, steps=20, rng=2)
        assert r.same_point[0].value == 1.0 and r.duplicate_rows == 10
        assert r.to_dict()["duplicate_rows"] == 10


def test_uturn_posterior_matches_mc_phi_c_without_duplicates():
    """Oracle: φ_C(t) = E[Σ w²] by direct Monte Carlo of the weights (scipy logsumexp)."""
    from scipy.special import logsumexp

    rng = np.random.default_rng(5)
    A = rng.standard_normal((12, 3))
    t = 0.4
    c, v = math.exp(-t), -math.expm1(-2 * t)
    mu = rng.integers(0, 12, 20000)
    x = c * A[mu] + math.sqrt(v) * rng.standard_normal((20000, 3))
    L = -((x[:, None, :] - c * A[None]) ** 2).sum(-1) / (2 * v)
    w = np.exp(L - logsumexp(L, axis=1, keepdims=True))
    phi = float(np.mean((w**2).sum(1)))
    mc_se = float(np.std((w**2).sum(1)) / math.sqrt(20000))
    r = uturn(A, [t], samples=3000, method="posterior", rng=3)
    assert abs(r.same_point[0].value - phi) < 4 * math.sqrt(phi * (1 - phi) / 3000 + mc_se**2)


# --------------------------------------------------------------------------- F5: exact score, extreme scales
@pytest.mark.parametrize("sc", [1e154, 1e160])
def test_score_huge_data_scaled_frame(sc):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 5))
    es = EmpiricalScore(A * sc)
    x = A[3] * sc * math.exp(-0.1)
    m = es.mean(x, 0.1)
    # at this magnitude (distances ~1e154 against unit noise) the weights are one-hot on the point
    # nearest to e^{t}x = a^3 (cdist): the mean is a^3 to rounding
    assert int(np.argmin(cdist(A[3:4], A))) == 3
    np.testing.assert_allclose(m / sc, A[3], rtol=1e-12, atol=1e-15)
    assert np.all(np.isfinite(es.score(x, 0.1)))
    assert es.nearest(A[3] * sc * 1.0001) == 3 == int(np.argmin(cdist(A[3:4] * 1.0001, A)))
    s = sample_exact_score(A * sc, 3, sampler="ddim", steps=30, rng=0)
    assert np.all(np.isfinite(s)) and cdist(s / sc, A).min(axis=1).max() < 1e-12


def test_score_tiny_t_no_nan_matches_analytic_weights():
    """At t = 1e-300 the logits overflow; the weights must still be one-hot on the nearest point and
    the score equal −(x − e^{−t}a)/Δ_t (the analytic value when the weight is one-hot)."""
    rng = np.random.default_rng(1)
    A = rng.standard_normal((20, 50)) * 1e4
    es = EmpiricalScore(A)
    t = 1e-300
    x = A[:3] + 1e-150 * rng.standard_normal((3, 50))
    w = es.weights(x, t)
    assert np.all(np.isfinite(w)) and np.allclose(w[np.arange(3), np.arange(3)], 1.0)
    np.testing.assert_allclose(es.mean(x, t), A[:3], rtol=1e-14)
    sc = es.score(x, t)
    v = -math.expm1(-2 * t)
    # x − e^{−t}E[a] cancels to the rounding of E[a] (a few ulps of |a| ~ 1e4), amplified by 1/Δ_t
    tol = 8 * np.finfo(float).eps * np.abs(A[:3]).max() / v
    assert np.all(np.isfinite(sc))
    assert np.abs(sc - (-(x - math.exp(-t) * A[:3]) / v)).max() <= tol
    draws = es.draw(x, t, rng=0)
    assert np.array_equal(draws, [0, 1, 2])


def test_score_refuses_time_that_underflows():
    rng = np.random.default_rng(0)
    es = EmpiricalScore(rng.standard_normal((10, 3)) * 1e160)
    with pytest.raises(RegimesError, match=r"^t: too small"):
        es.mean(np.zeros(3), 1e-320)


def test_score_ordinary_data_unchanged_gumbel_law():
    """The draw follows the weights (chi-square against the exact weights: scipy.stats)."""
    rng = np.random.default_rng(2)
    A = rng.standard_normal((5, 2))
    es = EmpiricalScore(A)
    x = np.tile(0.3 * A[0], (4000, 1))
    w = es.weights(x[0], 0.8)
    counts = np.bincount(es.draw(x, 0.8, rng=1), minlength=5)
    assert stats.chisquare(counts, 4000 * w).pvalue > 1e-3


# --------------------------------------------------------------------------- F10: excess interval
def test_newcombe_interval_matches_wilson_formula():
    for x1, n1, x2, n2 in [(30, 200, 0, 200), (5, 50, 7, 60), (0, 10, 0, 10), (100, 100, 3, 40)]:
        w1 = stats.binomtest(x1, n1).proportion_ci(0.95, method="wilson")
        w2 = stats.binomtest(x2, n2).proportion_ci(0.95, method="wilson")
        p1, p2 = x1 / n1, x2 / n2
        lo = p1 - p2 - math.hypot(p1 - w1.low, w2.high - p2)
        hi = p1 - p2 + math.hypot(w1.high - p1, p2 - w2.low)
        got = difference_interval(x1, n1, x2, n2, 0.95)
        assert got == pytest.approx((max(-1, lo), min(1, hi)), abs=1e-12)


def test_newcombe_interval_coverage_by_simulation():
    rng = np.random.default_rng(0)
    p1, p2, n1, n2, reps = 0.05, 0.02, 200, 150, 2000
    x1, x2 = rng.binomial(n1, p1, reps), rng.binomial(n2, p2, reps)
    ints = [difference_interval(a, n1, b, n2) for a, b in zip(x1, x2, strict=True)]
    cover = np.mean([lo <= p1 - p2 <= hi for lo, hi in ints])
    assert cover > 0.95 - 3 * math.sqrt(0.95 * 0.05 / reps)


def test_excess_in_json_table_and_caveats():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((200, 16))
    G = np.vstack([A[:30] + 1e-4 * rng.standard_normal((30, 16)), rng.standard_normal((70, 16))])
    held = rng.standard_normal((100, 16))
    au = memorization_audit(G, A, reference=held)
    d = au.to_dict()
    lo, hi = d["f_mem_excess_ci"]
    assert d["f_mem_excess"] == pytest.approx(0.3) and lo <= d["f_mem_excess"] <= hi and lo > 0
    assert (lo, hi) == pytest.approx(difference_interval(30, 100, 0, 100))
    rows = {r[0]: r for r in au.as_table()[2]}
    assert rows["f_mem excess"][3] == pytest.approx(lo) and "Newcombe" in rows["f_mem excess"][5]
    assert d["f_mem_meaningful"] and "interval" in d and "no resampling" in d["interval"]
    no = memorization_audit(G, A, reference=held, bootstrap=0).to_dict()
    assert no["f_mem_excess_ci"] is None and "no interval" in no["f_mem"]["definition"]


def test_units_mismatch_marks_f_mem_not_meaningful():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (300, 64)).astype(np.float64)
    A = img[:200] / 127.5 - 1
    with pytest.warns(Warning):
        au = memorization_audit(img[200:], A)
    d = au.to_dict()
    assert d["f_mem_meaningful"] is False and "not meaningful" in d["f_mem_caveat"]
    assert "not meaningful" in au.as_table()[2][0][5]
    ok = memorization_audit(img[200:] / 127.5 - 1, A)
    assert ok.to_dict()["f_mem_meaningful"] is True and "f_mem_caveat" not in ok.to_dict()


def test_carlini_cap_note_and_single_sample_no_spread_warning():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        au = memorization_audit(rng.standard_normal((1, 4)), A)
    assert au.carlini_k == 20 and any("capped" in n for n in au.notes)


# --------------------------------------------------------------------------- CLI: F4, F6, F7, F8
@pytest.fixture()
def npys(tmp_path):
    rng = np.random.default_rng(0)
    tr = rng.uniform(-1, 1, (60, 3, 4, 4)).astype(np.float32)
    p = {"empty": tmp_path / "empty.npy", "train": tmp_path / "tr_chw.npy", "hwc": tmp_path / "gen_hwc.npy",
         "chw": tmp_path / "gen_chw.npy", "flat": tmp_path / "flat.npy", "lab": tmp_path / "lab.npy",
         "wide": tmp_path / "wide.npy"}
    np.save(p["wide"], rng.standard_normal((3, 4096)).astype(np.float32))
    np.save(p["empty"], np.zeros((0, 16, 16)))
    np.save(p["train"], tr)
    np.save(p["hwc"], np.moveaxis(tr[:20], 1, 3))
    np.save(p["chw"], tr[:20])
    np.save(p["flat"], rng.standard_normal((30, 8)))
    np.save(p["lab"], np.arange(30) % 2)
    return p


def test_cli_empty_image_npy_one_line_exit_2(run_cli, npys):
    for args in (("memorization", npys["empty"], npys["train"]), ("uturn", npys["empty"], "--times", "0.1")):
        rc, out, err = run_cli(*args)
        assert rc == 2 and err.count("\n") == 1 and "empty" in err and "(0, 16, 16)" in err


def test_cli_layout_mismatch_refused_and_same_layout_copies_found(run_cli, npys):
    rc, _, err = run_cli("memorization", npys["hwc"], npys["train"], "--json")
    assert rc == 2 and err.count("\n") == 1 and "(4, 4, 3)" in err and "(3, 4, 4)" in err
    rc, out, err = run_cli("memorization", npys["chw"], npys["train"], "--json")
    assert rc == 0 and json.loads(out)["f_mem"]["value"] == 1.0  # oracle: all 20 are exact copies


def test_cli_uturn_memory_refusal_and_time_note(run_cli, npys, monkeypatch):
    # 10⁷ U-turns of d = 4096: about 80·10⁷·4096 bytes = 3 TB of states, refused before any work
    assert uturn_cost(3, 4096, 10**7, 1, method="posterior").bytes > 3e12
    rc, _, err = run_cli("uturn", npys["wide"], "--times", "0.1", "--samples", "10000000", "--method", "posterior")
    assert rc == 2 and err.startswith("regimes: error: --samples 10000000 needs about") and err.count("\n") == 1
    import regimes_cli.commands.memorization as cmd

    monkeypatch.setattr(cmd, "NOTE_SECONDS", 0.0)
    rc, _, err = run_cli("uturn", npys["flat"], "--times", "0.1", "--samples", "8", "--steps", "5", "--json")
    assert rc == 0 and "estimated run time" in err
    rc, _, err = run_cli("memorization", npys["chw"], npys["train"], "--json")
    assert rc == 0 and "estimated run time" in err


def test_uturn_curve_figure_draws_clopper_pearson_bars(npys):
    import matplotlib

    matplotlib.use("Agg")
    from regimes.plot.memorization import plot_uturn

    A = np.load(npys["flat"])
    r = uturn(A, [0.01, 5.0], samples=16, labels=np.load(npys["lab"]), method="posterior", rng=0)
    fig = plot_uturn(r, t_S=1.0, t_C=0.2)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("Clopper" in s for s in labels) and any("(given)" in s and "t_C" in s for s in labels)
    # the bars of the first curve: the exact interval, asymmetric (at 16/16 the lower bar is 1 − lo)
    cont = ax.containers[0]
    segs = cont.lines[2][0].get_segments()
    lo, hi = r.same_point[0].ci
    assert min(s[:, 1].min() for s in segs[:1]) == pytest.approx(lo)
    assert max(s[:, 1].max() for s in segs[:1]) == pytest.approx(hi)
    assert stats.beta.ppf(0.025, 16, 1) == pytest.approx(lo)


# ------------------------------------------------------------------ fresh samples at small d
@pytest.mark.parametrize("d,flagged", [(2, True), (3, True), (4, True), (12, False)])
def test_fresh_sample_rate_against_simulated_fresh_draws(d, flagged):
    """Fresh draws from the training distribution (no copying) are flagged at the rate k^d:
    checked against simulated Gaussian sets (4000 fresh samples, n = 4000) within 4 binomial SE;
    above 1% the audit says f_mem is not evidence of copying and points to a reference."""
    from regimes.memorization import fresh_sample_rate, memorization_audit

    g = np.random.default_rng(d)
    train, fresh = g.standard_normal((4000, d)), g.standard_normal((4000, d))
    audit = memorization_audit(fresh, train, bootstrap=0)
    rate = audit.to_dict()["fresh_sample_rate"]
    assert rate == fresh_sample_rate(1 / 3, d)
    assert abs(audit.f_mem.value - rate) <= 4 * math.sqrt(rate * (1 - rate) / 4000) + 1e-12
    said = [x for x in audit.notes if "flags fresh samples too" in x]
    assert bool(said) == flagged
    if flagged:
        assert "--reference" in said[0]
        with_ref = memorization_audit(fresh, train, reference=g.standard_normal((4000, d)), bootstrap=0)
        assert any("held-out reference's f_mem" in x for x in with_ref.notes)


def test_no_interval_by_request_is_null_without_a_warning(tmp_path):
    """--bootstrap 0 --json: the intervals are [null, null] as documented, and no "non-finite
    values" warning is printed for what the user asked for."""
    import contextlib
    import io

    from regimes_cli.main import main

    g = np.random.default_rng(0)
    for name, m in (("g", 200), ("t", 500), ("r", 200)):
        np.save(tmp_path / f"{name}.npy", g.standard_normal((m, 16)))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["memorization", str(tmp_path / "g.npy"), str(tmp_path / "t.npy"), "--reference",
                   str(tmp_path / "r.npy"), "--bootstrap", "0", "--json"])
    assert rc in (0, None)
    d = json.loads(out.getvalue())
    assert d["f_mem"]["ci"] == [None, None] and d["reference"]["f_mem"]["ci"] == [None, None]
    assert d["f_mem_excess_ci"] is None and "non-finite" not in err.getvalue()
