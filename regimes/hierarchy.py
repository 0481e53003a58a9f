"""Class hierarchies: the speciation time of every pair of classes and the dendrogram they make.

For classes a and b with means m_a, m_b, the pair's two-class dataset (equal weights ½, ½) has
variance ``Λ_ab = |δ|²/4 + ½(u·C_a u + u·C_b u)`` along the line joining the means
(``δ = m_a − m_b``, ``u = δ/|δ|``), and the pair speciates at ``t_ab = ½ ln Λ_ab`` — [DR]'s
``t_S = ½ ln Λ`` for the two-class mixture, taken along the mean separation. ``Λ_ab`` equals the
top eigenvalue of the pair's covariance when the within-class covariances are isotropic (as in
[DR]'s model); in general it is a lower bound on it (a Rayleigh quotient). Pairs with ``Λ_ab <= 1``
never separate (``t_ab`` is reported as None and counted as 0 in the tree).

Classes are merged in order of their speciation times: the dendrogram's heights are OU times, the
lowest merges are the classes that separate last in the backward process. The default ``single``
linkage merges two groups at the smallest cross-pair time: the groups are told apart once every
cross pair is (for the planted tree ±μ_1 ± μ_2 this is the ½ ln(|μ_1|² + σ²) of the four-class
mixture along μ_1).

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, arXiv:2402.18491 (2024).
.. [GS] Achilli, Benedetti, Biroli, Mézard, arXiv:2602.04404 (2026) (successive speciations of
   many classes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._errors import RegimesError
from ._validate import as_real_array

__all__ = ["ClassHierarchy", "class_hierarchy", "class_hierarchy_gaussian"]

DEFINITION = ("t_ab = ½ ln Λ_ab, Λ_ab = |m_a − m_b|²/4 + ½(u·C_a u + u·C_b u): variance of the equal-weight "
              "two-class dataset along u = (m_a − m_b)/|m_a − m_b| (arXiv 2402.18491's t_S = ½ ln Λ for "
              "the pair); classes merged in order of these times")


@dataclass(frozen=True)
class ClassHierarchy:
    """Pairwise speciation times of classes and their dendrogram.

    Attributes
    ----------
    names : list of str
        Class names (rows/columns of the matrices).
    times : ndarray (K, K)
        ``t_ab`` (NaN on the diagonal and where ``Λ_ab <= 1``).
    eigenvalues, separations_sq : ndarray (K, K)
        ``Λ_ab`` and ``|m_a − m_b|²``.
    linkage : ndarray (K − 1, 4)
        scipy.cluster.hierarchy linkage matrix, heights in OU time (no-speciation pairs at 0).
    method : str
        Linkage method.
    """

    names: list
    times: np.ndarray
    eigenvalues: np.ndarray
    separations_sq: np.ndarray
    linkage: np.ndarray
    method: str
    units: str | None = None
    #: per pair, the sampling bias of |δ̂|²: tr C_a/n_a + tr C_b/n_b (None when not measured)
    sampling_bias_sq: np.ndarray | None = field(default=None, repr=False)

    def pairs_within_noise(self) -> list[tuple[str, str]]:
        """Pairs whose squared mean separation is below twice its sampling bias
        ``tr C_a/n_a + tr C_b/n_b`` (what |δ̂|² is on average when the two means are equal): their
        times reflect sampling noise, not class structure (a heuristic margin; under isotropic
        noise |δ̂|²/bias fluctuates by ±√(2/d))."""
        if self.sampling_bias_sq is None:
            return []
        K = len(self.names)
        return [(self.names[a], self.names[b]) for a in range(K) for b in range(a + 1, K)
                if not self.separations_sq[a, b] > 2.0 * self.sampling_bias_sq[a, b]]

    def merges(self) -> list[dict]:
        """The merges in order (latest speciation first): the two groups, the time, how many class
        pairs lie across the merge (``pairs``) and how many of those are within sampling noise
        (``pairs_within_noise``, see :meth:`pairs_within_noise`)."""
        noisy = {frozenset(p) for p in self.pairs_within_noise()}
        groups = [[nm] for nm in self.names]
        out = []
        for a, b, h, _ in self.linkage:
            left, right = groups[int(a)], groups[int(b)]
            groups.append(left + right)
            k = sum(frozenset((x, y)) in noisy for x in left for y in right)
            out.append({"left": left, "right": right, "t": float(h), "pairs": len(left) * len(right),
                        "pairs_within_noise": k})
        return out

    def leaf_order(self) -> list[str]:
        from scipy.cluster.hierarchy import leaves_list

        return [self.names[i] for i in leaves_list(self.linkage)]

    def to_dict(self) -> dict:
        def mat(a):
            return [[None if not math.isfinite(x) else float(x) for x in row] for row in a]

        return {"definition": DEFINITION, "method": self.method, "classes": list(self.names),
                "t_pairs": mat(self.times), "eigenvalues": mat(self.eigenvalues),
                "separations_sq": mat(self.separations_sq), "merges": self.merges(),
                "leaf_order": self.leaf_order(), "linkage": self.linkage.tolist(), "units": self.units,
                **({"pairs_within_noise": [list(p) for p in noisy]} if (noisy := self.pairs_within_noise()) else {})}


def _build(names, lam, sep2, method, units=None, sampling_bias_sq=None) -> ClassHierarchy:
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    K = len(names)
    if K < 2:
        raise RegimesError(f"a class hierarchy needs at least 2 classes, got {K}")
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(lam > 1.0, 0.5 * np.log(np.where(lam > 1.0, lam, 1.0)), np.nan)
    np.fill_diagonal(t, np.nan)
    dist = np.where(np.isfinite(t), t, 0.0)
    np.fill_diagonal(dist, 0.0)
    Z = linkage(squareform(dist, checks=False), method=method)
    return ClassHierarchy(names=list(names), times=t, eigenvalues=lam, separations_sq=sep2, linkage=Z,
                          method=method, units=units, sampling_bias_sq=sampling_bias_sq)


def _class_scatter(src, means, counts):
    """``(sq, scatter)`` in one pass: ``sq[c, b] = Σ_{i∈c} ((x_i − m_c)·(m_c − m_b))²`` (K × K) and
    ``scatter[c] = Σ_{i∈c} |x_i − m_c|²``.

    Each row is projected on the K class means (taken from the count-weighted grand mean, so that
    a common offset does not cancel digits): ``(x_i − m_c)·(m_c − m_b) = q_i[c] − q_i[b]`` with
    ``q_i = (x_i − m_c)·(m_· − m̄)``. That is n·d·K multiply-adds and a K × d matrix, not a
    direction per pair (n·d·K²/2 and d × K²/2: ~4 GB at K = 200, d = 12 288). The difference
    loses about log10(|m_c − m̄| / |m_c − m_b|) digits for pairs much closer than their
    distance to the grand mean.
    """
    K = means.shape[0]
    Mt = means - counts @ means / counts.sum()  # (K, d)
    lab = src.labels
    sq, scatter = np.zeros((K, K)), np.zeros(K)
    rowmeans = None  # each row's class mean, one buffer for every block
    for s, e, B in src.blocks(reuse=True):
        X = np.asarray(B, dtype=np.float64)  # this pass's own buffer (or a copy): changed in place
        rowmeans = np.empty_like(X) if rowmeans is None else rowmeans
        X -= np.take(means, lab[s:e], axis=0, out=rowmeans[:e - s], mode="clip")
        Q = X @ Mt.T  # (rows, K)
        norms = np.einsum("ij,ij->i", X, X)
        for c in np.unique(lab[s:e]):
            sel = lab[s:e] == c
            R = Q[sel, c:c + 1] - Q[sel]  # (x_i − m_c)·(m_c − m_b) for every b
            sq[c] += np.einsum("ij,ij->j", R, R)
            scatter[c] += norms[sel].sum()
    return sq, scatter


def _pair_matrices(means, along):
    """Λ_ab and |δ|² from class means (K, d) and ``along(a, b, u)`` = ½(u·C_a u + u·C_b u)."""
    K = means.shape[0]
    lam = np.full((K, K), np.nan)
    sep2 = np.zeros((K, K))
    for a in range(K):
        for b in range(a + 1, K):
            delta = means[a] - means[b]
            s2 = float(delta @ delta)
            if s2 == 0.0:
                raise RegimesError(f"classes {a} and {b} have the same mean: their pair has no direction")
            u = delta / math.sqrt(s2)
            lam[a, b] = lam[b, a] = s2 / 4.0 + along(a, b, u)
            sep2[a, b] = sep2[b, a] = s2
    return lam, sep2


def class_hierarchy_gaussian(means, covariances=1.0, names=None, method: str = "single") -> ClassHierarchy:
    """Pairwise speciation times and dendrogram of Gaussian classes N(m_c, C_c) (population values).

    Parameters
    ----------
    means : array_like (K, d)
        Class means.
    covariances : float, (K,), (K, d, d)
        Within-class covariance: one variance for all, one per class, or full matrices.
    names : list of str, optional
    method : str
        scipy linkage method ("single" default; "average", "complete" ...).
    """
    M = as_real_array("means", means)
    if M.ndim != 2:
        raise RegimesError(f"means must be a (K, d) array, got shape {M.shape}")
    K, d = M.shape
    C = as_real_array("covariances", covariances)
    if C.ndim == 0:
        C = np.full(K, float(C))
    if C.shape not in ((K,), (K, d, d)):
        raise RegimesError(f"covariances must be one variance, one per class ({K},) or one matrix per class "
                           f"({K}, {d}, {d}), got shape {C.shape}")
    if C.ndim == 1 and not np.all(C >= 0):
        raise RegimesError(f"covariances must be variances >= 0, got {float(C[~(C >= 0)][0])!r}")
    if C.ndim == 3 and not all(np.linalg.eigvalsh(0.5 * (c + c.T)).min() >= -1e-12 * max(1.0, np.abs(c).max())
                               for c in C):
        raise RegimesError("covariances must be positive semi-definite matrices")
    if names is not None and len(names) != K:
        raise RegimesError(f"names must have one entry per class ({K}), got {len(names)}")
    if C.ndim == 1:
        def along(a, b, u):
            return 0.5 * (C[a] + C[b])
    else:
        def along(a, b, u):
            return 0.5 * float(u @ C[a] @ u + u @ C[b] @ u)
    lam, sep2 = _pair_matrices(M, along)
    nm = [str(i) for i in range(M.shape[0])] if names is None else [str(x) for x in names]
    return _build(nm, lam, sep2, method)


def class_hierarchy(data, labels=None, *, method: str = "single") -> ClassHierarchy:
    """Pairwise speciation times and dendrogram of the classes of a labelled dataset.

    Parameters
    ----------
    data : DataSource or array_like
        (n, d) data, used as given (see :func:`regimes.data.as_source`); read twice, block by block
        (class means, then every row's projections on the K class means, which give each class's
        variance along every pairwise mean difference): n·d·K multiply-adds and a K × d matrix —
        no d × d matrix and no direction per pair.
    labels : array_like, optional
        Class per row (unless ``data`` is a DataSource with labels).
    method : str
        scipy linkage method (default "single"; see the module docstring).

    Notes
    -----
    Uses the sample class means and unbiased class variances along each pair's mean difference
    (see the module docstring for the definition). Sampling noise adds about ``d σ²/n_c`` to each
    ``|δ|²``: with few rows per class and large d, close classes look separated.
    """
    from .data import as_source

    src = as_source(data, labels)
    if src.labels is None:
        raise RegimesError("a class hierarchy needs labels")
    lab, K = src.labels, len(src.class_names)
    counts = np.bincount(lab, minlength=K).astype(float)
    if np.any(counts < 2):
        raise RegimesError("every class needs at least 2 rows")
    sums = np.zeros((K, src.d))
    for s, e, B in src.blocks(reuse=True):
        B = np.asarray(B, dtype=np.float64)
        for c in np.unique(lab[s:e]):
            sums[c] += B[lab[s:e] == c].sum(axis=0)
    means = sums / counts[:, None]
    sq, scatter = _class_scatter(src, means, counts)
    var = sq / (counts[:, None] - 1.0)  # var[c, b]·|m_c − m_b|²: the variance of class c along m_c − m_b
    per_class = scatter / (counts - 1.0) / counts  # tr C_c / n_c
    bias = per_class[:, None] + per_class[None, :]

    def along(a, b, u):
        delta = means[a] - means[b]
        return 0.5 * (var[a, b] + var[b, a]) / float(delta @ delta)

    lam, sep2 = _pair_matrices(means, along)
    return _build(list(src.class_names), lam, sep2, method, units=src.units, sampling_bias_sq=bias)
