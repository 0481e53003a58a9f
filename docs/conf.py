"""Sphinx configuration: an offline HTML site (no CDN assets) built by `make docs`."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "cli"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

import regimes  # noqa: E402

project = "regimes"
author = "the regimes developers"
release = version = regimes.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "mathtext_math",  # docs/_ext: formulas drawn at build time by matplotlib's mathtext, offline
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**.zip"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_validation_checks = set()

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
}

html_theme = "alabaster"
html_title = f"regimes {release}"
# Offline site: no MathJax, nothing fetched from a CDN. Formulas (:math:, .. math::) are drawn at
# build time by matplotlib's mathtext and embedded as SVG (docs/_ext/mathtext_math.py).
html_math_renderer = "mathtext"
mathjax_path = "no-mathjax.js"
html_static_path = ["_static"]
html_css_files = ["wrap.css"]  # long lines of code blocks scroll instead of being clipped
suppress_warnings = ["myst.header", "ref.citation"]
