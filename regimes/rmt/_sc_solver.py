"""Vectorised solver of the random-features self-consistent equations [WM].

Unknowns q(z), r(z) (s(z) follows from them) for a whole array of spectral points at once:
z = x + iε is driven from a large ε down to the requested values by continuation, each step
solved by a complex Newton iteration with the analytic 2×2 Jacobian. Every point carries its own
continuation step, shortened when Newton fails or leaves the physical branch (Im q, Im r ≥ 0).

A per-point reference solver (Levenberg–Marquardt on the real and imaginary parts, with its own
ε continuation) is kept for validation and benchmarks.

The equations are stated in the Notes of :class:`regimes.rmt.RandomFeatures`.

References
----------
.. [WM] T. Bonnaire, R. Urfin, G. Biroli, M. Mézard, "Why diffusion models don't memorize: the
   role of implicit dynamical regularization in training", arXiv:2505.17638 (2025).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SCParams:
    """Constants entering the self-consistent equations."""

    psi_p: float
    psi_n: float
    A2: float  # a_t² e^{-2t}
    v2: float
    b2: float
    s2: float
    lam: np.ndarray  # data-covariance eigenvalues
    w: np.ndarray  # their weights (sum 1)

    @property
    def sigma_x2(self) -> float:
        return float(np.dot(self.w, self.lam))


def residual_and_jacobian(q, r, z, P: SCParams):
    """Residuals (F1, G2) and Jacobian of the reduced system in (q, r).

    F1 = r − ∫ dρ_Σ(λ) λ/(ŝ + λ r̂),
    G2 = q² × eq. (3) = ψ_p(s_t² − z)q² + ψ_p v_t² q²/D + (1 − ψ_p) q − s.
    Returns (F1, G2, J11, J12, J21, J22, s).
    """
    pp, c = P.psi_p, P.psi_p / P.psi_n
    lam, w = P.lam, P.w
    D = 1.0 + c * P.A2 * r + c * P.v2 * q
    rh = pp * P.A2 / D
    sh = P.b2 * pp + 1.0 / q
    den = sh[:, None] + lam[None, :] * rh[:, None]
    inv = 1.0 / den
    inv2 = inv * inv
    wl = w * lam
    S = inv @ w
    R = inv @ wl
    T0 = inv2 @ w
    T1 = inv2 @ wl
    T2 = inv2 @ (wl * lam)
    sh_q = -1.0 / (q * q)
    D2 = D * D
    rh_q = -pp * P.A2 * (c * P.v2) / D2
    rh_r = -pp * P.A2 * (c * P.A2) / D2
    S_q = -(sh_q * T0 + rh_q * T1)
    S_r = -rh_r * T1
    R_q = -(sh_q * T1 + rh_q * T2)
    R_r = -rh_r * T2
    F1 = r - R
    J11 = -R_q
    J12 = 1.0 - R_r
    q2 = q * q
    G2 = pp * (P.s2 - z) * q2 + pp * P.v2 * q2 / D + (1.0 - pp) * q - S
    J21 = (2.0 * pp * (P.s2 - z) * q + pp * P.v2 * (2.0 * q / D - q2 * (c * P.v2) / D2)
           + (1.0 - pp) - S_q)
    J22 = -pp * P.v2 * q2 * (c * P.A2) / D2 - S_r
    return F1, G2, J11, J12, J21, J22, S


def _newton(q, r, z, P: SCParams, maxiter: int = 40, tol: float = 1e-13):
    """Complex Newton from (q, r); returns (q, r, s, ok)."""
    conv = np.zeros(q.shape, dtype=bool)
    ok = np.ones(q.shape, dtype=bool)
    idx = np.arange(q.size)
    q = q.copy()
    r = r.copy()
    s = np.zeros_like(q)
    last = np.full(q.shape, np.inf)  # last relative Newton step
    with np.errstate(all="ignore"):
        for _ in range(maxiter):
            act = idx[~conv & ok]
            if act.size == 0:
                break
            qa, ra, za = q[act], r[act], z[act]
            F1, G2, J11, J12, J21, J22, S = residual_and_jacobian(qa, ra, za, P)
            det = J11 * J22 - J12 * J21
            dq = (-F1 * J22 + J12 * G2) / det
            dr = (-G2 * J11 + J21 * F1) / det
            qn, rn = qa + dq, ra + dr
            finite = np.isfinite(qn) & np.isfinite(rn)
            q[act] = np.where(finite, qn, qa)
            r[act] = np.where(finite, rn, ra)
            s[act] = S
            ok[act] &= finite
            step = np.abs(dq) / np.maximum(np.abs(qn), 1e-300)
            stepr = np.abs(dr) / np.maximum(np.abs(rn), 1e-300)
            conv[act] = finite & (step <= tol) & ((stepr <= tol) | (np.abs(dr) <= 1e-300))
            last[act] = np.maximum(step, np.where(np.abs(dr) <= 1e-300, 0.0, stepr))
        # ill-conditioned systems (e.g. ψ_p ≪ 1, where eq. (3) has coefficients ~ψ_p) stagnate
        # at rounding level above tol: accept a stagnated step ≤ 1e-9 (else the ε continuation
        # stalls and the point keeps a large-ε value)
        conv |= ok & (last <= 1e-9)
        # final s consistent with the final (q, r)
        if q.size:
            *_, S = residual_and_jacobian(q, r, z, P)
            s = S
    branch = (q.imag >= -1e-12 * np.abs(q)) & (r.imag >= -1e-12 * np.abs(r) - 1e-300)
    return q, r, s, conv & ok & branch


def solve(x, eps_stops, P: SCParams, eps_start: float | None = None, *, first_step=0.2,
          max_rel_step: float = 0.02, eps_scale=None):
    """Solve at z = x + iε for every x and every ε in ``eps_stops`` (decreasing).

    With ``eps_scale`` (one positive number per point) point i stops at ε = eps_stops × scale_i,
    so that narrow bulks far from the origin are resolved with an ε local to them.

    Returns (q, r, s, reached): arrays of shape (len(eps_stops), len(x)); ``reached`` is the ε
    actually attained (equal to the stop unless the continuation stalled there).
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    stops = np.sort(np.asarray(eps_stops, dtype=np.float64).ravel())[::-1]
    K, m = x.size, stops.size
    if eps_scale is None:
        stops_pt = np.broadcast_to(stops[:, None], (m, K))
    else:
        stops_pt = stops[:, None] * np.asarray(eps_scale, dtype=np.float64).ravel()[None, :]
    if eps_start is None:
        eps_start = 10.0 * max(float(np.max(np.abs(x))) if K else 1.0, 1.0)
    eps = np.maximum(eps_start, stops_pt[0]) if K else np.zeros(0)
    z = x + 1j * eps
    q = -1.0 / z
    r = -P.sigma_x2 / z
    q, r, _, _ = _newton(q, r, z, P)
    f = np.full(K, first_step)
    stop_i = np.zeros(K, dtype=int)
    out_q = np.full((m, K), np.nan + 0j)
    out_r = np.full((m, K), np.nan + 0j)
    out_s = np.full((m, K), np.nan + 0j)
    reached = np.full((m, K), np.nan)
    active = np.ones(K, dtype=bool)
    for _ in range(2000):
        a = np.flatnonzero(active)
        if a.size == 0:
            break
        target = np.maximum(eps[a] * f[a], stops_pt[stop_i[a], a])
        za = x[a] + 1j * target
        qn, rn, sn, ok = _newton(q[a], r[a], za, P)
        acc = a[ok]
        q[acc], r[acc], eps[acc] = qn[ok], rn[ok], target[ok]
        f[acc] = np.maximum(f[acc] * 0.5, max_rel_step)
        rej = a[~ok]
        f[rej] = np.sqrt(f[rej])
        stalled = rej[f[rej] > 0.9995]
        hit = acc[eps[acc] <= stops_pt[stop_i[acc], acc]]
        rec = np.concatenate([hit, stalled])
        if rec.size:
            si = stop_i[rec]
            with np.errstate(all="ignore"):
                *_, S = residual_and_jacobian(q[rec], r[rec], x[rec] + 1j * eps[rec], P)
            out_q[si, rec] = q[rec]
            out_r[si, rec] = r[rec]
            out_s[si, rec] = S
            reached[si, rec] = eps[rec]
            stop_i[rec] += 1
            f[stalled] = first_step
            active[rec[stop_i[rec] >= m]] = False
    return out_q, out_r, out_s, reached


def solve_pointwise_lm(x, eps_final, P: SCParams, eps_start: float | None = None,
                       factor: float = 0.5):
    """Reference solver: one point at a time, Levenberg–Marquardt with its own ε continuation."""
    from scipy.optimize import least_squares

    x = np.asarray(x, dtype=np.float64).ravel()
    eps_fin = np.broadcast_to(np.asarray(eps_final, dtype=np.float64).ravel(), x.shape) \
        if np.ndim(eps_final) else np.full(x.shape, float(eps_final))
    out = np.empty(x.size, dtype=complex)
    for i, xi in enumerate(x):
        eps_final = eps_fin[i]
        eps = eps_start if eps_start is not None else 10.0 * max(abs(xi), 1.0)
        z = xi + 1j * eps
        q0, r0 = -1.0 / z, -P.sigma_x2 / z
        u = np.array([q0.real, q0.imag, r0.real, r0.imag])
        while True:
            zc = np.array([xi + 1j * eps])

            def fun(v, zc=zc):
                qq = np.array([v[0] + 1j * v[1]])
                rr = np.array([v[2] + 1j * v[3]])
                F1, G2, *_ = residual_and_jacobian(qq, rr, zc, P)
                return np.array([F1[0].real, F1[0].imag, G2[0].real, G2[0].imag])

            with np.errstate(all="ignore"):
                sol = least_squares(fun, u, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
            u = sol.x
            if eps <= eps_final:
                break
            eps = max(eps * factor, eps_final)
        out[i] = u[0] + 1j * u[1]
    return out
