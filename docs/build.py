"""Build the documentation site: regenerate the CLI reference from the app, then run Sphinx.

Usage: python docs/build.py [--strict]   (output in docs/_build/html/index.html)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    sys.path.insert(0, str(HERE))
    from gen_cli import write_cli_reference

    write_cli_reference(HERE / "cli.md")
    # the gallery's printed outputs and figures depend on the library, not only on each example's
    # source, which is all sphinx-gallery checks (an .md5 per example): run them afresh every time
    shutil.rmtree(HERE / "auto_examples", ignore_errors=True)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", str(HERE), str(HERE / "_build" / "html")]
    if "--strict" in sys.argv:
        cmd.insert(-2, "-W")
    rc = subprocess.call(cmd)
    if rc == 0:
        print(f"docs: {HERE / '_build' / 'html' / 'index.html'}")
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
