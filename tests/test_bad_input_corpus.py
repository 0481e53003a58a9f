"""The bad-input corpus (issue 14): every command and option, and the library's public functions.

Each CLI case must exit 2 with exactly one line on stderr, ``regimes: error: …``, naming the
option as the user typed it (the flag), with no traceback and nothing on stdout. Each library case
must raise :class:`regimes.RegimesError` whose message names the parameter.

The CLI runs in-process (the ``run_cli`` fixture), so the whole corpus takes a few seconds. ``{x}``
in an argument is replaced by a file of the fixture folder (``{npy}``, ``{img}``, ``{ro}`` …).
"""

from __future__ import annotations

import math
import os
import stat

import numpy as np
import pytest

BIG = str(10**30)
NONFINITE = ("nan", "inf", "-inf")

# ------------------------------------------------------------------ the CLI corpus
# (args, the flag the error must name)
CASES: list[tuple[tuple[str, ...], str]] = []


def add(flag, *args):
    CASES.append((tuple(args), flag))


def bad_floats(cmd, flag, base=(), values=("nan", "inf", "-1", "abc")):
    for v in values:
        add(flag, *cmd, *base, f"{flag}={v}")


def bad_ints(cmd, flag, base=(), values=("-1", "abc", "1.5", BIG)):
    for v in values:
        add(flag, *cmd, *base, f"{flag}={v}")


# speciation
bad_floats(["speciation"], "--eigenvalue")
add("--eigenvalue", "speciation", "-L", "0")
bad_floats(["speciation"], "--d", ["--separation", "1"])
bad_floats(["speciation"], "--separation", ["--d", "10"], values=("nan", "inf", "abc"))
bad_floats(["speciation"], "--variance", ["--d", "10", "--separation", "1"])
add("--d", "speciation", "--d", "1e308", "--separation", "1e308")
add("--class-variances", "speciation", "--class-variances", "1")
add("--class-variances", "speciation", "--class-variances", "a,b")
add("--class-variances", "speciation", "--class-variances", "1,nan")
add("--class-variances", "speciation", "--class-variances", "-1,2")
add("--preset", "speciation", "--preset", "no-such-dataset")
add("--units", "speciation", "-L", "4", "--units", "unit")
add("--units", "speciation", "--preset", "cifar10", "--units", "weird")

# collapse
bad_floats(["collapse"], "--n", ["--d", "10"])
add("--n", "collapse", "--n", "1", "--d", "10")
bad_floats(["collapse"], "--d", ["--n", "100"])
add("--d", "collapse", "--n", "100", "--d", "0")
bad_floats(["collapse"], "--variance", ["--n", "100", "--d", "10"])
add("--n", "collapse", "--d", "10")
add("--preset", "collapse", "--preset", "nope")

# schedule
bad_ints(["schedule"], "--steps", ["--t", "0.5"], values=("-1", "0", "abc", BIG))
add("--schedule", "schedule", "-s", "weird", "--t", "0.5")
bad_floats(["schedule"], "--t", values=("nan", "inf", "-1", "abc"))
bad_ints(["schedule"], "--step", values=("-1", "abc", "1000", BIG))
add("--step", "schedule", "-k", BIG)
add("--steps", "schedule", "-T", BIG, "-k", "1")

# times
bad_floats(["times"], "--n", ["--d", "10", "-L", "4"])
bad_floats(["times"], "--d", ["--n", "100", "-L", "4"])
bad_floats(["times"], "--eigenvalue", ["--n", "100", "--d", "10"], values=("nan", "inf", "abc"))
bad_floats(["times"], "--variance", ["--n", "100", "--d", "10", "-L", "4"])
add("--schedule", "times", "--n", "100", "--d", "10", "-L", "4", "-s", "weird")
bad_ints(["times"], "--steps", ["--n", "100", "--d", "10", "-L", "4", "-s", "linear"],
         values=("-1", "0", "abc", BIG))
add("--steps", "times", "--n", "100", "--d", "10", "-L", "4", "-T", "0")
add("--steps", "times", "--n", "100", "--d", "10", "-L", "4", "-T", "5")

# analyze (all refused before the data pass)
AN = ("analyze", "{npy}")
bad_ints(AN, "--samples", values=("0", "-1", "abc", BIG))
add("--samples", "analyze", "-M", BIG)
bad_ints(AN, "--bootstrap", values=("-1", "abc", BIG))
bad_ints(AN, "--steps", values=("0", "-1", "abc", BIG))
bad_ints(AN, "--seed", values=("-1", "abc"))
bad_ints(AN, "--subsample", values=("0", "-1", "abc", BIG))
bad_floats(AN, "--memory-mb", values=("nan", "inf", "0", "abc"))
for v in ("1,,2", "a,b", "nan", "inf", "-1", "0", "1:2", "2:1:5", "0:1:1", "1:2:abc", ",", "1:2:" + BIG):
    add("--times", *AN, f"--times={v}")
add("--times", "analyze", "--times=1,,2")
for v in ("weird", "0", "-1", "nan", "inf"):
    add("--scale", *AN, f"--scale={v}")
add("--schedule", *AN, "--schedule", "weird")
add("--precision", *AN, "--precision", "float16")
add("--engine", *AN, "--engine", "fortran")
add("--labels", *AN, "--labels", "{missing}")
add("--labels", *AN, "--labels", "{dir}")
add("--labels", *AN, "--labels", "{labels_short}")
add("--labels", *AN, "--labels", "{labels_2col}")
add("--labels", *AN, "--labels", "{labels_nan}")
add("--key", *AN, "--key", "x")
add("--key", "analyze", "--key", "x")
add("--labels", "analyze", "--labels", "{labels_txt}")
add("--size", "analyze", "--size", "8")
add("--grayscale", "analyze", "--grayscale")
add("--color", "analyze", "--color")
add("--size", "analyze", "{img}", "--size", "100000")
bad_ints(["analyze", "{img}"], "--size", values=("0", "-1", "abc", BIG))
add("--grayscale", "analyze", "{img}", "--grayscale", "--color")
add("--out", *AN, "--out", "{ro}/report")
add("--out", *AN, "--out", "{file}")
add("--out", "analyze", "--out", "{file}/sub")
add("DATA", "analyze", "{missing}")
add("DATA", "analyze", "{empty_dir}")

# mp
for act in ("pdf", "cdf"):
    for v in ("nan", "inf", "a", "1,,2", ","):
        add("--x", "mp", act, "-g", "0.5", f"--x={v}")
    add("--x", "mp", act, "-g", "0.5")
for v in ("nan", "-0.1", "1.5", "a"):
    add("--q", "mp", "ppf", "-g", "0.5", f"--q={v}")
add("--q", "mp", "ppf", "-g", "0.5")
bad_floats(["mp", "edges"], "--ratio", values=("nan", "inf", "0", "-1", "abc"))
bad_floats(["mp", "edges"], "--variance", ["-g", "0.5"], values=("nan", "inf", "0", "-1", "abc"))
bad_ints(["mp", "moments", "-g", "0.5"], "--k", values=("-1", "abc", BIG))
bad_ints(["mp", "sample", "-g", "0.5"], "--size", values=("-1", "abc", BIG))
add("--size", "mp", "sample", "-g", "0.5", "--size", str(10**12))
bad_ints(["mp", "sample", "-g", "0.5"], "--seed", values=("-1", "abc"))
add("action", "mp", "weird", "-g", "0.5")

# spectrum
SP = ("spectrum", "--psi-p", "2", "--psi-n", "1", "--t", "0.5")
bad_floats(["spectrum", "--psi-n", "1", "--t", "0.5"], "--psi-p", values=("nan", "inf", "0", "-1", "abc"))
bad_floats(["spectrum", "--psi-p", "2", "--t", "0.5"], "--psi-n", values=("nan", "inf", "0", "-1", "abc"))
bad_floats(["spectrum", "--psi-p", "2", "--psi-n", "1"], "--t", values=("nan", "inf", "0", "-1", "abc"))
add("--activation", *SP, "--activation", "sigmoid")
bad_ints(SP, "--points", values=("0", "-1", "abc", BIG))
bad_ints(SP, "--d", ["--out", "{tmp}/s.png"], values=("0", "-1", "abc", BIG))
add("--d", *SP, "--d", BIG)
add("--out", *SP, "--out", "{ro}/s.png")
add("--out", *SP, "--out", "{tmp}/s.txt")
add("--out", *SP, "--out", "{missing}/s.png")
bad_ints(SP, "--seed", ["--out", "{tmp}/s.png"], values=("-1", "abc"))

# timescales
TS = ("--n", "1000", "--d", "100", "--p", "2000", "--t", "0.5")


def ts_without(flag):
    i = TS.index(flag)
    return ("timescales", *TS[:i], *TS[i + 2:])


for f in ("--n", "--d", "--p", "--t"):
    bad_floats(ts_without(f), f, values=("nan", "inf", "0", "-1", "abc"))
add("--t", *ts_without("--t"), "--t", "1e-320")
add("--activation", "timescales", *TS, "--activation", "sigmoid")
bad_floats(["timescales", *TS], "--gap-tolerance", values=("nan", "0", "1", "-1", "abc"))
bad_ints(["timescales", *TS], "--seeds", values=("0", "-1", "abc", BIG))

# phase-diagram nd
ND = ("phase-diagram", "nd")
for f in ("--d-min", "--d-max", "--n-min", "--n-max"):
    bad_floats(ND, f, values=("nan", "inf", "0", "-1", "abc"))
add("--d-min", *ND, "--d-min", "100", "--d-max", "10")
add("--n-min", *ND, "--n-min", "1000", "--n-max", "10")
bad_ints(ND, "--points", values=("0", "1", "-1", "abc", "100000", BIG))
bad_floats(ND, "--variance", values=("nan", "inf", "0", "-1"))
bad_floats(ND, "--separation", values=("nan", "inf", "-1"))
bad_floats(ND, "--eigenvalue", values=("nan", "inf", "-1"))
bad_floats(ND, "--target", values=("nan", "inf", "0", "-1"))
add("--n", *ND, "--n", "nan", "--d", "10")
add("--d", *ND, "--n", "100", "--d", "nan")
add("--out", *ND, "--out", "{ro}/f.png")
add("--out", *ND, "--out", "{tmp}/f.txt")
add("--preset", *ND, "--preset", "nope")

# phase-diagram np
NP = ("phase-diagram", "np")
for f in ("--psi-n-min", "--psi-n-max", "--psi-p-min", "--psi-p-max"):
    bad_floats(NP, f, values=("nan", "inf", "0", "-1", "abc"))
add("--psi-n-min", *NP, "--psi-n-min", "10", "--psi-n-max", "1")
bad_ints(NP, "--points", values=("0", "1", "-1", "abc", "100000", BIG))
add("--points", *NP, "--gap", "--points", "200")
bad_floats(NP, "--t", values=("nan", "inf", "0", "-1"))
bad_floats(NP, "--training-time", values=("nan", "inf", "-1"))
bad_floats(NP, "--d", values=("nan", "inf", "0", "-1"))
add("--activation", *NP, "--activation", "sigmoid")
bad_ints(NP, "--gap-d", ["--gap"], values=("0", "-1", "abc", BIG))
add("--out", *NP, "--out", "{ro}/f.png")

# phase-diagram ntau
NT = ("phase-diagram", "ntau")
for f in ("--n-min", "--n-max", "--tau-min", "--tau-max", "--d", "--p", "--t", "--lr"):
    bad_floats(NT, f, values=("nan", "inf", "0", "-1"))
add("--n-min", *NT, "--n-min", "1000", "--n-max", "10")
bad_ints(NT, "--points", values=("0", "1", "-1", "abc", "100000", BIG))
bad_ints(NT, "--window-points", values=("-1", "abc", "201", BIG))
bad_floats(NT, "--gap-tolerance", values=("nan", "0", "-1"))
add("--activation", *NT, "--activation", "sigmoid")
add("--out", *NT, "--out", "{ro}/f.png")
add("subcommand", "phase-diagram", "weird")

# timeline
TL = ("timeline", "--n", "1000", "--d", "100", "-L", "4")
bad_floats(["timeline", "--d", "100", "-L", "4"], "--n", values=("nan", "inf", "1", "abc"))
bad_floats(["timeline", "--n", "1000", "-L", "4"], "--d", values=("nan", "inf", "0", "abc"))
bad_floats(["timeline", "--n", "1000", "--d", "100"], "--eigenvalue", values=("nan", "inf", "abc"))
bad_floats(TL, "--variance", values=("nan", "inf", "0", "-1"))
add("--schedule", *TL, "-s", "weird")
bad_ints(TL, "--steps", values=("0", "-1", "abc", BIG))
add("--axis", *TL, "--axis", "weird")
add("--compare", *TL, "--compare", "weird,linear")
add("--out", *TL, "--out", "{ro}/t.png")
add("--out", *TL, "--out", "{tmp}/t.txt")
add("--out", *TL, "--out", "{missing}/t.png")

# formula, presets
add("NAME", "formula", "no_such_formula")
add("--latex", "formula", "collapse_time", "--latex", "--sympy")
add("NAME", "presets", "no_such_preset")

# memorization, uturn
MEM = ("memorization", "{npy}", "{npy2}")
bad_floats(MEM, "--threshold", values=("nan", "0", "1", "-1", "abc"))
bad_ints(MEM, "--bootstrap", values=("-1", "abc", BIG))
bad_floats(MEM, "--carlini-alpha", values=("nan", "inf", "0", "-1"))
bad_ints(MEM, "--carlini-k", values=("0", "-1", "abc", BIG))
add("--shape", *MEM, "--shape", "a,b")
add("--shape", *MEM, "--shape", "3,3")
add("--scale", *MEM, "--scale", "weird")
bad_floats(MEM, "--memory-mb", values=("nan", "0", "abc"))
add("--reference", *MEM, "--reference", "{missing}")
add("--labels", *MEM, "--labels", "{missing}")
add("--out", *MEM, "--out", "{file}")
add("--csv", *MEM, "--csv", "{ro}/x.csv")
add("GENERATED", "memorization", "{missing}", "{npy}")
UT = ("uturn", "{npy}")
for v in ("1,,2", "nan", "-1", "0", "a", ","):
    add("--times", *UT, f"--times={v}")
bad_ints([*UT, "--times", "0.5"], "--samples", values=("0", "-1", "abc", BIG))
bad_ints([*UT, "--times", "0.5"], "--steps", values=("0", "-1", "abc", BIG))
add("--method", *UT, "--times", "0.5", "--method", "weird")
add("--t-s", *UT, "--times", "0.5", "--t-s", "nan")
add("--t-c", *UT, "--times", "0.5", "--t-c", "-1")
add("--out", *UT, "--times", "0.5", "--out", "{ro}/u.png")
add("--out", *UT, "--times", "0.5", "--out", "{tmp}/u.txt")
add("--labels", *UT, "--times", "0.5", "--labels", "{missing}")

# solve
bad_floats(["solve", "n", "--d", "100"], "--t-C", values=("nan", "inf", "0", "-1"))
bad_floats(["solve", "n", "--d", "100"], "--last-fraction", values=("nan", "0", "1.5", "-1"))
bad_ints(["solve", "n", "--d", "100", "-q", "0.1", "-s", "linear"], "--steps", values=("0", "-1", BIG))
bad_floats(["solve", "n", "--t-C", "0.1"], "--d", values=("nan", "inf", "0", "-1"))
bad_floats(["solve", "d", "--n", "1000"], "--t-C", values=("nan", "inf", "0", "-1"))
bad_floats(["solve", "d", "--t-C", "0.1"], "--n", values=("nan", "inf", "1", "-1"))
bad_ints(["solve", "eigenvalue", "-s", "linear"], "--step", values=("-1", "abc", "1000", BIG))
bad_ints(["solve", "eigenvalue", "-k", "10", "-s", "linear"], "--steps", values=("0", "-1", BIG))
add("--schedule", "solve", "eigenvalue", "-k", "10", "-s", "weird")

# an unwritable --out (its folder is a file: fails for root too), on every command that writes
for cmd in (SP, ND, NP, NT, TL, (*UT, "--times", "0.5")):
    add("--out", *cmd, "--out", "{file}/x.png")
add("--out", *MEM, "--out", "{file}/figs")
add("--csv", *MEM, "--csv", "{file}/x.csv")
add("--out", "analyze", "--out", "{symlink_dir}")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The files the corpus refers to: small arrays, label files, images, a read-only folder."""
    from PIL import Image

    tmp = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    np.save(tmp / "x.npy", rng.standard_normal((40, 6)))
    np.save(tmp / "y.npy", rng.standard_normal((30, 6)))
    (tmp / "labels_short.txt").write_text("0\n1\n")
    (tmp / "labels_2col.csv").write_text("".join(f"{i},{i % 2}\n" for i in range(40)))
    (tmp / "labels_nan.txt").write_text("".join(("nan" if i == 3 else str(i % 2)) + "\n" for i in range(40)))
    (tmp / "labels.txt").write_text("".join(f"{i % 2}\n" for i in range(40)))
    (tmp / "labels_dir").mkdir()
    (tmp / "empty").mkdir()
    img = tmp / "img"
    img.mkdir()
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (4, 4, 3), dtype=np.uint8)).save(img / f"{i}.png")
    (tmp / "file.txt").write_text("not a folder\n")
    (tmp / "real_dir").mkdir()
    (tmp / "link_dir").symlink_to(tmp / "real_dir")
    ro = tmp / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield {"npy": tmp / "x.npy", "npy2": tmp / "y.npy", "labels_short": tmp / "labels_short.txt",
           "labels_2col": tmp / "labels_2col.csv", "labels_nan": tmp / "labels_nan.txt",
           "labels_txt": tmp / "labels.txt", "dir": tmp / "labels_dir", "empty_dir": tmp / "empty",
           "img": img, "file": tmp / "file.txt", "ro": ro, "tmp": tmp, "missing": tmp / "missing",
           "symlink_dir": tmp / "link_dir"}
    ro.chmod(stat.S_IRWXU)


def _fill(arg: str, files) -> str:
    for k, v in files.items():
        arg = arg.replace("{" + k + "}", str(v))
    return arg


def _id(case):
    args, flag = case
    return " ".join(args)[:90]


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_cli_bad_input(case, files, run_cli):
    args, flag = case
    if os.geteuid() == 0 and any("{ro}" in a for a in args):
        pytest.skip("root writes into read-only folders")
    rc, out, err = run_cli(*(_fill(a, files) for a in args))
    lines = err.strip().splitlines()
    assert rc == 2, (rc, out[-500:], err[-2000:])
    assert len(lines) == 1, err
    assert lines[0].startswith("regimes: error: "), err
    assert "Traceback" not in err
    shown = flag if flag.startswith("-") or flag.isupper() or flag in ("action", "subcommand") else flag
    if flag == "subcommand":
        assert "phase-diagram" in lines[0] or "weird" in lines[0], lines[0]
    elif flag in ("DATA", "GENERATED", "NAME", "action"):
        assert flag in lines[0] or "weird" in lines[0] or "no_such" in lines[0] or "missing" in lines[0] \
            or "empty" in lines[0], lines[0]
    else:
        assert shown in lines[0], lines[0]
    assert not out.strip(), out[-500:]


def test_corpus_is_large():
    assert len(CASES) >= 200


# ------------------------------------------------------------------ the library corpus
def _lib_cases(tmp):
    import regimes
    from regimes import symbolic
    from regimes.rmt import MarchenkoPastur, RandomFeatures

    mp = MarchenkoPastur(0.5)
    rf = RandomFeatures(psi_p=2.0, psi_n=1.0, t=0.5)
    return [
        ("x", lambda: mp.pdf(float("nan"))),
        ("x", lambda: mp.cdf("a")),
        ("size", lambda: mp.rvs(-1)),
        ("size", lambda: mp.rvs(size="a")),
        ("ratio", lambda: MarchenkoPastur("0.5")),
        ("ratio", lambda: MarchenkoPastur(True)),
        ("ratio", lambda: MarchenkoPastur(float("nan"))),
        ("t_S", lambda: regimes.classify(1.0, t_S=math.inf, t_C=0.1)),
        ("order", lambda: regimes.cloning_probability(1.0, 10, 10, order=0)),
        ("lam", lambda: rf.tau(-1)),
        ("n", lambda: regimes.collapse_time("1000", 10)),
        ("n", lambda: regimes.collapse_time(True, 10)),
        ("n", lambda: regimes.collapse_time(-5, 10, 1)),
        ("eigenvalue", lambda: regimes.speciation_time("4")),
        ("eigenvalue", lambda: regimes.speciation_time(float("nan"))),
        ("size", lambda: regimes.load_dataset(tmp / "x.npy", size=0)),
        ("n", lambda: symbolic.lambdify("collapse_time")(-5, 10, 1)),
    ]


def test_library_bad_input(tmp_path):
    import regimes

    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((10, 3)))

    failures = []
    for name, call in _lib_cases(tmp_path):
        try:
            val = call()
        except regimes.RegimesError as exc:
            if name not in str(exc):
                failures.append(f"{name}: message does not name it: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
            continue
        failures.append(f"{name}: no error, returned {val!r}")
    assert not failures, "\n".join(failures)
