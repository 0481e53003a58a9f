"""Options typed where they do nothing get one note each on stderr (they were dropped silently);
the same options left at their defaults, or typed where they apply, get no note."""

from __future__ import annotations

import json

import numpy as np
import pytest


def _notes(err):
    return [ln for ln in err.splitlines() if ln.startswith("regimes: note:")]


@pytest.mark.parametrize("action,opts,flags", [
    ("pdf", ["--x", "1", "--q", "0.3"], ["--q"]),
    ("cdf", ["--x", "1", "--k", "3", "--size", "5", "--seed", "2"], ["--k", "--size", "--seed"]),
    ("ppf", ["--q", "0.5", "--x", "1"], ["--x"]),
    ("edges", ["--x", "1", "--q", "0.1"], ["--x", "--q"]),
    ("sample", ["--size", "3", "--seed", "1", "--k", "2"], ["--k"]),
])
def test_mp_options_of_other_actions(run_cli, action, opts, flags):
    rc, out, err = run_cli("mp", action, "--ratio", "0.5", "--json", *opts)
    assert rc == 0, err
    json.loads(out)  # stdout stays one JSON object
    notes = _notes(err)
    assert len(notes) == len(flags), err
    for flag, ln in zip(flags, notes, strict=True):
        assert f"{flag} applies only" in ln and "ignored" in ln


def test_mp_defaults_and_applicable_options_give_no_note(run_cli):
    for args in (("moments", "--k", "4"), ("sample", "--size", "4", "--seed", "3"), ("pdf", "--x", "0.5,1")):
        rc, _, err = run_cli("mp", *args, "--ratio", "0.5")
        assert rc == 0 and not _notes(err), (args, err)


def test_spectrum_figure_options_without_out(run_cli, tmp_path):
    base = ("spectrum", "--psi-p", "2", "--psi-n", "1", "--t", "1")
    rc, out, err = run_cli(*base, "--d", "50", "--seed", "4", "--json")
    assert rc == 0, err
    json.loads(out)
    notes = _notes(err)
    assert len(notes) == 2 and "--d applies only with --out" in notes[0] and "--seed" in notes[1]
    rc, _, err = run_cli(*base, "--d", "20", "--out", tmp_path / "s.png")
    assert rc == 0 and not [n for n in _notes(err) if "ignored" in n], err


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    train = rng.random((30, 4, 4)).astype(np.float32)
    gen = rng.random((6, 4, 4)).astype(np.float32)
    np.save(tmp_path / "train.npy", train)
    np.save(tmp_path / "gen.npy", gen)
    return tmp_path


def test_memorization_shape_without_out(run_cli, images):
    rc, _, err = run_cli("memorization", images / "gen.npy", images / "train.npy", "--shape", "4,4")
    assert rc == 0, err
    assert any("--shape applies only with --out" in n for n in _notes(err)), err


def test_uturn_figure_options_without_out(run_cli, images):
    rc, _, err = run_cli("uturn", images / "train.npy", "--times", "0.05", "--samples", "4", "--steps", "20",
                         "--shape", "4,4", "--t-s", "1", "--t-c", "0.2")
    assert rc == 0, err
    notes = [n for n in _notes(err) if "ignored" in n]
    assert [n.split()[2] for n in notes] == ["--shape", "--t-s", "--t-c"], err
