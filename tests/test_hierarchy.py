"""Class hierarchies (regimes.hierarchy): a planted tree ±μ1 ± μ2 whose pairwise times are known in
closed form, t_ab = ½ ln(|m_a − m_b|²/4 + σ²) (isotropic classes)."""

import json
import math

import numpy as np
import pytest

from regimes.hierarchy import class_hierarchy, class_hierarchy_gaussian


def planted(d=40, a=6.0, b=1.5):
    mu1, mu2 = np.zeros(d), np.zeros(d)
    mu1[0], mu2[1] = a, b
    return np.array([mu1 + mu2, mu1 - mu2, -mu1 + mu2, -mu1 - mu2]), mu1, mu2


def test_planted_tree_exact():
    M, mu1, mu2 = planted()
    s2 = 0.7
    h = class_hierarchy_gaussian(M, s2, names=["++", "+-", "-+", "--"])
    for i in range(4):
        for j in range(4):
            if i != j:
                dl = M[i] - M[j]
                assert h.times[i, j] == pytest.approx(0.5 * math.log(dl @ dl / 4 + s2), rel=1e-14)
    m = h.merges()
    low = 0.5 * math.log(mu2 @ mu2 + s2)
    assert {frozenset(x["left"] + x["right"]) for x in m[:2]} == {frozenset({"++", "+-"}), frozenset({"-+", "--"})}
    assert m[0]["t"] == pytest.approx(low) and m[1]["t"] == pytest.approx(low)
    # single linkage: the top split is the four-class mixture's ½ ln(|μ1|² + σ²) along μ1
    assert m[2]["t"] == pytest.approx(0.5 * math.log(mu1 @ mu1 + s2), rel=1e-14)
    json.dumps(h.to_dict())


def test_planted_tree_from_samples():
    M, mu1, mu2 = planted()
    s2, n = 0.7, 3000
    rng = np.random.default_rng(5)
    lab = np.repeat(["++", "+-", "-+", "--"], n)
    X = np.repeat(M, n, axis=0) + rng.normal(size=(4 * n, M.shape[1])) * math.sqrt(s2)
    h = class_hierarchy(X, lab)
    ref = class_hierarchy_gaussian(M, s2, names=["++", "+-", "-+", "--"])
    order = [h.names.index(x) for x in ref.names]
    got = h.times[np.ix_(order, order)]
    off = ~np.eye(4, dtype=bool)
    assert np.allclose(got[off], ref.times[off], atol=0.03)
    assert sorted(round(x["t"], 1) for x in h.merges()) == sorted(round(x["t"], 1) for x in ref.merges())


def test_no_speciation_pairs_and_figure():
    M = np.array([[0.0, 0.0], [0.5, 0.0], [10.0, 0.0]])
    h = class_hierarchy_gaussian(M, 0.5)
    d = h.to_dict()
    assert d["t_pairs"][0][1] is None  # Λ = 0.0625 + 0.5 <= 1: never separate
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from regimes.plot.hierarchy import plot_hierarchy

    fig = plot_hierarchy(h)
    assert isinstance(fig, Figure)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_pairs_within_sampling_noise_are_flagged():
    """Pure N(0, I) classes gave a confident dendrogram (t ≈ 1.1 for every pair at d = 784, 50 rows
    each): |δ̂|² is then its sampling bias tr C_a/n_a + tr C_b/n_b = 2d/50. Pairs below twice that
    are flagged; with two groups of classes only the within-group pairs are."""
    import numpy as np

    from regimes.hierarchy import class_hierarchy

    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 784))
    lab = np.repeat(np.arange(10), 50)
    h = class_hierarchy(X, lab)
    off = ~np.eye(10, dtype=bool)
    assert np.allclose(h.sampling_bias_sq[off], 2 * 784 / 50, rtol=0.03)  # the oracle: 2d σ²/n_c
    assert len(h.pairs_within_noise()) == 45 and "pairs_within_noise" in h.to_dict()
    X[lab < 5] += 0.5
    g = class_hierarchy(X, lab)
    flagged = {(int(a), int(b)) for a, b in g.pairs_within_noise()}
    assert flagged == {(a, b) for a in range(10) for b in range(a + 1, 10) if (a < 5) == (b < 5)}


@pytest.mark.parametrize("kw, match", [
    ({"covariances": [1.0, 1.0]}, r"one per class \(3,\)"),
    ({"covariances": [1.0, 1.0, 1.0, 1.0]}, r"got shape \(4,\)"),
    ({"covariances": np.ones((3, 3))}, r"got shape \(3, 3\)"),
    ({"covariances": [1.0, -5.0, 1.0]}, r"variances >= 0, got -5.0"),
    ({"covariances": [1.0, float("nan"), 1.0]}, "finite"),
    ({"names": ["a", "b"]}, r"one entry per class \(3\), got 2"),
])
def test_gaussian_hierarchy_input_errors(kw, match):
    """Wrong-length covariances gave an IndexError or were silently cut; negative or NaN variances
    and wrong-length names gave wrong times or a misleading message."""
    from regimes import RegimesError
    from regimes.hierarchy import class_hierarchy_gaussian

    with pytest.raises(RegimesError, match=match):
        class_hierarchy_gaussian(3.0 * np.eye(3), **kw)


def test_gaussian_hierarchy_refuses_indefinite_matrices():
    from regimes import RegimesError
    from regimes.hierarchy import class_hierarchy_gaussian

    with pytest.raises(RegimesError, match="positive semi-definite"):
        class_hierarchy_gaussian(3.0 * np.eye(3)[:, :2], np.array([[[1.0, 3.0], [3.0, 1.0]]] * 3))


def _direct(X, lab):
    """Λ_ab from the definition, pair by pair: |δ|²/4 + ½ Σ_{c∈{a,b}} Σ_{i∈c} ((x_i − m_c)·u)²/(n_c − 1)."""
    names = sorted(set(lab.tolist()))
    m = {c: X[lab == c].mean(axis=0) for c in names}
    lam = np.full((len(names), len(names)), np.nan)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if a != b:
                delta = m[a] - m[b]
                u = delta / np.linalg.norm(delta)
                var = [np.sum(((X[lab == c] - m[c]) @ u) ** 2) / (np.sum(lab == c) - 1) for c in (a, b)]
                lam[i, j] = delta @ delta / 4 + 0.5 * sum(var)
    return names, lam


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_pair_variances_match_the_definition(monkeypatch, offset):
    """Every Λ_ab against the definition computed pair by pair with its own direction u, with the
    rows read in several blocks, anisotropic classes of unequal sizes, two pairs much closer than
    the classes' spread around the grand mean, and (offset) a common offset 10⁴ × the spread."""
    from regimes.data import DataSource

    monkeypatch.setattr(DataSource, "block_rows", lambda self, max_bytes=0: 97)
    g = np.random.default_rng(8)
    K, d = 6, 30
    centres = g.normal(size=(K, d)) * 3.0
    centres[1] = centres[0] + 0.05 * g.normal(size=d)  # a close pair
    centres[3] = centres[2] + 0.05 * g.normal(size=d)
    sizes = g.integers(40, 160, K)
    lab = np.repeat(np.arange(K), sizes)
    g.shuffle(lab)
    scales = g.uniform(0.3, 2.0, (K, d))
    X = centres[lab] + g.normal(size=(lab.size, d)) * scales[lab] + offset
    h = class_hierarchy(X, lab)
    names, lam = _direct(X, lab)
    order = [h.names.index(str(c)) for c in names]
    got = h.eigenvalues[np.ix_(order, order)]
    off = ~np.eye(K, dtype=bool)
    tol = 1e-12 if offset == 0 else 1e-9  # the offset itself costs the data ~4 digits in float64
    np.testing.assert_allclose(got[off], lam[off], rtol=tol)


def test_merges_count_the_class_pairs_across_them_and_those_within_noise():
    """Each merge's ``pairs`` is |left|·|right| and ``pairs_within_noise`` the number of those pairs
    listed by pairs_within_noise() (one count, used by the report and by the figure)."""
    from regimes.hierarchy import class_hierarchy

    gen = np.random.default_rng(3)
    centres = np.array([[0.0] * 6, [0.0] * 6, [6.0] + [0.0] * 5, [6.0, 6.0] + [0.0] * 4])
    X = np.vstack([c + gen.standard_normal((40, 6)) for c in centres])
    lab = np.repeat(list("abcd"), 40)
    h = class_hierarchy(X, lab)
    noisy = {frozenset(p) for p in h.pairs_within_noise()}
    assert noisy  # a and b share their mean
    total = 0
    for m in h.merges():
        assert m["pairs"] == len(m["left"]) * len(m["right"])
        brute = sum(frozenset((x, y)) in noisy for x in m["left"] for y in m["right"])
        assert m["pairs_within_noise"] == brute
        total += m["pairs"]
    assert total == 4 * 3 // 2  # every pair lies across exactly one merge
