"""Covariance-only (and general Gaussian) class speciation: regimes.class_speciation.

Oracles: 50-digit mpmath root of the forward criterion; the closed form ½ ln(|μ|² + 1 − σ²) for
mean-separated classes; scipy.linalg.eigh(Γ1, Γ2) generalized eigenvalues; Monte Carlo of the LLR.
"""

import json
import math
import warnings

import mpmath as mp
import numpy as np
import pytest
import scipy.linalg as sl

from regimes import RegimesWarning
from regimes.class_speciation import (
    class_speciation_from_data,
    covariance_speciation_time,
    covariance_speciation_time_asymptotic,
    gaussian_llr_moments,
    gaussian_speciation_time,
)


def mp_isotropic_root(a, b, d):
    """Largest t with √(d/2)(r − 1 − ln r) = |r − 1|, r = Γ_a/Γ_b (bisection + findroot, 50 digits)."""
    with mp.workdps(50):
        a, b, d = mp.mpf(a), mp.mpf(b), mp.mpf(d)

        def f(t):
            e = mp.exp(-2 * t)
            r = (e * a + 1 - e) / (e * b + 1 - e)
            return d / 2 * (r - 1 - mp.log(r)) - mp.sqrt(d / 2) * abs(r - 1)
        lo, hi = mp.mpf("1e-6"), mp.mpf(40)
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) > 0 else (lo, mid)
        return float(mp.findroot(f, (lo + hi) / 2))


@pytest.mark.parametrize("a, b, d", [(2.0, 1.0, 1000), (1.0, 2.0, 1000), (0.5, 3.0, 64), (1.3, 1.0, 10**6)])
def test_isotropic_exact_against_mpmath(a, b, d):
    assert covariance_speciation_time(a, b, d) == pytest.approx(mp_isotropic_root(a, b, d), rel=1e-12)
    # the same classes as spectra (commuting covariances) and as matrices
    if d <= 1000:
        ref = covariance_speciation_time(a, b, d)
        assert covariance_speciation_time(np.full(d, a), np.full(d, b)) == pytest.approx(ref, rel=1e-12)
        if d <= 64:
            assert covariance_speciation_time(a * np.eye(d), b * np.eye(d)) == pytest.approx(ref, rel=1e-11)


@pytest.mark.parametrize("var", [1.0, 0.3, 2.5])
def test_mean_separated_closed_form(var):
    rng = np.random.default_rng(3)
    mu = rng.normal(size=6) * 2.0
    ref = 0.5 * math.log(mu @ mu + 1.0 - var)
    assert gaussian_speciation_time(var, var, mu, -mu, d=6) == pytest.approx(ref, rel=1e-13)
    assert gaussian_speciation_time(var * np.eye(6), var * np.eye(6), mu, -mu) == pytest.approx(ref, rel=1e-12)
    # agrees with ½ ln Λ = ½ ln(|μ|² + σ²) of arXiv 2402.18491 up to O(1/|μ|²)
    assert abs(ref - 0.5 * math.log(mu @ mu + var)) <= abs(1 - 2 * var) / (mu @ mu)


def test_asymptotic_agrees_for_large_frobenius():
    errs = []
    for d in (10**4, 10**6, 10**8):
        ex, asym = covariance_speciation_time(2.0, 1.0, d), covariance_speciation_time_asymptotic(2.0, 1.0, d)
        errs.append(abs(ex - asym))
    assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-4
    # non-commuting, positive-definite covariances whose difference grows with d: the gap closes
    rng = np.random.default_rng(0)
    gaps = []
    for d in (48, 192):
        G = rng.normal(size=(d, d))
        Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        C2 = (Q * rng.uniform(0.5, 1.5, d)) @ Q.T
        C1 = C2 + (G + G.T) / math.sqrt(2) + 2.5 * math.sqrt(d) * np.eye(d)
        gaps.append(abs(covariance_speciation_time(C1, C2) - covariance_speciation_time_asymptotic(C1, C2)))
    assert gaps[1] < gaps[0] and gaps[1] < 0.1


def test_matrix_moments_match_generalized_eigenvalues():
    rng = np.random.default_rng(1)
    d = 25
    A, B = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    C1, C2 = 3 * A @ A.T / d, B @ B.T / d
    for t in (0.05, 0.4, 2.0):
        e = math.exp(-2 * t)
        r = sl.eigh(e * C1 + (1 - e) * np.eye(d), e * C2 + (1 - e) * np.eye(d), eigvals_only=True)
        m, s = gaussian_llr_moments(t, C1, C2)
        assert m == pytest.approx(0.5 * np.sum(r - 1 - np.log(r)), rel=1e-10)
        assert s == pytest.approx(math.sqrt(0.5 * np.sum((r - 1) ** 2)), rel=1e-10)


def test_llr_moments_with_means_monte_carlo():
    rng = np.random.default_rng(2)
    d, t = 4, 0.3
    A = rng.normal(size=(d, d))
    C1, C2 = A @ A.T / 2 + 0.2 * np.eye(d), np.diag([0.5, 1.0, 2.0, 3.0])
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    e = math.exp(-2 * t)
    G1, G2 = e * C1 + (1 - e) * np.eye(d), e * C2 + (1 - e) * np.eye(d)
    x = rng.multivariate_normal(math.exp(-t) * m1, G1, size=400_000)

    def logpdf(x, m, G):
        z = np.linalg.solve(np.linalg.cholesky(G), (x - m).T)
        return -0.5 * np.sum(z * z, 0) - 0.5 * np.linalg.slogdet(G)[1]
    L = logpdf(x, math.exp(-t) * m1, G1) - logpdf(x, math.exp(-t) * m2, G2)
    mean, sd = gaussian_llr_moments(t, C1, C2, m1, m2)
    assert mean == pytest.approx(L.mean(), abs=4 * L.std() / math.sqrt(L.size))
    assert sd == pytest.approx(L.std(), rel=0.01)


def test_no_root_is_nan_with_warning():
    with pytest.warns(RegimesWarning, match="no speciation"):
        assert math.isnan(covariance_speciation_time(1.1, 1.0, 10))
    with pytest.warns(RegimesWarning):
        assert math.isnan(covariance_speciation_time_asymptotic(1.1, 1.0, 10))


def test_from_labelled_data():
    rng = np.random.default_rng(4)
    d, n = 16, 20_000
    X = np.concatenate([rng.normal(size=(n, d)) * math.sqrt(6.0), rng.normal(size=(n, d))])
    lab = np.repeat(["a", "b"], n)
    res = class_speciation_from_data(X, lab)
    row = res.to_dict()["comparisons"][0]
    assert (row["class"], row["against"]) == ("a", "b")
    assert row["t_S"] == pytest.approx(covariance_speciation_time(6.0, 1.0, d), abs=0.02)
    assert row["t_S_asymptotic"] == pytest.approx(covariance_speciation_time_asymptotic(6.0, 1.0, d), abs=0.02)
    json.dumps(res.to_dict())
    # three classes: each against the rest; with the means
    X3 = np.concatenate([X, rng.normal(size=(n, d)) + 2.0])
    lab3 = np.concatenate([lab, np.repeat("c", n)])
    res3 = class_speciation_from_data(X3, lab3, include_means=True, memory_mb=0.001)
    assert [r["against"] for r in res3.rows] == ["rest"] * 3
    assert all(r["t_S"] is not None and r["mean_separation_sq"] > 0 for r in res3.rows)


def test_cli_class_variances(run_cli):
    rc, out, err = run_cli("speciation", "--class-variances", "2,1", "--d", "1000", "--json")
    assert rc == 0, err
    body = json.loads(out)
    assert body["t_S"] == pytest.approx(mp_isotropic_root(2, 1, 1000), rel=1e-12)
    assert body["t_S_asymptotic"] == pytest.approx(0.25 * math.log(1000 / 8), rel=1e-15)
    rc, out, err = run_cli("speciation", "--class-variances", "1.1,1", "--d", "10", "--json")
    assert rc == 0 and json.loads(out)["t_S"] is None
    rc, _, err = run_cli("speciation", "--class-variances", "2,1", "--json")
    assert rc != 0 and "--d" in err
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rc, _, _ = run_cli("speciation", "--class-variances", "2,1", "--d", "50")
    assert rc == 0


def test_from_data_separates_a_covariance_difference_from_sampling_noise():
    # equal covariances: ‖Ĉ1 − Ĉ2‖²_F is sampling noise, ((tr C)² + ‖C‖²_F)(1/(n1−1) + 1/(n2−1)),
    # so no speciation time is read from it; C2 = 2 C1: the debiased norm recovers ‖C1 − C2‖²_F = d
    import numpy as np

    from regimes.class_speciation import class_speciation_from_data

    g = np.random.default_rng(0)
    lab = np.repeat([0, 1], 2000)
    X = g.standard_normal((4000, 200))
    row = class_speciation_from_data(X, lab).to_dict()["comparisons"][0]
    assert row["detectable"] is False and row["t_S"] is None
    assert row["frobenius_sq"] == pytest.approx((200**2 + 200) * 2 / 1999, rel=0.05)
    X[lab == 1] *= np.sqrt(2.0)
    row = class_speciation_from_data(X, lab).to_dict()["comparisons"][0]
    assert row["detectable"] is True and row["frobenius_sq_debiased"] == pytest.approx(200.0, rel=0.1)


def test_noise_frobenius_sd_against_monte_carlo():
    """SD of ‖Ĉ1 − Ĉ2‖²_F under equal covariances: the closed form 2c√(‖C‖⁴_F + tr C⁴) against
    3000 sampled pairs (anisotropic C, d = 3)."""
    from regimes.class_speciation import noise_frobenius_sd, noise_frobenius_sq

    g = np.random.default_rng(17)
    C = np.array([[1.0, 0.3, 0.0], [0.3, 2.0, 0.2], [0.0, 0.2, 0.5]])
    L = np.linalg.cholesky(C)
    n = 400
    vals = []
    for _ in range(3000):
        A, B = g.standard_normal((n, 3)) @ L.T, g.standard_normal((n, 3)) @ L.T
        vals.append(np.sum((np.cov(A, rowvar=False) - np.cov(B, rowvar=False)) ** 2))
    vals = np.array(vals)
    assert noise_frobenius_sd(C, n, C, n) == pytest.approx(vals.std(ddof=1), rel=0.05)
    assert noise_frobenius_sq(C, n, C, n) == pytest.approx(vals.mean(), rel=0.03)


@pytest.mark.parametrize("d", [1, 2])
def test_few_features_no_false_detections(d):
    """Equal covariances at d = 1–2: the margin alone (1.5× the noise term) called 21% of pure-noise
    pairs detectable; with 3 standard deviations of the noise term too, few are. A real variance
    difference stays detectable."""
    from regimes.class_speciation import class_speciation_from_data

    g = np.random.default_rng(23 + d)
    lab = np.repeat([0, 1], 50)
    false = sum(class_speciation_from_data(g.standard_normal((100, d)), lab).rows[0]["detectable"]
                for _ in range(300))
    assert false / 300 < 0.05, false
    X = g.standard_normal((400, d)) * np.where(np.repeat([0, 1], 200) == 0, 1.0, 2.0)[:, None]
    assert class_speciation_from_data(X, np.repeat([0, 1], 200)).rows[0]["detectable"]
