"""CLI of the random-matrix layer, run in-process."""

from __future__ import annotations

import json

import pytest
from regimes_cli.main import main


def _json(capsys, args):
    rc = main(args + ["--json"])
    out = capsys.readouterr().out
    assert rc == 0
    return json.loads(out)


def test_mp_edges_and_actions(capsys):
    res = _json(capsys, ["mp", "edges", "--ratio", "4"])
    assert res["support"] == pytest.approx([1.0, 9.0])  # Marchenko–Pastur edges σ²(1 ± √γ)², γ = 4
    assert res["atom"] == pytest.approx(0.75)
    res = _json(capsys, ["mp", "cdf", "--ratio", "0.25", "--x=0.1,2.25"])
    assert res["cdf"] == pytest.approx([0.0, 1.0])
    res = _json(capsys, ["mp", "ppf", "--ratio", "4", "--q", "0.5,1"])
    assert res["ppf"] == pytest.approx([0.0, 9.0])
    res = _json(capsys, ["mp", "moments", "--ratio", "2", "--variance", "3", "--k", "2"])
    assert res["moments"] == pytest.approx([1.0, 3.0, 27.0])  # σ⁴(1 + γ) = 27
    a = _json(capsys, ["mp", "sample", "--ratio", "0.5", "--size", "5", "--seed", "1"])
    b = _json(capsys, ["mp", "sample", "--ratio", "0.5", "--size", "5", "--seed", "1"])
    assert a["sample"] == b["sample"] and len(a["sample"]) == 5
    rc = main(["mp", "pdf", "--ratio", "1", "--x", "1,2"])
    assert rc == 0 and "pdf" in capsys.readouterr().out


def test_spectrum_json_contract(capsys, tmp_path):
    fig = tmp_path / "fig.png"
    res = _json(capsys, ["spectrum", "--psi-p", "8", "--psi-n", "2", "--t", "0.1",
                         "--points", "50", "--out", str(fig), "--d", "30"])
    assert set(res["constants"]) >= {"kappa1", "b_t", "v_t2", "s_t2"}
    assert res["constants"]["kappa1"] == pytest.approx(0.60570551, abs=1e-8)
    for key in ("slow_bulk", "fast_bulk"):
        assert len(res[key]["edges"]) == 2 and len(res[key]["tau"]) == 2 and res[key]["mass"] > 0
    assert res["satellite"] is None
    assert res["atom"]["mass"] == pytest.approx(0.625)
    assert res["tau_gen"] > 0 and res["tau_mem"] > res["tau_gen"]
    assert len(res["lambda"]) == 50 and len(res["density"]) == 50
    assert fig.exists() and fig.stat().st_size > 1000


def test_timescales(capsys):
    res = _json(capsys, ["timescales", "--n", "200", "--d", "100", "--p", "800", "--t", "0.1"])
    assert res["psi_n"] == 2.0 and res["psi_p"] == 8.0
    assert res["tau_mem"] / res["tau_gen"] == pytest.approx(res["tau_ratio"])
    assert "d²∇" in res["time_convention"] or "d^2" in res["time_convention"]
    rc = main(["timescales", "--n", "200", "--d", "100", "--p", "800", "--t", "0.1"])
    assert rc == 0 and "τ_mem" in capsys.readouterr().out


@pytest.mark.parametrize("args, word", [
    (["spectrum", "--psi-p", "0", "--psi-n", "2", "--t", "0.1"], "psi_p"),
    (["spectrum", "--psi-p", "2", "--psi-n", "-1", "--t", "0.1"], "psi_n"),
    (["spectrum", "--psi-p", "2", "--psi-n", "1", "--t", "0"], "t must"),
    (["spectrum", "--psi-p", "2", "--psi-n", "1", "--t", "1", "--activation", "gelu"],
     "activation"),
    (["mp", "pdf", "--ratio", "0", "--x", "1"], "ratio"),
    (["mp", "bogus", "--ratio", "1"], "action"),
    (["timescales", "--n", "0", "--d", "10", "--p", "20", "--t", "0.1"], "n must"),
    (["timescales", "--n", "10", "--d", "nan", "--p", "20", "--t", "0.1"], "--d must be a finite"),
    (["timescales", "--n", "10", "--d", "10", "--p", "inf", "--t", "0.1"], "--p must be a finite"),
    (["mp", "moments", "--ratio", "2", "--k", "201"], "--k must be >= 0 and <= 200, got 201"),
    (["mp", "sample", "--ratio", "2", "--size", "0"], "--size must be >= 1"),
    (["mp", "sample", "--ratio", "2", "--seed", "-1"], "--seed must be >= 0, got -1"),
    (["spectrum", "--psi-p", "2", "--psi-n", "1", "--t", "0.1", "--out", "f.jpg"],
     "unsupported figure format"),
])
def test_bad_input_exit_2(capsys, args, word):
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2
    # the library's name (psi_p) is shown as the flag that sets it (--psi-p)
    assert (word in err or "--" + word.replace("_", "-") in err) and err.count("\n") == 1


@pytest.mark.parametrize("args, word", [
    (["mp", "pdf", "--ratio", "2", "--x", "nan"], "--x must hold finite"),
    (["mp", "cdf", "--ratio", "2", "--x=inf"], "--x must hold finite"),
    (["mp", "cdf", "--ratio", "2", "--x=-inf,1"], "--x must hold finite"),
    (["mp", "cdf", "--ratio", "2", "--x", "1,,2"], "empty items"),
    (["mp", "ppf", "--ratio", "2", "--q", "nan"], "--q must hold finite"),
    (["spectrum", "--psi-p", "2", "--psi-n", "1", "--t", "0.1", "--out", "/tmp/x.unknownext"],
     "unsupported figure format"),
    (["spectrum", "--psi-p", "2", "--psi-n", "1", "--t", "0.1", "--out",
      "/nonexistent-folder-regimes/x.png"], "does not exist"),
])
def test_bad_values_and_out_paths_exit_2(capsys, args, word):
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2
    assert (word in err or "--" + word.replace("_", "-") in err) and err.count("\n") == 1 \
        and err.startswith("regimes: error:")


def test_mp_cdf_ratio_one_ulp_above_one_and_huge_moments(capsys):
    res = _json(capsys, ["mp", "cdf", "--ratio", "1.0000000000000002", "--x", "1"])
    assert res["cdf"][0] == pytest.approx(0.6089977810442294, rel=1e-12)  # γ = 1 value (mpmath)
    rc = main(["mp", "moments", "--ratio", "1e3", "--k", "200", "--json"])
    cap = capsys.readouterr()
    assert rc == 0
    res = json.loads(cap.out)
    assert res["moments"][200] is None and res["moments"][100] > 1e290
    assert "non-finite" in cap.err


def test_spectrum_large_psi_p_without_a_figure_and_with_one(run_cli, tmp_path):
    """The sampled U exists only for --out: ψ_p = 300 without a figure works; with one, a p × p
    U of p = 30 000 is refused in one line (it crashed the process)."""
    rc, out, err = run_cli("spectrum", "--psi-p", "300", "--psi-n", "10", "--t", "0.3", "--json")
    assert rc == 0, err
    rc, out, err = run_cli("spectrum", "--psi-p", "300", "--psi-n", "10", "--t", "0.3", "--out", tmp_path / "u.png")
    assert rc == 2 and "p = ψ_p·d = 30000 > 8192; use --d <= 27" in err and len(err.strip().splitlines()) == 1


def test_sampled_instance_refuses_what_cannot_fit():
    import pytest

    from regimes import RegimesError
    from regimes.rmt import RandomFeatures

    with pytest.raises(RegimesError, match=r"d=500 needs about .* \(a sampled 150000 × 150000 instance\)"):
        RandomFeatures(300, 10, 0.3).sample_U(500)
