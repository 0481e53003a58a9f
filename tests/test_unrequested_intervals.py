"""Intervals not asked for (bootstrap = 0) are null by design in the library's own payload, so the
writers need no list of their own; an unexpected NaN is still flagged."""

import dataclasses
import json
import math

import numpy as np

from regimes.analysis import analyze
from regimes.models import example_mixture


def _run(bootstrap, eigen_bootstrap=None):
    X, lab, _, _ = example_mixture(0, d=32, per_class=150)
    return analyze(X, lab, samples=32, bootstrap=bootstrap, eigen_bootstrap=eigen_bootstrap)


def test_bootstrap_zero_intervals_are_none_in_to_dict_and_recorded():
    res = _run(0)
    assert math.isnan(res.t_C["spectral"].se) and math.isnan(res.eigenvalue.ci[0])  # the objects keep NaN
    out = res.to_dict()
    assert out["bootstrap"] == {"replicates": 0, "eigen_replicates": 0}
    for key in ("spectral", "gaussian", "commitment", "entropy"):
        assert out["t_C"][key]["ci"] == [None, None]
    assert out["t_C"]["spectral"]["se"] is None and out["t_C"]["gaussian"]["se"] is None
    assert out["eigenvalue"]["se"] is None and out["eigenvalue"]["ci"] == [None, None]
    # the delta-method se of the crossings exists without a bootstrap and is kept
    assert math.isfinite(out["t_C"]["commitment"]["se"])


def test_eigen_bootstrap_only_for_the_rows_estimates():
    res = _run(4, eigen_bootstrap=0)
    out = res.to_dict()
    assert out["eigenvalue"]["ci"] == [None, None]
    assert all(np.isfinite(out["t_C"]["spectral"]["ci"]))  # resampled with bootstrap = 4


def test_an_unexpected_nan_with_a_bootstrap_is_kept_for_the_writer_to_flag():
    res = _run(4)
    bad = res.t_C["spectral"].replace(se=math.nan)
    out = dataclasses.replace(res, t_C={**res.t_C, "spectral": bad}).to_dict()
    assert math.isnan(out["t_C"]["spectral"]["se"])


def test_cli_bootstrap_zero_json_has_no_nonfinite_warning(run_cli):
    rc, out, err = run_cli("analyze", "--samples", "64", "--bootstrap", "0", "--json")
    assert rc == 0, err
    assert "non-finite" not in err
    assert json.loads(out)["t_C"]["spectral"]["se"] is None


def test_degenerate_intervals_are_null_by_design():
    """n = 2: every bootstrap replicate is the same; the intervals are NaN with "interval":
    "degenerate" and a note, and null in the payload without being flagged as unexpected."""
    X = np.random.default_rng(0).standard_normal((2, 5))
    out = analyze(X, samples=16, bootstrap=8).to_dict()
    for e in (out["eigenvalue"], out["t_C"]["spectral"], out["t_C"]["gaussian"]):
        assert e["interval"] == "degenerate" and e["ci"] == [None, None] and e["se"] is None
