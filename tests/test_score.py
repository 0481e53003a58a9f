"""The exact empirical score against brute force (scipy logsumexp over cdist distances)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.spatial.distance import cdist
from scipy.special import logsumexp

from regimes import RegimesError
from regimes.data import as_source
from regimes.engines.score import (
    EmpiricalScore,
    edm_denoiser,
    empirical_score,
    posterior_mean,
    posterior_weights,
    sample_exact_score,
)


def brute_weights(A, X, t):
    """w_μ ∝ exp(−|x − e^{−t}a|²/(2Δ_t)) from explicit distances and scipy's logsumexp."""
    D2 = cdist(X, np.exp(-t) * A, "sqeuclidean")
    L = -D2 / (2 * -np.expm1(-2 * t))
    return np.exp(L - logsumexp(L, axis=1, keepdims=True))


@pytest.fixture
def small():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(37, 5)) + 3.0  # offset: not centred
    X = rng.normal(size=(11, 5)) + 2.0
    return A, X


@pytest.mark.parametrize("t", [0.05, 0.3, 1.0, 3.0])
def test_weights_mean_score_against_brute_force(small, t):
    A, X = small
    W = brute_weights(A, X, t)
    es = EmpiricalScore(A, block_rows=8)  # several blocks: the online log-sum-exp is exercised
    assert_allclose(es.weights(X, t), W, rtol=1e-10, atol=1e-13)
    assert_allclose(es.mean(X, t), W @ A, rtol=1e-10, atol=1e-12)
    assert_allclose(posterior_weights(A, X, t), W, rtol=1e-10, atol=1e-13)
    assert_allclose(posterior_mean(A, X, t), W @ A, rtol=1e-10, atol=1e-12)
    score = -(X - np.exp(-t) * (W @ A)) / -np.expm1(-2 * t)
    assert_allclose(empirical_score(A, X, t), score, rtol=1e-9, atol=1e-11)
    assert_allclose(es.weights(X[0], t).sum(), 1.0, rtol=1e-12)


def test_edm_denoiser_against_brute_force(small):
    A, X = small
    for sigma in (0.3, 1.0, 5.0):
        L = -cdist(X, A, "sqeuclidean") / (2 * sigma**2)
        W = np.exp(L - logsumexp(L, axis=1, keepdims=True))
        assert_allclose(edm_denoiser(A, X, sigma), W @ A, rtol=1e-10, atol=1e-12)
        # the VE/OU dictionary: D(x; σ) = E[x_0 | x_t = e^{−t} x] with σ² = e^{2t} − 1
        t = 0.5 * np.log1p(sigma**2)
        assert_allclose(posterior_mean(A, np.exp(-t) * X, t), W @ A, rtol=1e-9, atol=1e-11)


def test_small_t_is_stable_and_picks_the_nearest(small):
    A, X = small
    for t in (1e-4, 1e-7, 1e-10):
        m = posterior_mean(A, np.exp(-t) * A[:5] + 1e-3 * np.sqrt(t), t)
        assert np.all(np.isfinite(m))
        assert_allclose(m, A[:5], rtol=0, atol=1e-9)
    es = EmpiricalScore(A)
    near = np.argmin(cdist(X, A), axis=1)
    assert np.array_equal(es.nearest(X), near)


def test_draw_follows_the_weights():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(4, 2))
    x = np.array([0.1, -0.2])
    es = EmpiricalScore(A, block_rows=3)
    w = es.weights(x, 0.7)
    idx = es.draw(np.repeat(x[None], 20000, axis=0), 0.7, rng=5)
    freq = np.bincount(idx, minlength=4) / idx.size
    se = np.sqrt(w * (1 - w) / idx.size)
    assert np.all(np.abs(freq - w) < 5 * se + 1e-12)


def test_centred_source_is_used_as_presented(small):
    A, X = small
    src = as_source(A)  # centres by default
    Ac = A - A.mean(axis=0)
    assert_allclose(posterior_mean(src, X, 0.4), brute_weights(Ac, X, 0.4) @ Ac, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("sampler,steps", [("ddim", 200), ("ddpm", 200), ("heun-edm", 40)])
def test_sampler_lands_on_training_points(sampler, steps):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(20, 8))
    S = sample_exact_score(A, 30, sampler=sampler, steps=steps, rng=1)
    D = cdist(S, A)
    assert np.all(D.min(axis=1) < 1e-6)
    # several distinct training points are reached (not one attractor)
    assert np.unique(D.argmin(axis=1)).size >= 5
    # reproducible
    assert np.array_equal(S, sample_exact_score(A, 30, sampler=sampler, steps=steps, rng=1))


def test_bad_inputs(small):
    A, X = small
    with pytest.raises(RegimesError, match="x must have shape"):
        posterior_mean(A, X[:, :3], 0.5)
    with pytest.raises(RegimesError, match="t must be > 0"):
        posterior_mean(A, X, 0.0)
    with pytest.raises(RegimesError, match="sigma"):
        edm_denoiser(A, X, -1.0)
    with pytest.raises(RegimesError, match="sampler must be"):
        sample_exact_score(A, 3, sampler="euler")
    with pytest.raises(RegimesError, match="n_samples"):
        sample_exact_score(A, 0)
    with pytest.raises(RegimesError, match="finite"):
        posterior_mean(A, np.full(5, np.nan), 0.5)
