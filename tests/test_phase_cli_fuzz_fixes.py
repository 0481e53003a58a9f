"""`regimes phase-diagram` bad-input fixes (fuzz report items 8, 9, 10, 14, 17, 18, 23): one-line exit-2 errors
naming the option and value, run-time/memory estimates refused up front, no literal nan in the tables."""

import pytest


def _refused(run_cli, *args, flag, value=None):
    rc, out, err = run_cli("phase-diagram", *map(str, args))
    lines = err.strip().splitlines()
    assert rc == 2, (rc, err)
    assert len(lines) == 1, err
    assert "Traceback" not in err and flag in lines[0], lines[0]
    if value is not None:
        assert value in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("args, flag, value", [
    (("nd", "--points", 5, "--separation", "1e300"), "--separation", "1e+300"),  # item 8a
    (("nd", "--points", 5, "--separation", "1e160"), "--separation", "1e+160"),
    (("nd", "--points", 5, "--preset", "LSUN64"), "--n", "LSUN64"),  # item 8b
    (("nd", "--points", 5, "--n-max", "1e300", "--d-max", "1e300", "--separation", "1e10"),
     "--separation", "1e+10"),  # item 8c
    (("nd", "--points", 5, "--n-max", "1e290", "--out", "x.png"), "--n-max", "1e+290"),
    (("nd", "--points", 5, "--n", 1, "--d", 10), "--n", "got 1"),  # item 23
    (("np", "--points", 5, "--n", 0, "--p", 200, "--d", 50), "--n", "got 0"),
    (("ntau", "--points", 5, "--window-points", 0, "--n", 0), "--n", "got 0"),
    (("ntau", "--points", 5, "--window-points", 0, "--n-min", 0.5), "--n-min", "0.5"),
    (("ntau", "--points", 5, "--window-points", 0, "--d", 0.5), "--d", "0.5"),
    (("ntau", "--points", 5, "--window-points", 2, "--n-max", "1e300"), "--n-max", "1e+300"),  # item 9a, 17
    (("ntau", "--points", 5, "--window-points", 2, "--n-max", "1e12"), "--n-max", "1e+12"),
    (("ntau", "--points", 5, "--window-points", 2, "--lr", "1e-300"), "--lr", "1e-300"),  # item 9b
    (("ntau", "--points", 5, "--d", "1e6"), "--d", "1e+06"),  # item 9c
    (("ntau", "--points", 5, "--window-points", 200), "--window-points", "200"),
    (("ntau", "--points", 5, "--window-points", 2, "--d", "1e300"), "--d", "1e+300"),  # item 18
    (("np", "--points", 2, "--gap", "--gap-d", 512), "--gap-d", "512"),  # item 10
    (("np", "--points", 24, "--gap", "--gap-d", 128), "--gap-d", "128"),
])
def test_refused(run_cli, tmp_path, args, flag, value):
    args = tuple(str(tmp_path / a) if a == "x.png" else a for a in args)
    _refused(run_cli, *args, flag=flag, value=value)


def test_tau_axis_error_does_not_blame_tau_flags(run_cli):
    line = _refused(run_cli, "ntau", "--points", 5, "--window-points", 0, "--d", "1e300", flag="--d")
    assert not line.startswith("regimes: error: --tau")


def test_lr_figure_in_range_still_draws(run_cli, tmp_path):
    rc, out, err = run_cli("phase-diagram", "ntau", "--points", 5, "--window-points", 0, "--lr", "0.1",
                           "--out", str(tmp_path / "r.png"))
    assert rc == 0, err
    assert (tmp_path / "r.png").exists()


def test_ntau_table_never_shows_nan(run_cli):  # item 14: τ_best not computed, τ_gap never
    rc, out, err = run_cli("phase-diagram", "ntau", "--points", 5, "--window-points", 2, "--p", "1e7")
    assert rc == 0, err
    assert "nan" not in out.lower()
    assert "not computed" in out


def test_ntau_window_cell_words():  # item 14: words, not nan
    from regimes_cli.commands.plots import _window_cell

    nan = float("nan")
    assert _window_cell(31.65, nan, 19) == "31.65, never"
    assert _window_cell(nan, nan, 0).startswith("not computed")
    assert "nan" not in _window_cell(nan, 2.0, 19)


def test_small_separation_no_warning(run_cli, tmp_path):
    rc, out, err = run_cli("phase-diagram", "nd", "--points", 5, "--separation", "1e-150",
                           "--out", str(tmp_path / "p.png"))
    assert rc == 0, err
    assert "Warning" not in err


def test_timeline_compare_refuses_an_empty_name(run_cli):
    rc, out, err = run_cli("timeline", "--compare", "linear,,cosine")
    assert rc == 2 and err.count("\n") == 1
    assert "--compare 'linear,,cosine'" in err and "position 2" in err
    rc, out, err = run_cli("timeline", "--compare", "linear,cosine", "--json")
    assert rc == 0, err


def test_refusal_names_options_as_typed_even_at_their_default(run_cli):
    # the --gap estimate names the ranges the user typed (read from the command line, so a value
    # typed equal to its default is named too) and not the ones left alone
    line = _refused(run_cli, "np", "--points", 24, "--gap", "--gap-d", 128, "--psi-n-max", 10, flag="--gap-d")
    assert "--psi-n-max 10" in line and "--psi-p-max" not in line
    line = _refused(run_cli, "np", "--points", 24, "--gap", "--gap-d", 128, flag="--gap-d")
    assert "--psi-n-max" not in line
