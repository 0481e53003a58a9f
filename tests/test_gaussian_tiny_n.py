"""The Gaussian t_C's bootstrap at tiny n: a replicate that drew only rows at the mean has σ² = 0,
whose t_C is the formula's limit 0 (it used to stop the analysis with "variance must be > 0")."""

import mpmath as mp
import numpy as np

from regimes import analyze


def test_three_rows_on_a_line_give_the_gaussian_t_c_with_zero_variance_replicates():
    r = analyze(np.array([[-1.0], [0.0], [1.0]]), samples=16, bootstrap=200, seed=0)
    g = r.t_C["gaussian"]
    # σ² = tr C / d = 1 (rows −1, 0, 1), α = ln 3: t_C = ½ log1p(σ² / expm1(2α)), in mpmath
    mp.mp.dps = 40
    want = mp.mpf(1) / 2 * mp.log1p(1 / mp.expm1(2 * mp.log(3)))
    assert abs(g.value - float(want)) <= 1e-15 * float(want)
    # (1/3)³ of the replicates draw the middle row three times: about 7 of 200 at t_C = 0, which is
    # the interval's lower end at 95%
    assert g.ci[0] == 0.0 and 0 < g.ci[1] and np.isfinite(g.se)
