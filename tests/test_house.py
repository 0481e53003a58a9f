"""Rules of the house, read from the source with :mod:`ast` (nothing of the project is imported).

Over every module of ``regimes/`` and ``cli/regimes_cli/``:

(a) **no import cycle** among the project's modules. Imports inside functions count. An edge is
    an *explicit* import: ``import a.b.c`` is an edge to ``a.b.c`` (not to ``a`` and ``a.b``, whose
    ``__init__`` Python runs implicitly first); ``from p import name`` is an edge to the submodule
    ``p.name`` when that is a module, otherwise to ``p`` itself (also when ``p`` is a package: its
    ``__init__`` is read for ``name``). A package's ``__init__`` importing its submodules is
    allowed and counted like any other import, so a submodule that imports a name back from its
    package's ``__init__`` closes a cycle. Relative imports are resolved. Dynamic imports
    (``importlib.import_module``) are invisible here.
(b) **no private name imported across modules**: ``from m import _x`` where ``m`` is a project
    module and ``_x`` is not a module (a private *module* such as ``regimes._validate`` may be
    imported and may export public names; dunder names such as ``__version__`` are fine).
(c) **no function or method longer than 120 lines**, counted from the ``def`` line to the last line
    of the body (decorators excluded); a nested function counts in its own right and inside its
    parent.
(d) **the CLI uses only the library's public face**: ``regimes_cli`` imports from ``regimes`` only
    modules whose dotted path has no component starting with ``_`` (the one exception is
    ``regimes._version``, the fast ``--version`` path), and from them only names without a leading
    underscore (dunders allowed) that the module binds at top level, lists in ``__all__`` or has as
    a submodule.

Each rule has a self-test on a small synthetic module set showing that it detects a violation, so
that a pass on the real tree is not vacuous. A failing rule lists every violation with its place.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"regimes": ROOT / "regimes", "regimes_cli": ROOT / "cli" / "regimes_cli"}
LIBRARY, CLI = "regimes", "regimes_cli"
MAX_LINES = 120
CLI_ALLOWED_PRIVATE_MODULES = frozenset({"regimes._version"})


# ---------------------------------------------------------------------------------- the model
@dataclass(frozen=True, repr=False)
class Module:
    """One module's source: dotted name, where it lives (for messages), text, package or not."""

    name: str
    path: str
    source: str
    is_package: bool = False

    @cached_property
    def tree(self) -> ast.Module:
        return ast.parse(self.source, filename=self.path)

    def __repr__(self) -> str:
        return f"Module({self.name!r}, {self.path!r})"


@dataclass(frozen=True)
class Import:
    """One imported thing: ``import module`` (name None) or ``from module import name``."""

    importer: str
    where: str  # path:line
    module: str  # absolute dotted name (relative imports resolved)
    name: str | None = None


def load_tree(packages: dict[str, Path] = PACKAGES) -> dict[str, Module]:
    """Every ``*.py`` under each package folder, keyed by dotted module name."""
    mods = {}
    for top, base in packages.items():
        for path in sorted(base.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(base).with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            name = ".".join([top, *parts])
            mods[name] = Module(name, str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"),
                                is_pkg)
    return mods


def synthetic(spec: dict[str, str]) -> dict[str, Module]:
    """An in-memory module set for the self-tests: ``{"pkg/__init__": src, "pkg.a": src}``."""
    mods = {}
    for key, src in spec.items():
        is_pkg = key.endswith("/__init__")
        name = key.removesuffix("/__init__")
        mods[name] = Module(name, f"<{key}>", src, is_pkg)
    return mods


def _resolve(mod: Module, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    parts = mod.name.split(".")
    if not mod.is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([name] if name else []))


def _known(name: str, mods) -> str | None:
    """The longest prefix of ``name`` that is a project module (None if there is none)."""
    while name:
        if name in mods:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(mods: dict[str, Module]) -> list[Import]:
    """Every import statement of every module, at any depth (functions, try blocks, ...)."""
    out = []
    for mod in mods.values():
        for node in ast.walk(mod.tree):
            where = f"{mod.path}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                out += [Import(mod.name, where, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, node.level, node.module)
                out += [Import(mod.name, where, base, a.name) for a in node.names]
    return out


def _edge_target(imp: Import, mods) -> str | None:
    if imp.name is not None and imp.name != "*" and f"{imp.module}.{imp.name}" in mods:
        return f"{imp.module}.{imp.name}"  # from pkg import submodule
    return _known(imp.module, mods)


def import_edges(mods: dict[str, Module]) -> dict[str, dict[str, str]]:
    """``{importer: {imported module: first place}}`` over the project's modules."""
    edges: dict[str, dict[str, str]] = {m: {} for m in mods}
    for imp in imports(mods):
        target = _edge_target(imp, mods)
        if target and target != imp.importer:
            edges[imp.importer].setdefault(target, imp.where)
    return edges


def _strong_components(edges) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components with more than one module."""
    index, low, on, stack, comps, counter = {}, {}, set(), [], [], [0]
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        comps.append(sorted(comp))
    return comps


def _one_cycle(comp: list[str], edges) -> list[str]:
    """A shortest cycle through the first module of a strongly connected component."""
    start, members = comp[0], set(comp)
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v]):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return [*reversed(path), start]
                if w in members and w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return comp  # pragma: no cover - a component always has a cycle


def import_cycles(mods: dict[str, Module]) -> list[str]:
    edges = import_edges(mods)
    out = []
    for comp in _strong_components(edges):
        cyc = _one_cycle(comp, edges)
        steps = " -> ".join(f"{a} [{edges[a][b]}]" for a, b in zip(cyc, cyc[1:], strict=False))
        out.append(f"import cycle among {', '.join(comp)}: {steps} -> {cyc[-1]}")
    return out


def private_name_imports(mods: dict[str, Module]) -> list[str]:
    out = []
    for imp in imports(mods):
        name = imp.name
        if name is None or not name.startswith("_") or name.startswith("__"):
            continue
        if f"{imp.module}.{name}" in mods or _known(imp.module, mods) is None:
            continue  # a private module, or a third-party source
        out.append(f"{imp.where}: {imp.importer} imports the private name {name} from {imp.module}")
    return out


def long_functions(mods: dict[str, Module], max_lines: int = MAX_LINES) -> list[str]:
    out = []

    def visit(node, mod, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                qual = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    n = child.end_lineno - child.lineno + 1
                    if n > max_lines:
                        out.append(f"{mod.path}:{child.lineno}: {mod.name}.{qual} is {n} lines "
                                   f"(> {max_lines})")
                visit(child, mod, qual + ".")
            else:
                visit(child, mod, prefix)

    for mod in mods.values():
        visit(mod.tree, mod, "")
    return out


def _namespace(mod: Module) -> set[str]:
    """Names a module binds at top level (conditional and try blocks included) or lists in
    ``__all__``."""
    names = set()
    todo = list(mod.tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
                if isinstance(t, ast.Name) and t.id == "__all__" and isinstance(node.value, ast.List
                                                                                | ast.Tuple):
                    names |= {e.value for e in node.value.elts if isinstance(e, ast.Constant)}
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
            for field in ("body", "orelse", "finalbody", "handlers"):
                todo += getattr(node, field, [])
        elif isinstance(node, ast.ExceptHandler):
            todo += node.body
    return names


def cli_private_imports(mods: dict[str, Module], cli: str = CLI, lib: str = LIBRARY,
                        allowed=CLI_ALLOWED_PRIVATE_MODULES) -> list[str]:
    out = []
    for imp in imports(mods):
        if not (imp.importer == cli or imp.importer.startswith(cli + ".")):
            continue
        if not (imp.module == lib or imp.module.startswith(lib + ".")):
            continue
        target = _edge_target(imp, mods) if imp.name else imp.module
        if target in mods and imp.name and target == f"{imp.module}.{imp.name}":
            modpath = target  # from lib import submodule: the submodule is what is used
        else:
            modpath = imp.module
        private = [p for p in modpath.split(".") if p.startswith("_")]
        what = f"{imp.where}: {imp.importer}"
        if private and modpath not in allowed:
            out.append(f"{what} imports from the private module {modpath}")
            continue
        if imp.name is None or modpath != imp.module:
            continue
        name = imp.name
        if name.startswith("_") and not name.startswith("__"):
            out.append(f"{what} imports the private name {name} from {imp.module}")
        elif name != "*" and imp.module in mods and name not in _namespace(mods[imp.module]):
            out.append(f"{what} imports {name} from {imp.module}, which does not define it")
    return out


# ---------------------------------------------------------------------------------- the tree
@pytest.fixture(scope="module")
def tree():
    mods = load_tree()
    # not vacuous: the walk found both packages and the import graph is not empty
    assert {"regimes", "regimes.rmt.random_features", "regimes_cli", "regimes_cli.main"} <= set(mods)
    assert sum(len(v) for v in import_edges(mods).values()) > 30
    return mods


def _report(violations: list[str], rule: str) -> str:
    return f"{len(violations)} violation(s) of the rule '{rule}':\n" + "\n".join(violations)


def test_no_import_cycle(tree):
    found = import_cycles(tree)
    assert not found, _report(found, "no import cycle among the project's modules")


def test_no_private_name_imported_across_modules(tree):
    found = private_name_imports(tree)
    assert not found, _report(found, "no private name (_x) imported from another module")


def test_no_function_longer_than_limit(tree):
    found = long_functions(tree)
    assert not found, _report(found, f"no function longer than {MAX_LINES} lines")


def test_cli_imports_only_public_library_names(tree):
    found = cli_private_imports(tree)
    assert not found, _report(found, "the CLI imports only public modules and names of regimes")


# ---------------------------------------------------------------------------------- self-tests
def test_cycle_rule_sees_cycles_through_functions_relative_imports_and_submodules():
    mods = synthetic({
        "pkg/__init__": "",
        "pkg.a": "from .b import f\n",
        "pkg.b": "def f():\n    from . import c\n    return c\n",  # from pkg import submodule
        "pkg.c": "def g():\n    import pkg.a\n",  # inside a function, absolute
        "pkg.d": "from pkg.a import x\n",  # outside the cycle
    })
    found = import_cycles(mods)
    assert len(found) == 1 and "pkg.a, pkg.b, pkg.c" in found[0], found
    assert "<pkg.b>:2" in found[0]  # the place of each step is given
    edges = import_edges(mods)
    assert set(edges["pkg.b"]) == {"pkg.c"}  # the submodule, not the package's __init__


def test_cycle_rule_counts_explicit_imports_of_a_package_init_only():
    # importing pkg.a implicitly runs pkg/__init__, which imports pkg.b: not an edge b -> pkg
    ok = synthetic({"pkg/__init__": "from .b import g\n", "pkg.a": "x = 1\n",
                    "pkg.b": "import pkg.a\nfrom pkg.a import x\n\ndef g():\n    return x\n"})
    assert import_cycles(ok) == []
    # reading a name from the package's __init__ is an explicit import of it: a cycle
    bad = synthetic({"pkg/__init__": "from .b import g\nK = 1\n", "pkg.b": "from . import K\n"})
    found = import_cycles(bad)
    assert len(found) == 1 and "pkg, pkg.b" in found[0], found
    # a sub-package's relative import two levels up
    up = synthetic({"pkg/__init__": "", "pkg.sub/__init__": "", "pkg.sub.m": "from ..n import y\n",
                    "pkg.n": "def y():\n    from .sub import m\n"})
    assert len(import_cycles(up)) == 1


def test_private_name_rule():
    mods = synthetic({
        "pkg/__init__": "from ._version import __version__\n",
        "pkg._version": "__version__ = '1'\n",
        "pkg._validate": "def check():\n    pass\n",
        "pkg.a": "_hidden = 1\n",
        "pkg.b": ("from . import _validate\nfrom ._validate import check\nfrom pkg import __version__\n"
                  "from os import _exit\n"
                  "def f():\n    from .a import _hidden\n"),
    })
    found = private_name_imports(mods)
    assert len(found) == 1 and "<pkg.b>:6" in found[0] and "_hidden from pkg.a" in found[0], found


def test_long_function_rule():
    def body(n, indent):
        return "".join(f"{indent}x{i} = {i}\n" for i in range(n))

    src = ("import functools\n\n\n@functools.lru_cache\n@functools.wraps(print)\n"
           "def ok():\n" + body(MAX_LINES - 1, "    ") +  # def + body: exactly MAX_LINES
           "\n\nclass C:\n    def long(self):\n" + body(MAX_LINES, "        ") +  # one more
           "\n    def short(self):\n        def inner():\n" + body(MAX_LINES, "            "))
    found = long_functions(synthetic({"m": src}))
    assert len(found) == 3, found  # C.long, and C.short with its nested inner
    assert any("m.C.long is 121 lines" in f for f in found)
    assert any("m.C.short.inner is 121 lines" in f for f in found)
    assert not any("m.ok " in f for f in found)  # decorators are not counted


def test_cli_public_face_rule():
    mods = synthetic({
        "lib/__init__": "from ._errors import Err\nfrom . import pub\n__all__ = ['Err', 'lazy']\n",
        "lib._errors": "class Err(Exception):\n    pass\n",
        "lib._version": "__version__ = '1'\n",
        "lib.pub": "def f():\n    pass\n_p = 1\nif True:\n    g = 2\n",
        "lib._priv": "h = 1\n",
        "cli/__init__": "",
        "cli.cmd": ("from lib import Err, pub, lazy\nfrom lib.pub import f, g\n"
                    "from lib._version import __version__\n"
                    "def run():\n"
                    "    from lib._errors import Err\n"
                    "    from lib.pub import _p\n"
                    "    import lib._priv\n"
                    "    from lib import _priv\n"
                    "    from lib.pub import missing\n"),
    })
    found = cli_private_imports(mods, cli="cli", lib="lib", allowed={"lib._version"})
    lines = sorted(int(f.split(":")[1]) for f in found)
    assert lines == [5, 6, 7, 8, 9], found
    assert any("private module lib._errors" in f for f in found)
    assert any("private name _p" in f for f in found)
    assert any("missing" in f and "does not define it" in f for f in found)
