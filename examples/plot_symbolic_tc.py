"""
The collapse time in a symbolic derivation
==========================================

Embed the collapse time ``t_C(n, d, σ²)`` of Gaussian data [arXiv:2402.18491] in a sympy
derivation:

1. its sensitivity to the number of training points, ``∂t_C/∂ln n``, in closed form;
2. the number of training points ``n*(d)`` at which ``t_C`` equals a target time ``t*`` — the data
   needed to push collapse below a given step of the sampler — solved exactly;
3. the leading α → 0 form of both, derived with ``series`` and checked against the exact result.

Everything is printed as LaTeX, ready for a paper, and evaluated for CIFAR-10's shape.
"""

import math

import sympy as sp

from regimes import collapse_time, collapse_time_from_alpha
from regimes import symbolic as S
from regimes.presets import get_preset

n, d, var = S.symbols("collapse_time")  # documented order: n, d, variance
(alpha, _) = S.symbols("collapse_time_from_alpha")  # alpha, variance
tC = S.formula("collapse_time_from_alpha")  # t_C as a function of α = ln(n)/d


def show(label, expr):
    print(f"{label} = {S.to_latex(expr)}")  # LaTeX with the conventional symbol names


show("t_C", tC)

# 1. sensitivity: ∂t_C/∂ln n = (1/d) dt_C/dα  (negative: more data pushes collapse later)
dtc_dalpha = sp.simplify(sp.diff(tC, alpha))
dtc_dlogn = dtc_dalpha / d
show(r"\partial t_C / \partial \ln n", dtc_dlogn)

# 2. n*(d): the training-set size at which t_C equals a target t*: solve t_C(α) = t* for α,
#    then ln n* = d α*  (n* itself overflows any float for image-sized d)
t_star = sp.Symbol("t_*", positive=True)
y = sp.Symbol("y", positive=True)  # y = e^{2α} > 1 makes the equation rational in y
e2tc = sp.simplify(sp.exp(2 * tC).subs(sp.exp(2 * alpha), y))
(y_star,) = sp.solve(sp.Eq(e2tc, sp.exp(2 * t_star)), y)
alpha_star = sp.log(y_star) / 2
log_n_star = sp.simplify(d * alpha_star)
show(r"\ln n^*(d)", log_n_star)

# 3. large-t* form of ln n*, derived with a series in u = e^{-2t*} → 0
u = sp.Symbol("u", positive=True)
lead = sp.series(log_n_star.subs(t_star, -sp.log(u) / 2), u, 0, 2).removeO()
show(r"\ln n^*(d) \;(t^* \to \infty)", sp.simplify(lead.subs(u, sp.exp(-2 * t_star))))

# numbers for CIFAR-10's shape (d = 3·32·32), unit-variance data (σ² = 1; pixels in [0,1] have a
# much smaller per-pixel variance, so pass your data's σ²): how many images keep t_C below 0.5?
cifar = get_preset("CIFAR-10")
ln_n = float(log_n_star.subs({d: cifar.d, var: 1.0, t_star: 0.5}))
print(f"CIFAR-10 shape, sigma^2 = 1: ln n* = {ln_n:.6g}, i.e. n* ~ 10^{ln_n / math.log(10):.1f}")
# check with the numeric library: at α* the collapse time is t* again
a_star = ln_n / cifar.d
assert abs(collapse_time_from_alpha(a_star, 1.0) - 0.5) < 1e-12
tc_now = collapse_time(cifar.n, cifar.d, 1.0)
slope = float(dtc_dlogn.subs({alpha: math.log(cifar.n) / cifar.d, d: cifar.d, var: 1.0}))
print(f"with n = {cifar.n}: t_C = {tc_now:.6g}, dt_C/dln n = {slope:.4g}")
