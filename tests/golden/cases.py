"""Golden JSON outputs: one run of every command group, recorded before the architecture step.

``python tests/golden/cases.py`` rewrites the recorded files (do it only when a number is meant to
change, and say why in the commit); ``tests/test_golden.py`` compares the current outputs with them.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def make_data(folder: Path) -> tuple[Path, Path]:
    """Three Gaussian classes in d = 24 (n = 270), float32, with labels: a small labelled .npy run."""
    gen = np.random.default_rng(20261202)
    means = gen.standard_normal((3, 24)) * 1.5
    lab = np.repeat(np.arange(3), 90)
    X = (means[lab] + gen.standard_normal((270, 24))).astype(np.float32)
    np.save(folder / "golden_x.npy", X)
    np.save(folder / "golden_lab.npy", lab)
    return folder / "golden_x.npy", folder / "golden_lab.npy"


def cases(folder: Path) -> dict[str, list[str]]:
    x, lab = make_data(folder)
    return {
        "analyze_default": ["analyze", "--json"],
        "analyze_npy_labels": ["analyze", str(x), "--labels", str(lab), "--samples", "128",
                               "--bootstrap", "30", "--json"],
        "speciation": ["speciation", "--d", "1024", "--separation", "1.0", "--json"],
        "collapse": ["collapse", "--n", "20000", "--d", "1024", "--json"],
        "schedule": ["schedule", "--schedule", "cosine", "--t", "0.5", "--json"],
        "schedule_step": ["schedule", "-k", "500", "--json"],
        "times_preset": ["times", "--preset", "cifar10", "--schedule", "linear", "--json"],
        "times_preset_unit": ["times", "--preset", "cifar10", "--units", "unit", "--schedule", "linear", "--json"],
        "mp": ["mp", "cdf", "--ratio", "4", "--x", "0.5,1,2,5,9", "--json"],
        "spectrum": ["spectrum", "--psi-p", "8", "--psi-n", "2", "--t", "0.1", "--points", "60", "--json"],
        "timescales": ["timescales", "--n", "200", "--d", "100", "--p", "800", "--t", "0.1", "--json"],
        "phase_nd": ["phase-diagram", "nd", "--points", "12", "--json"],
        "phase_nd_preset": ["phase-diagram", "nd", "--preset", "cifar10", "--points", "10", "--json"],
        "phase_np": ["phase-diagram", "np", "--points", "8", "--json"],
        "phase_ntau": ["phase-diagram", "ntau", "--points", "8", "--json"],
        "timeline": ["timeline", "--json"],
        "timeline_preset": ["timeline", "--preset", "cifar10", "--schedule", "cosine", "--json"],
        "formula": ["formula", "collapse_time", "--json"],
        "presets": ["presets", "cifar10", "--json"],
    }


def run(args: list[str]) -> tuple[int, str, str]:
    from regimes_cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def strip_paths(obj, folder: str):
    """Replace the temporary folder in every string (the data's name) by a fixed marker."""
    if isinstance(obj, dict):
        return {k: strip_paths(v, folder) for k, v in obj.items()}
    if isinstance(obj, list):
        return [strip_paths(v, folder) for v in obj]
    if isinstance(obj, str):
        return obj.replace(folder, "<tmp>")
    return obj


def record(folder: Path) -> None:
    for name, args in cases(folder).items():
        rc, out, err = run(args)
        if rc != 0:
            raise SystemExit(f"{name}: exit {rc}: {err}")
        payload = strip_paths(json.loads(out), str(folder))
        (HERE / f"{name}.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
        print(name, "recorded", file=sys.stderr)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        record(Path(tmp))
