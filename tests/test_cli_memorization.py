"""`regimes memorization` and `regimes uturn`: JSON contract, files, and one-line errors (exit 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.distance import cdist


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("mem")
    rng = np.random.default_rng(0)
    A = rng.normal(size=(120, 4, 4, 1)).astype(np.float32)
    G = rng.normal(size=(50, 4, 4, 1)).astype(np.float32)
    G[:20] = A[:20] + 0.01 * rng.normal(size=(20, 4, 4, 1)).astype(np.float32)
    paths = {"train": d / "train.npy", "gen": d / "gen.npy", "held": d / "held.npy", "labels": d / "labels.npy",
             "bad_d": d / "bad_d.npy", "nan": d / "nan.npy", "one": d / "one.npy", "dir": d}
    np.save(paths["train"], A)
    np.save(paths["gen"], G)
    np.save(paths["held"], rng.normal(size=(40, 4, 4, 1)).astype(np.float32))
    np.save(paths["labels"], np.arange(120) % 3)
    np.save(paths["bad_d"], rng.normal(size=(5, 7)))
    bad = G.copy()
    bad[3, 0, 0, 0] = np.nan
    np.save(paths["nan"], bad)
    np.save(paths["one"], A[:1])
    return paths, A, G


def test_memorization_json_contract_and_files(run_cli, files):
    p, A, G = files
    rc, out, err = run_cli("memorization", p["gen"], p["train"], "--reference", p["held"], "--labels",
                           p["labels"], "--csv", p["dir"] / "per.csv", "--out", p["dir"] / "figs", "--json",
                           "--bootstrap", "300")
    assert rc == 0, err
    d = json.loads(out)
    assert d["f_mem"]["value"] == pytest.approx(0.4) and d["f_mem"]["ci"][0] <= 0.4 <= d["f_mem"]["ci"][1]
    assert d["n_generated"] == 50 and d["n_train"] == 120 and d["threshold"] == pytest.approx(1 / 3)
    assert d["reference"]["f_mem"]["value"] == 0.0
    assert {"alpha", "k", "quantiles"} <= set(d["carlini"]) and set(d["ratio_quantiles"]) >= {"0.5"}
    assert sum(d["memorised_by_class"].values()) == 20
    rows = np.genfromtxt(p["dir"] / "per.csv", delimiter=",", names=True)
    C = cdist(G.reshape(50, -1).astype(float), A.reshape(120, -1).astype(float))
    assert np.array_equal(rows["nearest"].astype(int), C.argmin(axis=1))
    assert np.allclose(rows["d1"], C.min(axis=1), rtol=1e-6)
    assert (p["dir"] / "figs" / "ratio_histogram.png").stat().st_size > 0
    assert (p["dir"] / "figs" / "closest_pairs.png").stat().st_size > 0  # shape from the .npy


def test_memorization_table(run_cli, files):
    p, _, _ = files
    rc, out, err = run_cli("memorization", p["gen"], p["train"], "--bootstrap", "50")
    assert rc == 0, err
    assert "f_mem" in out


def test_uturn_json_and_figure(run_cli, files):
    p, _, _ = files
    fig = p["dir"] / "uturn.png"
    rc, out, err = run_cli("uturn", p["train"], "--labels", p["labels"], "--times", "0.01,2",
                           "--samples", "40", "--steps", "30", "--out", fig, "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["times"] == [0.01, 2.0]
    assert d["same_point"]["value"][0] == 1.0 and len(d["same_point"]["se"]) == 2
    assert len(d["same_class"]["value"]) == 2
    assert fig.stat().st_size > 0


@pytest.mark.parametrize("args,needle", [
    (("memorization", "{bad_d}", "{train}"), "dimension"),
    (("memorization", "{gen}", "{train}", "--reference", "{bad_d}"), "--reference"),
    (("memorization", "{nan}", "{train}"), "finite"),
    (("memorization", "{gen}", "{one}"), "at least 2 rows"),
    (("memorization", "{gen}", "{train}", "--threshold", "1.5"), "--threshold"),
    (("memorization", "{gen}", "{train}", "--threshold", "0"), "--threshold"),
    (("memorization", "{gen}", "{train}", "--carlini-k", "500"), "--carlini-k"),
    (("memorization", "{gen}", "{train}", "--carlini-alpha", "-1"), "--carlini-alpha"),
    (("memorization", "{gen}", "{train}", "--shape", "3,3"), "--shape"),
    (("memorization", "{gen}", "{dir}/missing.npy"), "does not exist"),
    (("uturn", "{train}", "--times", "0,1"), "--times"),
    (("uturn", "{train}", "--times", "a"), "--times"),
    (("uturn", "{train}", "--times", "1", "--method", "euler"), "--method"),
    (("uturn", "{train}", "--times", "1", "--samples", "0"), "--samples"),
    (("uturn", "{train}", "--times", "1", "--out", "{dir}/x.bmp"), "--out"),
])
def test_bad_input_exit_2_one_line(run_cli, files, args, needle):
    p, _, _ = files
    rc, out, err = run_cli(*(a.format(**{k: str(v) for k, v in p.items()}) for a in args))
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("regimes: error:") and needle in err, err


def test_collapsed_or_single_generated_sets_are_audited(run_cli, tmp_path):
    """A model in mode collapse (every sample the same training image) or a single sample: audited
    (f_mem = 1), not refused as a training set with zero variance or fewer than 2 rows."""
    import json

    import numpy as np

    rng = np.random.default_rng(0)
    A = rng.normal(size=(60, 8))
    np.save(tmp_path / "train.npy", A)
    np.save(tmp_path / "collapse.npy", np.repeat(A[3:4], 20, axis=0))
    np.save(tmp_path / "one.npy", A[5:6] + 1e-6)
    for g in ("collapse.npy", "one.npy"):
        rc, out, err = run_cli("memorization", tmp_path / g, tmp_path / "train.npy", "--json")
        assert rc == 0, err
        assert json.loads(out)["f_mem"]["value"] == 1.0
    # the training set itself still needs two distinct rows
    rc, _, err = run_cli("memorization", tmp_path / "one.npy", tmp_path / "collapse.npy")
    assert rc == 2 and "zero variance" in err


def test_csv_nearest_label_holds_the_class_names(run_cli, tmp_path):
    import csv

    import numpy as np

    rng = np.random.default_rng(1)
    A = rng.normal(size=(40, 6))
    np.save(tmp_path / "train.npy", A)
    np.save(tmp_path / "gen.npy", A[:4] + 1e-4)
    (tmp_path / "lab.txt").write_text("\n".join(["tench, Tinca tinca" if i % 2 else "goldfish" for i in range(40)]))
    rc, _, err = run_cli("memorization", tmp_path / "gen.npy", tmp_path / "train.npy",
                         "--labels", tmp_path / "lab.txt", "--csv", tmp_path / "out.csv", "--json")
    assert rc == 0, err
    rows = list(csv.DictReader(open(tmp_path / "out.csv", encoding="utf-8")))
    assert [r["nearest_label"] for r in rows] == ["goldfish", "tench, Tinca tinca", "goldfish", "tench, Tinca tinca"]
