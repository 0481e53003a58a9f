"""Sphinx configuration: an offline HTML site (no CDN assets) built by `make docs`."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "cli"))
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
# Offline site: no MathJax (formulas are written in Unicode), nothing fetched from a CDN.
mathjax_path = "no-mathjax.js"
html_static_path = ["_static"]
suppress_warnings = ["myst.header", "ref.citation"]
