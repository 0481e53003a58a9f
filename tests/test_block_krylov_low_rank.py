"""Block Krylov on a covariance of rank n − 1 < its Krylov dimension (few rows of many features,
e.g. 40 images of 64×64×3 values): once the basis holds the range of C, what is left of a new
block is rounding, which must not enter the basis. It used to, and the method refused such data
("did not converge"), which stopped ``analyze`` for d > 4096 and small n."""

import numpy as np
import pytest

from regimes import analyze
from regimes.data.source import as_source
from regimes.engines import top_eigenvalues


@pytest.mark.parametrize("n, d, mult", [(60, 4200, 1.0), (60, 4200, 4.0), (40, 4200, 4.0), (130, 4300, 1.0)])
def test_block_krylov_on_a_low_rank_covariance_matches_the_dual_gram_matrix(n, d, mult):
    # (the first two stopped with "did not converge" before the fix; the others converged already)
    X = np.random.default_rng(0 if n == 60 else n).standard_normal((n, d))
    X[:, :3] *= mult
    r = top_eigenvalues(as_source(X), k=8, method="block", tol=1e-7, rng=0)
    # oracle: the non-zero eigenvalues of C = XcᵀXc/(n − 1) are those of the n × n Gram XcXcᵀ/(n − 1)
    Xc = X - X.mean(axis=0)
    want = np.linalg.eigvalsh(Xc @ Xc.T / (n - 1))[::-1][:8]
    np.testing.assert_allclose(r.values, want, rtol=0, atol=1e-7 * want[0])
    assert r.matvecs <= 16 * ((n + 15) // 16 + 2)  # a few blocks beyond the rank, not 40 of them


def test_analyze_runs_on_few_rows_of_many_features():
    g = np.random.default_rng(3)
    X = g.standard_normal((60, 4200))
    X[:30, :4] += 3.0
    r = analyze(X, samples=32, bootstrap=20)
    Xc = X - X.mean(axis=0)
    want = np.linalg.eigvalsh(Xc @ Xc.T / 59)[-1]
    assert r.eigenvalue.value == pytest.approx(want, rel=1e-7)


@pytest.mark.parametrize("scale", [1e-100, 1e-60, 1e77, 1e100])
def test_block_krylov_at_extreme_scales(scale):
    # the basis' threshold and the residuals are formed scale-free: |Y|² and |C u − θ u|² over- or
    # underflow beyond ~1e±154 (the threshold became inf at λ ~ 1e154 and the method stopped after
    # one block with the Ritz values of a random subspace)
    g = np.random.default_rng(4)
    X = g.standard_normal((300, 60))
    X[:, :3] *= np.array([3.0, 2.5, 2.0])
    Xc = X - X.mean(axis=0)
    want = np.linalg.eigvalsh(Xc.T @ Xc / 299)[::-1][:3]
    got = top_eigenvalues(X * scale, k=3, method="block", tol=1e-7, rng=0).values / scale / scale
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-7 * want[0])
