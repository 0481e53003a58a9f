"""Packaging promises: import hygiene, the fast --version path, the entry points, the wheel's content."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("typer", "rich", "click", "matplotlib", "sympy")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True, cwd="/")
    return {m.split(".")[0] for m in out.stdout.split()}


def test_import_regimes_is_light():
    mods = _modules_after("import regimes; regimes.GaussianMixture(100, 10).collapse_time()")
    # scipy too (it costs ~0.3-1 s): the few functions that need it import it themselves
    assert not (mods & {*HEAVY, "scipy"}), mods & {*HEAVY, "scipy"}


def test_version_fast_path_imports_nothing_heavy():
    mods = _modules_after("from regimes_cli.main import main; main(['--version'])")
    assert not (mods & {*HEAVY, "numpy", "scipy"})


def _bin(name):
    return str(Path(sys.executable).parent / name)


def test_installed_entry_points():
    out = subprocess.run([_bin("regimes"), "--version"], capture_output=True, text=True)
    from regimes import __version__

    assert out.returncode == 0 and out.stdout.strip() == f"regimes {__version__}"
    out = subprocess.run([sys.executable, "-m", "regimes_cli", "collapse", "--n", "20000", "--d", "1024", "--json"],
                         capture_output=True, text=True, cwd="/")
    assert out.returncode == 0 and '"t_C": 1.97754' in out.stdout
    out = subprocess.run([_bin("regimes"), "collapse", "--n", "1", "--d", "2"], capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and out.stdout == ""


def test_no_top_level_cli_package():
    out = subprocess.run([sys.executable, "-c", "import cli"], capture_output=True, text=True, cwd="/")
    assert out.returncode != 0


@pytest.mark.skipif(os.environ.get("REGIMES_SKIP_WHEEL") == "1", reason="wheel build disabled")
def test_wheel_ships_exactly_regimes_and_regimes_cli(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, text=True)
    (wheel,) = tmp_path.glob("regimes-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"regimes", "regimes_cli"}
    assert "regimes/_version.py" in names and "regimes_cli/main.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "regimes = regimes_cli.main:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_public_submodules_reachable_after_plain_import():
    # the docs write regimes.uturn.simulated_collapse_time, regimes.inverse.n_for_collapse_time, …
    names = ("analysis", "class_speciation", "data", "dataset", "diagnostics", "engines", "hierarchy", "inverse",
             "memorization", "noise", "progress", "report", "schedule_forms", "uturn", "rmt", "phase")
    code = ("import regimes, types\n"
            f"for n in {names!r}:\n"
            "    assert isinstance(getattr(regimes, n), types.ModuleType), n\n"
            "print(regimes.uturn.simulated_collapse_time.__name__, regimes.analysis.analyze is regimes.analyze)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.split() == ["simulated_collapse_time", "True"]
    mods = _modules_after("import regimes")  # still lazy: nothing heavy until a submodule is asked for
    assert not (mods & {*HEAVY, "scipy"})
