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
cross pair is. That is exact for nested (tree-like) class means — the planted tree ±μ_1 ± μ_2
(|μ_1|² = 100, |μ_2|² = 9, d = 50, 500 rows per class) merges at 1.153, 1.168 and 2.307 against
1.151 ± 0.011, 1.162 ± 0.013 and 2.305 ± 0.015 measured with the exact empirical score — and biased
otherwise: for means along a line or a chain the backward dynamics split the groups earlier (at a
larger t) than the single-linkage height, and chaining can change the topology. Measured splits
{0, 1} | {2, 3} (P(same side) = 0.7752, the two-class φ(t_S)), against the [single, complete]
heights of the same two groups: means at 0, 6, 20, 26: 2.262 ± 0.013 in [1.955, 2.568]; 0, 6, 12,
18: 1.615 ± 0.016 in [1.15, 2.203]; 0, 6, 12.6, 19.8: 1.734 ± 0.018 in [1.323, 2.297]. Every merge
therefore carries that bracket (``t_bracket``: the smallest and the largest time of the class pairs
across it) and is flagged "layout not tree-like" when the bracket is wider than
:data:`TREE_TOLERANCE`.

The pair times weight the two classes equally. For unbalanced classes they overstate the split
time: two classes at distance 10 (d = 50) merge at 1.630, 1.615, 1.611 for sizes 1000/1000,
1800/200, 1950/50, while the measured split (normalised φ = 0.5504) is at 1.604, 1.419, 1.253.
Pairs whose sizes differ by more than :data:`UNBALANCED_RATIO`:1 are listed by
:meth:`ClassHierarchy.pairs_unbalanced` and flagged in :meth:`ClassHierarchy.merges`.

References
----------
.. [DR] G. Biroli, T. Bonnaire, V. de Bortoli, M. Mézard, arXiv:2402.18491 (2024).
.. [GS] Achilli, Benedetti, Biroli, Mézard, arXiv:2602.04404 (2026) (successive speciations of
   many classes).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from ._buffers import selected_rows
from ._errors import RegimesError
from ._validate import as_real_array, check_choice
from .class_speciation import NULL_QUANTILE, noise_separation_null_from_spectrum
from .engines.covariance import ClassGrams

__all__ = ["ClassHierarchy", "ClassScatter", "class_hierarchy", "class_hierarchy_gaussian", "class_scatter"]

DEFINITION = ("t_ab = ½ ln Λ_ab, Λ_ab = |m_a − m_b|²/4 + ½(u·C_a u + u·C_b u): variance of the equal-weight "
              "two-class dataset along u = (m_a − m_b)/|m_a − m_b| (arXiv 2402.18491's t_S = ½ ln Λ for "
              "the pair); classes merged in order of these times")
#: linkage methods whose heights are times of class pairs (ward, centroid and median heights are not)
METHODS = ("single", "complete", "average", "weighted")
#: a merge whose [single, complete] bracket is wider than this (OU time) is flagged "layout not
#: tree-like". The backward dynamics split inside the bracket in every layout measured, so the
#: bracket bounds the single-linkage height's error; 0.1 is twice the planted tree's bracket (0.043,
#: where single linkage was exact to 0.01) and 5× the measurements' Monte Carlo error (0.013–0.018)
TREE_TOLERANCE = 0.1
#: class pairs whose sizes differ by more than this ratio are flagged "unbalanced classes"
UNBALANCED_RATIO = 3.0
#: work (multiply-adds) and memory (bytes) allowed for the noise thresholds of the pairs: beyond
#: them the simulated null gives way to the Satterthwaite approximation (see :func:`class_hierarchy`)
NOISE_BUDGET = 3e8
NOISE_MEMORY = 2**27
NEVER = "never separate (Λ ≤ 1)"
NOT_TREE_LIKE = "layout not tree-like"
UNBALANCED = "unbalanced classes"
ABOVE_T_S = "above the dataset's t_S (the equal-weight pair time overstates the split)"


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
        ``Λ_ab`` and ``|m_a − m_b|²``, in units of ``scale²``.
    linkage : ndarray (K − 1, 4)
        scipy.cluster.hierarchy linkage matrix, heights in OU time (no-speciation pairs at 0).
    method : str
        Linkage method.
    units : str, optional
        The data's units.
    sampling_bias_sq : ndarray (K, K), optional
        Per pair, the sampling bias of |δ̂|²: tr C_a/n_a + tr C_b/n_b (None when not measured).
    noise_threshold_sq : ndarray (K, K), optional
        Per pair, the :data:`~regimes.class_speciation.NULL_QUANTILE` quantile of |δ̂|² when the two
        classes share their mean (None when not measured); ``noise_rule`` says how it was obtained.
    class_sizes : ndarray (K,), optional
        Rows per class (None for population classes).
    scale : float
        The data were divided by this power of two before the products (1.0 unless they would
        overflow); the times include ``ln scale``.
    dataset_t_S : float, optional
        The speciation time ½ ln Λ of all rows together, when known (:func:`regimes.analyze` sets
        it): a merge above it is flagged (:data:`ABOVE_T_S`) — those classes would separate in the
        backward process before the dataset as a whole does.
    """

    names: list
    times: np.ndarray
    eigenvalues: np.ndarray
    separations_sq: np.ndarray
    linkage: np.ndarray
    method: str
    units: str | None = None
    sampling_bias_sq: np.ndarray | None = field(default=None, repr=False)
    noise_threshold_sq: np.ndarray | None = field(default=None, repr=False)
    noise_rule: str | None = None
    class_sizes: np.ndarray | None = field(default=None, repr=False)
    scale: float = 1.0
    dataset_t_S: float | None = None

    def pairs_within_noise(self) -> list[tuple[str, str]]:
        """Pairs whose squared mean separation |δ̂|² does not exceed ``noise_threshold_sq``, the
        :data:`~regimes.class_speciation.NULL_QUANTILE` quantile of its law when the two means are
        equal, ``Σ_i c_i z_i²`` (c the eigenvalues of ``Ĉ_a/n_a + Ĉ_b/n_b``, the covariance of
        m̂_a − m̂_b): their times reflect sampling noise, not class structure."""
        if self.noise_threshold_sq is None:
            return []
        K = len(self.names)
        return [(self.names[a], self.names[b]) for a in range(K) for b in range(a + 1, K)
                if not self.separations_sq[a, b] > self.noise_threshold_sq[a, b]]

    def pairs_unbalanced(self) -> list[tuple[str, str]]:
        """Pairs whose class sizes differ by more than :data:`UNBALANCED_RATIO`:1: their equal-weight
        times overstate the split time (none for population classes)."""
        if self.class_sizes is None:
            return []
        n, K = self.class_sizes, len(self.names)
        return [(self.names[a], self.names[b]) for a in range(K) for b in range(a + 1, K)
                if max(n[a], n[b]) > UNBALANCED_RATIO * min(n[a], n[b])]

    def merges(self) -> list[dict]:
        """The merges in order (latest speciation first).

        Each merge: the two groups (``left``, ``right``); ``t``, the linkage height (None when the
        groups never separate: a height 0, from class pairs with ``Λ_ab <= 1``); ``t_bracket``, the
        smallest and the largest time of the class pairs across the merge (the single- and
        complete-linkage heights of these two groups; None for pairs that never separate);
        ``tree_like`` (bracket no wider than :data:`TREE_TOLERANCE`; None when a pair never
        separates); ``pairs``, the class pairs across the merge, and how many of them are within
        sampling noise (``pairs_within_noise``), never separate (``pairs_never_separate``) or have
        unbalanced sizes (``pairs_unbalanced``); ``flags``, short texts for what is flagged.
        """
        noisy = {frozenset(p) for p in self.pairs_within_noise()}
        unbal = {frozenset(p) for p in self.pairs_unbalanced()}
        groups = [[i] for i in range(len(self.names))]
        out = []
        for a, b, h, _ in self.linkage:
            left, right = groups[int(a)], groups[int(b)]
            groups.append(left + right)
            cross = self.times[np.ix_(left, right)]
            finite = cross[np.isfinite(cross)]
            never = int(cross.size - finite.size)
            lo = None if never else float(finite.min())
            hi = float(finite.max()) if finite.size else None
            tree = None if lo is None else bool(hi - lo <= TREE_TOLERANCE)
            pairs = [frozenset((self.names[x], self.names[y])) for x in left for y in right]
            k_noise, k_unbal = sum(p in noisy for p in pairs), sum(p in unbal for p in pairs)
            above = self.dataset_t_S is not None and h > 0 and float(h) > self.dataset_t_S
            flags = [f for f, on in ((NEVER, not h > 0), (NOT_TREE_LIKE, tree is False), (UNBALANCED, k_unbal),
                                     (ABOVE_T_S, above)) if on]
            out.append({"left": [self.names[i] for i in left], "right": [self.names[i] for i in right],
                        "t": float(h) if h > 0 else None, "t_bracket": [lo, hi], "tree_like": tree,
                        "pairs": len(pairs), "pairs_within_noise": k_noise, "pairs_never_separate": never,
                        "pairs_unbalanced": k_unbal, "flags": flags})
        return out

    def leaf_order(self) -> list[str]:
        from scipy.cluster.hierarchy import leaves_list

        return [self.names[i] for i in leaves_list(self.linkage)]

    def to_dict(self) -> dict:
        def mat(a):
            return [[None if not math.isfinite(x) else float(x) for x in row] for row in a]

        noisy, unbal = self.pairs_within_noise(), self.pairs_unbalanced()
        return {"definition": DEFINITION, "method": self.method, "classes": list(self.names),
                "t_pairs": mat(self.times), "eigenvalues": mat(self.eigenvalues),
                "separations_sq": mat(self.separations_sq), "merges": self.merges(),
                "leaf_order": self.leaf_order(), "linkage": self.linkage.tolist(), "units": self.units,
                "tree_tolerance": TREE_TOLERANCE,
                **({"noise_rule": self.noise_rule} if self.noise_rule else {}),
                **({"pairs_within_noise": [list(p) for p in noisy]} if noisy else {}),
                **({"pairs_unbalanced": [list(p) for p in unbal]} if unbal else {}),
                **({"scale": self.scale} if self.scale != 1.0 else {})}


def _check_method(method) -> str:
    return check_choice("method", method, METHODS, suffix=" (their heights are times of class pairs; ward, "
                        "centroid and median heights are not OU times)")


def _check_names(names, K) -> list[str]:
    """``names`` as K distinct strings (default "0", "1", …)."""
    if names is None:
        return [str(i) for i in range(K)]
    if isinstance(names, str | bytes) or not isinstance(names, list | tuple | np.ndarray):
        raise RegimesError(f"names must be a list of {K} class names, got {names!r}")
    if len(names) != K:
        raise RegimesError(f"names must have one entry per class ({K}), got {len(names)}")
    bad = [x for x in names if isinstance(x, bool | np.bool_) or not isinstance(x, str | numbers.Integral)]
    if bad:
        raise RegimesError(f"names must be strings (or integers), got {bad[0]!r}")
    nm = [str(x) for x in names]
    dup = sorted({x for x in nm if nm.count(x) > 1})
    if dup:
        raise RegimesError(f"names must be distinct, got {', '.join(map(repr, dup))} more than once")
    return nm


def _pow2_scale(x: float) -> float:
    """The power of two just above ``x`` (dividing by it is exact)."""
    return float(2.0 ** math.frexp(x)[1]) if x > 0 and math.isfinite(x) else 1.0


def _build(names, lam, sep2, method, units=None, sampling_bias_sq=None, *, scale=1.0, threshold=None,
           rule=None, sizes=None) -> ClassHierarchy:
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    K = len(names)
    if K < 2:
        raise RegimesError(f"a class hierarchy needs at least 2 classes, got {K}")
    off = ~np.eye(K, dtype=bool)
    if not np.all(np.isfinite(lam[off])):
        raise RegimesError("data (or means/covariances): the pair variances Λ_ab overflow float64 even after "
                           "rescaling: divide the data by a constant (the times shift by its logarithm)")
    floor = 1.0 / (scale * scale)  # Λ_ab > 1 in the data's own units
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(lam > floor, 0.5 * np.log(np.where(lam > floor, lam, 1.0)), np.nan)
    if scale != 1.0:
        t = t + math.log(scale)
    np.fill_diagonal(t, np.nan)
    dist = np.where(np.isfinite(t), t, 0.0)
    np.fill_diagonal(dist, 0.0)
    Z = linkage(squareform(dist, checks=False), method=method)
    return ClassHierarchy(names=list(names), times=t, eigenvalues=lam, separations_sq=sep2, linkage=Z,
                          method=method, units=units, sampling_bias_sq=sampling_bias_sq,
                          noise_threshold_sq=threshold, noise_rule=rule, class_sizes=sizes, scale=scale)


def _class_scatter(src, means, counts, scale=1.0, moments=None, row_sq=None):
    """``(sq, scatter)`` in one pass: ``sq[c, b] = Σ_{i∈c} ((x_i − m_c)·(m_c − m_b))²`` (K × K) and
    ``scatter[c] = Σ_{i∈c} |x_i − m_c|²`` (rows divided by ``scale`` first when it is not 1); the
    centred rows also go to ``moments`` (a :class:`_Moments`), when given, and each row's
    ``|x_i − m_c|²`` to ``row_sq`` (n floats), when given.

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
        if scale != 1.0:
            X = X / scale
        rowmeans = np.empty_like(X) if rowmeans is None else rowmeans
        X -= np.take(means, lab[s:e], axis=0, out=rowmeans[:e - s], mode="clip")
        Q = X @ Mt.T  # (rows, K)
        norms = np.einsum("ij,ij->i", X, X)
        if row_sq is not None:
            row_sq[s:e] = norms
        for c in np.unique(lab[s:e]):
            sel = lab[s:e] == c
            R = Q[sel, c:c + 1] - Q[sel]  # (x_i − m_c)·(m_c − m_b) for every b
            sq[c] += np.einsum("ij,ij->j", R, R)
            scatter[c] += norms[sel].sum()
            if moments is not None:
                moments.add(c, X, sel, s, e)
    return sq, scatter


def _pair_matrices(means, along, names):
    """Λ_ab and |δ|² from class means (K, d) and ``along(a, b, u)`` = ½(u·C_a u + u·C_b u)."""
    K = means.shape[0]
    lam = np.full((K, K), np.nan)
    sep2 = np.zeros((K, K))
    for a in range(K):
        for b in range(a + 1, K):
            delta = means[a] - means[b]
            s2 = float(delta @ delta)
            if s2 == 0.0:
                raise RegimesError(f"classes {names[a]} and {names[b]} have the same mean: their pair has no "
                                   "direction")
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
        K distinct class names (default "0", "1", …).
    method : {"single", "complete", "average", "weighted"}
        scipy linkage method (see the module docstring; ward, centroid and median are refused: their
        heights are not OU times).
    """
    method = _check_method(method)
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
    nm = _check_names(names, K)
    scale = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(2):  # as given; once more divided by a power of two when the products overflow
            Ms, Cs = (M, C) if scale == 1.0 else (M / scale, C / (scale * scale))
            if Cs.ndim == 1:
                def along(a, b, u, Cs=Cs):
                    return 0.5 * (Cs[a] + Cs[b])
            else:
                def along(a, b, u, Cs=Cs):
                    return 0.5 * float(u @ Cs[a] @ u + u @ Cs[b] @ u)
            lam, sep2 = _pair_matrices(Ms, along, nm)
            if np.all(np.isfinite(lam[~np.eye(K, dtype=bool)])):
                break
            scale = _pow2_scale(max(float(np.abs(M).max()), math.sqrt(float(np.abs(C).max()))))
    return _build(nm, lam, sep2, method, scale=scale)


def class_hierarchy(data, labels=None, *, method: str = "single", grams: ClassGrams | None = None,
                    scatter: ClassScatter | None = None) -> ClassHierarchy:
    """Pairwise speciation times and dendrogram of the classes of a labelled dataset.

    Parameters
    ----------
    data : DataSource or array_like
        (n, d) data, used as given (see :func:`regimes.data.as_source`); read twice, block by
        block (the class means — not with ``grams``; then every row's projections on the K class
        means, which give each class's variance along every pairwise mean difference: n·d·K
        multiply-adds and a K × d matrix, no direction per pair — and the within-class
        covariances for the noise thresholds, see Notes).
    labels : array_like, optional
        Class per row (unless ``data`` is a DataSource with labels).
    method : {"single", "complete", "average", "weighted"}
        scipy linkage method (default "single"; see the module docstring).
    grams : ClassGrams, optional
        The per-class sums of every class of ``data``
        (:func:`regimes.engines.covariance.class_grams`): the class means are taken from them
        instead of a pass over the data.
    scatter : ClassScatter, optional
        The rows about those means, already gathered by :func:`class_scatter`: no pass at all
        (:func:`regimes.analyze` shares that pass with the pooled within-class variance).

    Notes
    -----
    Uses the sample class means and unbiased class variances along each pair's mean difference
    (see the module docstring for the definition). Sampling noise adds ``tr C_a/n_a + tr C_b/n_b``
    (``sampling_bias_sq``) to each ``|δ|²`` on average: with few rows per class and large d, close
    classes look separated. A pair is within noise when its ``|δ̂|²`` does not exceed the
    :data:`~regimes.class_speciation.NULL_QUANTILE` quantile of ``Σ_i c_i z_i²`` (c the eigenvalues
    of M = Ĉ_a/n_a + Ĉ_b/n_b, the covariance of m̂_a − m̂_b, whether or not the classes' covariances
    are equal): simulated by :func:`regimes.class_speciation.noise_separation_null_from_spectrum`
    (the draws of :func:`~regimes.class_speciation.noise_separation_null`, seeded by the class
    sizes) and widened by F(h, νh)/(χ²_h/h) for M's own estimation, ν Welch's degrees of freedom,
    when the per-class d × d covariances and one eigendecomposition per pair fit
    :data:`NOISE_BUDGET` and :data:`NOISE_MEMORY`; beyond, the Satterthwaite approximation g·χ²_h
    (same mean and variance, h = (tr M)²/tr M²), with ‖Ĉ_c‖_F of each class from the Gram matrix of
    (up to the budget) evenly spaced rows and ‖M‖_F bounded by the triangle inequality (a larger
    quantile: more pairs flagged). A pooled covariance would be wrong when a small class is the more
    spread one: identical means of 1000 against 10 rows with 10× the spread were all called separated.
    Identical-mean classes (20 rows each, 400 datasets) escaped the former 2 × bias rule 14% of
    the time at d = 2 and 17% at d = 50 with one direction of SD 30.

    Data whose products would overflow (|x| ≳ 1e77) are divided by a power of two ``scale`` first;
    ``ln scale`` is added to the times (the exact scaling law).
    """
    from .data import as_source

    method = _check_method(method)
    src = as_source(data, labels)
    if src.labels is None:
        raise RegimesError("a class hierarchy needs labels")
    lab, K = src.labels, len(src.class_names)
    counts = np.bincount(lab, minlength=K).astype(float)
    if np.any(counts < 2):
        raise RegimesError("every class needs at least 2 rows")
    names = list(src.class_names)
    if grams is not None:
        grams.check_covers(src)
    known = None if grams is None else grams.means()
    if scatter is not None and (scatter.row_sq.shape != (src.n,) or scatter.sq.shape != (K, K)):
        raise RegimesError("scatter must be the class_scatter of the data")
    scale = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(2):  # as given; once more divided by a power of two when the products overflow
            if scatter is not None and scale == 1.0:  # the pass already made
                moments = scatter.moments
                means, lam, sep2, var_tr = _from_scatter(scatter.means, scatter.sq, scatter.scatter, counts, names)
            else:
                moments = _Moments(counts, src.d, lab)
                given = None if known is None else known / scale  # a power of two: exact
                means, lam, sep2, var_tr = _pair_statistics(src, lab, K, counts, names, scale, moments, given)
            if np.all(np.isfinite(lam[~np.eye(K, dtype=bool)])) and np.all(np.isfinite(var_tr)):
                break
            scale = _pow2_scale(src.max_abs())
    per_class = var_tr / counts  # tr C_c / n_c
    bias = per_class[:, None] + per_class[None, :]
    thr, rule = _noise_thresholds(moments, counts, var_tr)
    return _build(names, lam, sep2, method, units=src.units, sampling_bias_sq=bias, scale=scale,
                  threshold=thr, rule=rule, sizes=counts.astype(int))


@dataclass(frozen=True)
class ClassScatter:
    """The labelled rows about their class means ``means``, gathered in one pass
    (:func:`class_scatter`): each row's squared distance to its class mean ``row_sq`` (the terms of
    the pooled within-class variance), and what :func:`class_hierarchy` reads from the same pass —
    ``sq[c, b] = Σ_{i∈c} ((x_i − m_c)·(m_c − m_b))²``, ``scatter[c] = Σ_{i∈c} |x_i − m_c|²`` and the
    second moments of its noise thresholds (``moments``)."""

    means: np.ndarray
    row_sq: np.ndarray
    sq: np.ndarray
    scatter: np.ndarray
    moments: object = field(repr=False)


def class_scatter(data, grams: ClassGrams) -> ClassScatter:
    """One pass of the labelled rows of ``data`` about the class means of ``grams``
    (:func:`regimes.engines.covariance.class_grams` of every class): :class:`ClassScatter`.

    The same arithmetic as :func:`class_hierarchy`'s own pass (the same bits), with each row's
    ``|x_i − m_c|²`` kept: n·d·K multiply-adds and n floats.
    """
    from .data import as_source

    src = as_source(data)
    if src.labels is None:
        raise RegimesError("class_scatter needs labels")
    grams.check_covers(src)
    counts = np.bincount(src.labels, minlength=src.n_classes).astype(float)
    means = grams.means()
    moments = _Moments(counts, src.d, src.labels)
    row_sq = np.empty(src.n)
    with np.errstate(over="ignore", invalid="ignore"):
        sq, scatter = _class_scatter(src, means, counts, 1.0, moments, row_sq)
    return ClassScatter(means=means, row_sq=row_sq, sq=sq, scatter=scatter, moments=moments)


def _pair_statistics(src, lab, K, counts, names, scale, moments=None, means=None):
    """``(means, Λ, |δ|², tr C_c)`` of the classes, rows divided by ``scale`` (two passes, or one
    with the ``means`` given; the last one also fills ``moments``)."""
    if means is None:
        sums = np.zeros((K, src.d))
        for s, e, B in src.blocks(reuse=True):
            B = np.asarray(B, dtype=np.float64)
            if scale != 1.0:
                B = B / scale
            for c in np.unique(lab[s:e]):
                sums[c] += selected_rows(B, lab[s:e] == c).sum(axis=0)  # (a view for a run of rows)
        means = sums / counts[:, None]
    sq, scatter = _class_scatter(src, means, counts, scale, moments)
    return _from_scatter(means, sq, scatter, counts, names)


def _from_scatter(means, sq, scatter, counts, names):
    """``(means, Λ, |δ|², tr C_c)`` from the class means and the sums of :func:`_class_scatter`."""
    var = sq / (counts[:, None] - 1.0)  # var[c, b]·|m_c − m_b|²: the variance of class c along m_c − m_b

    def along(a, b, u):
        delta = means[a] - means[b]
        return 0.5 * (var[a, b] + var[b, a]) / float(delta @ delta)

    lam, sep2 = _pair_matrices(means, along, names)
    return means, lam, sep2, scatter / (counts - 1.0)


def _noise_thresholds(moments, counts, trace):
    """Per pair, the :data:`NULL_QUANTILE` quantile of |δ̂|² under equal means, and the rule used
    (see :func:`class_hierarchy`), from the collected ``moments`` and the classes' ``tr C_c``."""
    K, d = counts.size, moments.d
    thr = np.full((K, K), np.nan)
    if moments.rows is None:
        nc = counts.astype(float)
        Mc = [moments.S[c] / ((nc[c] - 1.0) * nc[c]) for c in range(K)]  # Ĉ_c/n_c, once per class
        tc = [float(np.trace(m)) for m in Mc]
        for a in range(K):
            for b in range(a + 1, K):
                na, nb = nc[a], nc[b]
                M = Mc[a] + Mc[b]  # the covariance of m̂_a − m̂_b (the classes' covariances may differ)
                null = noise_separation_null_from_spectrum(np.linalg.eigvalsh(M), int(na), int(nb))
                h = _effective_dimension(float(np.trace(M)), float(np.sum(M * M)), d)
                nu = _welch_dof(tc[a], na, tc[b], nb)
                thr[a, b] = thr[b, a] = float(np.quantile(null, NULL_QUANTILE)) * _plug_in_factor(h, nu)
        return thr, (f"the {NULL_QUANTILE:.1%} quantile of |δ̂|² under equal means, simulated with the covariance "
                     "Ĉ_a/n_a + Ĉ_b/n_b of m̂_a − m̂_b (widened for its estimation: F(h, νh) against χ²_h/h, "
                     "ν Welch's degrees of freedom)")
    norm = np.sqrt(moments.frobenius_sq())  # ‖Ĉ_c‖_F from up to moments.rows rows per class
    for a in range(K):
        for b in range(a + 1, K):
            na, nb = float(counts[a]), float(counts[b])
            tm = trace[a] / na + trace[b] / nb  # tr M, M = C_a/n_a + C_b/n_b
            tm2 = (norm[a] / na + norm[b] / nb) ** 2  # >= ‖M‖²_F (triangle inequality)
            h = _effective_dimension(tm, tm2, d)
            nu = _welch_dof(trace[a] / na, na, trace[b] / nb, nb)
            thr[a, b] = thr[b, a] = float(tm * _f_quantile(h, nu))
    return thr, (f"the {NULL_QUANTILE:.1%} quantile of |δ̂|² under equal means in the Satterthwaite approximation "
                 "(tr M/h)·χ²_h, M = C_a/n_a + C_b/n_b the covariance of m̂_a − m̂_b, h = (tr M)²/tr M² (tr M² "
                 "bounded above: conservative), widened for its estimation: F(h, νh) against χ²_h/h, ν Welch's "
                 "degrees of freedom")


def _welch_dof(ta, na, tb, nb) -> float:
    """Welch–Satterthwaite degrees of freedom of ``tr(Ĉ_a/n_a + Ĉ_b/n_b)`` from the two traces
    ``ta = tr Ĉ_a/n_a``, ``tb = tr Ĉ_b/n_b`` (n_a + n_b − 2 for equal terms and sizes)."""
    den = ta * ta / (na - 1.0) + tb * tb / (nb - 1.0)
    return (ta + tb) ** 2 / den if den > 0 else na + nb - 2.0


def _effective_dimension(tr, tr2, d) -> float:
    """Satterthwaite's ``h = (tr C)²/tr C²``, within [1, d]."""
    return min(max(tr * tr / tr2, 1.0), float(d)) if tr2 > 0 else 1.0


def _f_quantile(h, nu) -> float:
    """The :data:`NULL_QUANTILE` quantile of F(h, νh): that of χ²_h/h when the pooled covariance's
    trace is itself estimated from ν rows (ν·h effective degrees of freedom)."""
    from scipy.special import fdtri  # scipy.stats.f.ppf's own kernel, without importing scipy.stats (~1 s)

    return float(fdtri(h, nu * h, NULL_QUANTILE))


def _plug_in_factor(h, nu) -> float:
    """How much wider the null quantile is with an estimated covariance: F(h, νh) against χ²_h/h."""
    from scipy.special import gammaincinv  # scipy.stats.chi2.ppf's own kernel

    return _f_quantile(h, nu) * h / float(2.0 * gammaincinv(h / 2.0, NULL_QUANTILE))


class _Moments:
    """Per-class second moments for the noise thresholds, filled in :func:`_class_scatter`'s pass.

    Within :data:`NOISE_BUDGET` and :data:`NOISE_MEMORY` for K d × d matrices and one
    eigendecomposition per pair (``rows`` None): each class's scatter matrix ``S[c] = Σ (x − m_c)(x − m_c)ᵀ``.
    Beyond: up to ``rows`` evenly spaced centred rows per class, for ``‖Ĉ_c‖²_F`` from their Gram matrix.
    """

    def __init__(self, counts, d, labels):
        K, n, self.d = counts.size, float(counts.sum()), d
        self.counts, self.labels = counts, labels
        if K * d * d * 8 <= NOISE_MEMORY and n * d * d + K * (K - 1) / 2 * (2 * d**3 + 2000 * d) <= NOISE_BUDGET:
            self.rows, self.S = None, np.zeros((K, d, d))
            return
        self.rows = int(max(4, min(counts.max(), math.sqrt(NOISE_BUDGET / (K * d)), NOISE_MEMORY / (8 * K * d))))
        self.keep = np.zeros(labels.size, dtype=bool)
        for c in range(K):
            r = np.flatnonzero(labels == c)
            self.keep[r[np.unique(np.linspace(0, r.size - 1, min(self.rows, r.size)).astype(int))]] = True
        self.picked = [[] for _ in range(K)]

    def add(self, c, X, sel, s, e):
        """Rows ``X[sel]`` (block rows s..e, centred at their class mean) of class ``c``."""
        if self.rows is None:
            Y = selected_rows(X, sel)
            self.S[c] += Y.T @ Y  # one operand: a symmetric rank-k update
        else:
            self.picked[c].append(X[sel & self.keep[s:e]])

    def frobenius_sq(self) -> np.ndarray:
        """Each class's ``‖Ĉ_c‖²_F`` from its kept rows (all rows: the unbiased covariance)."""
        out = np.zeros(self.counts.size)
        for c in range(out.size):
            A = np.concatenate(self.picked[c])
            k = A.shape[0] - 1.0 if A.shape[0] == self.counts[c] else float(A.shape[0])
            G = A @ A.T if A.shape[0] <= self.d else A.T @ A
            out[c] = float(np.sum(G * G)) / (k * k)
        return out
