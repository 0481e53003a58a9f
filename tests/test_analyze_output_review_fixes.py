"""`regimes analyze`: the terminal table, `--format csv`, `--json` and the report folder say the same
thing (review r5).

Three small datasets, each analysed once through the command line (table, CSV, JSON, report):

* ``L``: three classes with equal means, one with three times the variance: Λ is not detectable
  and every pair of class means is within noise, so φ's crossing is flagged (F1); three classes
  (F4); a covariance-only speciation whose large-t form is outside its range (F5).
* ``U``: two classes ±3e-3 apart with noise 1e-3: Λ ≈ 1e-5 is above the noise edge but ≤ 1 (F7),
  and every time is small (t_C ≈ 7e-7, F3); run with ``--sampler-steps``.
* ``T``: four tight clusters far apart: φ_C never reaches ½ on the (twice widened) grid, so the
  regimes use the spectral t_C (F2); run with ``--bootstrap 0`` (F7).
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"


def _cli(*args) -> tuple[int, str, str]:
    """The command line in-process, on a wide terminal (table rows are not wrapped)."""
    from regimes_cli.main import main

    out, err = io.StringIO(), io.StringIO()
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "1000"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main([str(a) for a in args])
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    return rc, out.getvalue(), err.getvalue()


def _data(folder: Path) -> dict:
    g = np.random.default_rng(7)
    lab = np.repeat([0, 1, 2], 150)
    X = g.standard_normal((450, 24))
    X[lab == 2] *= math.sqrt(3.0)
    np.save(folder / "L.npy", X)
    np.save(folder / "L_lab.npy", lab)
    lab2 = np.repeat([0, 1], 150)
    Y = 1e-3 * g.standard_normal((300, 16))
    Y[:, 0] += 3e-3 * np.where(lab2 == 0, 1, -1)
    np.save(folder / "U.npy", Y)
    C = 100 * g.standard_normal((4, 16))
    np.save(folder / "T.npy", C[np.repeat(np.arange(4), 50)] + 1e-3 * g.standard_normal((200, 16)))
    return {
        "L": [folder / "L.npy", "--labels", folder / "L_lab.npy", "--samples", "64", "--bootstrap", "20"],
        "U": [folder / "U.npy", "--samples", "64", "--bootstrap", "20", "--sampler-steps", "50"],
        "T": [folder / "T.npy", "--samples", "64", "--bootstrap", "0"],
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """name → {"json", "table", "csv", "md", "out", "X"}: every output of one analysis."""
    folder = tmp_path_factory.mktemp("r5")
    out = {}
    for name, args in _data(folder).items():
        res = {}
        for key, extra in (("json", ["--json"]), ("csv", ["--format", "csv"]),
                           ("table", ["--out", folder / f"out_{name}"])):
            rc, text, err = _cli("analyze", *args, *extra)
            assert rc == 0, err
            res[key] = text
        res["json"] = json.loads(res["json"])
        res["csv"] = list(csv.reader(io.StringIO(res["csv"])))
        res["out"] = folder / f"out_{name}"
        res["md"] = (res["out"] / "report.md").read_text()
        res["X"] = np.load(args[0])
        out[name] = res
    return out


def _table_row(table: str, start: str) -> str:
    return next(line for line in table.splitlines() if line.startswith("│ " + start))


def _csv_rows(rows) -> dict:
    head = rows[0]
    return {r[0]: dict(zip(head, r, strict=True)) for r in rows[1:]}


# ------------------------------------------------------------------------------------------------ F1
def test_flagged_class_crossing_carries_its_caveat_in_the_table_and_csv(runs):
    d = runs["L"]["json"]
    cls = d["t_S_class"]
    assert cls["valid"] is False and cls["value"] is not None and cls["invalid_reasons"]
    name = f"t_S (φ = {cls['level']:.4g})"
    row = _table_row(runs["L"]["table"], name)
    assert "NOT a speciation time" in row and all(r in row for r in cls["invalid_reasons"])
    c = _csv_rows(runs["L"]["csv"])[name]
    assert "NOT a speciation time" in c["note"] and all(r in c["note"] for r in cls["invalid_reasons"])
    assert float(c["estimate"]) == cls["value"]  # the number itself stays a number
    md = next(x for x in runs["L"]["md"].splitlines() if x.startswith("| t_S from φ(t)"))
    assert "NOT a speciation time" in md


# ------------------------------------------------------------------------------------------------ F2
def test_missing_phi_C_is_said_and_the_estimate_the_regimes_use_is_named(runs):
    r = runs["T"]
    d = r["json"]
    assert d["t_C"]["commitment"]["value"] is None and d["regimes_t_C"]["estimator"] == "spectral"
    table = r["table"]
    assert "trust φ_C = ½" not in table
    assert "the regimes use the spectral t_C" in _table_row(table, "t_C estimates")
    assert "used by the regimes" in _table_row(table, "t_C (spectral proxy)")
    assert "did not cross ½" in _table_row(table, "t_C (φ_C = ½, headline)")
    rows = _csv_rows(r["csv"])
    assert "trust" not in rows["t_C estimates"]["note"] and "spectral" in rows["t_C estimates"]["note"]
    assert rows["t_C (φ_C = ½, headline)"]["estimate"] == ""  # missing: an empty cell
    assert "used by the regimes" in rows["t_C (spectral proxy)"]["note"]
    # the regime bounded by t_C names where its bound comes from, and the bound is the spectral value
    iii = rows["regime III"]
    assert float(iii["high"]) == d["t_C"]["spectral"]["value"] and "spectral" in iii["note"]
    assert "(used by the regimes)" in r["md"] and "trust φ_C" not in r["md"]


def test_a_nan_crossing_counts_as_missing_in_the_table(capsys):
    """The library keeps a non-crossing as NaN (not None) until the JSON writer: the table's test
    must see it (it used to say "trust φ_C = ½" then)."""
    import regimes_cli.commands.analyze as cmd
    from regimes_cli._output import set_table_format

    nan = math.nan
    est = {"value": nan, "ci": [nan, nan]}
    payload = {
        "n": 10, "d": 2, "alpha": 1.15, "eigenvalue": {"value": 2.0, "ci": [1.5, 2.5]},
        "t_S": {"value": 0.35, "ci": [0.2, 0.45]}, "t_C": {"commitment": est, "entropy": est,
                                                          "spectral": {"value": 0.3, "ci": [0.25, 0.35]},
                                                          "gaussian": {"value": 0.2, "ci": [0.1, 0.3]}},
        "diagnostics": {"estimates_agree": False, "spread": 1.5},
        "regimes_t_C": {"estimator": "spectral", "value": 0.3},
        "regimes": [], "schedule": {"schedule": "linear", "steps": 1000}, "data": "x", "units": "u",
        "samples": 16, "seed": 0, "notes": [],
    }
    set_table_format("csv")
    try:
        cmd._print_table(payload, None)
    finally:
        set_table_format("table")
    rows = _csv_rows(list(csv.reader(io.StringIO(capsys.readouterr().out))))
    assert rows["t_C estimates"]["note"].startswith("φ_C = ½ not measured")
    assert rows["t_C (φ_C = ½, headline)"]["note"].startswith("not measured")


# ------------------------------------------------------------------------------------------------ F3
_NUM = r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?"


def _md_cells(md: str, label: str) -> list[str]:
    line = next(x for x in md.splitlines() if x.startswith(f"| {label} |"))
    return [c.strip() for c in line.strip("|").split("|")]


def test_report_numbers_have_significant_digits(runs):
    d, md = runs["U"]["json"], runs["U"]["md"]
    assert not re.search(r"\b0\.0000\b", md)  # no small time rounded away
    for label, e in (("t_C, φ_C = ½ (headline)", d["t_C"]["commitment"]),
                     ("t_C, spectral proxy", d["t_C"]["spectral"]), ("t_C, Gaussian formula", d["t_C"]["gaussian"]),
                     ("Λ (top covariance eigenvalue)", d["eigenvalue"])):
        _, value, interval = _md_cells(md, label)[:3]
        assert float(value) == pytest.approx(e["value"], rel=5e-6)  # 6 significant digits
        lo, hi = (float(x) for x in re.findall(_NUM, interval))
        assert lo == pytest.approx(e["ci"][0], rel=5e-5) and hi == pytest.approx(e["ci"][1], rel=5e-5)
        assert lo < hi  # an interval of width > 0 is not printed as one point
    # the regimes' times too (Regime III ends at t_C ≈ 7e-7)
    cells = _md_cells(md, "III")
    assert float(cells[2]) == pytest.approx(d["regimes"][-1]["t_max"], rel=5e-6)


# ------------------------------------------------------------------------------------------------ F4
def test_report_says_the_class_level_is_a_convention_with_three_classes(runs):
    md = runs["L"]["md"]
    level = runs["L"]["json"]["t_S_class"]["level"]
    assert level == pytest.approx(1 / 3 + 0.5504 * (1 - 1 / 3))  # the documented level for C = 3
    line = next(x for x in md.splitlines() if x.startswith("* t_S of the classes:"))
    assert "with 3 classes a convention, not a theorem" in line
    assert "with 3 classes a convention, not a theorem" in " ".join(runs["L"]["table"].split())
    assert "* t_S of the classes" not in runs["U"]["md"]  # no labels: no such line


# ------------------------------------------------------------------------------------------------ F5
def test_report_large_t_form_prints_the_norm_it_uses(runs):
    d, md, X = runs["L"]["json"], runs["L"]["md"], runs["L"]["X"]
    lab = np.repeat([0, 1, 2], 150)
    rows = [c for c in d["t_S_covariance"]["comparisons"] if c["t_S_asymptotic"] is not None]
    assert rows
    for c in rows:
        line = next(x for x in md.splitlines() if f"class {c['class']} against {c['against']}:" in x)
        # the raw norm printed is ‖Ĉ1 − Ĉ2‖²_F of the rows (numpy, n − 1 covariances)
        a = lab == int(c["class"])
        b = ~a if c["against"] == "rest" else lab == int(c["against"])
        raw = float(np.sum((np.cov(X[a].T) - np.cov(X[b].T)) ** 2))
        printed_raw = float(re.search(rf"‖C1 − C2‖²_F = ({_NUM})", line).group(1))
        assert printed_raw == pytest.approx(raw, rel=1e-5)
        debiased = float(re.search(rf"debiased ({_NUM})", line).group(1))
        form = float(re.search(rf"debiased ‖C1 − C2‖²_F/8\) = ({_NUM})", line).group(1))
        # the value beside the formula is the formula on the debiased norm printed next to it ...
        assert form == pytest.approx(0.25 * math.log(debiased / 8), abs=2e-5)
        # ... not on the raw one (which the caveat's numbers use, and says so)
        assert abs(form - 0.25 * math.log(raw / 8)) > 1e-3
        if not c["t_S_asymptotic_valid"]:
            assert "on the raw ‖C1 − C2‖²_F" in line and "on the same covariances" not in line


# ------------------------------------------------------------------------------------------------ F6
def _documented() -> set[str]:
    """Every key path listed under docs/analyze.md's "JSON keys" (brace groups expanded)."""
    text = (ROOT / "docs" / "analyze.md").read_text()
    start = text.index("### JSON keys")
    end = text.find("\n#", start + 5)
    names = set()
    for line in text[start:end].splitlines():
        if not line.startswith("* `"):
            continue
        head = line[2:].split(" — ", 1)[0]
        for pattern in re.findall(r"`([^`]+)`", head):
            parts = [p.split(",") for p in re.split(r"\{([^}]*)\}", pattern)]
            names.update("".join(x) for x in itertools.product(*parts))
    return names


def _paths(obj, prefix="") -> set[str]:
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{prefix}.{k}" if prefix else k
            out |= {p} | _paths(v, p)
    elif isinstance(obj, list):
        for v in obj:
            out |= _paths(v, f"{prefix}[]")
    return out


def test_every_json_key_is_documented(runs):
    documented = _documented()
    assert len(documented) > 100
    payloads = [runs[k]["json"] for k in runs] + [json.loads((runs[k]["out"] / "report.json").read_text())
                                                  for k in runs]
    payloads += [json.loads((GOLDEN / f"{g}.json").read_text()) for g in ("analyze_default", "analyze_npy_labels")]
    assert any("t_S_class" in p for p in payloads) and any("t_S_class" not in p for p in payloads)
    seen = set().union(*(_paths(p) for p in payloads))
    missing = sorted(seen - documented)
    assert not missing, f"keys of analyze's JSON not documented in docs/analyze.md: {missing}"
    # and the list names no key that does not exist in a known place (a typo would pass unseen)
    tops = {p.split(".")[0].split("[")[0] for p in seen}
    assert {p.split(".")[0].split("[")[0].split("{")[0] for p in documented} <= tops


# ------------------------------------------------------------------------------------------------ F7
def test_csv_intervals_are_full_precision_numbers(runs):
    for name in runs:
        d = runs[name]["json"]
        rows = _csv_rows(runs[name]["csv"])
        assert list(rows.values())[0].keys() == {"quantity", "estimate", "low", "high", "note"}
        for label, e in (("Λ", d["eigenvalue"]), ("t_C (spectral proxy)", d["t_C"]["spectral"]),
                         ("t_C (Gaussian formula)", d["t_C"]["gaussian"])):
            lo, hi = rows[label]["low"], rows[label]["high"]
            assert [float(lo) if lo else None, float(hi) if hi else None] == e["ci"]  # bit for bit
        for g in d["regimes"]:
            r = rows[f"regime {g['name']}"]
            assert float(r["low"]) == g["t_min"]
            assert float(r["high"]) == (math.inf if g["t_max"] is None else g["t_max"])


def test_lambda_at_most_one_wording_is_consistent(runs):
    d, table, md = runs["U"]["json"], runs["U"]["table"], runs["U"]["md"]
    assert d["eigenvalue"]["detectable"] and d["eigenvalue"]["value"] <= 1 and d["t_S"]["value"] is None
    assert "Λ detectable, but Λ ≤ 1: no speciation" in _table_row(table, "noise edge")
    assert "Λ ≤ 1: no speciation" in _table_row(table, "t_S = ½ ln Λ")
    assert "Λ detectable, but Λ ≤ 1: no speciation" in md and "— (Λ ≤ 1: no speciation)" in md
    assert "no detectable speciation: see the notes" not in md


def test_report_header_says_no_intervals_with_bootstrap_0(runs):
    header = runs["T"]["md"].split("## Estimates")[0]
    assert "no intervals" in header and "95% bootstrap" not in header
    assert "95% bootstrap, 20 replicates" in runs["L"]["md"].split("## Estimates")[0]
    # the noise-edge row keeps its interval column for an interval (σ̂² and γ beside the name)
    row = _md_cells(runs["L"]["md"], next(x for x in runs["L"]["md"].splitlines()
                                          if x.startswith("| noise edge")).split("|")[1].strip())
    assert row[2] == "(no interval)" and "σ̂² =" in row[0]


def test_cli_report_uses_the_options_words(runs):
    md = runs["T"]["md"]
    assert "(--times)" in md and "times=" not in md  # the notes of a curve that does not cross


def test_curves_figure_says_what_is_missing(runs):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from regimes.plot.curves import plot_curves

    fig = plot_curves(runs["T"]["json"])
    fig.canvas.draw()
    legends = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert any("φ$_C$ = ½): not crossed" in s for s in legends)
    assert any("f$^e$/α = 0.1): not crossed" in s for s in legends)
    assert any("used by the regimes (spectral)" in s for s in legends)
    # the line drawn for it is at the spectral t_C
    xs = [ln.get_xdata()[0] for ln in fig.axes[1].get_lines() if "used by the regimes" in ln.get_label()]
    assert xs == [pytest.approx(runs["T"]["json"]["t_C"]["spectral"]["value"])]
    t = runs["T"]["json"]["curves"]["t"]
    assert max(t) / min(t) > 100 and fig.axes[-1].get_xscale() == "log"  # a grid widened to t ~ 1e-6
    plt.close(fig)
    fig = plot_curves(runs["U"]["json"])
    fig.canvas.draw()
    legends = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert any(s.startswith("t$_S$ = ½ ln Λ: none (Λ ≤ 1)") for s in legends)
    plt.close(fig)


def test_hierarchy_matrix_marks_pairs_that_never_separate():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from regimes.hierarchy import class_hierarchy_gaussian
    from regimes.plot.hierarchy import plot_hierarchy

    # means 0, 0.5, 10 with variance 0.01: Λ_ab of the first pair = 0.25/4 + 0.01 ≤ 1 (never separate)
    h = class_hierarchy_gaussian([[0.0, 0.0], [0.5, 0.0], [10.0, 0.0]], 0.01)
    never = ~np.isfinite(np.asarray(h.times, float)) & ~np.eye(3, dtype=bool)
    assert never.sum() == 2  # the pair (0, 1), both cells
    fig = plot_hierarchy(h)
    ax = fig.axes[1]
    hatched = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
    assert len(hatched) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [r"never separate ($\Lambda_{ab} \leq 1$)"]
    plt.close(fig)
    fig = plot_hierarchy(class_hierarchy_gaussian([[3.0, 0, 0], [-3.0, 0, 0], [0, 5.0, 0]]))
    assert fig.axes[1].get_legend() is None  # every pair separates: no entry
    plt.close(fig)


def test_no_standard_error_without_a_speciation_time():
    """Λ <= 1 (isotropic data of variance 0.25: Λ ≈ 0.25 (1 + √γ)² < 1): t_S is undefined, and so is
    its standard error (it was se(Λ)/(2Λ) beside a null value)."""
    import math

    import numpy as np

    from regimes import analyze

    X = 0.5 * np.random.default_rng(3).standard_normal((400, 12))
    lam = float(np.linalg.eigvalsh(np.cov(X, rowvar=False))[-1])
    assert lam < 1.0
    r = analyze(X, samples=32, bootstrap=20)
    assert math.isclose(r.eigenvalue.value, lam, rel_tol=1e-9)
    assert math.isnan(r.t_S.value) and math.isnan(r.t_S.se)
    assert any("no speciation time (Λ <= 1" in note for note in r.notes)


def test_sampler_steps_reach_report_and_csv(tmp_path):
    """--sampler-steps: each regime's inference steps are in the JSON, the table/CSV rows and
    report.md alike. Oracle for the numbering: diffusers' leading spacing, τ_i = (N − 1 − i)·(T // N),
    and the sampler step of a time t is the last i with t_{τ_i} >= t."""
    import numpy as np

    from regimes.schedules import get_schedule

    rc, out, _ = _cli("analyze", "--sampler-steps", "50", "--json", "--samples", "64", "--bootstrap", "10")
    assert rc in (0, None)
    payload = json.loads(out)
    times = np.asarray(get_schedule("linear").times)
    tau = (50 - 1 - np.arange(50)) * (1000 // 50)
    for g in payload["regimes"]:
        crossed = [i for i in range(50) if times[tau[i]] >= g["t_min"]]
        assert g["sampler_step_max"] == max(crossed)
    rc, csv_out, _ = _cli("analyze", "--sampler-steps", "50", "--format", "csv", "--samples", "64",
                          "--bootstrap", "10", "--out", tmp_path / "r")
    report_md = (tmp_path / "r" / "report.md").read_text()
    for g in payload["regimes"]:
        span = f"{g['sampler_step_min']}–{g['sampler_step_max']}"
        assert f"sampler steps {span}" in csv_out
        assert f"| {span} |" in report_md


def test_json_notes_use_the_command_line_words(tmp_path):
    """--json and report.json carry the notes in the CLI's words, as the table and report.md do
    (the library's '(times=)' becomes '(--times)'), and stay equal to each other."""
    rc, out, _ = _cli("analyze", "--times", "2.5,3.0,3.5", "--samples", "32", "--bootstrap", "10", "--json",
                      "--out", tmp_path / "r")
    assert rc in (0, None)
    notes = json.loads(out)["notes"]
    assert any("(--times)" in n for n in notes) and not any("(times=)" in n for n in notes)
    assert json.loads((tmp_path / "r" / "report.json").read_text())["notes"] == notes
