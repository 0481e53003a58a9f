"""The analyze pipeline on a small two-class mixture where the theory is exact."""

import math

import numpy as np
import pytest

from regimes.analysis import analyze
from regimes.engines import mixture_rng
from regimes.models import GaussianMixture, example_mixture


def default_dataset(seed, **kw):
    """``(X, labels, model)`` of the built-in mixture (``regimes.models.example_mixture``)."""
    X, lab, model, _ = example_mixture(seed, **kw)
    return X, lab, model


@pytest.fixture(scope="module")
def small():
    X, lab, model = default_dataset(4, d=64, per_class=300)
    res = analyze(X, lab, samples=256, seed=1, bootstrap=60, eigen_bootstrap=10)
    return X, lab, model, res


def test_estimates_against_theory(small):
    X, lab, model, r = small
    d = r.to_dict()
    assert (d["n"], d["d"]) == (600, 64)
    assert d["alpha"] == pytest.approx(math.log(600) / 64)
    assert d["eigenvalue"]["value"] == pytest.approx(np.linalg.eigvalsh(np.cov(X.astype(float).T))[-1], rel=1e-5)
    # t_S: the sample eigenvalue of a 600-point sample (Λ = 65): within 3% of ½ ln 65
    assert d["t_S"]["value"] == pytest.approx(model.speciation_time(), abs=0.03)
    # φ = 0.7752 crossing vs the Gauss–Hermite φ of the model crossing 0.7752 (SE-sized tolerance)
    from scipy.optimize import brentq

    t_th = brentq(lambda t: model.cloning_probability(t) - 0.7752, 0.5, 5)
    ts = d["t_S_class"]
    assert abs(ts["value"] - t_th) < 4 * ts["se"] + 0.01
    assert ts["ci"][0] < ts["value"] < ts["ci"][1]
    # Gaussian formula with the pooled within-class variance ≈ the model's t_C
    assert d["t_C"]["gaussian"]["value"] == pytest.approx(model.collapse_time(), abs=0.02)
    for k in ("commitment", "entropy", "spectral", "gaussian"):
        e = d["t_C"][k]
        assert e["ci"][0] <= e["value"] <= e["ci"][1], k


def test_regimes_and_steps(small):
    *_, r = small
    d = r.to_dict()
    assert [g["name"] for g in d["regimes"]] == ["I", "II", "III"]
    from regimes import step_at_time

    assert d["schedule"]["step_S"] == step_at_time("linear", d["t_S"]["value"], beyond="none")
    assert d["schedule"]["step_C"] == step_at_time("linear", d["t_C"]["commitment"]["value"], beyond="none")


def test_same_seed_same_result():
    X, lab, _ = default_dataset(0, d=16, per_class=60)
    a = analyze(X, lab, samples=32, seed=3, bootstrap=20, eigen_bootstrap=3).to_dict()
    b = analyze(X, lab, samples=32, seed=3, bootstrap=20, eigen_bootstrap=3).to_dict()
    assert a["t_C"] == b["t_C"] and a["t_S_class"] == b["t_S_class"] and a["t_S"] == b["t_S"]
    np.testing.assert_array_equal(a["curves"]["commitment"], b["curves"]["commitment"])


def test_default_dataset_generation():
    X, lab, model = default_dataset(0, d=32, per_class=500)
    assert isinstance(model, GaussianMixture) and X.dtype == np.float32
    # class means ±m̃ per coordinate, within-class variance σ² = 1 (sampling tolerance 5 SE)
    m0 = X[lab == 0].mean(0)
    assert np.all(np.abs(m0 - 1.0) < 5 / math.sqrt(500))
    assert X[lab == 0].var() == pytest.approx(1.0, abs=5 * math.sqrt(2 / (500 * 32)))


# --- regressions of the analyze audit ----------------------------------------------------------

def test_default_grid_follows_the_estimates_without_clamps():
    from regimes.analysis import default_times

    # the default mixture's references: essentially the old linear grid [¼ min, max + 1.5]
    t = default_times([3.4673, 2.1524, 2.0652])
    assert t.size == 48 and np.all(np.diff(t) > 0)
    assert t[0] == pytest.approx(0.25 * 2.0652, rel=0.02) and t[-1] == pytest.approx(3.4673 + 1.5, abs=0.01)
    # tiny (d = 1 data, large α) and huge (data in big units) estimates are bracketed comfortably
    t = default_times([9.3e-5, 2e-4])
    assert t[0] < 9.3e-5 / 10 and t[-1] > 2e-4 * 5
    t = default_times([35.0, 36.2, 34.4])
    assert t[0] < 34.4 - 1.5 and t[-1] > 36.2 + 1.0


def _t_C(X, **kw):
    r = analyze(X, samples=64, seed=2, bootstrap=0, eigen_bootstrap=0, **kw)
    return r.t_C["commitment"].value, r


def test_collapse_time_bracketed_at_tiny_and_huge_times():
    # Oracle: the mixture weights depend on the data only through v·(a^μ − a^μ0), v = 1/√expm1(2t),
    # so with the same Monte Carlo samples data scaled by c collapse at t' with
    # expm1(2t') = c² expm1(2t) exactly.
    g = np.random.default_rng(7)
    X1 = g.standard_normal((200, 1))  # d = 1: t_C ~ 1e-5, far below the old 0.02 clamp
    t1, r1 = _t_C(X1)
    assert math.isfinite(t1) and t1 < 0.02
    assert 0.1 < t1 / r1.t_C["spectral"].value < 10
    t1c, _ = _t_C(X1 * 1e3)
    assert math.expm1(2 * t1c) == pytest.approx(1e6 * math.expm1(2 * t1), rel=1e-7)  # Brent tolerance relative to t
    X8 = g.standard_normal((150, 8))
    t8, _ = _t_C(X8)
    t8c, r8c = _t_C(X8 * 1e15)  # t_C ~ 35, far above the old 15 clamp
    assert math.isfinite(t8c) and t8c > 30
    assert 2 * t8c + math.log(-math.expm1(-2 * t8c)) == pytest.approx(math.log(1e30 * math.expm1(2 * t8)), abs=1e-6)
    assert not any("does not cross" in x for x in r8c.notes)


def test_regime_steps_partition_the_schedule():
    from regimes.schedules import get_schedule
    from regimes.timeline import classify, regime_steps, steps_text

    sch = get_schedule("scaled-linear", 1000)
    for t_S, t_C in ((3.4673, 2.1471), (2.0, 1.0), (math.nan, 1.5), (9.0, 5.0), (1.0, 2.0)):
        regs = regime_steps(t_S, t_C, "scaled-linear", 1000)
        lab = classify(sch.times, t_S, t_C)  # independent: the regime of every step's time
        for r in regs:
            ks = np.flatnonzero(lab == r["name"])
            if ks.size:
                assert (r["step_min"], r["step_max"]) == (ks[0], ks[-1])
                assert ks.size == ks[-1] - ks[0] + 1
            else:
                assert r["step_min"] is None and r["step_max"] is None
                assert steps_text(r).startswith("none (")
    regs = regime_steps(3.4673, 2.1471, "scaled-linear", 1000)  # t_S past the last time 2.68
    assert steps_text(regs[0]) == "none (before the first sampler step)"
    assert regs[1]["step_max"] == 999 and regs[2]["step_max"] == regs[1]["step_min"] - 1
    # collapse below the time of step 0 (t_0 = 5.0e-5 for DDPM linear): Regime III is never reached
    from regimes.timeline import schedule_steps

    t0 = float(get_schedule("linear", 1000).times[0])
    regs = regime_steps(0.8, 0.1 * t0, "linear", 1000)
    assert steps_text(regs[2]) == "none (entered during the last sampler step; none starts in it)"
    assert regs[1]["step_min"] == 0
    loc = schedule_steps(0.8, 0.1 * t0, "linear", 1000)
    assert loc["step_C"] == 0 and any("crossed during that last step" in x for x in loc["notes"])


def test_one_row_per_class_falls_back_to_trace_variance():
    import warnings

    X = np.random.default_rng(3).standard_normal((12, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = analyze(X, np.arange(12), samples=32, seed=0, bootstrap=20)
    g = r.t_C["gaussian"]
    var = np.trace(np.cov(X.T)) / 5
    assert g.details["variance"] == pytest.approx(var, rel=1e-12)
    from regimes import collapse_time

    assert g.value == pytest.approx(collapse_time(12, 5, var), rel=1e-12)
    assert any("single row" in x for x in r.notes)


def test_d1_has_an_eigenvalue_interval_and_notes_explain_missing_ends():
    g = np.random.default_rng(5)
    x = g.standard_normal((400, 1)) * 2.0
    r = analyze(x, samples=32, seed=0, bootstrap=300)
    e = r.eigenvalue
    assert e.ci[0] < e.value < e.ci[1]
    # oracle: the delta-method SE of the sample variance, sd((x − x̄)²)·√n/(n − 1)
    z = (x[:, 0] - x.mean()) ** 2
    assert e.se == pytest.approx(z.std() * math.sqrt(400) / 399, rel=0.2)
    assert math.isfinite(r.t_S.ci[0]) and math.isfinite(r.t_S.se)
    # Λ's interval reaching below 1: t_S has no lower end, and a note says why
    y = g.standard_normal((40, 2)) * np.array([1.1, 0.3])
    r = analyze(y, samples=32, seed=0, bootstrap=200)
    assert r.eigenvalue.ci[0] <= 1 < r.eigenvalue.value
    assert math.isnan(r.t_S.ci[0]) and any("lower end of Λ's interval" in s for s in r.notes)
    # a single class: no φ = 0.7752 crossing, and a note says why
    r = analyze(y, np.zeros(40, dtype=int), samples=32, seed=0, bootstrap=0)
    assert math.isnan(r.t_S_class.value) and any("single class" in s for s in r.notes)


def test_eigen_bootstrap_follows_bootstrap():
    X, lab, _ = default_dataset(1, d=16, per_class=60)
    a = analyze(X, samples=32, seed=0, bootstrap=150)
    b = analyze(X, samples=32, seed=0, bootstrap=150, eigen_bootstrap=150)
    c = analyze(X, samples=32, seed=0, bootstrap=150, eigen_bootstrap=20)
    assert a.eigenvalue == b.eigenvalue and a.eigenvalue != c.eigenvalue


def test_progress_reports_the_streamed_crossing_pass():
    X, lab, _ = default_dataset(1, d=16, per_class=300)
    seen = {}

    def prog(stage, done, total):
        seen.setdefault(stage, []).append((done, total))

    # a 1 MB budget does not hold the per-sample statistics (16·M·n bytes): crossings need a pass
    analyze(X, lab, samples=64, seed=0, bootstrap=0, memory_budget=1 << 20, progress=prog)
    assert seen["entropy"][-1] == (600, 600)
    assert seen["crossings pass"][-1] == (600, 600)
    assert seen["crossings"][-1] == (3, 3)


def test_uncentred_offset_data_give_the_centred_answers_and_float64_note():
    # Λ, its interval and the spectral t_C do not depend on a constant offset (the covariance is
    # centred by definition): --no-center on float32 data offset by 1e3 must agree with the
    # centred run to float32 accuracy, bootstrap interval included
    g = np.random.default_rng(3)
    X = (g.standard_normal((300, 40)) * np.linspace(0.5, 2, 40)).astype(np.float32)
    a = analyze(X, samples=32, seed=1, bootstrap=50)
    b = analyze(X + np.float32(1e3), samples=32, seed=1, bootstrap=50, center=False)
    for key in ("value", "ci"):
        np.testing.assert_allclose(getattr(b.eigenvalue, key), getattr(a.eigenvalue, key), rtol=1e-5)
        np.testing.assert_allclose(getattr(b.t_C["spectral"], key), getattr(a.t_C["spectral"], key), rtol=1e-5)
    assert not any("float64 products" in x for x in a.notes)
    # two tight clusters far from the origin: the engine switches to float64 and the report says so
    C = np.concatenate([100 + 0.05 * g.standard_normal((100, 16)), -100 + 0.05 * g.standard_normal((100, 16))])
    r = analyze(C.astype(np.float32), samples=32, seed=1, bootstrap=0, eigen_bootstrap=0)
    assert any("float64 products used" in x for x in r.notes)


def test_monte_carlo_noise_is_independent_of_the_default_data():
    # the default dataset is drawn from the seed; the engine's samples must come from a stream
    # of their own (the same stream made ξ an exact copy of the data's noise)
    X, lab, _ = default_dataset(0)
    noise = (X - np.where(lab[:, None] == 0, 1.0, -1.0)).ravel()
    g = mixture_rng(0)
    g.integers(0, X.shape[0], 1024)
    xi = g.standard_normal(4096)
    # no 8-value run of ξ appears in the (float32) data's noise
    hits = np.flatnonzero(np.isclose(noise, xi[0], rtol=0, atol=1e-6))
    assert not any(np.allclose(noise[h:h + 8], xi[:8], rtol=0, atol=1e-6) for h in hits)
    assert abs(np.corrcoef(noise[:4096], xi)[0, 1]) < 0.1


def test_default_grid_widens_when_a_curve_has_not_crossed():
    # two tight clusters far apart: the spectral proxy (dominated by Λ ≈ 1e4) puts t_C near 0.8,
    # but collapse onto single points happens at t ~ 1e-3, below the default grid. The grid is
    # widened and the crossing found; oracle: the Gaussian closed form for one cluster
    # (n = 100 points of variance 0.05² in d = 16), an order-of-magnitude reference at this d
    from regimes import collapse_time

    g = np.random.default_rng(0)
    C = np.concatenate([100 + 0.05 * g.standard_normal((100, 16)), -100 + 0.05 * g.standard_normal((100, 16))])
    r = analyze(C, samples=64, seed=1, bootstrap=20)
    ref = collapse_time(100, 16, 0.05**2)
    assert 0.2 * ref < r.t_C["commitment"].value < 5 * ref
    assert 0.2 * ref < r.t_C["entropy"].value < 5 * ref
    assert any("time grid widened" in x for x in r.notes)
    assert not any("does not cross" in x for x in r.notes)


def test_the_three_random_streams_are_distinct():
    # data of the default run, bootstraps/Lanczos start and Monte Carlo samples: no stream reused
    a = np.random.default_rng(0).standard_normal(64)
    b = np.random.default_rng(np.random.SeedSequence([0, 1])).standard_normal(64)
    c = mixture_rng(0).standard_normal(64)
    assert not (np.array_equal(a, b) or np.array_equal(a, c) or np.array_equal(b, c))


def test_class_level_for_many_classes_against_the_normalised_two_class_calibration():
    # C classes: φ runs from 1/C to 1, and the level is where (φ − 1/C)/(1 − 1/C) = (0.7752 − ½)/½;
    # the two-class level is 0.7752 to the bit
    from regimes.analysis import CLASS_COMMITMENT_LEVEL, class_level

    assert class_level(2) == CLASS_COMMITMENT_LEVEL
    for C in (3, 5, 10):
        lvl = class_level(C)
        assert (lvl - 1 / C) / (1 - 1 / C) == pytest.approx((0.7752 - 0.5) / 0.5, rel=1e-12)
    # five classes in d = 20: the measured class curve starts near 1/5 at large t, the crossing is
    # taken at the five-class level and reported with it
    g = np.random.default_rng(2)
    means = 3.0 * np.eye(5, 20)
    lab = np.repeat(np.arange(5), 60)
    X = means[lab] + g.standard_normal((300, 20))
    r = analyze(X, lab, samples=128, seed=0, bootstrap=20)
    e = r.t_S_class
    assert e.details["classes"] == 5 and e.details["level"] == pytest.approx(class_level(5))
    assert r.curves.class_commitment[-1] == pytest.approx(0.2, abs=0.05)
    k = np.searchsorted(r.curves.t, e.value)
    phi = r.curves.class_commitment
    assert phi[k - 1] >= class_level(5) - 0.05 and phi[k] <= class_level(5) + 0.05


def test_pooled_within_class_variance_matches_numpy(monkeypatch):
    """σ² of the Gaussian estimate with labels: Σ_c Σ_{i∈c} |x_i − x̄_c|² / ((n − C) d), against a
    direct numpy computation, with the rows read in several blocks and the classes interleaved."""
    from regimes.data import DataSource, as_source

    monkeypatch.setattr(DataSource, "block_rows", lambda self, max_bytes=0: 128)
    g = np.random.default_rng(12)
    lab = g.integers(0, 3, 900)
    X = g.standard_normal((900, 16)) * np.array([1.0, 2.0, 0.5])[lab][:, None] + 4.0 * lab[:, None]
    r = analyze(as_source(X, labels=lab), samples=32, seed=0, bootstrap=20)
    within = sum(((X[lab == c] - X[lab == c].mean(axis=0)) ** 2).sum() for c in range(3))
    assert r.t_C["gaussian"].details["variance"] == pytest.approx(within / (900 - 3) / 16, rel=1e-13)
