"""Sphinx HTML math renderer that works offline: formulas are drawn at build time by matplotlib's
mathtext (a TeX subset bundled with matplotlib, a dependency of regimes; no LaTeX, no MathJax, no
network) and embedded in the page as SVG. A formula mathtext cannot parse (e.g. an ``align``
environment) is shown as its TeX source in a code span, with a build warning.

Enable with ``extensions += ["mathtext_math"]`` and ``html_math_renderer = "mathtext"``.
"""

from __future__ import annotations

import base64
import html
import io
from functools import lru_cache

from docutils import nodes
from sphinx.util import logging

LOG = logging.getLogger(__name__)


@lru_cache(maxsize=None)
def render_svg(latex: str, fontsize: float = 12.0) -> str | None:
    """SVG text of ``latex`` (one formula, without dollars) or None when mathtext cannot draw it."""
    from matplotlib.figure import Figure

    tex = " ".join(latex.split())  # mathtext draws one line
    fig = Figure(figsize=(0.01, 0.01))
    fig.text(0, 0, f"${tex}$", fontsize=fontsize)
    buf = io.StringIO()
    try:
        fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.02, transparent=True)
    except ValueError:
        return None
    return buf.getvalue()


def _img(latex: str, display: bool) -> str:
    svg = render_svg(latex, 13.0 if display else 11.0)
    if svg is None:
        LOG.warning(f"mathtext cannot draw {latex!r}: shown as TeX source")
        return f"<code class='math'>{html.escape(latex)}</code>"
    data = base64.b64encode(svg.encode()).decode()
    style = "display:block;margin:0.6em auto" if display else "vertical-align:middle"
    return f"<img class='math' style='{style}' alt='{html.escape(latex, quote=True)}' " \
           f"src='data:image/svg+xml;base64,{data}'/>"


def visit_math(self, node):
    self.body.append(_img(node.astext(), display=False))
    raise nodes.SkipNode


def visit_displaymath(self, node):
    latex = node.astext()
    parts = [p for p in latex.split("\n\n") if p.strip()] if not node.get("nowrap") else [latex]
    self.body.append("<div class='math'>" + "".join(_img(p, display=True) for p in parts) + "</div>")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathtext", (visit_math, None), (visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
