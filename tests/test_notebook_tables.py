"""Notebooks and tables: the backend is untouched by write_report, results display as tables,
to_frame(), curves.csv, --format csv, plot functions drawing into a given ax."""

import csv
import io
import json
import sys

import numpy as np
import pytest

import regimes
from regimes import RegimesError


@pytest.fixture(scope="module")
def result():
    X = np.random.default_rng(0).standard_normal((200, 8))
    X[:100] += 1.5
    lab = np.array(["a", "b"])[(np.arange(200) >= 100).astype(int)]
    return regimes.analyze(X, lab, samples=32, bootstrap=10, steps=50)


def test_write_report_leaves_the_backend_alone(result, tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt
    from regimes_cli._output import write_report

    before = matplotlib.get_backend()
    plt.switch_backend("svg")  # stands for a notebook's own backend
    try:
        fig = plt.figure()  # the user's open figure survives
        open_before = set(plt.get_fignums())  # (figures other tests left open are the user's too)
        paths = write_report(result, tmp_path / "out")
        assert matplotlib.get_backend() == "svg"
        assert set(plt.get_fignums()) == open_before and fig.number in open_before
        plt.close(fig)
    finally:
        plt.switch_backend(before)
    assert {"json", "markdown", "csv", "curves", "timeline"} <= paths.keys()
    rows = list(csv.reader(io.StringIO((tmp_path / "out" / "curves.csv").read_text())))
    assert rows[0] == ["t", "excess_entropy", "excess_entropy_se", "commitment", "commitment_se",
                       "class_commitment", "class_commitment_se"]
    got = np.array(rows[1:], dtype=float)
    np.testing.assert_array_equal(got[:, 0], result.curves.t)  # full precision
    np.testing.assert_array_equal(got[:, 3], result.curves.commitment)
    np.testing.assert_array_equal(got[:, 6], result.curves.class_commitment_se)


def test_notebook_display(result):
    for obj in (result, result.t_S, result.t_C["commitment"], result.curves):
        html, md = obj._repr_html_(), obj._repr_markdown_()
        assert html.startswith("<table>") and "</table>" in html
        assert "| quantity |" in md or "| t |" in md or "| value |" in md
    assert "t_C.commitment" in result._repr_markdown_() and "&lt;array&gt;" in result._repr_html_()
    from regimes.memorization import memorization_audit

    rng = np.random.default_rng(1)
    A = rng.standard_normal((60, 5))
    audit = memorization_audit(A[:10] + 1e-3, A, reference=rng.standard_normal((10, 5)), bootstrap=20)
    assert "f_mem" in audit._repr_markdown_() and "<td>f_mem</td>" in audit._repr_html_()


def test_to_frame(result, monkeypatch):
    pd = pytest.importorskip("pandas")
    f = result.to_frame()
    assert list(f.columns) == ["quantity", "value", "se", "ci_low", "ci_high", "definition"]
    row = f.set_index("quantity").loc["t_C.commitment"]
    assert row["value"] == result.headline_t_C and row["ci_low"] == result.t_C["commitment"].ci[0]
    c = result.curves.to_frame()
    assert isinstance(c, pd.DataFrame) and len(c) == result.curves.t.size
    np.testing.assert_array_equal(c["commitment_se"].to_numpy(), result.curves.commitment_se)
    assert result.t_S.to_frame().shape == (1, 6)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(RegimesError, match="needs pandas"):
        result.to_frame()


@pytest.mark.parametrize("args", [
    ["speciation", "--eigenvalue", "16.72"],
    ["collapse", "--n", "20000", "--d", "1024"],
    ["times", "--n", "20000", "--d", "1024", "--eigenvalue", "8"],
    ["mp", "edges", "--ratio", "0.5"],
    ["timescales", "--n", "200", "--d", "100", "--p", "800", "--t", "0.1"],
])
def test_format_csv(run_cli, args):
    rc, out, err = run_cli(*args, "--format", "csv")
    assert rc == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows)
    rc, table, _ = run_cli(*args)  # the next command prints a table again
    assert rc == 0 and "┃" in table or "│" in table
    rc, _, err = run_cli(*args, "--format", "xml")
    assert rc == 2 and "--format must be one of table, csv" in err


def test_format_csv_collapse_full_precision(run_cli):
    rc, out, _ = run_cli("collapse", "--n", "20000", "--d", "1024", "--format", "csv")
    rows = dict(csv.reader(io.StringIO(out)))
    rc, js, _ = run_cli("collapse", "--n", "20000", "--d", "1024", "--json")
    assert float(rows["t_C"]) == json.loads(js)["t_C"]


def test_analyze_format_csv_and_curves_csv(run_cli, tmp_path):
    X = np.random.default_rng(2).standard_normal((120, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    common = [tmp_path / "x.npy", "--samples", "32", "--bootstrap", "10"]
    rc, out, err = run_cli("analyze", *common, "--format", "csv", "--out", tmp_path / "rep")
    assert rc == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert len(rows) > 3 and all(len(r) == len(rows[0]) for r in rows)
    text = (tmp_path / "rep" / "curves.csv").read_text()
    assert text.startswith("t,excess_entropy,excess_entropy_se,commitment,commitment_se\n")


def test_plots_take_ax(result):
    from matplotlib.figure import Figure

    from regimes.memorization import memorization_audit
    from regimes.phase import ntau_phase_diagram
    from regimes.plot.memorization import plot_ratio_histogram
    from regimes.plot.phase import plot_phase_ntau
    from regimes.plot.timeline import plot_timeline

    A = np.random.default_rng(1).standard_normal((60, 5))
    audit = memorization_audit(A[:10] + 1e-3, A, bootstrap=20)
    fig = Figure(figsize=(24, 6))
    axes = fig.subplots(1, 3)
    assert plot_ratio_histogram(audit, ax=axes[0]) is fig
    assert plot_phase_ntau(ntau_phase_diagram(points=7, window_points=0), ax=axes[1]) is fig
    got = plot_timeline(1.0, 0.5, ax=axes[2])
    assert got is fig or getattr(got, "figure", None) is fig
    fig.savefig(io.BytesIO(), format="png")


def test_progress_bars_follow_every_stage_of_an_analysis():
    # one tqdm bar per stage of analyze, each finished (done == total) when the analysis returns
    from regimes.progress import ProgressBars

    X = np.random.default_rng(1).standard_normal((120, 6))
    with ProgressBars(leave=False) as bars:
        regimes.analyze(X, samples=32, bootstrap=5, progress=bars)
        stages = {k: (b.n, b.total) for k, b in bars.bars.items()}
    assert {"eigenvalue", "spectrum", "entropy", "crossings"} <= set(stages)
    assert all(n == total for n, total in stages.values()), stages


def test_a_result_class_without_as_table_cannot_be_built():
    from dataclasses import dataclass

    from regimes.tables import TableMixin

    @dataclass(frozen=True)
    class Forgot(TableMixin):
        value: float

    with pytest.raises(TypeError, match="as_table"):
        Forgot(1.0)


def test_progress_bars_can_be_used_twice():
    from regimes.progress import ProgressBars

    bars = ProgressBars(leave=False)
    with bars:
        bars("stage", 1, 2)
    assert bars.bars == {}  # closed bars are dropped: a closed tqdm bar ignores updates
    with bars:
        bars("stage", 2, 2)
        assert bars.bars["stage"].n == 2 and not bars.bars["stage"].disable
